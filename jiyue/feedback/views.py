"""`/_/feedback/…` on every site host: page ratings and error reports, in the site's theme.

    POST _/feedback/rate            好/差 from the form on every published page (a static file:
                                    no CSRF token; see `rate_page`); a thank-you page, or JSON
                                    for the theme's feedback.js (Accept: application/json)
    POST _/feedback/rate/reasons    the reasons of a 差 given after the vote (CSRF)
    GET  _/feedback/error?url=…     the 我为政府网站找错 form; POST stores the report (CSRF)
    GET  _/feedback/error/q/<code>  the report's progress and outcome (its receipt with ?new=1)
    GET  _/feedback/error/q?code=…  look a code up

Server-rendered, works without JavaScript; no inline script or style.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from django.core import signing
from django.http import Http404, JsonResponse
from django.middleware.csrf import get_token
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiyue.security import ratelimit
from jiyue.web.views import limited, limited_json, render_page, see_other, site_for

from . import services
from .models import ErrorType, Outcome, Rating, Reason, ReportStatus

VOTER_COOKIE = "jy_voter"
VOTER_MAX_AGE = 365 * 24 * 3600
REASONS_SALT = "jiyue.feedback.reasons"
_COOKIE = re.compile(r"^[0-9a-f]{32}$")


def _limited(request, site, path: str, wants_json: bool = False):
    """None within the `public_form` limit; else the 429 page, or for the rating script JSON."""
    if wants_json:
        return limited_json(request, "public_form", ok=False)
    return limited(request, site, path)


def _same_origin(request) -> bool:
    """The rating form is a static page without a CSRF token; a browser says where a POST
    comes from (Origin, Sec-Fetch-Site): a vote sent from another site is refused."""
    if request.headers.get("Sec-Fetch-Site", "") == "cross-site":
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == request.get_host().lower()


def _reason_choices(selected=()) -> list[dict]:
    return [{"value": v, "label": str(label), "checked": v in selected} for v, label in Reason.choices]


# --- ratings ------------------------------------------------------------------------------------

@csrf_exempt  # the form is on static pages; _same_origin() refuses votes from other sites
@never_cache
@require_POST
def rate_page(request):
    site = site_for(request)
    path = "_/feedback/rate"
    wants_json = "application/json" in request.headers.get("Accept", "")
    if not _same_origin(request):
        message = _("请在本站页面上评价。")
        if wants_json:
            return JsonResponse({"ok": False, "message": message}, status=403,
                                json_dumps_params={"ensure_ascii": False})
        return render_page(request, site, "feedback/rate.html", path, status=403,
                           title=_("页面评价"), state="error", message=message, page_href="",
                           ask_reasons=False, token="", reasons=[], csrf_token="", value="")
    limited = _limited(request, site, path, wants_json)
    if limited is not None:
        return limited
    cookie = request.COOKIES.get(VOTER_COOKIE, "")
    known = bool(_COOKIE.match(cookie))
    voter = cookie if known else secrets.token_hex(16)
    data = request.POST
    value = data.get("value", "")
    page = data.get("page", "")
    state, status, message, rating = "thanks", 200, "", None
    try:
        rating = services.rate(site=site, page=page, value=value, voter=voter,
                               address=ratelimit.client_key(request), new_browser=not known,
                               resource_id=data.get("resource"), column_id=data.get("column"),
                               reasons=data.getlist("reason"), comment=data.get("comment", ""))
        message = _("感谢您的评价！")
    except services.FeedbackError as exc:
        state, status, message = ("already" if exc.status == 409 else "error"), exc.status, exc.message
    norm = services.normalise_page(page, site) if page else None
    if rating is not None:
        norm = rating.page
    root = "../../"
    page_href = root + norm if norm is not None else ""
    ask_reasons = rating is not None and rating.value == Rating.BAD and not rating.reasons \
        and not rating.comment
    if wants_json:
        response = JsonResponse({"ok": rating is not None, "message": message,
                                 "value": rating.value if rating else None},
                                status=status, json_dumps_params={"ensure_ascii": False})
    else:
        response = render_page(
            request, site, "feedback/rate.html", path, status=status, title=_("页面评价"),
            state=state, message=message, page_href=page_href, ask_reasons=ask_reasons,
            token=signing.dumps(rating.pk, salt=REASONS_SALT) if ask_reasons else "",
            reasons=_reason_choices(), csrf_token=get_token(request) if ask_reasons else "",
            value=rating.value if rating else "")
    response.set_cookie(VOTER_COOKIE, voter, max_age=VOTER_MAX_AGE, httponly=True,
                        samesite="Lax", secure=request.is_secure())
    return response


@csrf_protect
@never_cache
@require_POST
def reasons_page(request):
    site = site_for(request)
    path = "_/feedback/rate/reasons"
    limited = _limited(request, site, path)
    if limited is not None:
        return limited
    rating = None
    try:
        pk = signing.loads(request.POST.get("token", ""), salt=REASONS_SALT, max_age=2 * 86400)
        rating = Rating.objects.filter(pk=int(pk), site=site).first()
    except (signing.BadSignature, TypeError, ValueError):
        pass
    cookie = request.COOKIES.get(VOTER_COOKIE, "")
    if rating is None or not _COOKIE.match(cookie) or services.voter_key(cookie) != rating.voter:
        return render_page(request, site, "feedback/rate.html", path, status=404,
                           title=_("页面评价"), state="error", message=_("找不到您的评价，请回到页面重新评价。"),
                           page_href="", ask_reasons=False, token="", reasons=[], csrf_token="",
                           value="")
    root = "../../../"
    status, state, message, ask = 200, "thanks", _("感谢您告诉我们原因，我们会尽快改进。"), False
    try:
        services.add_reasons(rating, request.POST.getlist("reason"), request.POST.get("comment", ""))
    except services.FeedbackError as exc:
        status, message = exc.status, exc.message
        state = "already" if exc.status == 409 else "thanks"
        ask = exc.status != 409
    return render_page(
        request, site, "feedback/rate.html", path, status=status, title=_("页面评价"), state=state,
        message=message, page_href=root + rating.page, ask_reasons=ask,
        token=request.POST.get("token", "") if ask else "", value=rating.value,
        reasons=_reason_choices(request.POST.getlist("reason")),
        csrf_token=get_token(request) if ask else "")


# --- error reports ------------------------------------------------------------------------------

def _error_context(request, site, page, values=None, errors=None) -> dict:
    values = values or {}
    return {"page": page, "page_href": ("../../" + page) if page is not None else "",
            "page_url": f"https://{site.domain}/{page}" if page is not None else "",
            "types": [{"value": v, "label": str(label), "checked": values.get("type") == v}
                      for v, label in ErrorType.choices],
            "values": {"description": values.get("description", ""),
                       "contact": values.get("contact", "")},
            "errors": errors or {}, "csrf_token": get_token(request),
            "max_description": services.MAX_DESCRIPTION, "max_contact": services.MAX_CONTACT}


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def error_page(request):
    site = site_for(request)
    path = "_/feedback/error"
    if request.method == "GET":
        page = services.normalise_page(request.GET.get("url", ""), site)
        return render_page(request, site, "feedback/error.html", path, title=_("我为政府网站找错"),
                           url=request.GET.get("url", "")[:500] if page is not None else "",
                           **_error_context(request, site, page))
    limited = _limited(request, site, path)
    if limited is not None:
        return limited
    data = request.POST
    url = data.get("url", "")
    try:
        report = services.report_error(
            site=site, url=url, type=data.get("type", ""), description=data.get("description", ""),
            contact=data.get("contact", ""), screenshot=request.FILES.get("screenshot"),
            citizen=request.user if request.user.is_authenticated else None)
    except services.FeedbackError as exc:
        page = services.normalise_page(url, site)
        return render_page(request, site, "feedback/error.html", path, status=422,
                           title=_("我为政府网站找错"), url=url[:500] if page is not None else "",
                           **_error_context(request, site, page, data, exc.errors))
    return see_other(f"error/q/{report.code}?new=1")


def _fmt(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M") if dt else ""


@never_cache
@require_GET
def query_page(request, code: str = ""):
    site = site_for(request)
    if not code:
        code = services.normalise_code(request.GET.get("code", ""))
        if code:
            if services.find(code) is None:
                return render_page(request, site, "feedback/query.html", "_/feedback/error/q",
                                   status=404, title=_("找错留言查询"), report=None, new=False,
                                   code=code, message=_("没有找到该查询码对应的留言，请核对后再试。"))
            return see_other(f"q/{code}")
        return render_page(request, site, "feedback/query.html", "_/feedback/error/q",
                           title=_("找错留言查询"), report=None, new=False, code="", message="")
    report = services.find(code)
    if report is None or report.site_id != site.pk:
        raise Http404("no such report on this site")
    view = {
        "code": report.code, "type": report.get_type_display(), "description": report.description,
        "page": report.page, "page_href": "../../../../" + report.page,
        "received": _fmt(report.received_at), "status": report.get_status_display(),
        "answered": report.status == ReportStatus.ANSWERED,
        "outcome": report.get_outcome_display() if report.outcome else "",
        "fixed": report.outcome == Outcome.FIXED, "answer": report.answer,
        "answered_at": _fmt(report.answered_at), "organisation": report.organisation.name,
        "answer_due": timezone.localtime(report.answer_due).strftime("%Y-%m-%d"),
        "paragraphs": [p for p in report.answer.split("\n") if p.strip()],
    }
    return render_page(request, site, "feedback/query.html", f"_/feedback/error/q/{report.code}",
                       title=_("找错留言查询"), report=view, new=request.GET.get("new") == "1",
                       code=report.code, message="")
