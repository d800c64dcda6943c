"""`/_/letters` on every site host: writing to a mailbox and following the letter, in the site's
theme (templates in `letters/templates/letters/public/`, which a theme may override).

    GET       _/letters             this site's mailboxes, its published letters (paged, ?q=),
                                    the query-code box
    GET/POST  _/letters/new         the letter form (?mailbox=ID, ?content=…&from=qa); 303 to
    GET       _/letters/receipt     the receipt: query code, serial, reply deadline
    GET       _/letters/query       the query-code form (?code=… → 303 to the progress page)
    GET/POST  _/letters/q/<code>    progress: status, public steps, the reply, the rating form

Server-rendered, works without JavaScript; no inline script or style. Knowing the query code is
the credential: the progress page never shows the writer's phone, e-mail or address, and
masks the name.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlencode

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from jiyue.web.views import limited, render_page, see_other, site_for

from . import forms, services
from .models import Channel, Letter, LetterRecord, LetterType, Rating, Status
from .publishing import mask, mask_name

APP_TEMPLATES = Path(__file__).resolve().parent / "templates"
RECEIPTS = "letters_receipts"
PAGE_SIZE = 15
# steps the writer sees (others are internal even when stored as public)
PUBLIC_ACTIONS = {"submit", "accept", "reject", "assign", "transfer", "approve", "close", "reopen",
                  "rate", "extend_approve", "publish", "hand_over", "remote_assign"}
NOTE_ACTIONS = {"reject", "reopen", "extend_approve", "hand_over", "remote_assign"}
# what the writer sees of a status: review of the reply is part of handling
PUBLIC_STATUS = {Status.REVIEWING: Status.HANDLING}


# --- rendering in the site's theme ------------------------------------------------------------

def render(request, site, template: str, path: str, status: int = 200, **extra) -> HttpResponse:
    """One of this app's pages (`letters/public/<template>`) in the site's theme."""
    return render_page(request, site, f"letters/public/{template}", path, status,
                       templates=APP_TEMPLATES, **extra)


def _limited(request, site, path: str) -> HttpResponse | None:
    return limited(request, site, path, message=_("您提交得过于频繁，请 %(n)s 秒后再试。"),
                   back=("_/letters", _("返回信箱")))


def _citizen(request):
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and getattr(user, "is_citizen", False):
        return user
    return None


def _local(value, fmt="%Y-%m-%d %H:%M") -> str:
    return timezone.localtime(value).strftime(fmt) if value else ""


# --- what the writer sees of a letter (shared with the API) ------------------------------------

def status_label(letter: Letter) -> tuple[str, str]:
    status = PUBLIC_STATUS.get(letter.status, letter.status)
    return status, str(Status(status).label)


def progress(letter: Letter) -> dict:
    """The letter as its writer sees it: no phone, e-mail, address or staff names; the name
    masked; public steps with organisations and times; the reply once released."""
    labels = {**services.ACTION_LABELS, "approve": _("答复"), "extend_approve": _("延期答复"),
              "publish": _("公开")}
    steps = []
    for s in letter.steps.filter(public=True, action__in=PUBLIC_ACTIONS).select_related(
            "organisation", "to_organisation").order_by("at", "id"):
        steps.append({
            "action": s.action, "label": str(labels.get(s.action, s.action)),
            "organisation": s.organisation.name if s.organisation_id and s.organisation else "",
            "to_organisation": (s.to_organisation.name
                                if s.to_organisation_id and s.to_organisation else ""),
            "at": timezone.localtime(s.at).isoformat(), "time": _local(s.at),
            "note": s.note if s.action in NOTE_ACTIONS else "",
        })
    reply = None
    if letter.reply and letter.replied_at:
        reply = {"content": letter.reply,
                 "organisation": letter.reply_unit,
                 "replied_at": timezone.localtime(letter.replied_at).isoformat(),
                 "time": _local(letter.replied_at)}
    rating = None
    if letter.rating:
        rating = {"rating": letter.rating, "label": str(Rating(letter.rating).label),
                  "comment": letter.rating_comment,
                  "rated_at": timezone.localtime(letter.rated_at).isoformat() if letter.rated_at else None}
    status, label = status_label(letter)
    names = [letter.name] if letter.name else []
    return {
        "query_code": letter.query_code, "serial": letter.serial, "mailbox": letter.mailbox.name,
        "type": letter.type, "type_label": str(LetterType(letter.type).label),
        "title": mask(letter.title, names), "content": mask(letter.content, names),
        "writer": _("匿名") if letter.anonymous and not letter.name else mask_name(letter.name) or _("匿名"),
        "status": status, "status_label": label,
        "received_at": timezone.localtime(letter.received_at).isoformat(),
        "received": _local(letter.received_at),
        "due_date": timezone.localtime(letter.due_at).date().isoformat(),
        "reject_reason": letter.reject_reason if letter.status == Status.REJECTED else "",
        "steps": steps, "reply": reply, "rating": rating,
        "can_rate": letter.status == Status.REPLIED,
    }


def _paragraphs(text: str) -> list[str]:
    return [p for p in (text or "").split("\n") if p.strip()]


# --- pages ------------------------------------------------------------------------------------

@never_cache
@require_GET
def index(request):
    site = site_for(request)
    q = services.clean_text(request.GET.get("q", ""), 50)[:50]
    records = (LetterRecord.objects.filter(live=True, placements__site=site,
                                           placements__state="live")
               .distinct().order_by("-published_at", "-id"))
    if q:
        records = records.filter(title__icontains=q)
    page = Paginator(records.only("id", "title", "letter_type", "published_at",
                                  "reply_organisation_name"), PAGE_SIZE)
    number = request.GET.get("page", "1")
    current = page.get_page(number if str(number).isdigit() and len(str(number)) < 7 else 1)

    def href(n):
        params = [("q", q)] if q else []
        if n > 1:
            params.append(("page", n))
        return "letters" + ("?" + urlencode(params) if params else "")

    mailboxes = [{"id": m.pk, "name": m.name, "kind": m.get_kind_display(),
                  "leader": m.leader_name, "description": m.description,
                  "anonymous": m.allow_anonymous, "href": f"letters/new?mailbox={m.pk}"}
                 for m in forms.site_mailboxes(site)]
    published = [{"title": r.title, "type": str(LetterType(r.letter_type).label)
                  if r.letter_type in LetterType.values else "",
                  "organisation": r.reply_organisation_name, "id": r.pk,
                  "date": _local(r.published_at, "%Y-%m-%d")} for r in current.object_list]
    return render(request, site, "index.html", "_/letters", title=_("领导信箱"), mailboxes=mailboxes,
                  published=published, q=q, page=current.number, pages=page.num_pages,
                  prev=href(current.number - 1) if current.has_previous() else None,
                  next=href(current.number + 1) if current.has_next() else None)


def _form_context(request, site, mailboxes, mailbox, values, errors, citizen) -> dict:
    login = "../account/login?" + urlencode({"next": request.get_full_path()})
    return {
        "mailboxes": [{"id": m.pk, "name": m.name, "anonymous": m.allow_anonymous,
                       "selected": mailbox is not None and m.pk == mailbox.pk} for m in mailboxes],
        "mailbox": ({"id": mailbox.pk, "name": mailbox.name, "description": mailbox.description,
                     "anonymous": mailbox.allow_anonymous, "leader": mailbox.leader_name}
                    if mailbox else None),
        "types": [{"value": v, "label": str(label), "selected": values.get("type") == v,
                   "accepted": mailbox is None or mailbox.accepts(v)}
                  for v, label in LetterType.choices],
        "values": values, "errors": errors,
        "general_errors": [m for k in ("citizen", "__all__", "channel") for m in errors.get(k, [])],
        "citizen": {"name": citizen.get_full_name()} if citizen else None,
        "login": login, "csrf_token": get_token(request),
        "max_title": services.MAX_TITLE, "max_content": services.MAX_CONTENT,
        "max_attachments": forms.MAX_ATTACHMENTS,
        "attachment_types": _("、").join(sorted(forms.ATTACHMENT_TYPES - {"jpeg"})),
        "attachment_mb": forms.MAX_ATTACHMENT_BYTES // (1024 * 1024),
        "can_write": citizen is not None or (mailbox is not None and mailbox.allow_anonymous)
                     or mailbox is None,
    }


class _Rollback(Exception):
    pass


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def write(request):
    site = site_for(request)
    path = "_/letters/new"
    mailboxes = forms.site_mailboxes(site)
    citizen = _citizen(request)
    source = request.POST if request.method == "POST" else request.GET
    mailbox = forms.mailbox_of(site, source.get("mailbox"))
    if mailbox is None and len(mailboxes) == 1 and not source.get("mailbox"):
        mailbox = mailboxes[0]
    if request.method == "GET":
        values = {"type": request.GET.get("type", ""), "title": "",
                  "content": services.clean_text(request.GET.get("content", ""), services.MAX_CONTENT)
                  [:services.MAX_CONTENT],
                  "from": "qa" if request.GET.get("from") == "qa" else "",
                  "name": "", "phone": "", "email": "", "address": "",
                  "anonymous": citizen is None, "consent_publish": False}
        if citizen is not None:
            values.update(name=citizen.real_name or "", phone=citizen.mobile or "",
                          email=citizen.email or "", address=citizen.address or "")
        errors = {}
        if request.GET.get("mailbox") and mailbox is None:
            errors["mailbox"] = [_("该信箱不存在或已停用，请重新选择。")]
        return render(request, site, "write.html", path, title=_("我要写信"),
                      **_form_context(request, site, mailboxes, mailbox, values, errors, citizen))

    refused = _limited(request, site, path)
    if refused is not None:
        return refused
    post = request.POST
    values = {k: post.get(k, "") for k in forms.FIELDS}
    values["from"] = "qa" if post.get("from") == "qa" else ""
    values["anonymous"] = post.get("anonymous") in ("on", "1", "true")
    values["consent_publish"] = post.get("consent_publish") in ("on", "1", "true")
    errors: dict[str, list[str]] = {}
    if mailbox is None:
        errors["mailbox"] = [_("请选择要写信的信箱。")]
    files = request.FILES.getlist("attachments")
    attachment_errors = forms.check_attachments(files)
    if attachment_errors:
        errors["attachments"] = attachment_errors
    letter = None
    try:
        with transaction.atomic():
            if mailbox is not None:
                try:
                    letter = services.submit(
                        mailbox=mailbox, site=site, type=values["type"], title=values["title"],
                        content=values["content"], channel=Channel.WEB,
                        citizen=citizen, anonymous=values["anonymous"], name=values["name"],
                        phone=values["phone"], email=values["email"], address=values["address"],
                        consent_publish=values["consent_publish"],
                        data={"from": "qa"} if values["from"] else None)
                except ValidationError as exc:
                    for key, messages in exc.message_dict.items():
                        errors.setdefault(key, []).extend(messages)
            if errors:
                raise _Rollback
            forms.save_attachments(letter, files)
    except _Rollback:
        letter = None
    if letter is None:
        for key in ("title", "content", "name", "phone", "email", "address"):
            values[key] = services.clean_text(values[key], 5000)[:5000]
        response = render(request, site, "write.html", path, status=200, title=_("我要写信"),
                          **_form_context(request, site, mailboxes, mailbox, values, errors, citizen))
        return response
    receipts = list(request.session.get(RECEIPTS, []))[-9:]
    request.session[RECEIPTS] = [*receipts, letter.query_code]
    return see_other("receipt")


@never_cache
@require_GET
def receipt(request):
    site = site_for(request)
    codes = request.session.get(RECEIPTS, [])
    letter = services.find(codes[-1]) if codes else None
    if letter is None:
        return see_other("query")
    return render(request, site, "receipt.html", "_/letters/receipt", title=_("来信已提交"),
                  letter=progress(letter), query_href=f"q/{letter.query_code}")


@never_cache
@require_GET
def query(request):
    site = site_for(request)
    code = request.GET.get("code", "")
    error = ""
    if code:
        letter = services.find(code)
        if letter is not None:
            return see_other(f"q/{quote(letter.query_code)}")
        error = _("查询码不正确，请核对后重新输入（共12位字母和数字）。")
    return render(request, site, "query.html", "_/letters/query", title=_("来信查询"),
                  code=services.normalise_code(code)[:16], error=error)


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def detail(request, code: str):
    site = site_for(request)
    letter = services.find(code) if len(code) <= 16 and code.isalnum() and code.isascii() else None
    if letter is None or letter.query_code != code:
        raise Http404("no such letter")
    path = f"_/letters/q/{letter.query_code}"
    error = ""
    values = {"rating": "", "comment": ""}
    if request.method == "POST":
        refused = _limited(request, site, path)
        if refused is not None:
            return refused
        values = {"rating": request.POST.get("rating", ""),
                  "comment": services.clean_text(request.POST.get("comment", ""), 500)[:500]}
        try:
            services.rate(letter, values["rating"], values["comment"])
        except ValidationError as exc:
            error = _("；").join(m for ms in (exc.message_dict.values() if hasattr(exc, "error_dict")
                                           else [exc.messages]) for m in ms)
        else:
            return see_other(letter.query_code + "?rated=1")
        letter.refresh_from_db()
    view = progress(letter)
    return render(request, site, "progress.html", path, status=200, title=_("来信查询"),
                  letter=view, content=_paragraphs(view["content"]),
                  reply_paragraphs=_paragraphs(view["reply"]["content"]) if view["reply"] else [],
                  ratings=[{"value": v, "label": str(label), "checked": values["rating"] == v}
                           for v, label in Rating.choices],
                  values=values, error=error, rated=request.GET.get("rated") == "1",
                  csrf_token=get_token(request))
