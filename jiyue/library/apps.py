from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LibraryConfig(AppConfig):
    name = "jiyue.library"
    label = "library"
    verbose_name = _("信息资源库")

    def ready(self):
        from . import signals, tasks  # noqa: F401
        from .kinds import register_builtin

        register_builtin()
