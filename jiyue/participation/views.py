"""`/_/participation…` on every site host: 意见征集, 问卷调查 and 在线访谈, in the site's theme.

    GET       _/participation                        open and past items of this site
    GET/POST  _/participation/consultations/ID       the draft, published comments, the comment
                                                     form, after closing the summary
    GET/POST  _/participation/surveys/ID             the questionnaire (one response per citizen
                                                     or per browser, a cookie)
    GET       _/participation/surveys/ID/results     results with SVG charts (if public)
    GET/POST  _/participation/interviews/ID          guests, questions and answers (the page
                                                     refreshes itself while live), transcript
    GET       _/participation/interviews/ID/live.json the same as JSON, for pollers
    GET       _/participation/files/draft/ID, …/image/ID  the draft document, transcript images
    GET       _/participation/style.css

Server-rendered, no JavaScript needed, no inline script or style. POSTs are CSRF-protected,
rate limited (scope public_form) and redirect after success (303).
"""

from __future__ import annotations

import mimetypes
import secrets
from pathlib import Path

from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from jiyue.web.views import limited, see_other, site_for

from . import services
from .models import Consultation, Interview, Survey, SurveyQuestion, TranscriptImage
from .render import render

BASE = "_/participation"
COOKIE = "jy_participant"
LIVE_REFRESH_SECONDS = 30


def _user(request):
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _fmt(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M") if dt else ""


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in (text or "").split("\n") if p.strip()]


def _limited(request, site, path):
    return limited(request, site, path, back=(BASE, _("返回公众参与")))


def _login_href(request, root: str) -> str:
    from urllib.parse import urlencode

    return f"{root}_/account/login?" + urlencode({"next": request.get_full_path()})


# --- the index --------------------------------------------------------------------------------

@never_cache
@require_GET
def index(request):
    site = site_for(request)
    services.refresh_states()
    now = timezone.now()
    consultations = list(services.public_consultations(site)[:50])
    surveys = list(services.public_surveys(site)[:50])
    interviews = list(services.public_interviews(site)[:50])

    def row(kind, obj, state_label, current):
        return {"href": f"participation/{kind}/{obj.pk}", "title": obj.title, "state": state_label,
                "date": _fmt(getattr(obj, "opens_at", None) or obj.starts_at)[:10],
                "until": _fmt(getattr(obj, "closes_at", None) or obj.ends_at)[:10], "current": current}

    return render(
        request, site, "participation/public/index.html", BASE, title=_("公众参与"),
        consultations=[row("consultations", c, c.get_state_display(), c.accepting(now))
                       for c in consultations],
        surveys=[row("surveys", s, s.get_state_display(), s.accepting(now)) for s in surveys],
        interviews=[row("interviews", i, i.phase_label(now), i.phase(now) != Interview.ENDED)
                    for i in interviews])


# --- consultations ----------------------------------------------------------------------------

def _consultation(site, pk) -> Consultation:
    c = services.public_consultations(site).filter(pk=pk).first()
    if c is None:
        raise Http404("no such consultation")
    return c


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def consultation(request, pk: int):
    site = site_for(request)
    services.refresh_states()
    c = _consultation(site, pk)
    path = f"{BASE}/consultations/{pk}"
    values = {"name": "", "phone": "", "content": ""}
    error, field, status = "", "", 200
    if request.method == "POST":
        refused = _limited(request, site, path)
        if refused is not None:
            return refused
        values = {k: services.clean_text(request.POST.get(k, ""))[:services.MAX_COMMENT + 10]
                  for k in values}
        try:
            services.submit_comment(c, user=_user(request), **values)
        except services.ParticipationError as exc:
            error, field, status = exc.message, exc.field or "", 400 if exc.status == 422 else exc.status
        else:
            return see_other(f"{pk}?sent=1#comment-form")
    now = timezone.now()
    comments = services.approved_comments(c).order_by("created_at", "id")
    summarised = c.state == Consultation.SUMMARISED
    root = "../../../"
    return render(
        request, site, "participation/public/consultation.html", path, status=status, title=c.title,
        c={"id": c.pk, "title": c.title, "intro": _paragraphs(c.intro),
           "draft": _paragraphs(c.draft_text), "file": bool(c.draft_file),
           "file_name": Path(c.draft_file.name).suffix.lstrip(".").upper() if c.draft_file else "",
           "opens": _fmt(c.opens_at), "closes": _fmt(c.closes_at),
           "state": c.get_state_display(), "accepting": c.accepting(now),
           "not_started": c.state == Consultation.OPEN and now < c.opens_at,
           "require_login": c.require_login, "summary": _paragraphs(c.summary) if summarised else [],
           "summarised": summarised, "summarised_at": _fmt(c.summarised_at)},
        comments=[{"n": i, "content": _paragraphs(x.content), "at": _fmt(x.created_at),
                   "adoption": x.get_adoption_display() if summarised else "",
                   "reason": x.adoption_reason if summarised else ""}
                  for i, x in enumerate(comments, 1)],
        totals=services.totals(c) if summarised else None,
        logged_in=_user(request) is not None, login=_login_href(request, root),
        values=values, error=error, field=field, sent=request.GET.get("sent") == "1",
        csrf_token=get_token(request), max_length=services.MAX_COMMENT)


# --- surveys ------------------------------------------------------------------------------------

def _survey(site, pk) -> Survey:
    s = services.public_surveys(site).filter(pk=pk).first()
    if s is None:
        raise Http404("no such survey")
    return s


def _survey_answers(request, survey) -> dict:
    answers = {}
    for q in survey.questions.all():
        key = f"q{q.pk}"
        if q.kind == SurveyQuestion.MULTIPLE:
            values = request.POST.getlist(key)
            if values:
                answers[str(q.pk)] = [v if v.isdigit() else "x" for v in values[:50]]
        else:
            value = request.POST.get(key, "")
            if q.kind == SurveyQuestion.TEXT:
                answers[str(q.pk)] = value[:services.MAX_TEXT_ANSWER + 10]
            elif value != "":
                answers[str(q.pk)] = value if value.isdigit() and len(value) < 4 else "x"
    return answers


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def survey(request, pk: int):
    site = site_for(request)
    services.refresh_states()
    s = _survey(site, pk)
    path = f"{BASE}/surveys/{pk}"
    token = request.COOKIES.get(COOKIE, "")
    if not (16 <= len(token) <= 64 and token.isalnum()):
        token = ""
    new_token = "" if token else secrets.token_hex(16)
    error, field, status, chosen = "", "", 200, {}
    if request.method == "POST":
        refused = _limited(request, site, path)
        if refused is not None:
            return refused
        answers = _survey_answers(request, s)
        chosen = answers
        try:
            services.submit_response(s, answers=answers, user=_user(request), token=token)
        except services.ParticipationError as exc:
            error, field, status = exc.message, exc.field or "", 400 if exc.status == 422 else exc.status
        else:
            return see_other(f"{pk}?sent=1")
    now = timezone.now()
    responded = services.has_responded(s, user=_user(request), token=token)
    questions = []
    for i, q in enumerate(s.questions.all(), 1):
        given = chosen.get(str(q.pk))
        picked = {str(v) for v in (given if isinstance(given, list) else [given])} if given else set()
        questions.append({
            "n": i, "id": q.pk, "key": f"q{q.pk}", "kind": q.kind, "text": q.text,
            "required": q.required, "kind_label": q.get_kind_display(),
            "options": [{"value": str(j), "label": o, "checked": str(j) in picked}
                        for j, o in enumerate(q.options)],
            "ratings": [{"value": str(n), "checked": str(n) in picked} for n in range(1, 6)],
            "text_value": given if q.kind == SurveyQuestion.TEXT and isinstance(given, str) else "",
            "invalid": field == f"q{q.pk}"})
    response = render(
        request, site, "participation/public/survey.html", path, status=status, title=s.title,
        s={"id": s.pk, "title": s.title, "intro": _paragraphs(s.intro), "opens": _fmt(s.opens_at),
           "closes": _fmt(s.closes_at), "state": s.get_state_display(), "accepting": s.accepting(now),
           "not_started": s.state == Survey.OPEN and now < s.opens_at,
           "require_login": s.require_login, "results_public": s.results_public},
        questions=questions, responded=responded, sent=request.GET.get("sent") == "1",
        logged_in=_user(request) is not None, login=_login_href(request, "../../../"),
        error=error, csrf_token=get_token(request), max_length=services.MAX_TEXT_ANSWER)
    if new_token:
        response.set_cookie(COOKIE, new_token, max_age=365 * 86400, httponly=True, samesite="Lax",
                            secure=request.is_secure())
    return response


@never_cache
@require_GET
def survey_results(request, pk: int):
    site = site_for(request)
    services.refresh_states()
    s = _survey(site, pk)
    if not s.results_public:
        raise Http404("results not public")
    from markupsafe import Markup

    data = services.results(s)
    for q in data["questions"]:
        q["svg"] = Markup(q["svg"])  # built and escaped by charts.bar_chart
    return render(request, site, "participation/public/results.html", f"{BASE}/surveys/{pk}/results",
                  title=_("%(title)s 调查结果") % {"title": s.title}, s={"id": s.pk, "title": s.title},
                  results=data)


# --- interviews -----------------------------------------------------------------------------

def _interview(site, pk) -> Interview:
    i = services.public_interviews(site).filter(pk=pk).first()
    if i is None:
        raise Http404("no such interview")
    return i


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def interview(request, pk: int):
    site = site_for(request)
    i = _interview(site, pk)
    path = f"{BASE}/interviews/{pk}"
    values = {"nickname": "", "content": ""}
    error, field, status = "", "", 200
    if request.method == "POST":
        refused = _limited(request, site, path)
        if refused is not None:
            return refused
        values = {k: services.clean_text(request.POST.get(k, ""))[:services.MAX_QUESTION + 10]
                  for k in values}
        try:
            services.submit_question(i, user=_user(request), **values)
        except services.ParticipationError as exc:
            error, field, status = exc.message, exc.field or "", 400 if exc.status == 422 else exc.status
        else:
            return see_other(f"{pk}?sent=1#ask")
    view = services.interview_view(i)
    images = [{"href": f"../files/image/{img.pk}", "caption": img.caption}
              for img in i.images.all()] if view["transcript_published"] else []
    return render(request, site, "participation/public/interview.html", path, status=status,
                  title=i.title, i=view, images=images, values=values, error=error, field=field,
                  sent=request.GET.get("sent") == "1", csrf_token=get_token(request),
                  refresh=LIVE_REFRESH_SECONDS if view["phase"] == Interview.LIVE and not error else 0,
                  max_length=services.MAX_QUESTION)


@never_cache
@require_GET
def interview_live(request, pk: int):
    site = site_for(request)
    return JsonResponse(services.interview_view(_interview(site, pk)),
                        json_dumps_params={"ensure_ascii": False})


# --- files ----------------------------------------------------------------------------------

def _file_response(field, download: bool):
    try:
        handle = field.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404("file missing") from None
    name = Path(field.name).name
    ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=ctype, as_attachment=download, filename=name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_GET
def draft_file(request, pk: int):
    c = _consultation(site_for(request), pk)
    if not c.draft_file:
        raise Http404("no file")
    return _file_response(c.draft_file, download=not c.draft_file.name.lower().endswith(".pdf"))


@require_GET
def transcript_image(request, pk: int):
    site = site_for(request)
    img = TranscriptImage.objects.filter(
        pk=pk, interview__site=site, interview__state=Interview.PUBLISHED,
        interview__transcript_published_at__isnull=False).first()
    if img is None:
        raise Http404("no image")
    return _file_response(img.file, download=False)


STYLE = (Path(__file__).resolve().parent / "assets" / "participation.css").read_bytes()


@require_GET
def style(request):
    response = HttpResponse(STYLE, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response
