from django.apps import AppConfig


class PerfConfig(AppConfig):
    name = "incidents.perf"
    label = "perf"
    verbose_name = "Performance: data generator and benchmark"
