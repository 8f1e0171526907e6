from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "incidents.cases"
    label = "cases"
