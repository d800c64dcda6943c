"""依申请公开: the public interface — applying, the statutory clock, handling, the annual table.

Every change happens here, in one transaction with its step (办理过程), its audit entry (staff
actions) and its outbox event (`disclosure.submitted`, `disclosure.changed`).

The clock (政府信息公开条例 第三十条、第三十二条、第三十三条), counted with
`jiyue.workdays.calendar` only:
- the answer is due 20 working days after the clock's start day (`clock_start`: the day the
  application was received; the start day itself is not counted);
- a 补正 (correction) notice may be issued only within 7 working days of receipt, once; while
  the applicant corrects, the clock stands still (`due_at` is empty); the day the corrected
  application is received becomes the new start day (the 20 days start again);
- one extension of at most 20 working days, only when the organisation's dispatcher approves
  it; approved, it is told to the applicant (a public step and a notification);
- the days spent consulting a third party (from the day the request is sent to the day the
  opinion arrives, at most 15 working days after sending) are not counted; while a
  consultation is under way the deadline assumes it takes the full 15 working days.

    submit(organisation=…, applicant_kind=…, …) -> Application
    act(app, action, actor, …)  actions: accept, correction_notice, correction_received,
                                consult_start, consult_end, draft, reply, close
    request_extension(app, days, reason, actor) / decide_extension(ext, approve, actor, note)
    clock(app) -> dict; remaining(app) -> int | None
    visible_applications(user); find(query_code)
    annual_table(organisation | None, year) -> dict
"""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime, time as dtime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiyue import audit
from jiyue.accounts import policy
from jiyue.core import outbox
from jiyue.workdays import calendar

from .models import (OPEN_STATUSES, ORGANISATION_CATEGORIES, Application, ApplicantCategory,
                     ApplicantKind, Channel, Delivery, Extension, IdType, Result, Status, Step)

ANSWER_DAYS = 20          # 条例第三十三条: 20 working days from receipt
MAX_EXTENSION_DAYS = 20   # once, with approval
CORRECTION_WITHIN = 7     # 条例第三十条: a 补正 notice within 7 working days of receipt
CONSULT_DAYS = 15         # 条例第三十二条: the third party's 15 working days
DUE_SOON_DAYS = 5         # the admin's "due soon" list

MAX_DESCRIPTION = 3000
MAX_PURPOSE = 500
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
CODE_LENGTH = 12

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PHONE = re.compile(r"^[0-9+\-() ]{5,30}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_POSTCODE = re.compile(r"^[0-9]{6}$")
_OTHER_ID = re.compile(r"^[0-9A-Za-z\-]{5,30}$")

# action -> (statuses it applies to, right needed: "dispatch" | "handle")
ACTIONS = {
    "accept": ((Status.SUBMITTED,), "dispatch"),
    "correction_notice": ((Status.SUBMITTED, Status.HANDLING), "dispatch"),
    "correction_received": ((Status.CORRECTION,), "handle"),
    "consult_start": ((Status.HANDLING,), "handle"),
    "consult_end": ((Status.CONSULTING,), "handle"),
    "draft": ((Status.SUBMITTED, Status.HANDLING, Status.CORRECTION, Status.CONSULTING), "handle"),
    "reply": ((Status.SUBMITTED, Status.HANDLING, Status.CORRECTION), "dispatch"),
    "close": ((Status.REPLIED,), "dispatch"),
}
ACTION_LABELS = {
    "submit": gettext_lazy("收到申请"), "accept": gettext_lazy("受理"),
    "correction_notice": gettext_lazy("补正告知"), "correction_received": gettext_lazy("收到补正"),
    "consult_start": gettext_lazy("征求第三方意见"), "consult_end": gettext_lazy("第三方意见征求结束"),
    "draft": gettext_lazy("拟写答复"), "reply": gettext_lazy("答复"), "close": gettext_lazy("办结"),
    "extend_request": gettext_lazy("申请延期"), "extend_approve": gettext_lazy("延长答复期限"),
    "extend_refuse": gettext_lazy("延期未批准"),
}
# steps the applicant is told about (a notification when an email address is known)
NOTIFY = {"accept", "correction_notice", "consult_start", "extend_approve", "reply"}


class Refused(ValidationError):
    """A handling action not allowed now (wrong state, a rule of the clock)."""


# --- small helpers ----------------------------------------------------------------------------

def clean_text(value, limit: int) -> str:
    """Plain text as stored: control characters removed, newlines normalised, trimmed (one
    character over `limit` kept so that the length check can refuse it). HTML is kept as typed
    and escaped wherever it is shown."""
    value = _CONTROL.sub("", str(value or "")).replace("\r\n", "\n").replace("\r", "\n")
    return value.strip()[:limit + 1]


def new_query_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))


def normalise_code(code) -> str:
    return re.sub(r"[\s-]", "", str(code or "")).upper()[:CODE_LENGTH + 4]


def find(query_code) -> Application | None:
    code = normalise_code(query_code)
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return Application.objects.filter(query_code=code).select_related("organisation").first()


def id_card_ok(value: str) -> bool:
    """A 居民身份证号码 (GB 11643): 17 digits and a check character."""
    if not re.match(r"^[0-9]{17}[0-9X]$", value):
        return False
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(value[:17], weights))
    return "10X98765432"[total % 11] == value[17]


def _local_date(value) -> date:
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def _start_of(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, dtime.min))


# --- submitting --------------------------------------------------------------------------------

def validate(data: dict) -> tuple[dict, dict[str, str]]:
    """Clean an application's fields; returns (cleaned, errors by field, in Chinese)."""
    errors: dict[str, str] = {}
    c = {k: clean_text(data.get(k), n) for k, n in [
        ("name", 100), ("id_number", 30), ("legal_representative", 50), ("contact_name", 50),
        ("phone", 30), ("email", 100), ("address", 200), ("postcode", 6),
        ("description", MAX_DESCRIPTION), ("purpose", MAX_PURPOSE)]}
    kind = str(data.get("applicant_kind") or "")
    category = str(data.get("category") or "")
    id_type = str(data.get("id_type") or "")
    delivery = str(data.get("delivery") or "")
    if kind not in ApplicantKind.values:
        errors["applicant_kind"] = _("请选择申请人类型：公民或法人或其他组织。")
    elif kind == ApplicantKind.PERSON:
        category = ApplicantCategory.PERSON
        id_type = id_type or IdType.ID_CARD
        if id_type not in IdType.values:
            errors["id_type"] = _("请选择证件类型。")
    else:
        id_type = ""
        if category not in ORGANISATION_CATEGORIES:
            errors["category"] = _("请选择法人或其他组织的类别：商业企业、科研机构、社会公益组织、法律服务机构或其他。")
    if not c["name"]:
        errors["name"] = _("请填写申请人姓名或名称。")
    elif len(c["name"]) > (50 if kind == ApplicantKind.PERSON else 100):
        errors["name"] = _("姓名或名称过长。")
    number = c["id_number"].upper().replace(" ", "")
    c["id_number"] = number
    if not number:
        errors["id_number"] = (_("请填写统一社会信用代码。") if kind == ApplicantKind.ORGANISATION
                               else _("请填写证件号码。"))
    elif kind == ApplicantKind.PERSON and id_type == IdType.ID_CARD and not id_card_ok(number):
        errors["id_number"] = _("居民身份证号码不正确，请核对（18位，末位为校验码）。")
    elif kind == ApplicantKind.PERSON and id_type == IdType.OTHER and not _OTHER_ID.match(number):
        errors["id_number"] = _("证件号码格式不正确。")
    elif kind == ApplicantKind.ORGANISATION:
        from jiyue.platform.validators import validate_org_code

        try:
            validate_org_code(number)
        except ValidationError as exc:
            errors["id_number"] = exc.messages[0]
    if kind == ApplicantKind.ORGANISATION and not c["legal_representative"]:
        errors["legal_representative"] = _("请填写法定代表人或负责人。")
    for field, n in [("legal_representative", 50), ("contact_name", 50), ("address", 200)]:
        if len(c[field]) > n:
            errors[field] = _("不能超过%(n)d个字。") % {"n": n}
    if not c["phone"]:
        errors["phone"] = _("请填写联系电话。")
    elif not _PHONE.match(c["phone"]):
        errors["phone"] = _("联系电话格式不正确。")
    if c["email"] and (len(c["email"]) > 100 or not _EMAIL.match(c["email"])):
        errors["email"] = _("电子邮箱格式不正确。")
    if c["postcode"] and not _POSTCODE.match(c["postcode"]):
        errors["postcode"] = _("邮政编码应为6位数字。")
    if delivery not in Delivery.values:
        errors["delivery"] = _("请选择获取信息的方式。")
    elif delivery == Delivery.EMAIL and not c["email"]:
        errors.setdefault("email", _("选择以电子邮件获取信息的，请填写电子邮箱。"))
    elif delivery == Delivery.POST and not c["address"]:
        errors.setdefault("address", _("选择邮寄获取信息的，请填写通信地址。"))
    if len(c["description"]) < 10:
        errors["description"] = _("请描述所需政府信息的内容（至少10个字），如名称、文号或便于查询的特征。")
    elif len(c["description"]) > MAX_DESCRIPTION:
        errors["description"] = _("内容描述不能超过%(n)d个字。") % {"n": MAX_DESCRIPTION}
    if len(c["purpose"]) > MAX_PURPOSE:
        errors["purpose"] = _("用途说明不能超过%(n)d个字。") % {"n": MAX_PURPOSE}
    c.update(applicant_kind=kind, category=category, id_type=id_type, delivery=delivery)
    return c, errors


def submit(*, organisation, site=None, channel: str = Channel.WEB, citizen=None, received_at=None,
           actor=None, **fields) -> Application:
    """Store a new application and start its clock. Raises ValidationError (Chinese messages
    per field); nothing is stored then. Staff recording a letter or an application made in
    person (`actor`, channel 信函/当面, `received_at` the day it arrived) must handle the
    organisation's interaction work."""
    cleaned, errors = validate(fields)
    if organisation is None:
        errors["organisation"] = _("请选择申请的行政机关。")
    if channel not in Channel.values:
        errors["channel"] = _("申请方式无效。")
    now = timezone.now()
    received_at = received_at or now
    if received_at > now + timedelta(minutes=5):
        errors["received_at"] = _("收到申请的时间不能晚于现在。")
    if errors:
        raise ValidationError(errors)
    if actor is not None and not policy.can_handle_interaction(actor, organisation.pk):
        audit.record(actor, organisation, None, "disclosure.register", None, outcome="denied")
        raise PermissionDenied(_("您无权登记该机关的政府信息公开申请。"))
    start = _local_date(received_at)
    app = Application(organisation=organisation, site=site, channel=channel,
                      citizen=citizen if citizen is not None and citizen.is_authenticated else None,
                      received_at=received_at, clock_start=start,
                      due_at=calendar.deadline(start, ANSWER_DAYS), **cleaned)
    for _attempt in range(5):
        app.query_code = new_query_code()
        try:
            with transaction.atomic():
                app.save()
                Step.objects.create(application=app, action="submit", actor=actor, at=received_at,
                                    data={"channel": channel})
                outbox.emit("disclosure.submitted", "disclosure", app.pk,
                            {"organisation": organisation.pk, "channel": channel})
                if actor is not None:
                    audit.record(actor, organisation, None, "disclosure.register", app, channel=channel)
            return app
        except IntegrityError:
            app.pk = None  # a query code collision: try another one
    raise RuntimeError("could not allocate a query code")


# --- the clock ------------------------------------------------------------------------------

def _consultations(app: Application) -> list[tuple[date, date | None]]:
    """(start day, end day or None while under way) of each third-party consultation."""
    out: list[list] = []
    for action, at, data in app.steps.filter(action__in=("consult_start", "consult_end")) \
            .order_by("at", "id").values_list("action", "at", "data"):
        day = date.fromisoformat(data["day"]) if data.get("day") else _local_date(at)
        if action == "consult_start":
            out.append([day, None])
        elif out and out[-1][1] is None:
            out[-1][1] = day
    return [(a, b) for a, b in out]


def pauses(app: Application) -> list[tuple[date, date]]:
    """The date ranges not counted (inclusive): each consultation, from the day the request
    was sent to the day the opinion arrived, at most 15 working days after sending; one under
    way counts as if it took the full 15."""
    out = []
    for start, end in _consultations(app):
        if start < app.clock_start:
            continue
        cap = calendar.add_working_days(start, CONSULT_DAYS)
        out.append((start, min(end, cap) if end is not None else cap))
    return out


def compute_due(app: Application) -> datetime | None:
    if app.status == Status.CORRECTION:
        return None
    return calendar.deadline(app.clock_start, ANSWER_DAYS + app.extended_days, pauses(app))


def remaining(app: Application, now=None) -> int | None:
    """Working days left to answer (negative once overdue); None when not running."""
    if not app.is_open or app.due_at is None:
        return None
    return calendar.remaining(app.due_at, now)


def clock(app: Application, now=None) -> dict:
    """Everything the screens show about the clock."""
    received = _local_date(app.received_at)
    return {
        "clock_start": app.clock_start, "due_at": app.due_at,
        "remaining": remaining(app, now), "running": app.is_open and app.due_at is not None,
        "extended_days": app.extended_days, "pauses": pauses(app),
        "correction_until": calendar.add_working_days(received, CORRECTION_WITHIN),
        "correction_allowed": (app.correction_requested_at is None
                               and app.status in ACTIONS["correction_notice"][0]
                               and _local_date(now or timezone.now())
                               <= calendar.add_working_days(received, CORRECTION_WITHIN)),
        "overdue": app.is_open and app.due_at is not None and (now or timezone.now()) > app.due_at,
        "unknown_years": calendar.unknown_years(app.clock_start, app.due_at or app.clock_start),
    }


# --- handling -------------------------------------------------------------------------------

def may(user, app: Application, right: str) -> bool:
    if right == "dispatch":
        return policy.can_dispatch_interaction(user, app.organisation_id)
    return policy.can_handle_interaction(user, app.organisation_id)


def _guard(app, right: str, actor, action: str) -> None:
    """Refuse (audited as denied, outside any transaction so that the entry stays) a user
    without the right on the application's organisation."""
    pk = app.pk if isinstance(app, Application) else int(app)
    current = Application.objects.select_related("organisation").get(pk=pk)
    if actor is None or not may(actor, current, right):
        audit.record(actor, current.organisation, None, f"disclosure.{action}", current, outcome="denied")
        raise PermissionDenied(_("您无权办理该申请。"))


def _lock(app) -> Application:
    pk = app.pk if isinstance(app, Application) else int(app)
    return Application.objects.select_for_update().get(pk=pk)


def _changed(app: Application, action: str, actor, **payload) -> None:
    outbox.emit("disclosure.changed", "disclosure", app.pk,
                {"status": app.status, "action": action, "organisation": app.organisation_id,
                 "notify": action in NOTIFY, **payload})
    if actor is not None:
        audit.record(actor, app.organisation, None, f"disclosure.{action}", app, status=app.status)


def _when(at, app: Application, now: datetime) -> datetime:
    """The moment a step happened: now, or a past moment staff record (a correction that came
    by post) — never in the future, never before the application was received."""
    if at is None:
        return now
    if isinstance(at, date) and not isinstance(at, datetime):
        at = timezone.make_aware(datetime.combine(at, dtime(12, 0)))
    if at > now + timedelta(minutes=5):
        raise Refused({"at": _("日期不能晚于今天。")})
    if at < app.received_at:
        raise Refused({"at": _("日期不能早于收到申请的时间。")})
    return at


def act(app, action: str, actor, *, note: str = "", result: str = "", reply: str = "",
        at=None, system: bool = False) -> Application:
    """Apply one handling action (see ACTIONS). Raises PermissionDenied (audited as denied)
    or ValidationError (wrong state, a rule of the clock, missing text)."""
    if action not in ACTIONS:
        raise Refused(_("未知的办理操作。"))
    sources, right = ACTIONS[action]
    note = clean_text(note, 2000)
    if not system:
        _guard(app, right, actor, action)
    with transaction.atomic():
        app = _lock(app)
        if app.status not in sources:
            raise Refused(_("申请当前状态为“%(s)s”，不能%(a)s。")
                          % {"s": app.get_status_display(), "a": ACTION_LABELS[action]})
        now = timezone.now()
        when = _when(at, app, now)
        public, data = True, {}
        if action == "accept":
            app.accepted_at = when
            app.status = Status.HANDLING
        elif action == "correction_notice":
            limit = calendar.add_working_days(_local_date(app.received_at), CORRECTION_WITHIN)
            if app.correction_requested_at is not None:
                raise Refused(_("补正告知只能一次性发出，本申请已告知过补正。"))
            if _local_date(when) > limit:
                raise Refused(_("补正告知须在收到申请之日起7个工作日内发出（最迟%(d)s），已超过期限。")
                              % {"d": limit.isoformat()})
            if not note:
                raise Refused({"note": _("请写明需要补正的事项和合理的补正期限。")})
            app.correction_requested_at = when
            app.accepted_at = app.accepted_at or when
            app.status = Status.CORRECTION
        elif action == "correction_received":
            day = _local_date(when)
            app.correction_received_at = when
            app.clock_start = day
            app.status = Status.HANDLING
            data["day"] = day.isoformat()
        elif action == "consult_start":
            if not note:
                raise Refused({"note": _("请写明征求意见的第三方和事项。")})
            data["day"] = _local_date(when).isoformat()
            app.status = Status.CONSULTING
        elif action == "consult_end":
            start = _consultations(app)[-1][0]
            day = _local_date(when)
            if day < start:
                raise Refused({"at": _("结束日期不能早于开始征求意见的日期。")})
            data["day"] = day.isoformat()
            app.status = Status.HANDLING
        elif action == "draft":
            _check_result(app, result)
            text = clean_text(reply, 10000)
            if not text:
                raise Refused({"reply": _("请填写答复内容。")})
            app.result_draft, app.reply_draft = result, text[:10000]
            public = False
            data["result"] = result
        elif action == "reply":
            result = result or app.result_draft
            text = clean_text(reply, 10000) or app.reply_draft
            _check_result(app, result)
            if app.status == Status.CORRECTION and result != Result.OTHER_NO_CORRECTION:
                raise Refused({"result": _("申请人尚未补正：只能答复“申请人无正当理由逾期不补正”，或在收到补正后再答复。")})
            if not text:
                raise Refused({"reply": _("请填写答复内容。")})
            app.result, app.reply = result, text[:10000]
            app.replied_at, app.replied_by = max(when, app.received_at), actor
            app.status = Status.REPLIED
            data["result"] = result
        elif action == "close":
            app.closed_at = when
            app.status = Status.CLOSED
        Step.objects.create(application=app, action=action, actor=actor, note=note, public=public,
                            at=when, data=data)
        app.due_at = compute_due(app) if app.is_open else app.due_at  # the new step counts
        app.save()
        _changed(app, action, actor)
    return app


def _check_result(app: Application, result: str) -> None:
    if result not in Result.values:
        raise Refused({"result": _("请选择办理结果。")})
    if result in (Result.OTHER_NO_CORRECTION, Result.NONE_UNCLEAR) and app.correction_requested_at is None:
        raise Refused({"result": _("未告知补正的申请不能选择与补正有关的办理结果。")})


def request_extension(app, days, reason, actor) -> Extension:
    """Ask to extend the answer period; it moves only when a dispatcher approves."""
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise Refused({"days": _("请填写延长的工作日数。")}) from None
    reason = clean_text(reason, 1000)
    _guard(app, "handle", actor, "extend_request")
    with transaction.atomic():
        app = _lock(app)
        if app.status not in (Status.SUBMITTED, Status.HANDLING, Status.CONSULTING):
            raise Refused(_("申请当前状态为“%(s)s”，不能申请延期。") % {"s": app.get_status_display()})
        if app.extended_days or app.extensions.filter(state=Extension.APPROVED).exists():
            raise Refused(_("答复期限只能延长一次，本申请已延期。"))
        if app.extensions.filter(state=Extension.PENDING).exists():
            raise Refused(_("已有待审批的延期申请。"))
        if not 1 <= days <= MAX_EXTENSION_DAYS:
            raise Refused({"days": _("延长的期限须为1至%(n)d个工作日。") % {"n": MAX_EXTENSION_DAYS}})
        if not reason:
            raise Refused({"reason": _("请填写延期理由。")})
        ext = Extension.objects.create(application=app, days=days, reason=reason, requested_by=actor)
        Step.objects.create(application=app, action="extend_request", actor=actor, note=reason,
                            public=False, data={"days": days})
        _changed(app, "extend_request", actor, days=days)
    return ext


def decide_extension(ext: Extension, approve: bool, actor, note: str = "") -> Extension:
    """A dispatcher approves (the deadline moves, the applicant is told) or refuses."""
    _guard(ext.application_id, "dispatch", actor, "extend_decide")
    with transaction.atomic():
        app = _lock(ext.application_id)
        ext = Extension.objects.select_for_update().get(pk=ext.pk)
        if ext.state != Extension.PENDING:
            raise Refused(_("该延期申请已审批。"))
        if approve and not app.is_open:
            raise Refused(_("申请已答复或办结，不能延期。"))
        now = timezone.now()
        ext.state = Extension.APPROVED if approve else Extension.REFUSED
        ext.decided_by, ext.decided_at, ext.decision_note = actor, now, clean_text(note, 500)[:500]
        ext.save()
        action = "extend_approve" if approve else "extend_refuse"
        if approve:
            app.extended_days = ext.days
            app.due_at = compute_due(app)
            app.save()
        data = {"days": ext.days}
        if approve and app.due_at:
            data["due"] = timezone.localtime(app.due_at).date().isoformat()
        text = (_("经本机关政府信息公开工作机构负责人同意，答复期限延长%(n)d个工作日。") % {"n": ext.days}
                if approve else ext.decision_note)
        Step.objects.create(application=app, action=action, actor=actor, note=text,
                            public=approve, data=data)
        _changed(app, action, actor, days=ext.days)
    return ext


def visible_applications(user):
    """Applications this staff user may see: those of the organisations whose interaction
    work they do (the operator: all; the three administrators: none)."""
    qs = Application.objects.select_related("organisation")
    if policy.sees_all_content(user):
        return qs
    return qs.filter(organisation_id__in=policy.interaction_organisation_ids(user))


def due_soon(qs, days: int = DUE_SOON_DAYS, now=None):
    """Open applications whose deadline is within `days` working days (not yet overdue)."""
    now = now or timezone.now()
    limit = calendar.deadline(now, days)
    return qs.filter(status__in=OPEN_STATUSES, due_at__gte=now, due_at__lte=limit)


def overdue(qs, now=None):
    return qs.filter(status__in=OPEN_STATUSES, due_at__lt=now or timezone.now())


# --- the annual table -----------------------------------------------------------------------

# (key, label, level): the rows of section 三 in the official order; level 0 = a numbered
# heading row, 1 = a 办理结果 group, 2 = a sub-reason.
RESULT_GROUPS = [
    ("open", gettext_lazy("（一）予以公开"), [Result.OPEN]),
    ("partial", gettext_lazy("（二）部分公开（区分处理的，只计这一情形，不计其他情形）"), [Result.PARTIAL]),
    ("deny", gettext_lazy("（三）不予公开"), [
        (Result.DENY_SECRET, gettext_lazy("1.属于国家秘密")),
        (Result.DENY_LAW, gettext_lazy("2.其他法律行政法规禁止公开")),
        (Result.DENY_SECURITY, gettext_lazy("3.危及“三安全一稳定”")),
        (Result.DENY_THIRD_PARTY, gettext_lazy("4.保护第三方合法权益")),
        (Result.DENY_INTERNAL, gettext_lazy("5.属于三类内部事务信息")),
        (Result.DENY_PROCESS, gettext_lazy("6.属于四类过程性信息")),
        (Result.DENY_ENFORCEMENT, gettext_lazy("7.属于行政执法案卷")),
        (Result.DENY_QUERY, gettext_lazy("8.属于行政查询事项"))]),
    ("none", gettext_lazy("（四）无法提供"), [
        (Result.NONE_NOT_HELD, gettext_lazy("1.本机关不掌握相关政府信息")),
        (Result.NONE_CREATE, gettext_lazy("2.没有现成信息需要另行制作")),
        (Result.NONE_UNCLEAR, gettext_lazy("3.补正后申请内容仍不明确"))]),
    ("refuse", gettext_lazy("（五）不予处理"), [
        (Result.REFUSE_PETITION, gettext_lazy("1.信访举报投诉类申请")),
        (Result.REFUSE_REPEAT, gettext_lazy("2.重复申请")),
        (Result.REFUSE_PUBLICATION, gettext_lazy("3.要求提供公开出版物")),
        (Result.REFUSE_MASS, gettext_lazy("4.无正当理由大量反复申请")),
        (Result.REFUSE_CONFIRM, gettext_lazy("5.要求行政机关确认或重新出具已获取信息"))]),
    ("other", gettext_lazy("（六）其他处理"), [
        (Result.OTHER_NO_CORRECTION, gettext_lazy("1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请")),
        (Result.OTHER_NO_FEE, gettext_lazy("2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请")),
        (Result.OTHER, gettext_lazy("3.其他"))]),
]
COLUMNS = [c.value for c in ApplicantCategory] + ["total"]


def _counts(qs) -> dict[str, int]:
    row = {c: 0 for c in COLUMNS}
    for category, n in qs.order_by().values("category").annotate(n=Count("id")).values_list("category", "n"):
        row[category] = row.get(category, 0) + n
        row["total"] += n
    return row


def _by_result(qs) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {r: {c: 0 for c in COLUMNS} for r in Result.values}
    for result, category, n in (qs.order_by().values("result", "category").annotate(n=Count("id"))
                                .values_list("result", "category", "n")):
        if result in out:
            out[result][category] += n
            out[result]["total"] += n
    return out


def _sum(rows) -> dict[str, int]:
    return {c: sum(r[c] for r in rows) for c in COLUMNS}


def annual_table(organisation, year: int) -> dict:
    """Section 三 of the annual report (收到和处理政府信息公开申请情况) for an organisation
    (None: every organisation, the operator's view) and a calendar year (local time):

    - new: received in the year; carried_in: received before it and not answered before it;
    - results: answered in the year, by 办理结果 (every row of the official table);
    - carried_out: received by the year's end and not answered by then.

    Every figure is a dict by column (person, business, research, welfare, legal, other, total).
    `rows` lists the table in the official order ({key, label, level, values}); `balanced` is
    the check 本年新收 + 上年结转 = 办理结果总计 + 结转下年度 (true by construction)."""
    year = int(year)
    start, end = _start_of(date(year, 1, 1)), _start_of(date(year + 1, 1, 1))
    qs = Application.objects.all()
    if organisation is not None:
        qs = qs.filter(organisation=organisation)
    new = _counts(qs.filter(received_at__gte=start, received_at__lt=end))
    carried_in = _counts(qs.filter(received_at__lt=start)
                         .filter(Q(replied_at__isnull=True) | Q(replied_at__gte=start)))
    by_result = _by_result(qs.filter(replied_at__gte=start, replied_at__lt=end, received_at__lt=end))
    carried_out = _counts(qs.filter(received_at__lt=end)
                          .filter(Q(replied_at__isnull=True) | Q(replied_at__gte=end)))
    rows = [{"key": "new", "label": _("一、本年新收政府信息公开申请数量"), "level": 0, "values": new},
            {"key": "carried_in", "label": _("二、上年结转政府信息公开申请数量"), "level": 0,
             "values": carried_in},
            {"key": "results", "label": _("三、本年度办理结果"), "level": 0, "values": None}]
    groups = {}
    for key, label, members in RESULT_GROUPS:
        if len(members) == 1 and not isinstance(members[0], tuple):
            values = by_result[members[0]]
            rows.append({"key": key, "label": str(label), "level": 1, "values": values})
            groups[key] = values
            continue
        rows.append({"key": key, "label": str(label), "level": 1, "values": None})
        subs = []
        for result, sub_label in members:
            rows.append({"key": result.value, "label": str(sub_label), "level": 2,
                         "values": by_result[result]})
            subs.append(by_result[result])
        groups[key] = _sum(subs)
    total = _sum(by_result.values())
    rows.append({"key": "results_total", "label": _("（七）总计"), "level": 1, "values": total})
    rows.append({"key": "carried_out", "label": _("四、结转下年度继续办理"), "level": 0,
                 "values": carried_out})
    balanced = all(new[c] + carried_in[c] == total[c] + carried_out[c] for c in COLUMNS)
    return {"organisation": organisation.pk if organisation is not None else None,
            "organisation_name": organisation.name if organisation is not None else _("全平台"),
            "year": year, "columns": COLUMNS, "new": new, "carried_in": carried_in,
            "results": by_result, "groups": groups, "results_total": total,
            "carried_out": carried_out, "balanced": balanced, "rows": rows}


def column_labels() -> list[str]:
    return [str(c.label) for c in ApplicantCategory] + [_("总计")]


# --- notifications and the citizen's data export ------------------------------------------------

def notify(event) -> None:
    """Outbox consumer: tell the applicant (by email when known) of the public steps."""
    from django.conf import settings
    from django.core.mail import send_mail

    payload = event.payload or {}
    if not payload.get("notify"):
        return
    app = Application.objects.filter(pk=int(event.aggregate_id)).first()
    if app is None or not app.email:
        return
    step = app.steps.filter(action=payload.get("action")).order_by("-at", "-id").first()
    label = ACTION_LABELS.get(payload.get("action"), "")
    lines = [_("您的政府信息公开申请（编号 %(serial)s）有新的办理进展：%(step)s。")
             % {"serial": app.serial, "step": label}]
    if step is not None and step.note:
        lines.append(step.note)
    if app.due_at and app.is_open:
        lines.append(_("答复期限：%(d)s。") % {"d": timezone.localtime(app.due_at).date().isoformat()})
    lines.append(_("您可以凭查询码在网站“依申请公开”栏目查询办理进度。"))
    send_mail(_("政府信息公开申请办理进展"), "\n".join(lines),
              getattr(settings, "DEFAULT_FROM_EMAIL", None), [app.email], fail_silently=True)


def export_for(user) -> list[dict]:
    """A citizen's applications, for the personal data export."""
    out = []
    for app in Application.objects.filter(citizen=user).select_related("organisation"):
        out.append({"serial": app.serial, "query_code": app.query_code,
                    "organisation": app.organisation.name, "received_at": app.received_at.isoformat(),
                    "applicant_kind": app.applicant_kind, "category": app.category, "name": app.name,
                    "id_type": app.id_type, "id_number": app.id_number, "phone": app.phone,
                    "email": app.email, "address": app.address, "description": app.description,
                    "purpose": app.purpose, "delivery": app.delivery, "status": app.status,
                    "result": app.result, "reply": app.reply,
                    "replied_at": app.replied_at.isoformat() if app.replied_at else None})
    return out
