"""In front of the open API (/api/): the rate limit, scope "api" of jiyue.security.ratelimit
per client address (JIYUE_RATE_LIMITS, e.g. "api=600/m"; addresses in JIYUE_RATE_LIMIT_EXEMPT
are never limited; every request counts, anonymous, session or token); and Django's own
error pages under /api/ (no such route, wrong method) turned into the API's problem+json.
(NUL in any request is refused before, by jiyue.security.inputs.)"""

from __future__ import annotations

from django.utils.translation import gettext as _

from jiyue.security import ratelimit


class ApiGuardMiddleware:
    prefix = "/api/"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(self.prefix) and not ratelimit.hit(
                "api", ratelimit.client_key(request), request=request):
            from jiyue.api.api import problem

            response = problem(429, _("请求过于频繁"),
                               _("请求过于频繁，请稍后再试（每个地址的接口调用次数有上限）。"))
            response["Retry-After"] = str(ratelimit.retry_after("api"))
            return response
        response = self.get_response(request)
        if (request.path.startswith(self.prefix) and response.status_code >= 400
                and not response.get("Content-Type", "").startswith(
                    ("application/json", "application/problem+json"))):
            # Django's own answers (no such route, method not allowed): JSON like the rest
            from jiyue.api.api import problem

            titles = {404: (_("未找到"), _("请求的接口或对象不存在。")),
                      405: (_("不支持的请求方法"), _("该接口不支持此请求方法。"))}
            title, detail = titles.get(response.status_code, (_("请求错误"), _("请求无法处理。")))
            replaced = problem(response.status_code, title, detail)
            for name in ("Allow", "Retry-After"):
                if name in response:
                    replaced[name] = response[name]
            return replaced
        return response


from wagtail.contrib.redirects.middleware import RedirectMiddleware as _WagtailRedirects  # noqa: E402


class RedirectMiddleware(_WagtailRedirects):
    """Wagtail's redirects (staff-managed, for moved pages), except on the API: an API
    404 stays a 404 (no page redirect for a client that asked for data), and costs no
    lookup of the site and the redirect table."""

    def process_response(self, request, response):
        if request.path.startswith(ApiGuardMiddleware.prefix):
            return response
        return super().process_response(request, response)
