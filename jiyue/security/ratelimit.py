"""Fixed-window rate limits kept in the cache (Redis when configured, else per process).

    if not ratelimit.hit("login", ratelimit.client_key(request)):
        return ratelimit.refused(request)

Limits are "N/s", "N/m" or "N/h" per scope; defaults below, overridden by
JIYUE_RATE_LIMITS (e.g. "login=10/m,register=5/h"). Addresses in JIYUE_RATE_LIMIT_EXEMPT
(a load-testing client, a trusted gateway) are never limited.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.utils.translation import gettext as _

DEFAULTS = {
    "login": "10/m",        # password attempts per address (accounts also lock per account)
    "register": "10/h",
    "send_code": "5/m",     # verification codes per address
    "send_code_to": "5/h",  # verification codes per recipient
    "verify_code": "20/m",
    "public_form": "20/m",  # letters, comments, ratings, error reports
    "api": "600/m",
    "search": "60/m",       # the public search page (/_/search) per address
    "search_suggest": "600/m",  # completion while typing (/_/search/suggest, API suggest)
    "qa": "120/m",          # questions to 智能问答 (/_/qa and /api/v1/qa) per address
    "token": "60/m",        # OIDC token endpoint per client address
}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _parse(rate: str) -> tuple[int, int]:
    count, unit = rate.strip().split("/")
    return int(count), _UNITS[unit.strip()[0]]


def limits() -> dict[str, tuple[int, int]]:
    table = dict(DEFAULTS)
    for part in (getattr(settings, "JIYUE_RATE_LIMITS", "") or "").split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            table[k.strip()] = v.strip()
    return {k: _parse(v) for k, v in table.items()}


def client_key(request) -> str:
    from jiyue.audit.context import client_address

    return client_address(request) or "unknown"


def exempt(request) -> bool:
    return client_key(request) in set(getattr(settings, "JIYUE_RATE_LIMIT_EXEMPT", ()) or ())


def hit(scope: str, key: str, *, request=None, cost: int = 1) -> bool:
    """Count one event for (scope, key); False when the limit for the window is exceeded."""
    if request is not None and exempt(request):
        return True
    count, window = limits()[scope]
    bucket = int(time.time() // window)
    ck = f"rl:{scope}:{key}:{bucket}"
    if cache.add(ck, cost, timeout=window + 1):
        return cost <= count
    try:
        n = cache.incr(ck, cost)
    except ValueError:  # expired between add and incr
        cache.add(ck, cost, timeout=window + 1)
        n = cost
    return n <= count


def retry_after(scope: str) -> int:
    """Seconds until the current window of `scope` ends (at least 1)."""
    _count, window = limits()[scope]
    return max(1, window - int(time.time()) % window)


def wait(scope: str, request) -> int | None:
    """Count this request against `scope` for its client address: None while within the
    limit, else the seconds to wait (what a 429's Retry-After says)."""
    if hit(scope, client_key(request), request=request):
        return None
    return retry_after(scope)


def limited(scope: str, key: str) -> bool:
    """Whether (scope, key) is over its limit now, without counting."""
    count, window = limits()[scope]
    return (cache.get(f"rl:{scope}:{key}:{int(time.time() // window)}") or 0) > count


def refused(request=None, message: str | None = None) -> HttpResponse:
    """429 with a plain Chinese message and Retry-After."""
    resp = HttpResponse(message or _("操作过于频繁，请稍后再试。"), status=429,
                        content_type="text/plain; charset=utf-8")
    resp["Retry-After"] = "60"
    return resp
