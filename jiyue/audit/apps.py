from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "jiyue.audit"
    label = "audit"
    verbose_name = _("审计日志")

    def ready(self):
        from . import checks, signals, tasks  # noqa: F401  (signals, system check, periodic jobs)
