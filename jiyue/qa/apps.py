from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QaConfig(AppConfig):
    name = "jiyue.qa"
    label = "qa"
    verbose_name = _("智能问答")

    def ready(self):
        import importlib

        # The app's own modules register their jobs, signals and admin hooks when present.
        for module in ("signals", "tasks"):
            try:
                importlib.import_module(f"{self.name}.{module}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{self.name}.{module}":
                    raise
