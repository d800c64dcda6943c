from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParticipationConfig(AppConfig):
    name = "jiyue.participation"
    label = "participation"
    verbose_name = _("公众参与")

    def ready(self):
        from jiyue.identity.services import register_export

        from . import services, tasks  # noqa: F401  (the periodic job)

        register_export("participation", services.export_for)
