from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "jiyue.identity"
    label = "identity"
    verbose_name = _("公众用户与统一登录")

    def ready(self):
        from . import signals, tasks  # noqa: F401  (tasks registers the periodic job)
