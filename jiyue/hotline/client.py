"""Delivering outbound messages to the peers: signed POSTs, retried with exponential back-off.

A message is sent until the peer answers 2xx (state 已送达). A network error, a timeout, 5xx,
401/403 (a key being rotated), 404 (an order the peer has not stored yet) and 429 are retried:
after 30 s (JIYUE_HOTLINE_RETRY_SECONDS), 1, 2, 4 … minutes, at most an hour apart, up to
MAX_ATTEMPTS times (the sender job is enqueued for the next retry's time); then the message
is 发送失败 and waits for the operator's 重发. 400/409/422 (the peer will never accept this
message as it is) fail at once. Messages of one work order go out in order: a later one waits
while an earlier one is undelivered. The message id never changes, so a message the peer
stored but whose answer was lost is recognised there as a duplicate.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from . import protocol as p
from .models import Message

logger = logging.getLogger(__name__)

TIMEOUT = 10          # seconds per request
BASE_DELAY = 30       # seconds before the first retry
MAX_DELAY = 3600      # never more than an hour between tries
MAX_ATTEMPTS = 30     # about a day of trying, then 发送失败 until the operator retries
LEASE = timedelta(seconds=TIMEOUT * 3)
PERMANENT = (400, 409, 422)


def backoff(attempts: int) -> timedelta:
    base = float(getattr(settings, "JIYUE_HOTLINE_RETRY_SECONDS", BASE_DELAY) or BASE_DELAY)
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), MAX_DELAY))


def _post(url: str, headers: dict, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 (http/https checked)
            status, raw = response.status, response.read(64 * 1024)
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read(64 * 1024)
    try:
        data = json.loads(raw.decode("utf-8")) if raw else {}
    except (UnicodeDecodeError, ValueError):
        data = {}
    return status, data if isinstance(data, dict) else {}


def url_allowed(url: str) -> bool:
    """HTTPS, or HTTP to this machine (tests, a local TLCP gateway) or when allowed by
    JIYUE_HOTLINE_ALLOW_HTTP."""
    parts = urlsplit(url or "")
    if parts.scheme == "https":
        return bool(parts.hostname)
    if parts.scheme == "http":
        return parts.hostname in ("127.0.0.1", "localhost", "::1") or bool(
            getattr(settings, "JIYUE_HOTLINE_ALLOW_HTTP", False))
    return False


def _blocked(message: Message) -> bool:
    """An earlier message of the same order is still undelivered."""
    return Message.objects.filter(peer_id=message.peer_id, direction=Message.OUT,
                                  order_no=message.order_no, id__lt=message.pk,
                                  state__in=(Message.PENDING, Message.FAILED)).exists()


def deliver(message: Message, now=None) -> bool:
    """Try to send one message now. True when the peer took it."""
    from .services import our_code

    now = now or timezone.now()
    peer = message.peer
    if not (peer.enabled and peer.url and peer.key):
        Message.objects.filter(pk=message.pk).update(
            next_attempt_at=now + timedelta(seconds=MAX_DELAY // 4),
            last_error=_("对接已停用或未配置地址、密钥，暂缓发送。"))
        return False
    if not url_allowed(peer.url):
        Message.objects.filter(pk=message.pk).update(
            state=Message.FAILED, last_error=_("对方地址须为 HTTPS。"))
        return False
    body = message.body.encode("utf-8")
    headers = p.signed_headers(our_code(peer), peer.key, urlsplit(peer.url).path or "/", body,
                               now=now.timestamp())
    attempts = message.attempts + 1
    try:
        status, data = _post(peer.url, headers, body)
    except Exception as exc:  # noqa: BLE001 - network, TLS, timeout: all retried
        status, data, error = None, {}, (_("无法连接对方：%(e)s") % {"e": exc})[:500]
    else:
        error = str(data.get("detail") or data.get("title") or "")[:500]
    if status is not None and 200 <= status < 300:
        Message.objects.filter(pk=message.pk).update(
            state=Message.SENT, attempts=attempts, response_status=status, done_at=timezone.now(),
            last_error="", next_attempt_at=None, result=str(data.get("result", ""))[:200])
        return True
    permanent = status in PERMANENT or attempts >= MAX_ATTEMPTS
    Message.objects.filter(pk=message.pk).update(
        state=Message.FAILED if permanent else Message.PENDING, attempts=attempts,
        response_status=status, next_attempt_at=None if permanent else now + backoff(attempts),
        last_error=error or (_("对方应答 HTTP %(s)s。") % {"s": status}))
    logger.warning("hotline message %s to %s failed (%s): %s", message.message_id, peer.code,
                   status, error)
    return False


def send_pending(now=None, limit: int = 200) -> int:
    """Send the messages that are due, oldest first. Returns how many were delivered."""
    now = now or timezone.now()
    delivered = 0
    due = list(Message.objects.filter(direction=Message.OUT, state=Message.PENDING,
                                      next_attempt_at__lte=now)
               .select_related("peer").order_by("id")[:limit])
    for message in due:
        if _blocked(message):
            continue
        # claim it (another worker may be looking at the same row)
        claimed = Message.objects.filter(pk=message.pk, state=Message.PENDING,
                                         next_attempt_at=message.next_attempt_at
                                         ).update(next_attempt_at=now + LEASE)
        if not claimed:
            continue
        delivered += deliver(message, now)
    due = Message.objects.filter(direction=Message.OUT, state=Message.PENDING,
                                 next_attempt_at__gt=timezone.now()).aggregate(t=Min("next_attempt_at"))["t"]
    if due is not None:  # a retry waits: run again when it is due
        from .tasks import request_send_at

        request_send_at(due)
    return delivered


def next_due():
    return Message.objects.filter(direction=Message.OUT, state=Message.PENDING).aggregate(
        t=Min("next_attempt_at"))["t"]
