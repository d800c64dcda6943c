from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisclosureConfig(AppConfig):
    name = "jiyue.disclosure"
    label = "disclosure"
    verbose_name = _("依申请公开")

    def ready(self):
        from jiyue.core import outbox
        from jiyue.identity.services import register_export

        from . import services

        outbox.register("disclosure.notify", services.notify, ["disclosure.changed"])
        register_export("disclosure_applications", services.export_for)
