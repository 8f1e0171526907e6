from django.apps import AppConfig


class ChronologyConfig(AppConfig):
    name = "incidents.chronology"
    label = "chronology"
    verbose_name = "Chronology"
