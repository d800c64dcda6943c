from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "jiyue.core"
    label = "core"
    verbose_name = "平台核心"

    def ready(self):
        from . import tasks  # noqa: F401  (registers periodic jobs)
