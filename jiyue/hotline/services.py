"""The 12345 exchange: receiving signed messages from a 12345 platform, turning our letters'
events into messages for it, and the peer configuration.

    receive(method, path, headers, body, now=None) -> (http status, JSON body)
    on_letter_event(event)          the outbox consumer "hotline" (letter.submitted / letter.changed)
    create_peer / update_peer / rotate_key / set_enabled (system administrator, audited)
    retry(actor, message)           put a failed outbound message back in the queue (audited)

Letters are created and changed only through jiyue.letters.services: an order becomes a letter
with `submit(channel="hotline", external_ref=<工单编号>)`, the other side's status changes are
`act(..., system=True)` / `rate(...)`. Events caused by applying the peer's messages are not
sent back (AppliedEvent). Delivery of outbound messages: jiyue.hotline.client.

Letters we push (`Peer.push_letters`) are either only reported to the peer (仅报备, `push_mode`
"record": we handle them and tell the peer) or handled by it (对方办理, "handle": the letter is
handed over with `letters.hand_over`, and the peer's messages for that order drive it —
`_follow_status`, `_follow_reply`; only the citizen's rating goes back to the peer).
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiyue import audit
from jiyue.accounts import policy
from jiyue.core.models import Event, Platform
from jiyue.letters import services as letters
from jiyue.letters.models import Channel, Letter, Mailbox, Status
from jiyue.security.crypto import sm3_hex

from . import protocol as p
from .models import AppliedEvent, Message, Nonce, Peer, WorkOrder

logger = logging.getLogger(__name__)

NONCE_KEEP = timedelta(seconds=2 * p.WINDOW_SECONDS + 60)


class Refused(Exception):
    """An answer other than 200: `status`, a Chinese `title` and `detail`, field `errors`."""

    def __init__(self, status: int, title: str, detail: str, errors: dict | None = None):
        super().__init__(detail)
        self.status, self.title, self.detail, self.errors = status, title, detail, errors


# --- receiving ---------------------------------------------------------------------------------

def _header(headers, name: str) -> str:
    value = headers.get(name) or ""
    return value.strip()[:200]


def authenticate(method: str, path: str, headers, body: bytes, now: float | None = None) -> Peer:
    """The peer behind a signed request, after the timestamp window, the signature and the
    nonce were checked (the nonce is then spent). Raises Refused(401)."""
    code, timestamp = _header(headers, p.H_PEER), _header(headers, p.H_TIMESTAMP)
    nonce, signature = _header(headers, p.H_NONCE), _header(headers, p.H_SIGNATURE)
    title = _("签名校验失败")

    def deny(reason: str, detail: str, peer=None):
        audit.record(None, peer.organisation if peer else None, None, "hotline.receive",
                     peer, outcome="denied", reason=reason, peer_code=code[:40])
        raise Refused(401, title, detail)

    if not (code and timestamp and nonce and signature):
        deny("headers", _("缺少签名请求头：X-Jiyue-Peer、X-Jiyue-Timestamp、X-Jiyue-Nonce、X-Jiyue-Signature。"))
    peer = Peer.objects.filter(code=code, enabled=True).select_related("organisation").first()
    if peer is None or not peer.key:
        deny("peer", _("未知或已停用的对接平台。"))
    if not p.fresh(timestamp, now):
        deny("timestamp", _("时间戳超出允许范围（前后5分钟），请校准时钟后重发。"), peer)
    if not p.NONCE_RE.match(nonce):
        deny("nonce", _("X-Jiyue-Nonce 须为16至64位字母、数字、_ 或 -。"), peer)
    if not p.signature_ok(peer.key, method, path, timestamp, nonce, body, signature):
        deny("signature", _("签名不正确。"), peer)
    try:
        with transaction.atomic():
            Nonce.objects.create(peer=peer, nonce=nonce)
    except IntegrityError:
        deny("replay", _("重复的请求：该 nonce 已使用过。"), peer)
    return peer


def receive(method: str, path: str, headers, body: bytes, now: float | None = None) -> tuple[int, dict]:
    """Handle one request from a peer. Returns (200, result) or raises Refused."""
    peer = authenticate(method, path, headers, body, now)
    try:
        env = p.parse(body)
    except p.BadMessage as exc:
        raise Refused(400, _("消息格式错误"), p.describe(exc.errors), exc.errors) from None
    digest = sm3_hex(body)
    existing = Message.objects.filter(peer=peer, direction=Message.IN, message_id=env.message_id).first()
    if existing is not None and existing.state == Message.APPLIED:
        if existing.kind != env.type or existing.order_no != env.order_no:
            raise Refused(409, _("消息编号冲突"), _("消息编号 %(id)s 已用于另一条消息。") % {"id": env.message_id})
        return 200, {"message_id": env.message_id, "order_no": env.order_no, "result": "duplicate",
                     "detail": existing.result}
    try:
        with transaction.atomic():
            message = existing or Message(peer=peer, direction=Message.IN, message_id=env.message_id)
            message.kind, message.order_no, message.body_sm3 = env.type, env.order_no, digest
            message.body = body.decode("utf-8")
            message.state, message.done_at, message.attempts = Message.APPLIED, timezone.now(), message.attempts + 1
            message.save()
            since = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
            result, extra = HANDLERS[env.type](peer, env, message)
            message.result = str(result)[:200]
            message.save(update_fields=["result", "letter"])
            # the letter events this message caused are not sent back (no echo)
            for event_id in (Event.objects.filter(id__gt=since, aggregate="letter",
                                                  aggregate_id=str(message.letter_id or 0))
                             .values_list("id", flat=True)):
                AppliedEvent.objects.get_or_create(event_id=event_id, defaults={"message": message})
    except Refused as exc:
        _refused(peer, env, message, digest, body, exc)
        raise
    except ValidationError as exc:
        errors = _errors(exc)
        refused = Refused(400, _("工单数据校验失败"), p.describe(errors), errors)
        _refused(peer, env, message, digest, body, refused)
        raise refused from None
    except PermissionDenied as exc:  # letters refuse a system action only by state; be safe
        refused = Refused(409, _("状态冲突"), str(exc))
        _refused(peer, env, message, digest, body, refused)
        raise refused from None
    return 200, {"message_id": env.message_id, "order_no": env.order_no, "result": result, **extra}


def _refused(peer, env, message, digest, body, exc: Refused) -> None:
    """Keep a refused message in the log (a retry with the same id is processed again)."""
    Message.objects.update_or_create(
        peer=peer, direction=Message.IN, message_id=env.message_id,
        defaults={"kind": env.type, "order_no": env.order_no, "body": body.decode("utf-8"),
                  "body_sm3": digest, "state": Message.REFUSED, "done_at": timezone.now(),
                  "response_status": exc.status, "last_error": exc.detail[:500]})
    audit.record(None, peer.organisation, None, f"hotline.{env.type}", peer, outcome="failure",
                 order_no=env.order_no, status=exc.status)


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    return {"order": [str(m) for m in exc.messages]}


def hotline_mailbox(peer: Peer) -> Mailbox:
    """The peer's 12345热线 mailbox, created on first use."""
    if peer.mailbox_id and peer.mailbox.enabled:
        return peer.mailbox
    mailbox = Mailbox.objects.filter(organisation=peer.organisation, kind=Mailbox.HOTLINE,
                                     enabled=True).first()
    if mailbox is None:
        mailbox = Mailbox.objects.create(
            organisation=peer.organisation, site=None, kind=Mailbox.HOTLINE,
            name=(_("12345热线（%(name)s）") % {"name": peer.name})[:60],
            allow_anonymous=True, enabled=True)
    Peer.objects.filter(pk=peer.pk).update(mailbox=mailbox)
    peer.mailbox = mailbox
    return mailbox


def _unit_organisation(unit: p.Unit | None):
    from jiyue.platform.models import Organisation

    if unit is None or not unit.code:
        return None
    return Organisation.objects.filter(code=unit.code.upper()).first()


def _step(order: WorkOrder, action: str, at, unit: str = "", note: str = "") -> None:
    order.steps = [*order.steps, {"at": (at or timezone.now()).isoformat(), "action": action,
                                  "unit": unit, "note": note[:500]}][-200:]


def _order_for(peer: Peer, env) -> WorkOrder:
    order = WorkOrder.objects.select_related("letter").filter(order_no=env.order_no).first()
    if order is None:
        raise Refused(404, _("未找到"), _("未知的工单编号：%(no)s。") % {"no": env.order_no})
    if order.peer_id != peer.pk:
        raise Refused(409, _("工单编号冲突"), _("该工单编号属于另一个对接平台。"))
    return order


def _create(peer: Peer, env, message: Message):
    o = env.order
    order = WorkOrder.objects.filter(order_no=env.order_no).select_related("letter").first()
    if order is not None:
        if order.peer_id != peer.pk:
            raise Refused(409, _("工单编号冲突"), _("该工单编号属于另一个对接平台。"))
        message.letter = order.letter
        return "duplicate", {"query_code": order.letter.query_code}
    mailbox = hotline_mailbox(peer)
    anonymous = o.caller.anonymous or not o.caller.name
    letter = letters.submit(
        mailbox=mailbox, type=p.CATEGORIES[o.category], title=o.title, content=o.content,
        channel=Channel.HOTLINE, anonymous=anonymous, name="" if anonymous else o.caller.name,
        phone=o.caller.phone, address=o.caller.address, external_ref=env.order_no,
        received_at=o.received_at, data={"hotline": {"peer": peer.code, "order_no": env.order_no}})
    order, created = WorkOrder.objects.get_or_create(
        order_no=env.order_no, defaults={
            "peer": peer, "letter": letter, "direction": WorkOrder.INBOUND, "peer_status": o.status,
            "unit_name": o.unit.name if o.unit else "", "unit_code": o.unit.code if o.unit else "",
            "due_at": o.due_at, "steps": [s.model_dump(mode="json") for s in o.steps][-200:]})
    message.letter = letter
    if not created:  # a letter bound to another order already carried this number
        return "duplicate", {"query_code": letter.query_code}
    if letter.status == Status.SUBMITTED:
        target = _unit_organisation(o.unit)
        note = _("12345工单 %(no)s") % {"no": env.order_no}
        if target is not None and target.pk != letter.organisation_id:
            letters.act(letter, "transfer", None, to_organisation=target, note=note, system=True)
        else:
            letters.act(letter, "accept", None, note=note, system=True)
    return "created", {"query_code": letter.query_code}


def _status(peer: Peer, env, message: Message):
    s = env.status
    order = _order_for(peer, env)
    letter = order.letter
    message.letter = letter
    result = "recorded"
    if order.direction == WorkOrder.OUTBOUND and order.handled_by_peer:
        result = _follow_status(peer, order, letter, s)
    elif order.direction == WorkOrder.INBOUND:
        if s.status == p.ASSIGNED:
            target = _unit_organisation(s.unit)
            if (target is not None and target.pk != letter.organisation_id
                    and letter.status in (Status.SUBMITTED, Status.ACCEPTED, Status.HANDLING)):
                letters.act(letter, "transfer", None, to_organisation=target, note=s.note, system=True)
                result = "transferred"
        elif s.status == p.CLOSED:
            if letter.status == Status.REPLIED:
                letters.act(letter, "close", None, note=s.note, system=True)
                result = "closed"
            elif letter.status not in (Status.CLOSED, Status.REJECTED):
                raise Refused(409, _("状态冲突"), _("信件尚未答复，不能办结。"))
            else:
                result = "unchanged"
        elif s.status == p.RETURNED:  # 退回重办: the reply is sent back for another try
            if letter.status in (Status.REPLIED, Status.CLOSED):
                letters.act(letter, "reopen", None, note=s.note or _("12345退回重办。"), system=True)
                result = "reopened"
            else:
                result = "unchanged"
    order.peer_status = s.status
    if s.due_at:
        order.due_at = s.due_at
    if s.unit and s.status == p.ASSIGNED:
        order.unit_name, order.unit_code = s.unit.name, s.unit.code
    _step(order, s.status, s.at, s.unit.name if s.unit else "", s.note)
    order.save()
    return result, {}


def _reply(peer: Peer, env, message: Message):
    order = _order_for(peer, env)
    message.letter = order.letter
    if order.direction == WorkOrder.OUTBOUND and order.handled_by_peer:
        return _follow_reply(peer, order, env.reply), {}
    raise Refused(409, _("状态冲突"), _("该工单由本平台办理，不接受对方的答复。"))


# --- our letters handled by the peer (对方办理): its messages drive the letter ----------------------

def _conflict(detail: str) -> Refused:
    return Refused(409, _("状态冲突"), detail)


def _ensure_accepted(peer: Peer, letter: Letter) -> Letter:
    """The peer took the order (any later status implies it): 待受理 → 待转办."""
    if letter.status == Status.SUBMITTED:
        letter = letters.act(letter, "accept", None, system=True,
                             note=_("%(peer)s已受理。") % {"peer": peer.name})
    return letter


def _follow_status(peer: Peer, order: WorkOrder, letter: Letter, s) -> str:
    """A status change of an order the peer handles, applied to our letter (system actions;
    what it causes is not sent back). Repeats change nothing."""
    unit = s.unit.name if s.unit and s.unit.name else ""
    if s.status == p.REPLIED:  # the reply itself comes as order.reply
        return "recorded"
    if s.status == p.ACCEPTED:
        if letter.status != Status.SUBMITTED:
            return "unchanged"
        _ensure_accepted(peer, letter)
        return "accepted"
    if s.status == p.RETURNED:  # the peer refuses the letter: 不予受理 with its reason
        if letter.status == Status.REJECTED:
            return "unchanged"
        if letter.status not in (Status.SUBMITTED, Status.ACCEPTED):
            raise _conflict(_("信件已在办理或已答复，不能退回。"))
        letters.act(letter, "reject", None, system=True,
                    note=s.note or _("%(peer)s退回，未说明理由。") % {"peer": peer.name})
        return "rejected"
    if letter.status == Status.REJECTED:
        raise _conflict(_("信件已不予受理。"))
    if s.status == p.ASSIGNED:  # 转办 within the peer: a public step naming the new 承办单位
        if letter.status not in (Status.SUBMITTED, Status.ACCEPTED, Status.HANDLING):
            raise _conflict(_("信件已答复或已办结，不能转办。"))
        before = letter.status
        letter = _ensure_accepted(peer, letter)
        code = s.unit.code if s.unit else ""
        if not unit or (order.unit_name, order.unit_code) == (unit, code):
            return "accepted" if before == Status.SUBMITTED else "unchanged"
        letters.remote_step(letter, "remote_assign",
                            _("%(peer)s转至%(unit)s办理。") % {"peer": peer.name, "unit": unit},
                            data={"unit": unit, "code": code, "note": s.note[:500]})
        return "transferred"
    if s.status == p.HANDLING:
        if letter.status in (Status.SUBMITTED, Status.ACCEPTED):
            letter = _ensure_accepted(peer, letter)
            letters.act(letter, "assign", None, system=True, public=False,  # not a 转办 here
                        note=_("%(peer)s办理中。") % {"peer": peer.name})
            return "handling"
        if letter.status in (Status.REPLIED, Status.CLOSED):  # the peer handles it again
            letters.act(letter, "reopen", None, system=True,
                        note=s.note or _("%(peer)s重新办理。") % {"peer": peer.name})
            return "reopened"
        return "unchanged"
    # 已办结
    if letter.status == Status.REPLIED:
        letters.act(letter, "close", None, system=True, note=s.note)
        return "closed"
    if letter.status == Status.CLOSED:
        return "unchanged"
    raise _conflict(_("信件尚未答复，不能办结。"))


def _follow_reply(peer: Peer, order: WorkOrder, r) -> str:
    """The peer's reply to an order it handles: released on our letter as it is (reviewed
    there), 回复单位 the peer's unit, 回复时间 its time. The same reply again changes nothing."""
    letter = order.letter
    unit = (r.unit.name if r.unit and r.unit.name else "") or peer.name
    if letter.status in (Status.REPLIED, Status.CLOSED):
        if letter.reply == letters.clean_text(r.content, letters.MAX_CONTENT):
            return "unchanged"
        raise _conflict(_("信件已答复；新的答复须在对方重新办理（办理中）之后发送。"))
    if letter.status == Status.REJECTED:
        raise _conflict(_("信件已不予受理。"))
    letters.release_reply(letter, r.content, unit=unit, handler=peer.name, replied_at=r.replied_at)
    order.peer_status = p.REPLIED
    _step(order, _("答复"), r.replied_at, unit)
    order.save()
    return "replied"


def _satisfaction(peer: Peer, env, message: Message):
    s = env.satisfaction
    order = _order_for(peer, env)
    letter = order.letter
    message.letter = letter
    if order.satisfaction == s.result and order.visited_at:
        return "unchanged", {}
    if letter.status == Status.REPLIED:
        letter = letters.rate(letter, p.SATISFACTION[s.result], s.note)
        result = "reopened" if letter.status == Status.HANDLING else "closed"
    elif letter.status in (Status.CLOSED, Status.REJECTED):
        result = "recorded"
    else:
        raise Refused(409, _("状态冲突"), _("信件尚未答复，不能回访。"))
    order.satisfaction, order.satisfaction_note = s.result, s.note[:500]
    order.visited_at = s.visited_at or timezone.now()
    _step(order, _("回访"), order.visited_at, "", s.result)
    order.save()
    return result, {}


HANDLERS = {p.CREATE: _create, p.STATUS: _status, p.REPLY: _reply, p.SATISFY: _satisfaction}


def prune_nonces(now=None) -> int:
    """Nonces older than the window are refused by their timestamp anyway."""
    now = now or timezone.now()
    return Nonce.objects.filter(seen_at__lt=now - NONCE_KEEP).delete()[0]


# --- sending: letters' events become messages ----------------------------------------------------

def our_code(peer: Peer) -> str:
    return peer.our_code or Platform.current().code


def order_no_for(letter: Letter) -> str:
    """The work-order number of one of our letters pushed to 12345 (stable, unique)."""
    return f"{Platform.current().code.upper()}{letter.serial}"


def _unit(org) -> dict:
    return {"name": org.name, "code": org.code} if org is not None else {"name": "", "code": ""}


def order_body(letter: Letter, order_no: str) -> dict:
    steps = [{"at": s.at.isoformat(), "action": letters.ACTION_LABELS.get(s.action, s.action),
              "unit": s.organisation.name if s.organisation else "", "note": s.note[:2000]}
             for s in letter.steps.filter(public=True).select_related("organisation")[:100]]
    return {"category": p.CATEGORY_OF[letter.type], "title": letter.title, "content": letter.content,
            "caller": {"name": "" if letter.anonymous else letter.name, "phone": letter.phone,
                       "address": letter.address, "anonymous": letter.anonymous},
            "unit": _unit(letter.organisation), "received_at": letter.received_at.isoformat(),
            "due_at": letter.due_at.isoformat(), "status": p.STATUS_OF_LETTER[letter.status],
            "steps": steps, "reply": letter.reply,
            "satisfaction": p.SATISFACTION_OF.get(letter.rating, "")}


def _wants(peer: Peer, letter: Letter) -> bool:
    if not (peer.enabled and peer.push_letters):
        return False
    if peer.push_types and letter.type not in peer.push_types:
        return False
    boxes = set(peer.push_mailboxes.values_list("pk", flat=True))
    return not boxes or letter.mailbox_id in boxes


def _queue(peer: Peer, kind: str, order_no: str, letter: Letter, event: Event, part: dict) -> Message:
    message_id = f"{our_code(peer)}-{event.pk}"
    key = {p.CREATE: "order", p.STATUS: "status", p.REPLY: "reply", p.SATISFY: "satisfaction"}[kind]
    body = p.dumps({"message_id": message_id, "type": kind, "order_no": order_no,
                    "sent_at": timezone.now().isoformat(), key: part})
    message, _created = Message.objects.get_or_create(
        peer=peer, event_id=event.pk, kind=kind, defaults={
            "direction": Message.OUT, "message_id": message_id, "order_no": order_no, "letter": letter,
            "body": body.decode("utf-8"), "body_sm3": sm3_hex(body), "state": Message.PENDING,
            "next_attempt_at": timezone.now()})
    from .tasks import request_send

    request_send()
    return message


def on_letter_event(event: Event) -> None:
    """The outbox consumer: a new letter a peer wants becomes an order.create; a change of a
    letter bound to a work order becomes the matching message (never one that applying the
    peer's own message caused)."""
    letter = Letter.objects.filter(pk=int(event.aggregate_id)).select_related(
        "organisation", "reply_organisation", "mailbox").first()
    if letter is None:
        return
    if event.topic == "letter.submitted":
        if letter.channel == Channel.HOTLINE or WorkOrder.objects.filter(letter=letter).exists():
            return
        peer = next((x for x in Peer.objects.filter(enabled=True, push_letters=True).order_by("pk")
                     if _wants(x, letter)), None)
        if peer is None:
            return
        order_no = order_no_for(letter)
        body = order_body(letter, order_no)
        handled = peer.push_mode == Peer.HANDLE
        if handled:  # 对方办理: staff here stop working on it (unless they already started)
            try:
                letters.hand_over(letter, peer.name, ref=order_no)
            except ValidationError:
                handled = False
        WorkOrder.objects.create(peer=peer, order_no=order_no, letter=letter,
                                 direction=WorkOrder.OUTBOUND, peer_status=p.ACCEPTED,
                                 unit_name=letter.organisation.name, unit_code=letter.organisation.code,
                                 due_at=letter.due_at, handled_by_peer=handled)
        _queue(peer, p.CREATE, order_no, letter, event, body)
        return
    if event.topic != "letter.changed" or AppliedEvent.objects.filter(event_id=event.pk).exists():
        return
    order = WorkOrder.objects.filter(letter=letter).select_related("peer").first()
    if order is None:
        return
    payload = event.payload or {}
    action = payload.get("action")
    if order.handled_by_peer and action != "rate":
        return  # the peer handles it and drives the letter; only the citizen's rating goes back
    now = timezone.now().isoformat()
    if action == "approve":
        _queue(order.peer, p.REPLY, order.order_no, letter, event, {
            "content": letter.reply, "unit": _unit(letter.reply_organisation or letter.organisation),
            "replied_at": (letter.replied_at or timezone.now()).isoformat()})
        return
    if action == "rate" and letter.rating:
        _queue(order.peer, p.SATISFY, order.order_no, letter, event, {
            "result": p.SATISFACTION_OF[letter.rating], "note": letter.rating_comment,
            "visited_at": (letter.rated_at or timezone.now()).isoformat()})
        return
    status = {"accept": p.ACCEPTED, "assign": p.HANDLING, "transfer": p.ASSIGNED, "reject": p.RETURNED,
              "close": p.CLOSED, "reopen": p.HANDLING, "extend_approve": p.HANDLING}.get(action)
    if status is None:
        return
    from jiyue.platform.models import Organisation

    org = Organisation.objects.filter(pk=payload.get("organisation") or letter.organisation_id).first()
    part = {"status": status, "at": now, "unit": _unit(org)}
    if action == "reject":
        part["note"] = letter.reject_reason
    if action in ("extend_approve", "reopen"):
        part["due_at"] = letter.due_at.isoformat()
    _queue(order.peer, p.STATUS, order.order_no, letter, event, part)


# --- configuration (系统管理员) ----------------------------------------------------------------------

PEER_FIELDS = ("code", "name", "organisation", "url", "our_code", "enabled", "push_letters", "push_mode",
               "push_types")
KEY_RE = re.compile(r"^[A-Za-z0-9_\-.~+/=]{32,200}$")


def can_configure(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and policy.can_configure(user)


def can_read_log(user) -> bool:
    """The message log (no message content shown): the platform operator and the system admin."""
    return bool(getattr(user, "is_authenticated", False)) and (
        policy.sees_all_content(user) or policy.can_configure(user))


def _guard(actor, action: str, obj=None) -> None:
    if not can_configure(actor):
        audit.record(actor, None, None, action, obj, outcome="denied")
        raise PermissionDenied(_("只有系统管理员可以配置12345对接。"))


def _check_key(key: str) -> str:
    key = (key or "").strip()
    if not KEY_RE.match(key):
        raise ValidationError({"key": _("共享密钥须为32至200位字母、数字或 _ - . ~ + / =。")})
    return key


def create_peer(actor, *, push_mailboxes=(), key: str = "", **fields) -> tuple[Peer, str]:
    """A new peer with a fresh shared key (returned once: show it, never store it elsewhere),
    or with the key the other side generated (`key`, e.g. another jiyue platform's)."""
    _guard(actor, "hotline.peer.create")
    key = _check_key(key) if key else p.new_key()
    with transaction.atomic():
        peer = Peer(**{k: v for k, v in fields.items() if k in PEER_FIELDS}, key=key,
                    key_rotated_at=timezone.now())
        peer.full_clean()
        peer.save()
        peer.push_mailboxes.set(push_mailboxes)
        audit.record(actor, peer.organisation, None, "hotline.peer.create", peer, code=peer.code)
    return peer, key


def update_peer(actor, peer: Peer, *, push_mailboxes=None, **fields) -> Peer:
    _guard(actor, "hotline.peer.update", peer)
    with transaction.atomic():
        for name, value in fields.items():
            if name in PEER_FIELDS and name != "code":
                setattr(peer, name, value)
        peer.full_clean()
        peer.save()
        if push_mailboxes is not None:
            peer.push_mailboxes.set(push_mailboxes)
        audit.record(actor, peer.organisation, None, "hotline.peer.update", peer,
                     fields=sorted(k for k in fields if k in PEER_FIELDS))
    return peer


def rotate_key(actor, peer: Peer) -> str:
    """A new shared key (the old one stops working at once); returned once."""
    _guard(actor, "hotline.peer.rotate_key", peer)
    key = p.new_key()
    with transaction.atomic():
        peer.key, peer.key_rotated_at = key, timezone.now()
        peer.save(update_fields=["key", "key_rotated_at", "updated_at"])
        audit.record(actor, peer.organisation, None, "hotline.peer.rotate_key", peer)
    return key


def set_key(actor, peer: Peer, key: str) -> Peer:
    """Use the shared key the other side generated (two platforms configured with each other:
    one generates the key, the other enters it); the old one stops working at once."""
    _guard(actor, "hotline.peer.set_key", peer)
    key = _check_key(key)
    with transaction.atomic():
        peer.key, peer.key_rotated_at = key, timezone.now()
        peer.save(update_fields=["key", "key_rotated_at", "updated_at"])
        audit.record(actor, peer.organisation, None, "hotline.peer.set_key", peer)
    return peer


def set_enabled(actor, peer: Peer, enabled: bool) -> Peer:
    _guard(actor, "hotline.peer.enable" if enabled else "hotline.peer.disable", peer)
    peer.enabled = bool(enabled)
    peer.save(update_fields=["enabled", "updated_at"])
    audit.record(actor, peer.organisation, None,
                 "hotline.peer.enable" if enabled else "hotline.peer.disable", peer)
    return peer


def retry(actor, message: Message) -> Message:
    """Send a failed (or waiting) outbound message again now."""
    if not can_read_log(actor):
        audit.record(actor, None, None, "hotline.message.retry", message, outcome="denied")
        raise PermissionDenied(_("您无权重发12345消息。"))
    if message.direction != Message.OUT or message.state == Message.SENT:
        raise ValidationError(_("只有未送达的发送消息可以重发。"))
    Message.objects.filter(pk=message.pk).update(state=Message.PENDING, next_attempt_at=timezone.now())
    audit.record(actor, message.peer.organisation, None, "hotline.message.retry", message,
                 order_no=message.order_no, attempts=message.attempts)
    message.refresh_from_db()
    from .tasks import request_send

    request_send()
    return message
