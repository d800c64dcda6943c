from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublishingConfig(AppConfig):
    name = "jiyue.publishing"
    label = "publishing"
    verbose_name = _("发布")

    def ready(self):
        from jiyue.core import outbox

        from . import consumer, tasks  # noqa: F401

        outbox.register("publisher", consumer.handle, consumer.TOPICS)
