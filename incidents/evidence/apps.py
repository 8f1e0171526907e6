from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "incidents.evidence"
    label = "evidence"
