from django.apps import AppConfig


class WagtailBenchConfig(AppConfig):
    name = "bench.wagtailbench"
    label = "wagtailbench"
