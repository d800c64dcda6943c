"""Background jobs of the 12345 exchange: sending (after each commit that queued messages, and
every 30 s for retries) and pruning the nonce store."""

from __future__ import annotations

import logging

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
