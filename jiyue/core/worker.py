"""Running background jobs: in-process (embedded default) or as worker processes.

Embedded (`JIYUE_TASKS=db`, the default): jobs are rows in the database (django-tasks-db), so
they survive a restart; `jiyue serve` runs a worker thread and the periodic scheduler inside
the server process. `jiyue worker` runs the same loop as its own process.

Redis (`REDIS_URL` set): jobs go to RQ queues; `jiyue worker` on any number of machines runs
an RQ worker with django-tasks-rq's job class, plus the periodic scheduler (slots in the
database keep each periodic run unique).
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings

from .periodic import SchedulerThread

logger = logging.getLogger(__name__)
QUEUES = ["default", "periodic"]


def _db_worker(**overrides):
    from django_tasks_db.management.commands.db_worker import Worker
    from django.utils.crypto import get_random_string

    options = dict(
        queue_names=QUEUES, interval=1.0, batch=False, backend_name="default",
        startup_delay=False, max_tasks=None, worker_id=f"jiyue-{get_random_string(8)}",
        excluded_queue_names=[],
    )
    options.update(overrides)
    return Worker(**options)


def run_pending(max_tasks: int | None = None) -> None:
    """Run every job that is queued now, then return (tests, `jiyue worker --batch`)."""
    if settings.JIYUE_TASKS == "db":
        _db_worker(batch=True, max_tasks=max_tasks).run()
    elif settings.JIYUE_TASKS == "rq":
        from django_rq import get_worker
        from django_tasks_rq.backend import Job

        get_worker(*QUEUES, job_class=Job).work(burst=True)


class InProcessWorker(threading.Thread):
    """The embedded worker: a thread in the server process that polls the job table."""

    def __init__(self):
        super().__init__(name="jiyue-worker", daemon=True)
        self.worker = None

    def run(self):
        self.worker = _db_worker()
        self.worker.run()

    def stop(self):
        if self.worker:
            self.worker.running = False


def start_in_process() -> list[threading.Thread]:
    threads: list[threading.Thread] = [SchedulerThread()]
    if settings.JIYUE_TASKS == "db":
        threads.append(InProcessWorker())
    for t in threads:
        t.start()
    return threads


def run_forever(scheduler: bool = True) -> None:
    """`jiyue worker`: a worker process for the configured backend."""
    sched = SchedulerThread() if scheduler else None
    if sched:
        sched.start()
    try:
        if settings.JIYUE_TASKS == "db":
            _db_worker().run()
        elif settings.JIYUE_TASKS == "rq":
            from django_rq import get_worker
            from django_tasks_rq.backend import Job

            get_worker(*QUEUES, job_class=Job).work(with_scheduler=False)
        else:
            raise SystemExit("JIYUE_TASKS=immediate runs jobs inline; there is nothing to work on.")
    finally:
        if sched:
            sched.stop()
