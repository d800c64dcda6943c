"""`/_/qa` on every site host: the ask page (智能问答) and FAQ entries, in the site's theme.

    GET  _/qa?q=…          ask: up to 5 answers with their sources, 有用/没用 buttons; when not
                           confident, "没有找到确切答案" and the responsible department's contact
    POST _/qa              有用/没用 for a question asked in this session (CSRF), then back to
    GET  _/qa?question=ID  the question with its answers and the thanks
    GET  _/qa/faq/ID       one FAQ entry (the `source.url` of FAQ answers)

Server-rendered, works without JavaScript; no inline script or style (the CSP allows none).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.apps import apps
from django.http import Http404
from django.middleware.csrf import get_token
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from jiyue.web.views import limited, render_page, see_other, site_for

from . import services
from .models import FaqEntry, Question

PATH = "_/qa"
# The app that will receive letters (issue 6); the offer links to it once it is installed.
LETTERS_APP = "jiyue.letters"
SESSION_KEY = "qa_asked"


def _asked(request) -> list[int]:
    return list(request.session.get(SESSION_KEY, []))


def _remember(request, question_id: int) -> None:
    request.session[SESSION_KEY] = [*_asked(request)[-49:], question_id]


def _kind_label(kind: str) -> str:
    if kind == "faq":
        return _("问答知识")
    from jiyue.library.kinds import kinds

    model = kinds().get(kind)
    return str(model._meta.verbose_name) if model else _("信息")


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in (text or "").split("\n") if p.strip()]


def _contact(site, answers) -> dict:
    """The department responsible for the question: the organisation of the best FAQ answer
    when it has a site, else this site's; its site's footer facts."""
    from jiyue.platform.models import Site

    target = site
    org_id = next((a.get("organisation") for a in answers if a.get("organisation")), None)
    if org_id:
        target = Site.objects.filter(organisation_id=org_id).first() or site
    return {"name": target.sponsor or target.name, "phone": target.phone, "email": target.email,
            "address": target.address, "organisation": target.organisation_id}


# The page shows the answers that are not far below the best one (the API returns all 5 with
# their scores): an answer scoring a tenth of the best, or ~0, only distracts.
RELATIVE_FLOOR = 0.1
ABSOLUTE_FLOOR = 0.01


def shown_answers(answers: list[dict]) -> list[dict]:
    if not answers:
        return []
    best = float(answers[0].get("score") or 0.0)
    floor = max(ABSOLUTE_FLOOR, best * RELATIVE_FLOOR)
    return [answers[0]] + [a for a in answers[1:] if float(a.get("score") or 0.0) >= floor]


def _view(root: str, result: dict, site, question: str) -> dict:
    answers = [{"title": a["title"], "paragraphs": _paragraphs(a["text"]),
                "href": root + a["path"] if a.get("path") else a["source"]["url"],
                "kind": a["source"]["kind"], "kind_label": _kind_label(a["source"]["kind"])}
               for a in shown_answers(result["answers"])]
    letters = None
    if not result["confident"] and apps.is_installed(LETTERS_APP):
        letters = f"{root}_/letters/new?" + urlencode({"content": question, "from": "qa"})
    return {"answers": answers, "confident": result["confident"],
            "question_id": result["question_id"], "feedback": result.get("feedback", ""),
            "contact": None if result["confident"] else _contact(site, result["answers"]),
            "letters": letters}


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def ask_page(request):
    site = site_for(request)
    root = "../"  # _/qa is one level below the site's root
    if request.method == "POST":
        return _feedback(request)
    context = {"q": "", "result": None, "error": "", "thanks": False, "entry": None,
               "csrf_token": get_token(request), "max_length": services.MAX_QUESTION}
    question_id = request.GET.get("question", "")
    q = request.GET.get("q", "")
    if q.strip():
        refused = limited(request, site, PATH, "qa", _("您的提问过于频繁，请 %(n)s 秒后再试。"))
        if refused is not None:
            return refused
        try:
            result = services.ask(q, site_code=site.code,
                                  user=request.user if request.user.is_authenticated else None)
        except services.QaError as exc:
            context.update(q=services.display.clean(q)[:services.MAX_QUESTION], error=exc.message)
            return render_page(request, site, "qa.html", PATH, status=200, title=_("智能问答"),
                               **context)
        _remember(request, result["question_id"])
        context.update(q=services.display.clean(q), result=_view(root, result, site, q))
    elif question_id.isdigit() and int(question_id) in _asked(request):
        stored = Question.objects.filter(pk=int(question_id), site_code=site.code).first()
        if stored is not None:
            result = {"answers": stored.answers, "confident": stored.confident,
                      "question_id": stored.pk, "feedback": stored.feedback}
            context.update(q=stored.text, result=_view(root, result, site, stored.text),
                           thanks=bool(stored.feedback))
    return render_page(request, site, "qa.html", PATH, title=_("智能问答"), **context)


def _feedback(request):
    question_id = request.POST.get("question", "")
    useful = request.POST.get("useful", "")
    if not question_id.isdigit() or useful not in ("1", "0"):
        return see_other("?")
    try:
        services.feedback(int(question_id), useful == "1", asked=_asked(request))
    except services.QaError:
        pass  # someone else's question, or rated already: the page shows what is recorded
    return see_other("?" + urlencode({"question": question_id}))


def faq_page(request, pk: int):
    site = site_for(request)
    entry = FaqEntry.objects.filter(pk=pk, enabled=True).select_related("organisation").first()
    if entry is None or (entry.organisation_id is not None
                         and entry.organisation_id not in services.visible_organisations(site)):
        raise Http404("no such entry on this site")
    path = f"{PATH}/faq/{pk}"
    return render_page(request, site, "qa.html", path, title=entry.title, q="", result=None,
                       error="", thanks=False, csrf_token="", max_length=services.MAX_QUESTION,
                       entry={"title": entry.title, "question": entry.question,
                              "paragraphs": _paragraphs(entry.answer),
                              "organisation": entry.organisation.name if entry.organisation else "",
                              "updated": entry.updated_at.date().isoformat()})
