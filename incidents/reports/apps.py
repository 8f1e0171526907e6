from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "incidents.reports"
    label = "reports"
    verbose_name = "case reports"
