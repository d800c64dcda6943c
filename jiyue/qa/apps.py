from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QaConfig(AppConfig):
    name = "jiyue.qa"
    label = "qa"
    verbose_name = _("智能问答")

    def ready(self):
        from . import signals, tasks  # noqa: F401  (signal handlers, jobs and node loops)
