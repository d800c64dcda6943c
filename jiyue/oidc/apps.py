from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OidcConfig(AppConfig):
    name = "jiyue.oidc"
    label = "oidc"
    verbose_name = _("统一身份认证")

    def ready(self):
        from . import signals, tasks  # noqa: F401  (tasks registers the periodic job)
