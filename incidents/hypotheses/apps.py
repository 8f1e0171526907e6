from django.apps import AppConfig


class HypothesesConfig(AppConfig):
    name = "incidents.hypotheses"
    label = "hypotheses"
