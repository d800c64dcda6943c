from django.apps import AppConfig


class LibraryConfig(AppConfig):
    name = "jiyue.library"
    label = "library"
    verbose_name = "信息资源库"

    def ready(self):
        from . import signals, tasks  # noqa: F401
