"""Periodic jobs for every task backend.

django-tasks schedules nothing by itself, so jiyue keeps a small registry of periodic jobs.
`tick()` is called by every scheduler (the in-process worker, `jiyue worker`, or
`jiyue scheduler`) every few seconds; for each job whose period has a new slot it inserts a
`PeriodicSlot(job, slot)` row. The unique constraint lets exactly one scheduler win a slot, so
any number of schedulers on any number of machines enqueue each run once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import PeriodicSlot

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: object  # a django_tasks Task
    every: int  # seconds


_jobs: dict[str, PeriodicJob] = {}


def every(seconds: int, name: str | None = None):
    """Decorator for a django-tasks Task: run it every `seconds` seconds."""

    def wrap(task):
        job_name = name or f"{task.module_path}"
        _jobs[job_name] = PeriodicJob(job_name, task, seconds)
        return task

    return wrap


def jobs() -> dict[str, PeriodicJob]:
    return dict(_jobs)


def slot_for(job: PeriodicJob, now: datetime) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % job.every, tz=dt_timezone.utc)


def tick(now: datetime | None = None) -> list[str]:
    """Enqueue every periodic job that is due. Returns the names enqueued by this caller."""
    now = now or timezone.now()
    enqueued = []
    for job in _jobs.values():
        slot = slot_for(job, now)
        try:
            with transaction.atomic():
                PeriodicSlot.objects.create(job=job.name, slot=slot)
                job.task.using(queue_name="periodic").enqueue()
        except IntegrityError:
            continue  # another scheduler took this slot
        enqueued.append(job.name)
    # keep the table small: slots older than a day are history
    PeriodicSlot.objects.filter(slot__lt=now - timedelta(days=1)).delete()
    return enqueued


class SchedulerThread(threading.Thread):
    def __init__(self, interval: float = 5.0):
        super().__init__(name="jiyue-scheduler", daemon=True)
        self.interval = interval
        self.stopping = threading.Event()

    def run(self):
        from django.db import close_old_connections

        while not self.stopping.is_set():
            try:
                close_old_connections()
                tick()
            except Exception:  # noqa: BLE001 - a scheduler must never die
                logger.exception("periodic tick failed")
            self.stopping.wait(self.interval)

    def stop(self):
        self.stopping.set()
