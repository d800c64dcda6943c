"""Background jobs of the 12345 exchange: sending (after each commit that queued messages, when
a retry is due, and every 30 s) and pruning the nonce store."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from django.conf import settings
from django_tasks import task

from jiyue.core.periodic import every

logger = logging.getLogger(__name__)


@every(30, name="hotline.send")
@task(queue_name="default")
def send_messages():
    from .client import send_pending

    return send_pending()


@every(600, name="hotline.prune_nonces")
@task(queue_name="default")
def prune_nonces():
    from .services import prune_nonces as prune

    return prune()


def _enqueue():
    if not getattr(settings, "JIYUE_HOTLINE_AUTOSEND", True):
        return
    try:
        send_messages.enqueue()
    except Exception:  # noqa: BLE001 - the periodic job sends anyway
        logger.exception("could not enqueue the hotline sender")


def request_send() -> None:
    """Enqueue the sender once when the current transaction commits."""
    from jiyue.core.outbox import once_on_commit

    once_on_commit(_enqueue)


_retry_at: datetime | None = None   # the deferred sender job this process enqueued last
_retry_lock = threading.Lock()


def request_send_at(when: datetime) -> None:
    """Enqueue the sender to run at `when` (the next retry is due then), unless this process
    already enqueued one that runs no later (that run asks again for what is still waiting).
    The periodic job sends anyway; this only makes a retry happen on time."""
    global _retry_at
    if not getattr(settings, "JIYUE_HOTLINE_AUTOSEND", True):
        return
    from django.utils import timezone

    with _retry_lock:
        if _retry_at is not None and timezone.now() < _retry_at <= when:
            return
        _retry_at = when
    try:
        if send_messages.get_backend().supports_defer:
            send_messages.using(run_after=when).enqueue()
    except Exception:  # noqa: BLE001 - the periodic job sends anyway
        logger.exception("could not enqueue the hotline sender")
