"""The feedback app's public interface: page ratings (好/差) and error reports (找错).

    rate(site=…, page=…, value=…, voter=…, address=…, resource_id=…, column_id=…,
         reasons=…, comment=…)                               -> Rating
    add_reasons(rating, reasons, comment)                     -> Rating
    report_error(site=…, url=…, type=…, description=…, contact=…, screenshot=…, citizen=…)
                                                              -> ErrorReport
    forward(report, actor, to_organisation=None, note="")     -> ErrorReport
    answer(report, actor, outcome, text)                      -> ErrorReport
    find(code) / check_overdue(now) / forward_targets(report)

Deadlines are counted with `jiyue.workdays.calendar.deadline` from the day of receipt:
forwarding within `JIYUE_FEEDBACK_FORWARD_DAYS` (default 1) and answering within
`JIYUE_FEEDBACK_ANSWER_DAYS` (default 3) working days. Bad input raises `FeedbackError` with a
Chinese message per field; nothing is stored then. Staff actions are audited and emit outbox
events (`feedback.error.submitted`, `feedback.error.changed`); the reporter's e-mail is sent
by the `feedback.mail` outbox consumer.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import timedelta
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiyue import audit
from jiyue.accounts import policy
from jiyue.core import outbox
from jiyue.security.fields import blind_index
from jiyue.workdays import calendar

from .models import ErrorReport, ErrorType, Outcome, Rating, Reason, ReportStatus

DEFAULT_FORWARD_DAYS = 1   # STANDARDS.md: 找错 forwarded within 1 working day
DEFAULT_ANSWER_DAYS = 3    # … and answered within 3 working days
DEFAULT_ADDRESS_VOTES = 20  # votes per page and day from one address without a voter cookie
MAX_COMMENT = 300
MAX_DESCRIPTION = 1000
MAX_ANSWER = 2000
MAX_CONTACT = 100
MAX_PAGE = 255
SCREENSHOT_TYPES = ("png", "jpg", "jpeg", "gif", "webp")
SCREENSHOT_BYTES = 5 * 1024 * 1024

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
CODE_LENGTH = 12

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PAGE = re.compile(r"^[A-Za-z0-9._~\-/%\u4e00-\u9fff]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+\-() ]{5,30}$")


class FeedbackError(Exception):
    """Bad input: `errors` maps a field to a Chinese message; `status` the HTTP status."""

    def __init__(self, errors: dict[str, str] | str, status: int = 422):
        self.errors = errors if isinstance(errors, dict) else {"__all__": errors}
        self.status = status
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return _("；").join(str(v) for v in self.errors.values())


def forward_days() -> int:
    return int(getattr(settings, "JIYUE_FEEDBACK_FORWARD_DAYS", DEFAULT_FORWARD_DAYS))


def answer_days() -> int:
    return int(getattr(settings, "JIYUE_FEEDBACK_ANSWER_DAYS", DEFAULT_ANSWER_DAYS))


def clean_text(value, limit: int) -> str:
    """Plain text as stored: control characters removed, newlines normalised, trimmed (one
    character over the limit is kept so that the caller can refuse it)."""
    value = _CONTROL.sub("", str(value or "")).replace("\r\n", "\n").replace("\r", "\n")
    return value.strip()[:limit + 1]


def _int(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return -1
    return n if 0 < n < 2**63 else -1


def normalise_page(value: str, site) -> str | None:
    """A page of the site as a path relative to its root ("content/12.html", "zcwj/"), from
    a relative path or an address on the site's own hosts; None when it is not one."""
    text = clean_text(value, 2000)
    if not text:
        return ""
    if len(text) > 2000:
        return None
    parts = urlsplit(text)
    if parts.scheme or parts.netloc:
        hosts = {h for h in (site.domain, site.local_hostname, getattr(site, "cn_domain", "")) if h}
        if parts.scheme not in ("http", "https") or (parts.hostname or "") not in hosts:
            return None
    path = unquote(parts.path)
    prefix = f"/sites/{site.code}/"
    if path.startswith(prefix):
        path = path[len(prefix):]
    path = path.lstrip("/")
    if path.endswith("/index.html"):
        path = path[:-len("index.html")]
    if path == "index.html":
        path = ""
    if ".." in path.split("/") or "//" in path or not _PAGE.match(path) or len(path) > MAX_PAGE:
        return None
    return path


# --- ratings ------------------------------------------------------------------------------------

def voter_key(cookie_id: str) -> str:
    return blind_index("feedback.voter", cookie_id)


def address_key(address: str) -> str:
    return blind_index("feedback.address", address or "unknown")


def _rating_target(site, page: str, resource_id, column_id) -> dict:
    """Resolve what is rated; FeedbackError when it is not a page of this site."""
    from jiyue.library.models import Placement
    from jiyue.platform.models import Column
    from jiyue.publishing.models import PublishedFile

    errors = {}
    rid, cid = _int(resource_id), _int(column_id)
    if rid == -1:
        errors["resource"] = _("信息资源编号无效。")
    if cid == -1:
        errors["column"] = _("栏目编号无效。")
    norm = normalise_page(page, site)
    if norm is None:
        errors["page"] = _("页面地址无效。")
    if errors:
        raise FeedbackError(errors)
    target = {"site": site, "organisation_id": site.organisation_id, "resource": None,
              "column": None}
    if rid:
        placement = (Placement.objects.filter(site=site, resource_id=rid, state=Placement.LIVE,
                                              resource__live=True)
                     .select_related("resource").order_by("pk").first())
        if placement is None:
            raise FeedbackError({"resource": _("该信息未在本站发布。")}, 404)
        resource = placement.resource
        target.update(resource=resource, column_id=placement.column_id,
                      organisation_id=resource.organisation_id or site.organisation_id)
        norm = norm or f"content/{rid}.html"
    elif cid:
        column = Column.objects.filter(pk=cid, path__startswith=site.home.path).first() \
            if site.home_id else None
        if column is None:
            raise FeedbackError({"column": _("该栏目不属于本站。")}, 404)
        target["column_id"] = column.pk
        norm = norm if norm is not None else ""
    if not rid and not cid:
        candidates = {norm, norm + "index.html", norm.rstrip("/") + "/index.html"} if norm else {"index.html"}
        if not PublishedFile.objects.filter(site_code=site.code, path__in=candidates).exists():
            raise FeedbackError({"page": _("本站没有这个页面。")}, 404)
    target["page"] = norm[:MAX_PAGE]
    target.setdefault("column_id", None)
    return target


def _clean_reasons(value, reasons, comment) -> tuple[list[str], str]:
    if isinstance(reasons, str):
        reasons = [reasons]
    allowed = set(Reason.values)
    picked = []
    for r in reasons or ():
        if not isinstance(r, str) or r not in allowed:
            raise FeedbackError({"reasons": _("请从列出的原因中选择。")})
        if r not in picked:
            picked.append(r)
    comment = clean_text(comment, MAX_COMMENT)
    if len(comment) > MAX_COMMENT:
        raise FeedbackError({"comment": _("说明不能超过 %(n)s 字。") % {"n": MAX_COMMENT}})
    if value == Rating.GOOD:
        return [], ""
    return [r for r in Reason.values if r in picked], comment


def rate(*, site, page: str = "", value: str, voter: str, address: str = "",
         new_browser: bool = False, resource_id=None, column_id=None, reasons=(),
         comment: str = "", today=None) -> Rating:
    """Record a visitor's 好/差. `voter` identifies the browser (its cookie id), `address` the
    client address; one vote per browser per page per day (409), and at most
    `JIYUE_FEEDBACK_ADDRESS_VOTES` per address per page per day from browsers that sent no
    cookie yet (`new_browser`: the cookie was issued with this answer)."""
    if value not in (Rating.GOOD, Rating.BAD):
        raise FeedbackError({"value": _("请选择“好”或“差”。")})
    reasons, comment = _clean_reasons(value, reasons, comment)
    target = _rating_target(site, page, resource_id, column_id)
    today = today or timezone.localdate()
    addr = address_key(address)
    voter_hash = voter_key(voter or secrets.token_hex(16))
    if new_browser:
        cap = int(getattr(settings, "JIYUE_FEEDBACK_ADDRESS_VOTES", DEFAULT_ADDRESS_VOTES))
        if Rating.objects.filter(site=site, page=target["page"], day=today, address=addr).count() >= cap:
            raise FeedbackError(_("您今天已经评价过这个页面，感谢您的反馈。"), 409)
    rating = Rating(site=site, page=target["page"], column_id=target["column_id"],
                    resource=target["resource"], organisation_id=target["organisation_id"],
                    value=value, reasons=reasons, comment=comment, day=today, voter=voter_hash,
                    address=addr)
    try:
        with transaction.atomic():
            rating.save()
    except IntegrityError:
        raise FeedbackError(_("您今天已经评价过这个页面，感谢您的反馈。"), 409) from None
    return rating


def add_reasons(rating: Rating, reasons, comment: str = "") -> Rating:
    """The reasons of a 差 given after the vote (the no-script path); once."""
    if rating.value != Rating.BAD:
        raise FeedbackError(_("只有“差”评可以补充原因。"))
    if rating.reasons or rating.comment:
        raise FeedbackError(_("已经补充过原因，感谢您的反馈。"), 409)
    picked, comment = _clean_reasons(Rating.BAD, reasons, comment)
    if not picked and not comment:
        raise FeedbackError({"reasons": _("请至少选择一项原因或填写说明。")})
    Rating.objects.filter(pk=rating.pk).update(reasons=picked, comment=comment)
    rating.reasons, rating.comment = picked, comment
    return rating


# --- error reports ------------------------------------------------------------------------------

def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    return re.sub(r"[\s-]", "", str(code or "")).upper()[:CODE_LENGTH + 4]


def find(code: str) -> ErrorReport | None:
    code = normalise_code(code)
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return ErrorReport.objects.filter(code=code).select_related("site", "organisation").first()


def _step(report: ErrorReport, action: str, actor=None, note: str = "", **extra) -> None:
    report.steps = [*report.steps, {
        "at": timezone.now().isoformat(timespec="seconds"), "action": action,
        "actor": (getattr(actor, "real_name", "") or getattr(actor, "username", "")) if actor else "",
        "note": note, **extra}]


def _store_screenshot(f) -> tuple[str, str]:
    from .storage import private_storage

    ext = os.path.splitext(getattr(f, "name", "") or "")[1].lower()
    name = private_storage().save(f"feedback/{timezone.now():%Y/%m}/{secrets.token_hex(12)}{ext}", f)
    return name, os.path.basename(getattr(f, "name", "") or "")[:120]


def report_error(*, site, url: str = "", type: str, description: str, contact: str = "",
                 screenshot=None, citizen=None, received_at=None) -> ErrorReport:
    """Store an error report and start its two clocks. FeedbackError for bad input."""
    from jiyue.library.uploads import validate_upload

    errors = {}
    if type not in ErrorType.values:
        errors["type"] = _("请选择错误类型：错别字、链接错误、内容错误、无法访问或其他。")
    description = clean_text(description, MAX_DESCRIPTION)
    if not description:
        errors["description"] = _("请描述您发现的问题。")
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = _("问题描述不能超过 %(n)s 字。") % {"n": MAX_DESCRIPTION}
    contact = clean_text(contact, MAX_CONTACT)
    if len(contact) > MAX_CONTACT:
        errors["contact"] = _("联系方式不能超过 %(n)s 字。") % {"n": MAX_CONTACT}
    elif contact and not (_EMAIL.match(contact) or _PHONE.match(contact)):
        errors["contact"] = _("请填写有效的电子邮箱或电话号码，或者留空。")
    page = normalise_page(url, site)
    if page is None:
        errors["url"] = _("页面地址须为本站的网页地址。")
    if screenshot is not None:
        try:
            validate_upload(screenshot, kind="image", extensions=SCREENSHOT_TYPES,
                            max_bytes=SCREENSHOT_BYTES)
        except ValidationError as exc:
            errors["screenshot"] = " ".join(str(m) for m in exc.messages)
    if errors:
        raise FeedbackError(errors)
    resource = None
    m = re.fullmatch(r"content/(\d{1,18})\.html", page or "")
    if m:
        from jiyue.library.models import Resource

        resource = Resource.objects.filter(pk=int(m.group(1))).first()
    received_at = received_at or timezone.now()
    report = ErrorReport(
        site=site, page=page or "", resource=resource, organisation_id=site.organisation_id,
        type=type, description=description, contact=contact,
        citizen=citizen if getattr(citizen, "is_authenticated", False) else None,
        received_at=received_at, forward_due=calendar.deadline(received_at, forward_days()),
        answer_due=calendar.deadline(received_at, answer_days()))
    _step(report, "submit")
    stored = None
    try:
        if screenshot is not None:
            stored, report.screenshot_name = _store_screenshot(screenshot)
            report.screenshot = stored
        for _attempt in range(5):
            report.code = new_code()
            try:
                with transaction.atomic():
                    report.save()
                    outbox.emit("feedback.error.submitted", "feedback.error", report.pk,
                                {"site": site.code, "organisation": report.organisation_id,
                                 "type": type})
                return report
            except IntegrityError:
                report.pk = None  # a code collision: another one
        raise RuntimeError("could not allocate a query code")
    except BaseException:
        if stored:  # nothing half-stored: the file goes with the failed report
            from .storage import private_storage

            private_storage().delete(stored)
        raise


def forward_targets(report: ErrorReport):
    """Organisations a report may be forwarded to: the site's organisation and those below it,
    and the organisation that owns the page's resource."""
    from django.db.models import Q

    from jiyue.platform.models import Organisation

    base = report.site.organisation
    q = Q(path__startswith=base.path)
    if report.resource_id and report.resource and report.resource.organisation_id:
        q |= Q(pk=report.resource.organisation_id)
    return Organisation.objects.filter(q).order_by("path")


def _lock(report) -> ErrorReport:
    return ErrorReport.objects.select_for_update(of=("self",)).select_related("site", "organisation").get(pk=report.pk)


def _deny(actor, report, action):
    audit.record(actor, report.organisation, None, f"feedback.error.{action}", report,
                 outcome="denied", object_type="feedback.errorreport", object_id=str(report.pk))
    raise PermissionDenied(_("您无权办理该找错留言。"))


def _changed(report, action, actor):
    outbox.emit("feedback.error.changed", "feedback.error", report.pk,
                {"status": report.status, "action": action, "organisation": report.organisation_id})
    audit.record(actor, report.organisation, None, f"feedback.error.{action}", report,
                 object_type="feedback.errorreport", object_id=str(report.pk), status=report.status)


def forward(report: ErrorReport, actor, to_organisation=None, note: str = "") -> ErrorReport:
    """转办: the dispatcher passes the report to the handlers of its organisation (or to
    another organisation of forward_targets)."""
    note = clean_text(note, 500)[:500]
    report = ErrorReport.objects.select_related("site", "organisation").get(pk=report.pk)
    if not policy.can_dispatch_interaction(actor, report.organisation_id):
        _deny(actor, report, "forward")  # outside the transaction: the refusal stays recorded
    with transaction.atomic():
        report = _lock(report)
        if not policy.can_dispatch_interaction(actor, report.organisation_id):
            _deny(actor, report, "forward")
        if report.status == ReportStatus.ANSWERED:
            raise FeedbackError(_("该留言已答复，不能再转办。"), 409)
        if to_organisation is not None and not forward_targets(report).filter(pk=to_organisation.pk).exists():
            raise FeedbackError({"to_organisation": _("不能转办给该单位。")})
        now = timezone.now()
        if report.forwarded_at is None:
            report.forwarded_at, report.forwarded_by = now, actor
            report.forward_overdue = report.forward_overdue or now > report.forward_due
        if to_organisation is not None:
            report.organisation = to_organisation
        report.status = ReportStatus.FORWARDED
        _step(report, "forward", actor, note, to=report.organisation.name)
        report.save()
        _changed(report, "forward", actor)
    return report


def _may_answer(actor, report: ErrorReport) -> bool:
    """The dispatcher answers what is not forwarded yet; after forwarding, the handlers (and
    the dispatcher) of the organisation it was forwarded to."""
    if report.status == ReportStatus.NEW:
        return policy.can_dispatch_interaction(actor, report.organisation_id)
    return policy.can_handle_interaction(actor, report.organisation_id)


def answer(report: ErrorReport, actor, outcome: str, text: str) -> ErrorReport:
    """答复: the handler (or the dispatcher) records the outcome; the reporter sees it on the
    query page and, if they left an e-mail address, by e-mail."""
    errors = {}
    if outcome not in Outcome.values:
        errors["outcome"] = _("请选择处理结果。")
    text = clean_text(text, MAX_ANSWER)
    if not text:
        errors["answer"] = _("请填写答复内容。")
    elif len(text) > MAX_ANSWER:
        errors["answer"] = _("答复内容不能超过 %(n)s 字。") % {"n": MAX_ANSWER}
    report = ErrorReport.objects.select_related("site", "organisation").get(pk=report.pk)
    if not _may_answer(actor, report):
        _deny(actor, report, "answer")  # outside the transaction: the refusal stays recorded
    with transaction.atomic():
        report = _lock(report)
        if not _may_answer(actor, report):
            _deny(actor, report, "answer")
        if errors:
            raise FeedbackError(errors)
        if report.status == ReportStatus.ANSWERED:
            raise FeedbackError(_("该留言已答复。"), 409)
        now = timezone.now()
        if report.forwarded_at is None:  # answered straight away: forwarded at the same time
            report.forwarded_at, report.forwarded_by = now, actor
            report.forward_overdue = report.forward_overdue or now > report.forward_due
        report.answer_overdue = report.answer_overdue or now > report.answer_due
        report.status, report.outcome, report.answer = ReportStatus.ANSWERED, outcome, text
        report.answered_at, report.answered_by = now, actor
        _step(report, "answer", actor, "", outcome=outcome)
        report.save()
        _changed(report, "answer", actor)
    return report


def due_state(report: ErrorReport, now=None) -> dict:
    """What the lists show: the deadline that applies now, working days left (negative once
    overdue) and whether it is overdue."""
    now = now or timezone.now()
    if report.status == ReportStatus.ANSWERED:
        return {"label": "", "due": None, "remaining": None, "overdue": False}
    if report.status == ReportStatus.NEW:
        due, label = report.forward_due, _("转办")
    else:
        due, label = report.answer_due, _("答复")
    return {"label": label, "due": due, "remaining": calendar.remaining(due, now),
            "overdue": now > due}


def check_overdue(now=None) -> int:
    """Mark the reports whose forwarding or answer deadline has passed (the periodic job);
    returns how many were newly marked. Emits `feedback.error.overdue` for each."""
    now = now or timezone.now()
    marked = 0
    late_forward = ErrorReport.objects.filter(status=ReportStatus.NEW, forward_overdue=False,
                                              forward_due__lt=now)
    late_answer = ErrorReport.objects.exclude(status=ReportStatus.ANSWERED).filter(
        answer_overdue=False, answer_due__lt=now)
    for qs, field in ((late_forward, "forward_overdue"), (late_answer, "answer_overdue")):
        for pk, org in list(qs.values_list("pk", "organisation_id")[:1000]):
            with transaction.atomic():
                if ErrorReport.objects.filter(pk=pk, **{field: False}).update(**{field: True}):
                    outbox.emit("feedback.error.overdue", "feedback.error", pk,
                                {"deadline": field.split("_")[0], "organisation": org})
                    marked += 1
    return marked


# --- e-mail to the reporter (outbox consumer) ---------------------------------------------------

def mail_outcome(event) -> None:
    """`feedback.mail`: after an answer, tell a reporter who left an e-mail address. Idempotent:
    `notified_at` is set in the consumer's transaction."""
    from django.core.mail import send_mail

    if event.topic != "feedback.error.changed" or event.payload.get("action") != "answer":
        return
    report = ErrorReport.objects.filter(pk=int(event.aggregate_id)).select_related("site").first()
    if report is None or report.notified_at or not _EMAIL.match(report.contact or ""):
        return
    subject = _("您在%(site)s的找错留言已答复") % {"site": report.site.name}
    body = _("您好：\n\n您于%(date)s在%(site)s提交的找错留言（查询码 %(code)s）已答复。\n"
             "处理结果：%(outcome)s\n答复内容：%(answer)s\n\n感谢您对政府网站的关心和支持。\n%(site)s") % {
        "date": timezone.localtime(report.received_at).strftime("%Y-%m-%d"),
        "site": report.site.name, "code": report.code,
        "outcome": report.get_outcome_display(), "answer": report.answer}
    send_mail(subject, body, None, [report.contact])
    ErrorReport.objects.filter(pk=report.pk).update(notified_at=timezone.now())


# --- figures for the admin ----------------------------------------------------------------------

def rating_summary(qs) -> dict:
    from django.db.models import Count, Q

    agg = qs.aggregate(n=Count("id"), good=Count("id", filter=Q(value=Rating.GOOD)))
    reasons = {r: 0 for r in Reason.values}
    for row in qs.filter(value=Rating.BAD).values_list("reasons", flat=True):
        for r in row or ():
            if r in reasons:
                reasons[r] += 1
    labels = dict(Reason.choices)
    return {"total": agg["n"], "good": agg["good"], "bad": agg["n"] - agg["good"],
            "good_pct": round(100 * agg["good"] / agg["n"]) if agg["n"] else None,
            "reasons": [{"code": r, "label": labels[r], "n": n} for r, n in reasons.items()]}


def rating_groups(qs, by: str) -> list[dict]:
    """Counts per site, column or organisation (by = "site" | "column" | "organisation")."""
    from django.db.models import Count, Q

    field = {"site": "site", "column": "column", "organisation": "organisation"}[by]
    rows = (qs.values(f"{field}_id").annotate(n=Count("id"), good=Count("id", filter=Q(value=Rating.GOOD)))
            .order_by("-n"))
    ids = [r[f"{field}_id"] for r in rows if r[f"{field}_id"]]
    if by == "site":
        from jiyue.platform.models import Site as M
        names = dict(M.objects.filter(pk__in=ids).values_list("pk", "name"))
    elif by == "column":
        from jiyue.platform.models import Column as M
        names = dict(M.objects.filter(pk__in=ids).values_list("pk", "title"))
    else:
        from jiyue.platform.models import Organisation as M
        names = dict(M.objects.filter(pk__in=ids).values_list("pk", "name"))
    out = []
    for r in rows:
        key = r[f"{field}_id"]
        out.append({"id": key, "name": names.get(key, _("（未归入栏目）") if by == "column" else "—"),
                    "n": r["n"], "good": r["good"], "bad": r["n"] - r["good"],
                    "good_pct": round(100 * r["good"] / r["n"]) if r["n"] else None})
    return out


def rating_chart(qs, days: int = 30) -> dict:
    """好/差 per day over the last `days` days, as bars for an SVG."""
    from django.db.models import Count, Q

    today = timezone.localdate()
    start = today - timedelta(days=days - 1)
    rows = (qs.filter(day__gte=start).values("day")
            .annotate(n=Count("id"), good=Count("id", filter=Q(value=Rating.GOOD))))
    by_day = {r["day"]: r for r in rows}
    top = max([r["n"] for r in by_day.values()] or [0]) or 1
    width, height, gap = 18, 120, 4
    bars = []
    for i in range(days):
        day = start + timedelta(days=i)
        r = by_day.get(day, {"n": 0, "good": 0})
        h = round(height * r["n"] / top)
        hg = round(height * r["good"] / top)
        bars.append({"day": day, "n": r["n"], "good": r["good"], "bad": r["n"] - r["good"],
                     "x": i * (width + gap), "w": width, "y": height - h, "h": h,
                     "yg": height - hg, "hg": hg})
    return {"bars": bars, "width": days * (width + gap), "height": height, "days": days}


def export_user_data(user) -> list[dict]:
    """A citizen's error reports in their data export (identity.services.register_export)."""
    return [{"code": r.code, "site": r.site.name, "page": r.page, "type": r.get_type_display(),
             "description": r.description, "contact": r.contact,
             "received_at": r.received_at.isoformat(), "status": r.get_status_display(),
             "outcome": r.get_outcome_display() if r.outcome else "", "answer": r.answer}
            for r in ErrorReport.objects.filter(citizen=user).select_related("site")]
