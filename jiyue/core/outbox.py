"""The outbox: side effects are written as events in the same transaction as the change.

Producers call `emit()` inside their transaction. Consumers register a handler with
`register()`; `dispatch()` feeds each consumer the events after its cursor, in id order, and
advances the cursor in the same transaction as the handler's own writes, so a crash either
keeps both or neither. A consumer registered later starts at cursor 0 and catches up from the
first event. Handlers must be idempotent: a handler that raises leaves the cursor before the
failing event, and the next dispatch retries it.

On PostgreSQL, concurrent transactions may commit ids out of order; dispatch only reads events
older than `JIYUE_OUTBOX_LAG_SECONDS` (default 5 s on PostgreSQL, 0 on SQLite, where writers
are serialised) so that a slower transaction's lower id is not skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Callable, Iterable

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import ConsumerCursor, Event

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Consumer:
    name: str
    handler: Callable[[Event], None]
    topics: tuple[str, ...] | None = None  # prefixes; None means every topic

    def wants(self, topic: str) -> bool:
        return self.topics is None or any(topic.startswith(t) for t in self.topics)


_consumers: dict[str, Consumer] = {}


def register(name: str, handler: Callable[[Event], None], topics: Iterable[str] | None = None):
    _consumers[name] = Consumer(name, handler, tuple(topics) if topics is not None else None)


def unregister(name: str) -> None:
    _consumers.pop(name, None)


def consumers() -> dict[str, Consumer]:
    return dict(_consumers)


def emit(topic: str, aggregate: str, aggregate_id, payload: dict | None = None) -> Event:
    """Record an event. Call it inside the transaction that makes the change."""
    if "." not in topic:
        raise ValueError("topic must be '<aggregate>.<verb>'")
    event = Event.objects.create(
        topic=topic, aggregate=aggregate, aggregate_id=str(aggregate_id), payload=payload or {}
    )
    once_on_commit(_kick)
    return event


def emit_many(events: Iterable[tuple[str, str, object, dict | None]]) -> list[Event]:
    """Record several events (topic, aggregate, aggregate_id, payload) with one INSERT, in the
    caller's transaction, in the order given."""
    rows = []
    for topic, aggregate, aggregate_id, payload in events:
        if "." not in topic:
            raise ValueError("topic must be '<aggregate>.<verb>'")
        rows.append(Event(topic=topic, aggregate=aggregate, aggregate_id=str(aggregate_id),
                          payload=payload or {}))
    if rows:
        Event.objects.bulk_create(rows)
        once_on_commit(_kick)
    return rows


def once_on_commit(func) -> None:
    """Run `func` after the current transaction commits, once however many changes in the
    transaction ask for it (a batch of events wants one job, not one per event)."""
    conn = transaction.get_connection()
    if conn.in_atomic_block and any(entry[1] is func for entry in conn.run_on_commit):
        return
    transaction.on_commit(func)


# The latest time a dispatch job asked for by this process runs (epoch seconds). A job that runs
# at T dispatches every event committed before T - lag(), so a commit whose events are readable
# by then needs no job of its own: under load a process enqueues about one job per
# KICK_WINDOW seconds, not one per commit (a job row and a commit each on the database backend).
_kick_at = 0.0
_kick_lock = threading.Lock()
KICK_WINDOW = 0.2  # seconds; JIYUE_OUTBOX_KICK_WINDOW


def forget_kicks() -> None:
    """Forget the dispatch job this process asked for last (the next commit asks for one)."""
    global _kick_at
    with _kick_lock:
        _kick_at = 0.0


def _kick():
    """Ask a worker to dispatch soon (best effort: the periodic tick dispatches anyway).

    The job is deferred until the events are old enough to be read (`lag()`), and shared by the
    commits of the next KICK_WINDOW seconds of this process."""
    global _kick_at
    if not getattr(settings, "JIYUE_OUTBOX_AUTODISPATCH", True):
        return
    from .tasks import dispatch_outbox

    lag_s = lag().total_seconds()
    window = float(getattr(settings, "JIYUE_OUTBOX_KICK_WINDOW", KICK_WINDOW))
    deferrable = dispatch_outbox.get_backend().supports_defer
    now = time.time()
    with _kick_lock:
        ready = now + lag_s  # when this commit's events can be read
        if deferrable and _kick_at >= ready:
            return  # a job already waits that runs late enough to see them
        # the first commit after a quiet spell is dispatched as soon as it can be; later ones
        # wait for the end of the window, which gathers them into one job
        run_at = ready if _kick_at + window < now else ready + window
        if deferrable:
            _kick_at = run_at
    try:
        task = dispatch_outbox
        if deferrable and run_at > now + 0.05:
            task = dispatch_outbox.using(run_after=datetime.fromtimestamp(run_at, tz=dt_timezone.utc))
        task.enqueue()
    except Exception:  # noqa: BLE001 - the periodic tick will pick the events up
        forget_kicks()
        logger.exception("could not enqueue outbox dispatch")


def lag() -> timedelta:
    value = getattr(settings, "JIYUE_OUTBOX_LAG_SECONDS", None)
    if value is None:
        value = 0 if connection.vendor == "sqlite" else 5
    return timedelta(seconds=float(value))


def dispatch(name: str | None = None, batch: int = 500) -> int:
    """Feed pending events to one consumer (or all). Returns the number of events handled."""
    handled = 0
    for consumer in ([_consumers[name]] if name else list(_consumers.values())):
        handled += _dispatch_one(consumer, batch)
    return handled


def _dispatch_one(consumer: Consumer, batch: int) -> int:
    handled = 0
    horizon = timezone.now() - lag()
    while True:
        with transaction.atomic():
            cursor, _ = ConsumerCursor.objects.get_or_create(consumer=consumer.name)
            cursor = ConsumerCursor.objects.select_for_update().get(pk=cursor.pk)
            events = list(
                Event.objects.filter(id__gt=cursor.last_event_id, created_at__lte=horizon)
                .order_by("id")[:batch]
            )
            if not events:
                return handled
            for event in events:
                if consumer.wants(event.topic):
                    try:
                        with transaction.atomic():
                            consumer.handler(event)
                    except Exception:
                        logger.exception("consumer %s failed on event %s", consumer.name, event.pk)
                        # keep progress made so far in this batch; retry from the failing event
                        ConsumerCursor.objects.filter(pk=cursor.pk).update(
                            last_event_id=cursor.last_event_id
                        )
                        return handled
                cursor.last_event_id = event.id
                handled += 1
            ConsumerCursor.objects.filter(pk=cursor.pk).update(last_event_id=cursor.last_event_id)


def read(after_id: int, limit: int = 500) -> list[Event]:
    """Events after `after_id`, in id order, old enough to be safe to read (see `lag()`).

    For readers that keep their own cursor outside the database (a node's search index
    replica keeps it beside the index): they apply the events, then store the last id."""
    horizon = timezone.now() - lag()
    qs = Event.objects.filter(id__gt=after_id, created_at__lte=horizon).order_by("id")
    return list(qs[:limit])


def last_id() -> int:
    """The id of the newest event (0 when there is none)."""
    last = Event.objects.order_by("-id").values_list("id", flat=True).first()
    return int(last or 0)


def backlog() -> dict[str, int]:
    """Pending events per consumer, for the admin and the CLI."""
    cursors = dict(ConsumerCursor.objects.values_list("consumer", "last_event_id"))
    return {name: Event.objects.filter(id__gt=cursors.get(name, 0)).count() for name in _consumers}
