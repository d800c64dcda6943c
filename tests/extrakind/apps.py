from django.apps import AppConfig


class ExtraKindConfig(AppConfig):
    """A resource kind added by another app, as a province would add one: no core change."""

    name = "tests.extrakind"
    label = "extrakind"

    def ready(self):
        from jiyue.library.kinds import register

        from .models import Video

        register(Video)
