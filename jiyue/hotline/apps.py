from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HotlineConfig(AppConfig):
    name = "jiyue.hotline"
    label = "hotline"
    verbose_name = _("12345热线对接")

    def ready(self):
        from jiyue.core import outbox

        from . import services, tasks  # noqa: F401  (jobs)

        outbox.register("hotline", services.on_letter_event, ("letter.submitted", "letter.changed"))
