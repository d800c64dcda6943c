"""One-time verification codes: 6 digits, stored as HMAC-SM3 digests, valid for 10 minutes,
at most 5 attempts, single use, rate-limited per client address and per recipient.

    codes.send(request, "email", "a@example.cn", VerificationCode.PURPOSE_REGISTER)
    codes.verify(request, "email", "a@example.cn", VerificationCode.PURPOSE_REGISTER, "123456")

Both raise `CodeError` with a Chinese message the page shows as it is; every refusal is
recorded in the audit log.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from jiyue import audit
from jiyue.accounts.models import normalise_mobile
from jiyue.security import crypto, keyring, ratelimit
from jiyue.security.fields import blind_index

from .models import VerificationCode
from .senders import SendError, sender

MAX_ATTEMPTS = 5
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


class CodeError(Exception):
    def __init__(self, message: str, reason: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.reason = reason


def ttl() -> int:
    return int(getattr(settings, "JIYUE_CODE_TTL_SECONDS", 600))


def normalise(channel: str, recipient: str) -> str:
    """The canonical form of an address; raises ValidationError with a Chinese message."""
    recipient = (recipient or "").strip()
    if channel == VerificationCode.CHANNEL_EMAIL:
        if len(recipient) > 254:
            raise ValidationError(_("请输入有效的电子邮箱地址。"))
        validate_email_cn(recipient)
        local, _sep, domain = recipient.rpartition("@")
        return f"{local}@{domain.lower()}".lower()
    mobile = normalise_mobile(recipient)
    if not MOBILE_RE.match(mobile) or len(recipient) > 20:
        raise ValidationError(_("请输入有效的 11 位手机号码。"))
    return mobile


def validate_email_cn(value: str) -> None:
    try:
        validate_email(value)
    except ValidationError:
        raise ValidationError(_("请输入有效的电子邮箱地址。")) from None


def channel_of(recipient: str) -> str:
    """An identifier with "@" is an e-mail address, otherwise a mobile number."""
    return VerificationCode.CHANNEL_EMAIL if "@" in (recipient or "") else VerificationCode.CHANNEL_SMS


def mask(channel: str, value: str) -> str:
    """A recipient as the audit log and pages show it: a***@example.cn, 138****0000."""
    if channel == VerificationCode.CHANNEL_EMAIL:
        local, _sep, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"{value[:3]}****{value[-4:]}" if len(value) >= 7 else "***"


def _index(channel: str, value: str) -> str:
    return blind_index(f"code-{channel}", value)


def _digest(salt: str, code: str) -> str:
    return crypto.hmac_sm3(keyring.get().index_key, f"vcode\x00{salt}\x00{code}".encode()).hex()


def send(request, channel: str, recipient: str, purpose: str, user=None) -> VerificationCode:
    """Create a code for (channel, normalised recipient, purpose) and send it."""
    value = normalise(channel, recipient)
    masked = mask(channel, value)
    index = _index(channel, value)
    client = ratelimit.client_key(request)
    if not ratelimit.hit("send_code", client, request=request) \
            or not ratelimit.hit("send_code_to", f"{channel}:{index}", request=request):
        audit.record(user, None, None, "identity.code.send", masked, outcome="denied",
                     reason="rate_limited", channel=channel, purpose=purpose)
        raise CodeError(_("获取验证码过于频繁，请稍后再试。"), "rate_limited")
    code = f"{secrets.randbelow(10 ** 6):06d}"
    salt = secrets.token_hex(16)
    row = VerificationCode.objects.create(
        purpose=purpose, channel=channel, recipient_index=index, user=user, salt=salt,
        code_hash=_digest(salt, code), expires_at=timezone.now() + timedelta(seconds=ttl()))
    try:
        sender(channel).send(value, code, purpose)
    except SendError as exc:
        row.delete()
        audit.record(user, None, None, "identity.code.send", masked, outcome="failure",
                     reason="send_failed", channel=channel, purpose=purpose, error=str(exc)[:200])
        raise CodeError(_("验证码发送失败，请稍后重试。"), "send_failed") from exc
    audit.record(user, None, None, "identity.code.send", masked, channel=channel, purpose=purpose)
    return row


def verify(request, channel: str, recipient: str, purpose: str, code: str, user=None) -> VerificationCode:
    """Consume the latest code sent for (channel, recipient, purpose), or raise CodeError."""
    value = normalise(channel, recipient)
    masked = mask(channel, value)

    def refuse(message, reason):
        audit.record(user, None, None, "identity.code.verify", masked, outcome="failure",
                     reason=reason, channel=channel, purpose=purpose)
        return CodeError(message, reason)

    if not ratelimit.hit("verify_code", ratelimit.client_key(request), request=request):
        raise refuse(_("验证过于频繁，请稍后再试。"), "rate_limited")
    rows = VerificationCode.objects.filter(purpose=purpose, channel=channel,
                                           recipient_index=_index(channel, value))
    if user is not None:
        rows = rows.filter(user=user)
    row = rows.order_by("-id").first()
    now = timezone.now()
    if row is None:
        raise refuse(_("请先获取验证码。"), "missing")
    if row.used_at is not None:
        raise refuse(_("该验证码已使用，请重新获取。"), "reused")
    if row.expires_at <= now:
        raise refuse(_("验证码已过期，请重新获取。"), "expired")
    if row.attempts >= MAX_ATTEMPTS:
        raise refuse(_("验证码错误次数过多，请重新获取。"), "too_many_attempts")
    code = "".join((code or "").split())
    if not (len(code) == 6 and code.isdigit()
            and crypto.constant_time_equal(_digest(row.salt, code).encode(), row.code_hash.encode())):
        VerificationCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
        left = MAX_ATTEMPTS - row.attempts - 1
        if left <= 0:
            raise refuse(_("验证码错误次数过多，请重新获取。"), "wrong")
        raise refuse(_("验证码错误，还可尝试 %(n)d 次。") % {"n": left}, "wrong")
    with transaction.atomic():
        consumed = VerificationCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now)
    if not consumed:
        raise refuse(_("该验证码已使用，请重新获取。"), "reused")
    audit.record(user, None, None, "identity.code.verify", masked, channel=channel, purpose=purpose)
    return row
