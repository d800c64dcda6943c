from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkdaysConfig(AppConfig):
    name = "jiyue.workdays"
    label = "workdays"
    verbose_name = _("工作日历")

    def ready(self):
        from . import signals  # noqa: F401  (cache invalidation)
