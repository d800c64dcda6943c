from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LettersConfig(AppConfig):
    name = "jiyue.letters"
    label = "letters"
    verbose_name = _("信件")

    def ready(self):
        from jiyue.library.kinds import register

        from . import signals, tasks  # noqa: F401 - the data export, outbox consumers, periodic jobs
        from .models import LetterRecord

        register(LetterRecord)  # 公开信件: published letters are library resources
        signals.connect()
