"""`/api/v1/letters`: the letters app's API for citizens (mounted in jiyue/api/api.py).

    GET  /api/v1/letters/mailboxes?site=CODE      the mailboxes of a site
    POST /api/v1/letters                          write a letter → 201 {query_code, serial, due_at, status}
    GET  /api/v1/letters/{query_code}             progress (as on the query page: masked)
    POST /api/v1/letters/{query_code}/rating      rate the reply

Writing: anonymously where the mailbox allows it, or as a logged-in citizen (session with the
CSRF token, or `Authorization: Bearer …`). Rate limit `public_form` per client address for
writing and rating; addresses in JIYUE_RATE_LIMIT_EXEMPT (the load client, a trusted gateway)
are never limited. Errors are problem+json with a Chinese `detail` and, for bad input, the
per-field `errors`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Query, Router, Schema, Status
from ninja.utils import check_csrf

from jiyue.api.errors import error, limited

from . import services
from .models import Channel, Mailbox

router = Router(tags=[gettext_lazy("信件")])

CODE_PATTERN = r"^[A-Za-z0-9-]{1,20}$"


class MailboxOut(Schema):
    id: int = Field(description=gettext_lazy("信箱编号（写信时的 mailbox）"))
    name: str = Field(description=gettext_lazy("信箱名称，如“省长信箱”"))
    kind: str = Field(description=gettext_lazy("类型：leader（领导信箱）、department（部门信箱）"))
    kind_label: str = Field(description=gettext_lazy("类型名称"))
    leader_name: str = Field(description=gettext_lazy("领导姓名（领导信箱）"))
    description: str = Field(description=gettext_lazy("说明"))
    organisation: str = Field(description=gettext_lazy("受理单位"))
    site: str = Field(description=gettext_lazy("所在网站的网站标识码"))
    types: list[str] = Field(description=gettext_lazy("受理的来信类型：consult、suggest、complain、report、help"))
    allow_anonymous: bool = Field(description=gettext_lazy("是否接受匿名来信"))


class LetterIn(Schema):
    mailbox: Annotated[int, Field(ge=1, le=2**63 - 1, description=gettext_lazy("信箱编号"))]
    type: str = Field(max_length=20, description=gettext_lazy(
        "来信类型：consult（咨询）、suggest（建议）、complain（投诉）、report（举报）、help（求助）"))
    title: str = Field(max_length=1000, description=gettext_lazy("标题（1 至 200 字）"))
    content: str = Field(max_length=20000, description=gettext_lazy("来信内容（5 至 5000 字）；HTML 按原文保存，显示时转义"))
    name: str = Field("", max_length=200, description=gettext_lazy("姓名（实名来信必填；匿名来信可留作联系）"))
    phone: str = Field("", max_length=100, description=gettext_lazy("联系电话"))
    email: str = Field("", max_length=300, description=gettext_lazy("电子邮箱"))
    address: str = Field("", max_length=1000, description=gettext_lazy("联系地址"))
    anonymous: bool = Field(False, description=gettext_lazy("匿名来信（仅限允许匿名的信箱；不关联账号）"))
    consent_publish: bool = Field(False, description=gettext_lazy("同意答复后公开（个人信息隐去）"))


class ReceiptOut(Schema):
    query_code: str = Field(description=gettext_lazy("查询码：凭它查询进度、评价答复（请妥善保管）"))
    serial: str = Field(description=gettext_lazy("来信编号"))
    due_at: datetime = Field(description=gettext_lazy("答复期限（按工作日计算）"))
    status: str = Field(description=gettext_lazy("状态：submitted（待受理）"))


class StepOut(Schema):
    action: str = Field(description=gettext_lazy("环节：submit、accept、assign、transfer、approve、reject、rate、reopen、close、publish …"))
    label: str = Field(description=gettext_lazy("环节名称"))
    organisation: str = Field(description=gettext_lazy("办理单位"))
    to_organisation: str = Field(description=gettext_lazy("转至单位（转办、转交）"))
    at: datetime = Field(description=gettext_lazy("时间"))
    note: str = Field(description=gettext_lazy("说明（不予受理理由等）"))


class ReplyOut(Schema):
    content: str = Field(description=gettext_lazy("答复内容"))
    organisation: str = Field(description=gettext_lazy("回复单位"))
    replied_at: datetime = Field(description=gettext_lazy("回复时间"))


class RatingOut(Schema):
    rating: str = Field(description=gettext_lazy("satisfied（满意）、basic（基本满意）、dissatisfied（不满意）"))
    label: str
    comment: str
    rated_at: datetime | None


class ProgressOut(Schema):
    query_code: str
    serial: str = Field(description=gettext_lazy("来信编号"))
    mailbox: str = Field(description=gettext_lazy("信箱"))
    type: str
    type_label: str
    title: str = Field(description=gettext_lazy("标题（个人信息已隐去）"))
    content: str = Field(description=gettext_lazy("来信内容（个人信息已隐去）"))
    writer: str = Field(description=gettext_lazy("来信人（姓名隐去，如“张*”，或“匿名”）"))
    status: str = Field(description=gettext_lazy("状态：submitted、accepted、handling、replied、closed、rejected"))
    status_label: str
    received_at: datetime
    due_date: str = Field(description=gettext_lazy("答复期限（日期）"))
    reject_reason: str
    steps: list[StepOut] = Field(description=gettext_lazy("公开的办理过程（不含工作人员姓名）"))
    reply: ReplyOut | None = Field(description=gettext_lazy("答复（审核发布后才有）"))
    rating: RatingOut | None = Field(description=gettext_lazy("来信人的评价"))
    can_rate: bool = Field(description=gettext_lazy("现在能否评价（已答复、未评价）"))


class RatingIn(Schema):
    rating: str = Field(max_length=20, description=gettext_lazy("satisfied（满意）、basic（基本满意）、dissatisfied（不满意，重新办理一次）"))
    comment: str = Field("", max_length=2000, description=gettext_lazy("评价意见（至多 500 字）"))


def _invalid(exc: ValidationError):
    if hasattr(exc, "error_dict"):
        errors = {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    else:
        errors = {"__all__": [str(m) for m in exc.messages]}
    detail = _("；").join(m for ms in errors.values() for m in ms)
    return error(422, detail or _("请求参数无效。"), errors=errors)


def _citizen(request):
    """The citizen writing (token or session with CSRF), or None. Staff accounts write as
    anonymous callers."""
    from jiyue.api.api import caller

    user = caller(request)
    if user is None:
        return None
    if not request.headers.get("Authorization") and check_csrf(request) is not None:
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied(_("CSRF 校验失败，请刷新页面后重试。"))
    return user if getattr(user, "is_citizen", False) else None


def _mailbox_out(m: Mailbox) -> dict:
    return {"id": m.pk, "name": m.name, "kind": m.kind, "kind_label": str(m.get_kind_display()),
            "leader_name": m.leader_name, "description": m.description,
            "organisation": m.organisation.name, "site": m.site.code if m.site_id else "",
            "types": list(m.types or []), "allow_anonymous": m.allow_anonymous}


@router.get("/mailboxes", response={200: list[MailboxOut]}, summary=gettext_lazy("网站的信箱"),
            description=gettext_lazy("列出一个网站（网站标识码）开设的信箱；不指定 site 时列出所有网站的信箱。"
                                     "网站不存在返回 404。"))
def mailboxes(request, site: str | None = Query(None, max_length=20, pattern=r"^[0-9A-Za-z]{1,20}$",
                                                description=gettext_lazy("网站标识码"),
                                                examples=["3400000001"])):
    from jiyue.platform.models import Site

    qs = Mailbox.objects.filter(enabled=True, site__isnull=False).select_related("organisation", "site")
    if site:
        target = Site.objects.filter(code=site).first()
        if target is None:
            return error(404, _("网站不存在。"))
        qs = qs.filter(site=target)
    return [_mailbox_out(m) for m in qs.order_by("site__code", "order", "id")]


@router.post("", response={201: ReceiptOut}, summary=gettext_lazy("写信"),
             description=gettext_lazy(
                 "向信箱写信，返回查询码、来信编号和答复期限（201）。未登录时只能向允许匿名的信箱匿名写信"
                 "（anonymous 为 true）；登录的公众（会话须带 CSRF 令牌，或个人令牌）实名写信。"
                 "输入不符合要求返回 422（errors 按字段给出中文说明），提交过于频繁返回 429（带 Retry-After）。"))
def submit(request, payload: LetterIn):
    refused = limited(request, "public_form", _("提交过于频繁，请 %(n)s 秒后再试。"))
    if refused is not None:
        return refused
    citizen = _citizen(request)
    mailbox = services.open_mailbox(payload.mailbox)
    if citizen is None and not payload.anonymous:
        return _invalid(ValidationError({"citizen": _("请先登录再写信；允许匿名的信箱可以匿名写信。")}))
    try:
        letter = services.submit(
            mailbox=mailbox, site=mailbox.site if mailbox else None, type=payload.type,
            title=payload.title, content=payload.content, channel=Channel.API, citizen=citizen,
            anonymous=payload.anonymous, name=payload.name, phone=payload.phone,
            email=payload.email, address=payload.address, consent_publish=payload.consent_publish)
    except ValidationError as exc:
        return _invalid(exc)
    return Status(201, {"query_code": letter.query_code, "serial": letter.serial,
                        "due_at": timezone.localtime(letter.due_at), "status": letter.status})


def _find(query_code: str):
    letter = services.find(query_code)
    if letter is None:
        return None
    return letter


@router.get("/{query_code}", response={200: ProgressOut}, summary=gettext_lazy("查询来信进度"),
            description=gettext_lazy(
                "凭查询码查询来信的状态、公开的办理过程、答复（回复单位、回复时间）和评价；"
                "不返回来信人的电话、邮箱和地址，姓名隐去。查询码不存在返回 404。"))
def progress(request, query_code: Annotated[str, Field(max_length=20, pattern=CODE_PATTERN)]):
    from .views import progress as view

    letter = _find(query_code)
    if letter is None:
        return error(404, _("查询码不正确，没有找到该来信。"))
    return view(letter)


@router.post("/{query_code}/rating", response={200: ProgressOut}, summary=gettext_lazy("评价答复"),
             description=gettext_lazy(
                 "来信人对答复的评价：满意、基本满意后办结；不满意时重新办理一次（再次不满意则办结）。"
                 "查询码不存在返回 404，信件当前不能评价（未答复或已评价）返回 409，评价无效返回 422，"
                 "提交过于频繁返回 429。"))
def rating(request, query_code: Annotated[str, Field(max_length=20, pattern=CODE_PATTERN)],
           payload: RatingIn):
    from .views import progress as view

    refused = limited(request, "public_form", _("提交过于频繁，请 %(n)s 秒后再试。"))
    if refused is not None:
        return refused
    letter = _find(query_code)
    if letter is None:
        return error(404, _("查询码不正确，没有找到该来信。"))
    try:
        letter = services.rate(letter, payload.rating, payload.comment)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            return _invalid(exc)
        return error(409, _("；").join(exc.messages))
    return view(letter)
