"""The current request, so that audit records can name the source address by default."""

from contextvars import ContextVar

current_request: ContextVar = ContextVar("jiyue_current_request", default=None)
# Refusals and failures recorded inside a transaction during this request: (id, values).
pending_failures: ContextVar = ContextVar("jiyue_audit_pending_failures", default=None)


def client_address(request) -> str | None:
    if request is None:
        return None
    # Behind nginx the real client is in X-Real-IP (set by deploy/nginx config only).
    from django.conf import settings

    if getattr(settings, "JIYUE_TRUST_X_REAL_IP", False):
        real = request.META.get("HTTP_X_REAL_IP")
        if real:
            return real.strip()
    return request.META.get("REMOTE_ADDR") or None
