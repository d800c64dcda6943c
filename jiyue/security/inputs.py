"""Input no request may carry, refused at the door (400) before any view or database sees it.

NUL: PostgreSQL cannot hold it in text and raises; no URL, query parameter or JSON string of
the platform has a use for it (Django's form fields already refuse it in form bodies; file
uploads are not touched here). Found by the payload corpus (tests/test_payload_corpus.py)
in the identity, OIDC and API views.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext as _

API_PREFIX = "/api/"


def _refused(request) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        from jiyue.api.api import problem

        return problem(400, _("请求参数无效"), _("请求中含有不允许的控制字符。"))
    return HttpResponse(_("400 请求无效：请求中含有不允许的控制字符。"), status=400,
                        content_type="text/plain; charset=utf-8")


def carries_nul(request) -> bool:
    if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
        return True
    if any("\x00" in k or any("\x00" in v for v in vs) for k, vs in request.GET.lists()):
        return True
    ctype = request.META.get("CONTENT_TYPE", "")
    if ctype.startswith("application/json") and request.method in ("POST", "PUT", "PATCH", "DELETE"):
        try:
            body = request.body
        except Exception:  # too large: the view refuses it as Django does
            return False
        return b"\x00" in body or b"\\u0000" in body
    return False


class InputGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if carries_nul(request):
            return _refused(request)
        return self.get_response(request)
