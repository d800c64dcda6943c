"""Scheduled backups: every JIYUE_BACKUP_INTERVAL (default daily) when JIYUE_BACKUP_DIR and the
operator's key (JIYUE_BACKUP_KEY or JIYUE_BACKUP_KEY_FILE) are set, keeping the
JIYUE_BACKUP_KEEP (default 7) newest archives."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django_tasks import task

from jiyue.core.periodic import every

logger = logging.getLogger(__name__)
JOB = "backup.scheduled"


def configured() -> bool:
    import os

    return bool(getattr(settings, "JIYUE_BACKUP_DIR", None)) and bool(
        os.environ.get("JIYUE_BACKUP_KEY") or getattr(settings, "JIYUE_BACKUP_KEY_FILE", None))


def schedule() -> bool:
    """Register the periodic job when backups are configured. Returns whether it is."""
    from . import services

    if not configured():
        return False
    try:
        interval = services.parse_interval(getattr(settings, "JIYUE_BACKUP_INTERVAL", "1d"))
        services.parse_keep(getattr(settings, "JIYUE_BACKUP_KEEP", "7"))
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    every(interval, name=JOB)(scheduled_backup)
    return True


@task(queue_name="default")
def scheduled_backup():
    """One scheduled backup, then retention. Returns the archive's path (None when backups
    are not configured)."""
    from jiyue import audit

    from . import services

    if not configured():
        return None
    folder = settings.JIYUE_BACKUP_DIR
    keep = services.parse_keep(getattr(settings, "JIYUE_BACKUP_KEEP", "7"))
    try:
        result = services.create_backup(folder, services.passphrase())
    except Exception:
        logger.exception("scheduled backup failed")  # audited by create_backup
        raise
    removed = services.prune(folder, keep)
    if removed:
        audit.record(None, None, None, "backup.prune", obj=str(folder), object_type="backup",
                     keep=keep, removed=[p.name for p in removed])
    return str(result.path)
