"""The wire protocol of the 12345 exchange (docs/hotline.md is the contract).

Every request is `POST <peer URL>` with a JSON body (UTF-8) and four headers:

    X-Jiyue-Peer:       the sender's identifier as the receiver knows it
    X-Jiyue-Timestamp:  Unix time in seconds (accepted within ±300 s)
    X-Jiyue-Nonce:      16-64 characters [A-Za-z0-9_-], never reused within the window
    X-Jiyue-Signature:  lowercase hex HMAC-SM3(shared key, canonical string)

    canonical string = METHOD "\n" PATH "\n" TIMESTAMP "\n" NONCE "\n" hex(SM3(body))

PATH is the request path without host or query string. The key is the shared key's text
(UTF-8 bytes).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from datetime import datetime
from typing import Literal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import BaseModel, ConfigDict, Field, ValidationError as PydanticError, field_validator

from jiyue.letters.models import LetterType, Rating, Status
from jiyue.security.crypto import constant_time_equal, hmac_sm3, sm3_hex

WINDOW_SECONDS = 300
MAX_BODY = 256 * 1024
NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
ID_RE = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
H_PEER, H_TIMESTAMP, H_NONCE, H_SIGNATURE = ("X-Jiyue-Peer", "X-Jiyue-Timestamp", "X-Jiyue-Nonce",
                                             "X-Jiyue-Signature")

# The wire vocabulary: protocol values (stored and sent as they are) with their labels.
CATEGORY_CHOICES = [("咨询", gettext_lazy("咨询")), ("求助", gettext_lazy("求助")),
                    ("投诉", gettext_lazy("投诉")), ("举报", gettext_lazy("举报")),
                    ("建议", gettext_lazy("建议"))]
STATUS_CHOICES = [("受理", gettext_lazy("受理")), ("转办", gettext_lazy("转办")),
                  ("办理中", gettext_lazy("办理中")), ("已答复", gettext_lazy("已答复")),
                  ("已办结", gettext_lazy("已办结")), ("退回", gettext_lazy("退回"))]
SATISFACTION_CHOICES = [("满意", gettext_lazy("满意")), ("基本满意", gettext_lazy("基本满意")),
                        ("不满意", gettext_lazy("不满意"))]

# 诉求类型 <-> LetterType (same order as CATEGORY_CHOICES)
CATEGORIES = dict(zip([v for v, _l in CATEGORY_CHOICES],
                      [LetterType.CONSULT, LetterType.HELP, LetterType.COMPLAIN, LetterType.REPORT,
                       LetterType.SUGGEST]))
CATEGORY_OF = {v: k for k, v in CATEGORIES.items()}
# 状态
STATUSES = tuple(v for v, _l in STATUS_CHOICES)
ACCEPTED, ASSIGNED, HANDLING, REPLIED, CLOSED, RETURNED = STATUSES
# 回访满意度 <-> Rating
SATISFACTION = dict(zip([v for v, _l in SATISFACTION_CHOICES],
                        [Rating.SATISFIED, Rating.BASIC, Rating.DISSATISFIED]))
SATISFACTION_OF = {v: k for k, v in SATISFACTION.items()}
# a letter's status as a 12345 status (for the order's 状态 when we push it)
STATUS_OF_LETTER = {Status.SUBMITTED: ACCEPTED, Status.ACCEPTED: ACCEPTED, Status.HANDLING: HANDLING,
                    Status.REVIEWING: HANDLING, Status.REPLIED: REPLIED, Status.CLOSED: CLOSED,
                    Status.REJECTED: RETURNED}
CategoryValue = Literal[tuple(CATEGORIES)]  # type: ignore[valid-type]
StatusValue = Literal[STATUSES]  # type: ignore[valid-type]
SatisfactionValue = Literal[tuple(SATISFACTION)]  # type: ignore[valid-type]
OptionalSatisfaction = Literal[("", *SATISFACTION)]  # type: ignore[valid-type]

CREATE, STATUS, REPLY, SATISFY = "order.create", "order.status", "order.reply", "order.satisfaction"
KINDS = (CREATE, STATUS, REPLY, SATISFY)
KIND_LABELS = {CREATE: gettext_lazy("新建工单"), STATUS: gettext_lazy("状态变更"),
               REPLY: gettext_lazy("答复（办结情况）"), SATISFY: gettext_lazy("回访满意度")}


# --- signatures ----------------------------------------------------------------------------

def canonical(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join([method.upper(), path, timestamp, nonce, sm3_hex(body)]).encode("utf-8")


def sign(key: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac_sm3(key.encode("utf-8"), canonical(method, path, timestamp, nonce, body)).hex()


def signed_headers(peer_code: str, key: str, path: str, body: bytes, now: float | None = None) -> dict:
    timestamp = str(int(now if now is not None else time.time()))
    nonce = secrets.token_urlsafe(24)
    return {H_PEER: peer_code, H_TIMESTAMP: timestamp, H_NONCE: nonce,
            H_SIGNATURE: sign(key, "POST", path, timestamp, nonce, body),
            "Content-Type": "application/json; charset=utf-8"}


def signature_ok(key: str, method: str, path: str, timestamp: str, nonce: str, body: bytes,
                 signature: str) -> bool:
    if not key or not signature:
        return False
    expected = sign(key, method, path, timestamp, nonce, body)
    return constant_time_equal(expected.encode(), signature.strip().lower().encode())


def fresh(timestamp: str, now: float | None = None) -> bool:
    """Whether the timestamp is a whole number of seconds within ±WINDOW_SECONDS of now."""
    if not re.fullmatch(r"\d{1,12}", timestamp or ""):
        return False
    return abs(int(timestamp) - (now if now is not None else time.time())) <= WINDOW_SECONDS


def new_key() -> str:
    return secrets.token_urlsafe(32)


def dumps(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


# --- the messages ----------------------------------------------------------------------------

class _Base(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Unit(_Base):
    """承办单位."""
    name: str = Field("", max_length=100, description=gettext_lazy("承办单位名称"))
    code: str = Field("", max_length=40, description=gettext_lazy("承办单位代码（统一社会信用代码）"))


class Caller(_Base):
    """来电人."""
    name: str = Field("", max_length=50, description=gettext_lazy("来电人姓名；匿名时为空"))
    phone: str = Field("", max_length=30, description=gettext_lazy("联系方式"))
    address: str = Field("", max_length=200, description=gettext_lazy("联系地址"))
    anonymous: bool = Field(False, description=gettext_lazy("是否匿名"))


class Step(_Base):
    """办理过程 的一步."""
    at: datetime = Field(description=gettext_lazy("时间（ISO 8601，带时区）"))
    action: str = Field(max_length=20, description=gettext_lazy("环节，如 受理、转办、答复"))
    unit: str = Field("", max_length=100, description=gettext_lazy("办理单位"))
    note: str = Field("", max_length=2000, description=gettext_lazy("说明"))


class Order(_Base):
    """工单."""
    category: CategoryValue = Field(description=gettext_lazy("诉求类型"))
    title: str = Field(min_length=1, max_length=200, description=gettext_lazy("诉求标题"))
    content: str = Field(min_length=5, max_length=5000, description=gettext_lazy("诉求内容"))
    caller: Caller = Field(description=gettext_lazy("来电人"))
    unit: Unit | None = Field(None, description=gettext_lazy("承办单位（按代码匹配本平台机构，匹配不到时进入受理单位）"))
    received_at: datetime | None = Field(None, description=gettext_lazy("来电（登记）时间"))
    due_at: datetime | None = Field(None, description=gettext_lazy("办理时限"))
    status: StatusValue = Field(
        ACCEPTED, description=gettext_lazy("状态"))
    steps: list[Step] = Field(default_factory=list, max_length=100, description=gettext_lazy("办理过程"))
    reply: str = Field("", max_length=5000, description=gettext_lazy("办结情况（答复内容）"))
    satisfaction: OptionalSatisfaction = Field("", description=gettext_lazy("回访满意度"))


class StatusChange(_Base):
    status: StatusValue = Field(description=gettext_lazy("新状态"))
    note: str = Field("", max_length=2000, description=gettext_lazy("说明（退回时为退回理由）"))
    unit: Unit | None = Field(None, description=gettext_lazy("承办单位（转办时为新的承办单位）"))
    at: datetime | None = Field(None, description=gettext_lazy("时间"))
    due_at: datetime | None = Field(None, description=gettext_lazy("新的办理时限"))


class Reply(_Base):
    content: str = Field(min_length=1, max_length=5000, description=gettext_lazy("办结情况（答复内容）"))
    unit: Unit | None = Field(None, description=gettext_lazy("答复单位"))
    replied_at: datetime | None = Field(None, description=gettext_lazy("答复时间"))


class Satisfaction(_Base):
    result: SatisfactionValue = Field(description=gettext_lazy("回访满意度"))
    note: str = Field("", max_length=500, description=gettext_lazy("回访意见"))
    visited_at: datetime | None = Field(None, description=gettext_lazy("回访时间"))


class Envelope(_Base):
    """One message: exactly one of order / status / reply / satisfaction, as `type` says."""
    message_id: str = Field(pattern=ID_RE, description=gettext_lazy("消息编号：发送方生成，重发时不变（幂等）"))
    type: Literal["order.create", "order.status", "order.reply", "order.satisfaction"] = Field(
        description=gettext_lazy("消息类型"))
    order_no: str = Field(pattern=ID_RE, description=gettext_lazy("工单编号"))
    sent_at: datetime | None = Field(None, description=gettext_lazy("发送时间"))
    order: Order | None = None
    status: StatusChange | None = None
    reply: Reply | None = None
    satisfaction: Satisfaction | None = None

    @field_validator("sent_at", mode="before")
    @classmethod
    def _empty_time(cls, value):
        return value or None

    def part(self):
        return {CREATE: self.order, STATUS: self.status, REPLY: self.reply,
                SATISFY: self.satisfaction}[self.type]


FIELD_NAMES = {"message_id": gettext_lazy("消息编号"), "type": gettext_lazy("消息类型"),
               "order_no": gettext_lazy("工单编号"), "order": gettext_lazy("工单"),
               "category": gettext_lazy("诉求类型"), "title": gettext_lazy("诉求标题"),
               "content": gettext_lazy("诉求内容"), "caller": gettext_lazy("来电人"),
               "name": gettext_lazy("名称"), "phone": gettext_lazy("联系方式"),
               "address": gettext_lazy("联系地址"), "unit": gettext_lazy("承办单位"),
               "code": gettext_lazy("代码"), "due_at": gettext_lazy("办理时限"),
               "received_at": gettext_lazy("来电时间"), "steps": gettext_lazy("办理过程"),
               "reply": gettext_lazy("办结情况"), "satisfaction": gettext_lazy("回访满意度"),
               "status": gettext_lazy("状态"), "note": gettext_lazy("说明"),
               "result": gettext_lazy("回访满意度"), "at": gettext_lazy("时间"),
               "action": gettext_lazy("环节"), "sent_at": gettext_lazy("发送时间"),
               "replied_at": gettext_lazy("答复时间"), "visited_at": gettext_lazy("回访时间"),
               "anonymous": gettext_lazy("是否匿名")}


class BadMessage(Exception):
    """A message that does not follow the schema: `errors` maps field paths to Chinese messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("bad message")
        self.errors = errors


def _message(error: dict) -> str:
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "missing":
        return _("必填。")
    if kind in ("string_too_long", "too_long"):
        return _("不能超过%(n)s个字（项）。") % {"n": ctx.get("max_length", "")}
    if kind in ("string_too_short", "too_short"):
        return _("不能少于%(n)s个字。") % {"n": ctx.get("min_length", "")}
    if kind == "literal_error":
        return _("取值须为：%(v)s。") % {"v": ctx.get("expected", "")}
    if kind.startswith(("datetime", "date")):
        return _("时间格式须为 ISO 8601，如 2026-05-06T09:30:00+08:00。")
    if kind == "string_pattern_mismatch":
        return _("须为1至64位字母、数字或 _ . : -，以字母或数字开头。")
    if kind in ("string_type", "str_type"):
        return _("须为字符串。")
    if kind in ("bool_type", "bool_parsing"):
        return _("须为 true 或 false。")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return _("须为 JSON 对象。")
    if kind == "list_type":
        return _("须为 JSON 数组。")
    return _("格式不正确。")


def parse(body: bytes) -> Envelope:
    """The envelope of a request body, or BadMessage with Chinese messages per field."""
    if len(body) > MAX_BODY:
        raise BadMessage({"body": [_("消息过大（上限 256 KB）。")]})
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadMessage({"body": [_("请求体须为 UTF-8 编码的 JSON。")]}) from None
    if not isinstance(data, dict):
        raise BadMessage({"body": [_("请求体须为 JSON 对象。")]})
    try:
        envelope = Envelope.model_validate(data)
    except PydanticError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors():
            loc = ".".join(str(p) for p in error.get("loc", ())) or "body"
            errors.setdefault(loc, []).append(_message(error))
        raise BadMessage(errors) from None
    if envelope.part() is None:
        raise BadMessage({envelope.type.split(".", 1)[1]: [_("消息类型为 %(t)s 时必须提供此项。")
                                                           % {"t": envelope.type}]})
    return envelope


def describe(errors: dict[str, list[str]]) -> str:
    """One line for a problem's detail: 字段名：消息；…"""
    parts = []
    for loc, msgs in errors.items():
        names = [str(FIELD_NAMES.get(p, p)) for p in loc.split(".") if not p.isdigit()]
        parts.append(_("%(f)s：%(m)s") % {"f": "·".join(names) or loc, "m": "".join(msgs)})
    return _("；").join(parts)
