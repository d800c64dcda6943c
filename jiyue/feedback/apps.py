from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "jiyue.feedback"
    label = "feedback"
    verbose_name = _("评价与找错")

    def ready(self):
        from jiyue.core import outbox
        from jiyue.identity.services import register_export

        from . import services, tasks  # noqa: F401  (tasks registers the periodic job)

        outbox.register("feedback.mail", services.mail_outcome, topics=["feedback.error.changed"])
        register_export("error_reports", services.export_user_data)
