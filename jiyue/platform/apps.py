from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlatformConfig(AppConfig):
    name = "jiyue.platform"
    label = "platform"
    verbose_name = _("站点与栏目")

    def ready(self):
        from . import signals  # noqa: F401
