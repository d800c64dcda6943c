import importlib

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LettersConfig(AppConfig):
    name = "jiyue.letters"
    label = "letters"
    verbose_name = _("信件")

    # Modules of this app that connect handlers, outbox consumers or periodic jobs when
    # imported; each is optional (several people write parts of this app).
    OPTIONAL_MODULES = ("signals", "tasks", "consumers")

    def ready(self):
        from jiyue.library.kinds import register

        from .models import LetterRecord

        register(LetterRecord)  # 公开信件: published letters are library resources
        for name in self.OPTIONAL_MODULES:
            try:
                importlib.import_module(f"{self.name}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{self.name}.{name}":
                    raise
