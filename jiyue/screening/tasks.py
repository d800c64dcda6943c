"""The background import of a word file uploaded in the admin (progress in `ImportRun`)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone
from django_tasks import task

logger = logging.getLogger(__name__)

MAX_ERRORS_KEPT = 500


def run_import(run_id: int) -> None:
    """Import the run's text; idempotent (a finished run is left alone; a run interrupted half
    way is simply imported again: the import is an upsert)."""
    from . import services
    from .models import ImportRun

    run = ImportRun.objects.filter(pk=run_id).first()
    if run is None or run.state == ImportRun.DONE:
        return
    ImportRun.objects.filter(pk=run.pk).update(state=ImportRun.RUNNING)

    def progress(report):
        ImportRun.objects.filter(pk=run.pk).update(
            total=report.total, done=report.done, added=report.added, updated=report.updated,
            unchanged=report.unchanged, error_count=len(report.errors),
            errors=[list(e) for e in report.errors[:MAX_ERRORS_KEPT]])

    try:
        report = services.import_text(run.text, default_category=run.default_category,
                                      default_level=run.default_level, actor=run.created_by,
                                      progress=progress)
    except Exception:
        logger.exception("sensitive-word import %s failed", run.pk)
        ImportRun.objects.filter(pk=run.pk).update(state=ImportRun.FAILED, finished_at=timezone.now())
        raise
    progress(report)
    ImportRun.objects.filter(pk=run.pk).update(state=ImportRun.DONE, finished_at=timezone.now(),
                                               text="")
    from jiyue import audit

    audit.record(run.created_by, None, "", "screening.word.import.done", run,
                 added=report.added, updated=report.updated, errors=len(report.errors))


@task(queue_name="default")
def import_words(run_id: int):
    run_import(run_id)


def request_import(run_id: int) -> None:
    """Enqueue the import once the current transaction has committed."""
    from django.db import transaction

    def enqueue():
        if not getattr(settings, "JIYUE_SCREENING_AUTOIMPORT", True):
            return
        try:
            import_words.enqueue(run_id)
        except Exception:  # noqa: BLE001 - the admin page offers to start it again
            logger.exception("could not enqueue the sensitive-word import")

    transaction.on_commit(enqueue)
