"""Running background jobs: in-process (embedded default) or as worker processes.

Embedded (`JIYUE_TASKS=db`, the default): jobs are rows in the database (django-tasks-db), so
they survive a restart; `jiyue serve` starts `jiyue worker` as a supervised child process
(no extra service to install), and `jiyue worker` can also run on its own.

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

# Node-local loops: work every worker process does for its own node, whatever the job queue
# hands out (e.g. following the outbox into this node's search index replica). Registered by
# apps with `register_local`; each runs in its own thread in `jiyue worker`.
_local: dict[str, tuple] = {}


def register_local(name: str, func, interval) -> None:
    """Run `func()` every `interval` seconds (a number or a callable returning one) in every
    `jiyue worker` process. `func` must be idempotent and return quickly."""
    _local[name] = (func, interval)


class LocalLoop(threading.Thread):
    def __init__(self, name, func, interval):
        super().__init__(name=f"jiyue-local-{name}", daemon=True)
        self.func, self.interval = func, interval
        self.stopping = threading.Event()

    def run(self):
        from django.db import close_old_connections

        while not self.stopping.is_set():
            try:
                close_old_connections()
                self.func()
            except Exception:  # noqa: BLE001 - a node loop must never die
                logger.exception("node-local loop %s failed", self.name)
            interval = self.interval() if callable(self.interval) else self.interval
            self.stopping.wait(float(interval))

    def stop(self):
        self.stopping.set()


def start_local_loops() -> list[LocalLoop]:
    loops = [LocalLoop(name, func, interval) for name, (func, interval) in _local.items()]
    for loop in loops:
        loop.start()
    return loops


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


def run_forever(scheduler: bool = True) -> None:
    """`jiyue worker`: a worker process for the configured backend."""
    sched = SchedulerThread() if scheduler else None
    if sched:
        sched.start()
    loops = start_local_loops()
    try:
        if settings.JIYUE_TASKS == "db":
            w = _db_worker()
            w.configure_signals()  # SIGTERM: finish the running job, then stop
            w.run()
        elif settings.JIYUE_TASKS == "rq":
            from django_rq import get_worker
            from django_tasks_rq.backend import Job

            # RQ's scheduler moves deferred jobs (the outbox's deferred dispatch) to the queue
            get_worker(*QUEUES, job_class=Job).work(with_scheduler=True)
        else:
            raise SystemExit("JIYUE_TASKS=immediate runs jobs inline; there is nothing to work on.")
    finally:
        for loop in loops:
            loop.stop()
        if sched:
            sched.stop()
