from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackupConfig(AppConfig):
    name = "jiyue.backup"
    label = "backup"
    verbose_name = _("备份与恢复")

    def ready(self):
        from . import tasks

        tasks.schedule()
