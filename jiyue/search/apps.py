from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    name = "jiyue.search"
    label = "search"
    verbose_name = _("站内搜索")

    def ready(self):
        from . import signals, tasks  # noqa: F401  (signal handlers, jobs and node loops)
