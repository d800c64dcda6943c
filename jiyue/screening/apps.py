from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    name = "jiyue.screening"
    label = "screening"
    verbose_name = _("内容筛查")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from . import matcher, tasks  # noqa: F401
        from .models import SensitiveWord

        def changed(**kwargs):
            matcher.invalidate()

        post_save.connect(changed, sender=SensitiveWord, weak=False,
                          dispatch_uid="screening.word.saved")
        post_delete.connect(changed, sender=SensitiveWord, weak=False,
                            dispatch_uid="screening.word.deleted")
