from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "incidents.audit"
    label = "audit"
