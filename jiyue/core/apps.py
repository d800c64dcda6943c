from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "jiyue.core"
    label = "core"
    verbose_name = _("平台核心")

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import tasks  # noqa: F401  (registers periodic jobs)

        post_migrate.connect(use_wal, sender=self)


def use_wal(using="default", **kwargs):
    """SQLite: write-ahead logging, so readers never wait for the job worker's writes."""
    from django.db import connections

    conn = connections[using]
    if conn.vendor == "sqlite" and not conn.is_in_memory_db():
        with conn.cursor() as c:
            c.execute("PRAGMA journal_mode=WAL")
