"""The letters' public interface: submitting, the handling state machine, rating, extensions.

Every change happens here, in one transaction with its step (办理过程), its audit entry (staff
actions) and its outbox event (`letter.submitted`, `letter.changed`), so that the queue, the
clock, the 12345 exchange and the public pages never disagree. Screening, routing suggestions
and notifications run in the background from those events.

    submit(mailbox=…, type=…, title=…, content=…, …) -> Letter
    act(letter, "accept" | "reject" | "assign" | "transfer" | "draft" | "return" | "approve"
        | "close" | "reopen", actor, note=…, to_organisation=…, reply=…)  -> Letter
    rate(letter, rating, comment="")                                      -> Letter
    request_extension(letter, days, reason, actor) / decide_extension(ext, approve, actor, note)
    hand_over(letter, handler, ref=…) / remote_step(letter, action, note) /
    release_reply(letter, content, unit=…, handler=…, replied_at=…)   letters handled on another
                                                                        platform (对方办理)
    reply_rule(type) -> (reply_days, warn_days)
    find(query_code) -> Letter | None
"""

from __future__ import annotations

import re
import secrets
import time

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiyue import audit
from jiyue.accounts import policy
from jiyue.core import outbox
from jiyue.core.groupcommit import GroupWriter
from jiyue.security.fields import blind_index
from jiyue.workdays import calendar

from .models import (OPEN_STATUSES, Channel, DeadlineRule, ExtensionRequest, Letter, LetterStep,
                     LetterType, Mailbox, Rating, Status)

DEFAULT_REPLY_DAYS = 5   # STANDARDS.md: letters / consultations, 5 working days by default
DEFAULT_WARN_DAYS = 1
MAX_TITLE = 200
MAX_CONTENT = 5000
MAX_EXTENSION_DAYS = 20  # in total per letter
MAX_REOPEN = 1           # a dissatisfied rating reopens a letter once

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
CODE_LENGTH = 12

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PHONE = re.compile(r"^[0-9+\-() ]{5,30}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# action -> (statuses it applies to, resulting status, right needed: "dispatch" | "handle")
ACTIONS = {
    "accept": ((Status.SUBMITTED,), Status.ACCEPTED, "dispatch"),
    "reject": ((Status.SUBMITTED, Status.ACCEPTED), Status.REJECTED, "dispatch"),
    "assign": ((Status.ACCEPTED, Status.HANDLING), Status.HANDLING, "dispatch"),
    "transfer": ((Status.SUBMITTED, Status.ACCEPTED, Status.HANDLING), Status.ACCEPTED, "dispatch"),
    "draft": ((Status.HANDLING,), Status.REVIEWING, "handle"),
    "return": ((Status.REVIEWING,), Status.HANDLING, "dispatch"),
    "approve": ((Status.REVIEWING,), Status.REPLIED, "dispatch"),
    "close": ((Status.REPLIED,), Status.CLOSED, "dispatch"),
    "reopen": ((Status.REPLIED, Status.CLOSED), Status.HANDLING, "dispatch"),
}
ACTION_LABELS = {
    "submit": _("来信"), "accept": _("受理"), "reject": _("不予受理"), "assign": _("转办"),
    "transfer": _("转交"), "draft": _("答复"), "return": _("审核退回"), "approve": _("审核通过，答复"),
    "close": _("办结"), "reopen": _("重新办理"), "rate": _("评价"), "extend_request": _("申请延期"),
    "extend_approve": _("延期批准"), "extend_refuse": _("延期未批准"), "warn": _("到期提醒"),
    "escalate": _("超期督办"), "publish": _("公开"), "screen": _("筛查"),
    "hand_over": _("移交办理"), "remote_assign": _("转办"),
}
# public steps reported by the platform that handles a handed-over letter (remote_step)
REMOTE_ACTIONS = ("remote_assign",)


def clean_text(value, limit: int) -> str:
    """Plain text as stored: control characters removed, newlines normalised, trimmed. HTML is
    kept as typed and escaped wherever it is shown (never interpreted)."""
    value = _CONTROL.sub("", str(value or "")).replace("\r\n", "\n").replace("\r", "\n")
    return value.strip()[:limit + 1]


# The 办理时限 rows, read once per process and again RULES_SECONDS after (another process's
# change applies within that time; a change in this process at once: `forget_cached`).
RULES_SECONDS = 5.0
_rules: tuple[float, dict[str, tuple[int, int]]] | None = None


def reply_rule(letter_type: str) -> tuple[int, int]:
    """(working days to reply, working days before the deadline to warn) for a type."""
    global _rules
    now = time.monotonic()
    if _rules is None or now - _rules[0] > RULES_SECONDS:
        _rules = (now, {r.type: (r.reply_days, r.warn_days) for r in DeadlineRule.objects.all()})
    return _rules[1].get(letter_type, (DEFAULT_REPLY_DAYS, DEFAULT_WARN_DAYS))


_mailboxes: dict[int, tuple[float, Mailbox | None]] = {}


def open_mailbox(pk: int) -> Mailbox | None:
    """The enabled mailbox `pk` (with its organisation and site), or None. Read once per process
    and again RULES_SECONDS after: a mailbox disabled in another process stops taking letters
    within that time, in this process at once (`forget_cached`)."""
    now = time.monotonic()
    hit = _mailboxes.get(pk)
    if hit is None or now - hit[0] > RULES_SECONDS:
        box = (Mailbox.objects.filter(pk=pk, enabled=True)
               .select_related("organisation", "site").first())
        if len(_mailboxes) > 10_000:
            _mailboxes.clear()
        hit = _mailboxes[pk] = (now, box)
    return hit[1]


def forget_cached() -> None:
    """Read the 办理时限 and the mailboxes again on next use (one was saved or deleted)."""
    global _rules
    _rules = None
    _mailboxes.clear()


def new_query_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    return re.sub(r"[\s-]", "", str(code or "")).upper()[:CODE_LENGTH + 4]


def find(query_code: str) -> Letter | None:
    code = normalise_code(query_code)
    if len(code) != CODE_LENGTH:
        return None
    return Letter.objects.filter(query_code=code).select_related("mailbox", "organisation").first()


def normalise_phone(phone: str) -> str:
    return re.sub(r"[^0-9+]", "", phone or "")


def submit(*, mailbox: Mailbox, type: str, title: str, content: str, site=None,
           channel: str = Channel.WEB, citizen=None, anonymous: bool = False, name: str = "",
           phone: str = "", email: str = "", address: str = "", consent_publish: bool = False,
           reported_organisation=None, external_ref: str | None = None, received_at=None,
           data: dict | None = None) -> Letter:
    """Store a new letter and start its clock. Raises ValidationError (Chinese messages, per
    field) for bad input; nothing is stored then. With `external_ref` (a 12345 work order
    number) a second submission returns the first letter unchanged."""
    errors: dict[str, str] = {}
    if mailbox is None or not mailbox.enabled:
        errors["mailbox"] = _("该信箱不存在或已停用。")
    if type not in LetterType.values:
        errors["type"] = _("请选择来信类型：咨询、建议、投诉、举报或求助。")
    elif mailbox is not None and not mailbox.accepts(type):
        errors["type"] = _("该信箱不受理此类来信。")
    if channel not in Channel.values:
        errors["channel"] = _("来信渠道无效。")
    title = clean_text(title, MAX_TITLE)
    content = clean_text(content, MAX_CONTENT)
    if not title:
        errors["title"] = _("请填写标题。")
    elif len(title) > MAX_TITLE:
        errors["title"] = _("标题不能超过%(n)d个字。") % {"n": MAX_TITLE}
    if len(content) < 5:
        errors["content"] = _("请填写来信内容（至少5个字）。")
    elif len(content) > MAX_CONTENT:
        errors["content"] = _("来信内容不能超过%(n)d个字。") % {"n": MAX_CONTENT}
    name, phone = clean_text(name, 50), clean_text(phone, 30)
    email, address = clean_text(email, 100), clean_text(address, 200)
    if anonymous:
        if mailbox is not None and not mailbox.allow_anonymous:
            errors["anonymous"] = _("该信箱不接受匿名来信，请登录后写信。")
    elif citizen is None and channel == Channel.WEB:
        errors["citizen"] = _("请先登录再写信。")
    elif not name and citizen is None:
        errors["name"] = _("请填写姓名。")
    if len(name) > 50:
        errors["name"] = _("姓名不能超过50个字。")
    if phone and not _PHONE.match(phone):
        errors["phone"] = _("联系电话格式不正确。")
    if email and (len(email) > 100 or not _EMAIL.match(email)):
        errors["email"] = _("电子邮箱格式不正确。")
    if len(address) > 200:
        errors["address"] = _("联系地址不能超过200个字。")
    if external_ref is not None:
        external_ref = str(external_ref).strip()[:64] or None
    if errors:
        raise ValidationError(errors)
    if external_ref:
        existing = Letter.objects.filter(external_ref=external_ref).first()
        if existing is not None:
            return existing
    received_at = received_at or timezone.now()
    reply_days, _warn = reply_rule(type)
    letter = Letter(
        mailbox=mailbox, site=site, type=type, channel=channel, title=title, content=content,
        citizen=citizen if not anonymous else None, anonymous=bool(anonymous), name=name,
        phone=phone, phone_index=blind_index("phone", normalise_phone(phone)), email=email,
        address=address, consent_publish=bool(consent_publish),
        reported_organisation=reported_organisation if type == LetterType.REPORT else None,
        organisation_id=mailbox.organisation_id, received_at=received_at,
        due_at=calendar.deadline(received_at, reply_days), external_ref=external_ref,
        data=data or {})
    if external_ref:
        return _store_one(letter)
    return _intake.write(letter)


def _store_one(letter: Letter) -> Letter:
    """Store a new letter with its step and event in its own transaction (a new query code on
    the rare collision)."""
    for _attempt in range(5):
        letter.pk = None
        letter._state.adding = True
        letter.query_code = new_query_code()
        try:
            with transaction.atomic():
                letter.save()
                LetterStep.objects.create(letter=letter, action="submit", at=letter.received_at,
                                          organisation_id=letter.organisation_id)
                outbox.emit("letter.submitted", "letter", letter.pk, _submitted(letter))
            return letter
        except IntegrityError:
            ref = letter.external_ref
            if ref and Letter.objects.filter(external_ref=ref).exists():
                return Letter.objects.get(external_ref=ref)
    raise RuntimeError("could not allocate a query code")


def _store_batch(letters: list[Letter]) -> list[Letter]:
    """Store letters submitted at the same time, with their steps and events, three INSERTs in
    the group writer's transaction (a query-code collision fails the batch, and each letter is
    then stored on its own)."""
    for letter in letters:
        letter.query_code = new_query_code()
    Letter.objects.bulk_create(letters)
    LetterStep.objects.bulk_create(
        [LetterStep(letter=letter, action="submit", at=letter.received_at,
                    organisation_id=letter.organisation_id) for letter in letters])
    outbox.emit_many([("letter.submitted", "letter", letter.pk, _submitted(letter))
                      for letter in letters])
    return letters


def _submitted(letter: Letter) -> dict:
    return {"type": letter.type, "channel": letter.channel, "organisation": letter.organisation_id}


# Letters submitted concurrently in this process share a transaction (core.groupcommit): a
# citizen's receipt is still only given after the commit that stores their letter.
_intake = GroupWriter(_store_batch, _store_one)


def may(user, letter: Letter, right: str) -> bool:
    """Whether a staff user has `right` ("dispatch" or "handle") on the letter now."""
    if right == "dispatch":
        return policy.can_dispatch_interaction(user, letter.organisation_id)
    return policy.can_handle_interaction(user, letter.organisation_id)


def _lock(letter) -> Letter:
    pk = letter.pk if isinstance(letter, Letter) else int(letter)
    return Letter.objects.select_for_update().get(pk=pk)


def _changed(letter: Letter, action: str, actor, step_org=None, **payload) -> None:
    outbox.emit("letter.changed", "letter", letter.pk,
                {"status": letter.status, "action": action, "organisation": letter.organisation_id,
                 **payload})
    if actor is not None:
        audit.record(actor, step_org or letter.organisation, None, f"letter.{action}", letter,
                     status=letter.status)


def act(letter, action: str, actor, *, note: str = "", to_organisation=None, reply: str | None = None,
        public: bool = True, system: bool = False) -> Letter:
    """Apply one handling action. `actor` is the staff user (checked against accounts.policy);
    `system=True` (with actor None) is the platform itself (12345 sync, automatic rules).
    Raises PermissionDenied (audited as denied) or ValidationError (wrong state, missing
    reply or reason)."""
    if action not in ACTIONS:
        raise ValidationError(_("未知的办理操作。"))
    sources, target, right = ACTIONS[action]
    note = clean_text(note, 2000)
    with transaction.atomic():
        letter = _lock(letter)
        if not system and (actor is None or not may(actor, letter, right)):
            audit.record(actor, letter.organisation, None, f"letter.{action}", letter, outcome="denied")
            raise PermissionDenied(_("您无权办理该信件。"))
        if not system:
            _refuse_handed_over(letter, action)
        if letter.status not in sources:
            raise ValidationError(_("信件当前状态为“%(s)s”，不能%(a)s。")
                                  % {"s": letter.get_status_display(), "a": ACTION_LABELS[action]})
        now = timezone.now()
        step_org = letter.organisation
        if action == "accept":
            letter.accepted_at = now
        elif action == "reject":
            if not note:
                raise ValidationError({"note": _("请填写不予受理的理由。")})
            letter.valid, letter.reject_reason, letter.closed_at = False, note[:500], now
        elif action in ("assign", "transfer"):
            if to_organisation is None and action == "transfer":
                raise ValidationError({"to_organisation": _("请选择转交单位。")})
            if to_organisation is not None:
                letter.organisation = to_organisation
            letter.assigned_at = now if action == "assign" else letter.assigned_at
            if action == "transfer":
                letter.accepted_at = letter.accepted_at or now
        elif action == "draft":
            text = clean_text(reply, MAX_CONTENT)
            if not text:
                raise ValidationError({"reply": _("请填写答复内容。")})
            letter.reply_draft = text
            letter.replied_by = actor
        elif action == "return":
            if not note:
                raise ValidationError({"note": _("请填写退回意见。")})
        elif action == "approve":
            if reply is not None:  # the reviewer may correct the draft while approving
                letter.reply_draft = clean_text(reply, MAX_CONTENT) or letter.reply_draft
            letter.reply = letter.reply_draft
            letter.reply_organisation = letter.organisation
            letter.replied_at = now
        elif action == "close":
            letter.closed_at = now
        elif action == "reopen":
            reply_days, _w = reply_rule(letter.type)
            letter.reopened_count += 1
            letter.due_at = calendar.deadline(now, reply_days)
            letter.closed_at = None
            letter.warned_at = letter.escalated_at = None
        letter.status = target
        letter.save()
        LetterStep.objects.create(letter=letter, action=action, actor=actor, organisation=step_org,
                                  to_organisation=to_organisation, note=note, public=public, at=now)
        _changed(letter, action, actor, step_org)
    return letter


def rate(letter, rating: str, comment: str = "") -> Letter:
    """The writer rates the reply. 满意 / 基本满意 close the letter; 不满意 reopens it once
    (a new clock from today) and closes it the second time."""
    if rating not in Rating.values:
        raise ValidationError({"rating": _("请选择评价：满意、基本满意或不满意。")})
    comment = clean_text(comment, 500)
    with transaction.atomic():
        letter = _lock(letter)
        if letter.status != Status.REPLIED:  # each released reply is rated once
            raise ValidationError(_("该信件当前不能评价。"))
        now = timezone.now()
        letter.rating, letter.rating_comment, letter.rated_at = rating, comment[:500], now
        reopen = rating == Rating.DISSATISFIED and letter.reopened_count < MAX_REOPEN
        if reopen:
            reply_days, _w = reply_rule(letter.type)
            letter.status, letter.reopened_count = Status.HANDLING, letter.reopened_count + 1
            letter.due_at = calendar.deadline(now, reply_days)
            letter.warned_at = letter.escalated_at = None
        else:
            letter.status, letter.closed_at = Status.CLOSED, now
        letter.save()
        LetterStep.objects.create(letter=letter, action="rate", note=comment,
                                  data={"rating": rating}, at=now)
        if reopen:
            LetterStep.objects.create(letter=letter, action="reopen", organisation=letter.organisation,
                                      note=_("来信人不满意，重新办理。"), at=now)
        _changed(letter, "rate", None, rating=rating, reopened=reopen)
    return letter


def request_extension(letter, days: int, reason: str, actor) -> ExtensionRequest:
    """A handler asks for more time; the deadline moves only when a dispatcher approves."""
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise ValidationError({"days": _("请填写延期的工作日数。")}) from None
    reason = clean_text(reason, 1000)
    with transaction.atomic():
        letter = _lock(letter)
        if not may(actor, letter, "handle"):
            audit.record(actor, letter.organisation, None, "letter.extend_request", letter, outcome="denied")
            raise PermissionDenied(_("您无权办理该信件。"))
        _refuse_handed_over(letter, "extend_request")
        if not letter.is_open:
            raise ValidationError(_("已答复或已办结的信件不能申请延期。"))
        if not 1 <= days <= MAX_EXTENSION_DAYS - letter.extended_days:
            raise ValidationError({"days": _("延期须为1至%(n)d个工作日。")
                                   % {"n": max(MAX_EXTENSION_DAYS - letter.extended_days, 0)}})
        if not reason:
            raise ValidationError({"reason": _("请填写延期理由。")})
        if letter.extensions.filter(state=ExtensionRequest.PENDING).exists():
            raise ValidationError(_("已有待审批的延期申请。"))
        ext = ExtensionRequest.objects.create(letter=letter, days=days, reason=reason, requested_by=actor)
        LetterStep.objects.create(letter=letter, action="extend_request", actor=actor,
                                  organisation=letter.organisation, note=reason, public=False,
                                  data={"days": days})
        _changed(letter, "extend_request", actor, days=days)
    return ext


def decide_extension(ext: ExtensionRequest, approve: bool, actor, note: str = "") -> ExtensionRequest:
    with transaction.atomic():
        letter = _lock(ext.letter_id)
        ext = ExtensionRequest.objects.select_for_update().get(pk=ext.pk)
        if not may(actor, letter, "dispatch"):
            audit.record(actor, letter.organisation, None, "letter.extend_decide", letter, outcome="denied")
            raise PermissionDenied(_("您无权审批该延期申请。"))
        _refuse_handed_over(letter, "extend_approve" if approve else "extend_refuse")
        if ext.state != ExtensionRequest.PENDING:
            raise ValidationError(_("该延期申请已审批。"))
        now = timezone.now()
        ext.state = ExtensionRequest.APPROVED if approve else ExtensionRequest.REFUSED
        ext.decided_by, ext.decided_at, ext.decision_note = actor, now, clean_text(note, 500)
        ext.save()
        action = "extend_approve" if approve else "extend_refuse"
        if approve:
            letter.due_at = calendar.deadline(letter.due_at, ext.days)
            letter.extended_days += ext.days
            letter.warned_at = letter.escalated_at = None
            letter.save()
        LetterStep.objects.create(letter=letter, action=action, actor=actor,
                                  organisation=letter.organisation, note=ext.decision_note,
                                  data={"days": ext.days, "due_at": letter.due_at.isoformat()})
        _changed(letter, action, actor, days=ext.days)
    return ext


# --- letters handled on another platform (对方办理) ---------------------------------------------
# A letter pushed to a platform that answers it (jiyue.hotline: a 12345 or city platform
# configured as 对方办理) is handed over: from then on staff here cannot act on it (act,
# request_extension and decide_extension refuse with a ValidationError); the platform follows
# the other side with act(..., system=True), remote_step and release_reply. The citizen still
# rates the reply here (rate).

def handed_over_message(letter: Letter, action: str) -> str:
    """Why staff cannot take `action` on a handed-over letter (Chinese, for the admin)."""
    handler = (letter.handled_by or {}).get("name") or _("对方平台")
    label = ACTION_LABELS.get(action) or {"extend_decide": _("审批延期")}.get(action, action)
    return _("该信件已移交%(name)s办理（对方办理），本平台不能%(a)s；办理进展和答复由对方同步。") % {
        "name": handler, "a": label}


def _refuse_handed_over(letter: Letter, action: str) -> None:
    if letter.handled_by:
        raise ValidationError(handed_over_message(letter, action))


def _require_handed_over(letter: Letter) -> None:
    if not letter.handled_by:
        raise ValidationError(_("该信件未移交其他平台办理。"))


def hand_over(letter, handler: str, *, ref: str = "", note: str = "") -> Letter:
    """Hand a new letter (待受理, nobody acted on it yet) over to another platform, `handler`
    its name, `ref` its number there (a 12345 work order number). A public step 移交办理 and a
    `letter.changed` event (action "hand_over"); again: unchanged. Raises ValidationError when
    staff here already started on the letter (it then stays here)."""
    handler = clean_text(handler, 100) or _("对方平台")
    with transaction.atomic():
        letter = _lock(letter)
        if letter.handled_by:
            return letter
        if letter.status != Status.SUBMITTED:
            raise ValidationError(_("信件已由本平台开始办理，不能移交其他平台办理。"))
        now = timezone.now()
        letter.data = {**(letter.data or {}), Letter.HANDLED_BY: {
            "name": handler, "ref": str(ref)[:64], "since": now.isoformat()}}
        letter.save(update_fields=["data", "updated_at"])
        LetterStep.objects.create(
            letter=letter, action="hand_over", organisation=letter.organisation, public=True, at=now,
            note=clean_text(note, 2000) or _("来信已转%(name)s办理。") % {"name": handler},
            data={"handler": handler, "ref": str(ref)[:64]})
        _changed(letter, "hand_over", None, handler=handler)
    return letter


def remote_step(letter, action: str, note: str, *, data: dict | None = None) -> Letter:
    """A public step the handling platform reported (REMOTE_ACTIONS: "remote_assign", its 转办
    to one of its units, named in `note`). The letter's status and organisation do not change."""
    if action not in REMOTE_ACTIONS:
        raise ValidationError(_("未知的办理操作。"))
    with transaction.atomic():
        letter = _lock(letter)
        _require_handed_over(letter)
        LetterStep.objects.create(letter=letter, action=action, public=True, at=timezone.now(),
                                  note=clean_text(note, 2000), data=data or {})
        _changed(letter, action, None)
    return letter


def release_reply(letter, content: str, *, unit: str, handler: str, replied_at=None) -> Letter:
    """A reply written and reviewed on the platform handling the letter, released here as it
    is (no review here): 答复内容 `content`, 回复单位 `unit` (a unit of the other platform, kept
    in `letter.data["reply_unit"]`; `Letter.reply_unit`), 回复时间 `replied_at` (the other
    side's). From any open status to 已答复, with a public step "approve" that names the
    source and the event `letter.changed` (action "approve", external)."""
    text = clean_text(content, MAX_CONTENT)
    if not text:
        raise ValidationError({"reply": _("请填写答复内容。")})
    unit, handler = clean_text(unit, 100), clean_text(handler, 100)
    with transaction.atomic():
        letter = _lock(letter)
        _require_handed_over(letter)
        if letter.status not in OPEN_STATUSES:
            raise ValidationError(_("信件当前状态为“%(s)s”，不能%(a)s。")
                                  % {"s": letter.get_status_display(), "a": ACTION_LABELS["approve"]})
        now = timezone.now()
        letter.reply_draft = letter.reply = text
        letter.reply_organisation, letter.replied_by = None, None
        letter.replied_at = replied_at or now
        letter.accepted_at = letter.accepted_at or now
        letter.data = {**(letter.data or {}), "reply_unit": unit or handler}
        letter.status = Status.REPLIED
        letter.save()
        LetterStep.objects.create(
            letter=letter, action="approve", public=True, at=now,
            note=_("%(handler)s答复（已在对方平台审核发布），回复单位：%(unit)s。")
            % {"handler": handler, "unit": unit or handler},
            data={"external": handler, "unit": unit, "replied_at": letter.replied_at.isoformat()})
        _changed(letter, "approve", None, external=True)
    return letter


def visible_letters(user):
    """Letters this staff user may see: those of the organisations they handle or dispatch for
    (the operator: all)."""
    qs = Letter.objects.select_related("mailbox", "organisation")
    if policy.sees_all_content(user):
        return qs
    return qs.filter(organisation_id__in=policy.interaction_organisation_ids(user))

