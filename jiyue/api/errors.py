"""Error answers of the open API (application/problem+json, RFC 9457) and the per-address
rate limit of its public entry points. Apps' API modules use `error` and `limited`; this module
imports no app (it is imported while the API's routers are being assembled)."""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.utils.translation import gettext as _


def problem(status: int, title: str, detail: str, **extra) -> HttpResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return HttpResponse(json.dumps(body, ensure_ascii=False), status=status,
                        content_type="application/problem+json; charset=utf-8")


def _titles() -> dict[int, str]:
    return {400: _("请求错误"), 401: _("未登录"), 403: _("无权操作"), 404: _("未找到"),
            409: _("状态冲突"), 422: _("请求参数无效"), 429: _("请求过于频繁")}


def error(status: int, detail: str, *, title: str | None = None, retry_after: int | None = None,
          **extra) -> HttpResponse:
    """An application/problem+json answer with the usual Chinese title of its status (or
    `title`), and Retry-After when given. The public interface for the apps' API modules."""
    response = problem(status, title or _titles().get(status, _("请求错误")), detail, **extra)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def limited(request, scope: str, message: str) -> HttpResponse | None:
    """Count this request against `scope` (jiyue.security.ratelimit, per client address): None
    while within the limit, else a 429 with Retry-After; `message` may name the seconds as %(n)s."""
    from jiyue.security import ratelimit

    seconds = ratelimit.wait(scope, request)
    if seconds is None:
        return None
    return error(429, message % {"n": seconds}, retry_after=seconds)
