"""依申请公开 on every site host (`/_/disclosure/…`), in the site's theme.

    GET  _/disclosure              the guide, the link to apply and the progress query box
    GET  _/disclosure/apply        the application form (公民 / 法人或其他组织)
    POST _/disclosure/apply        store it (CSRF, rate limit `public_form`), then 303 to
    GET  _/disclosure/q/<code>     the receipt / progress page: status, 答复期限, public steps,
                                   the reply once issued
    GET  _/disclosure/q?code=…     the query box: redirects to the page above

Server-rendered, works without JavaScript; no inline script or style. The pages' templates
live in this app (templates/disclosure/public, a theme may override them) and extend the
theme's base.html.
"""

from __future__ import annotations

from pathlib import Path

from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from jiyue.web.views import limited, render_page, see_other, site_for

from . import services
from .models import ApplicantCategory, ApplicantKind, Delivery, IdType, ORGANISATION_CATEGORIES, Status

TEMPLATES = Path(__file__).resolve().parent / "templates"
FIELDS = ("applicant_kind", "category", "name", "id_type", "id_number", "legal_representative",
          "contact_name", "phone", "email", "address", "postcode", "description", "purpose", "delivery")


def render(request, site, template: str, path: str, status: int = 200, **extra) -> HttpResponse:
    """One of this app's pages (`disclosure/public/<template>`) in the site's theme."""
    return render_page(request, site, f"disclosure/public/{template}", path, status,
                       templates=TEMPLATES, **extra)


def _choices() -> dict:
    return {"kinds": ApplicantKind.choices, "id_types": IdType.choices,
            "categories": [(c.value, c.label) for c in ORGANISATION_CATEGORIES],
            "deliveries": Delivery.choices}


@never_cache
@require_GET
def index(request):
    site = site_for(request)
    return render(request, site, "index.html", "_/disclosure", title=_("依申请公开"),
                  organisation=site.organisation.name, error="", code="")


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def apply(request):
    site = site_for(request)
    path = "_/disclosure/apply"
    user = request.user if getattr(request.user, "is_citizen", False) else None
    values = {k: "" for k in FIELDS}
    values.update(applicant_kind=ApplicantKind.PERSON, id_type=IdType.ID_CARD)
    errors: dict[str, str] = {}
    if request.method == "POST":
        refused = limited(request, site, path, back=("_/disclosure", _("返回依申请公开")))
        if refused is not None:
            return refused
        values = {k: services.clean_text(request.POST.get(k, ""), 3000) for k in FIELDS}
        try:
            app = services.submit(organisation=site.organisation, site=site, citizen=user,
                                  **{k: request.POST.get(k, "") for k in FIELDS})
        except services.ValidationError as exc:
            errors = {k: " ".join(v) for k, v in exc.message_dict.items()} if hasattr(exc, "error_dict") \
                else {"__all__": " ".join(exc.messages)}
        else:
            return see_other(f"q/{app.query_code}?receipt=1")
    elif user is not None:
        values.update(name=getattr(user, "real_name", "") or "", phone=getattr(user, "mobile", "") or "",
                      email=user.email or "", address=getattr(user, "address", "") or "")
    return render(request, site, "apply.html", path,
                  status=422 if errors else 200, title=_("政府信息公开申请"),
                  organisation=site.organisation.name, values=values, errors=errors,
                  csrf_token=get_token(request), max_description=services.MAX_DESCRIPTION,
                  **_choices())


@never_cache
@require_GET
def query(request):
    site = site_for(request)
    code = request.GET.get("code", "")
    app = services.find(code)
    if app is None or app.organisation_id != site.organisation_id:
        return render(request, site, "index.html", "_/disclosure/q", status=404 if code else 200,
                      title=_("依申请公开"), organisation=site.organisation.name,
                      code=services.clean_text(code, 30)[:30],
                      error=_("没有找到该查询码对应的申请，请核对后重试。") if code else "")
    return see_other(f"q/{app.query_code}")


def progress_view(app) -> dict:
    """What the applicant sees (no personal data beyond a masked name)."""
    local = timezone.localtime
    name = app.name or ""
    masked = name[:1] + "*" * max(len(name) - 1, 1) if name else ""
    steps = [{"label": str(services.ACTION_LABELS.get(s.action, s.action)),
              "at": local(s.at).strftime("%Y-%m-%d %H:%M"), "note": s.note}
             for s in app.steps.filter(public=True).order_by("at", "id")]
    clock = services.clock(app)
    return {"serial": app.serial, "query_code": app.query_code, "status": app.get_status_display(),
            "open": app.is_open, "correction": app.status == Status.CORRECTION,
            "organisation": app.organisation.name, "name": masked,
            "category": ApplicantCategory(app.category).label,
            "received": local(app.received_at).strftime("%Y-%m-%d"),
            "due": local(app.due_at).strftime("%Y-%m-%d") if app.due_at else "",
            "remaining": clock["remaining"], "description": app.description,
            "delivery": app.get_delivery_display(), "steps": steps,
            "result": app.get_result_display() if app.result else "",
            "reply_paragraphs": [p for p in app.reply.split("\n") if p.strip()],
            "replied": local(app.replied_at).strftime("%Y-%m-%d") if app.replied_at else ""}


@never_cache
@require_GET
def progress(request, code: str):
    site = site_for(request)
    app = services.find(code)
    if app is None or app.organisation_id != site.organisation_id:
        raise Http404("no such application on this site")
    return render(request, site, "progress.html", f"_/disclosure/q/{app.query_code}",
                  title=_("申请办理进度"), app=progress_view(app), receipt=request.GET.get("receipt") == "1")
