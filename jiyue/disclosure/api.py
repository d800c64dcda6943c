"""`/api/v1/disclosure`: apply for government information, follow the application (mounted in
jiyue/api/api.py)."""

from __future__ import annotations

from typing import Literal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Router, Schema, Status

from jiyue.api.errors import error, limited

from . import services

router = Router(tags=[gettext_lazy("依申请公开")])


class ApplicationIn(Schema):
    site: str = Field(..., max_length=20, description=gettext_lazy("网站标识码：向该网站所属机关申请"),
                      examples=["3400000002"])
    applicant_kind: Literal["person", "organisation"] = Field(
        ..., description=gettext_lazy("申请人类型：person（公民）或 organisation（法人或其他组织）"))
    category: str = Field("", max_length=20, description=gettext_lazy(
        "法人或其他组织的类别：business（商业企业）、research（科研机构）、welfare（社会公益组织）、"
        "legal（法律服务机构）、other（其他）；公民不填"))
    name: str = Field(..., max_length=200, description=gettext_lazy("姓名或名称"))
    id_type: str = Field("", max_length=20, description=gettext_lazy(
        "公民的证件类型：id_card（居民身份证，默认）或 other（其他有效证件）"))
    id_number: str = Field(..., max_length=60, description=gettext_lazy(
        "公民的证件号码，或法人或其他组织的统一社会信用代码"))
    legal_representative: str = Field("", max_length=100, description=gettext_lazy("法定代表人或负责人（法人或其他组织必填）"))
    contact_name: str = Field("", max_length=100, description=gettext_lazy("联系人"))
    phone: str = Field(..., max_length=60, description=gettext_lazy("联系电话"))
    email: str = Field("", max_length=200, description=gettext_lazy("电子邮箱（以电子邮件获取信息的必填）"))
    address: str = Field("", max_length=400, description=gettext_lazy("通信地址（邮寄获取信息的必填）"))
    postcode: str = Field("", max_length=12, description=gettext_lazy("邮政编码"))
    description: str = Field(..., max_length=6000, description=gettext_lazy("所需政府信息的内容描述（10 至 3000 字）"))
    purpose: str = Field("", max_length=1000, description=gettext_lazy("所需政府信息的用途"))
    delivery: Literal["post", "pickup", "email", "online"] = Field(..., description=gettext_lazy(
        "获取信息的方式：post（纸质·邮寄）、pickup（纸质·自行领取）、email（电子邮件）、online（网上获取）"))


class StepOut(Schema):
    action: str = Field(description=gettext_lazy("环节代码"))
    label: str = Field(description=gettext_lazy("环节名称"))
    at: str = Field(description=gettext_lazy("时间（ISO 8601）"))
    note: str = Field(description=gettext_lazy("说明"))


class ApplicationOut(Schema):
    query_code: str = Field(description=gettext_lazy("查询码：凭此查询办理进度"))
    serial: str = Field(description=gettext_lazy("申请编号"))
    organisation: str = Field(description=gettext_lazy("受理机关"))
    status: str = Field(description=gettext_lazy(
        "状态：submitted（待受理）、handling（办理中）、correction（待补正）、consulting（征求第三方意见中）、"
        "replied（已答复）、closed（已办结）"))
    status_label: str = Field(description=gettext_lazy("状态名称"))
    received_at: str = Field(description=gettext_lazy("收到申请时间"))
    due_date: str | None = Field(description=gettext_lazy("答复期限（日期）；待补正期间为空"))
    result: str = Field(description=gettext_lazy("办理结果代码（答复后）"))
    result_label: str = Field(description=gettext_lazy("办理结果名称（答复后）"))
    reply: str = Field(description=gettext_lazy("答复内容（答复后）"))
    replied_at: str | None = Field(description=gettext_lazy("答复时间"))
    steps: list[StepOut] = Field(description=gettext_lazy("对申请人公开的办理过程"))


def _out(app) -> dict:
    local = timezone.localtime
    return {"query_code": app.query_code, "serial": app.serial, "organisation": app.organisation.name,
            "status": app.status, "status_label": str(app.get_status_display()),
            "received_at": local(app.received_at).isoformat(),
            "due_date": local(app.due_at).date().isoformat() if app.due_at else None,
            "result": app.result, "result_label": str(app.get_result_display()) if app.result else "",
            "reply": app.reply, "replied_at": local(app.replied_at).isoformat() if app.replied_at else None,
            "steps": [{"action": s.action, "label": str(services.ACTION_LABELS.get(s.action, s.action)),
                       "at": local(s.at).isoformat(), "note": s.note}
                      for s in app.steps.filter(public=True).order_by("at", "id")]}


@router.post("", response={201: ApplicationOut}, summary=gettext_lazy("提交政府信息公开申请"),
             description=gettext_lazy(
                 "向网站所属机关提交政府信息公开申请，返回查询码和答复期限（收到申请之日起 20 个工作日）。"
                 "字段不符合要求返回 422（problem+json，errors 中按字段列出中文说明），网站不存在返回 404，"
                 "提交过于频繁返回 429（带 Retry-After）。"))
def create(request, payload: ApplicationIn):
    from jiyue.api.api import _messages, caller
    from jiyue.platform.models import Site

    user = caller(request)
    site = Site.objects.filter(code=payload.site.strip()).select_related("organisation").first()
    if site is None:
        return error(404, _("网站标识码对应的网站不存在。"))
    refused = limited(request, "public_form", _("提交过于频繁，请 %(n)s 秒后再试。"))
    if refused is not None:
        return refused
    fields = payload.dict()
    fields.pop("site")
    try:
        app = services.submit(organisation=site.organisation, site=site,
                              citizen=user if getattr(user, "is_citizen", False) else None,
                              **fields)
    except services.ValidationError as exc:
        msgs = _messages(exc)
        flat = _("；").join(m for v in (msgs.values() if isinstance(msgs, dict) else [msgs]) for m in v)
        return error(422, flat, errors=msgs)
    return Status(201, _out(app))


@router.get("/{code}", response={200: ApplicationOut}, summary=gettext_lazy("查询申请办理进度"),
            description=gettext_lazy("凭查询码查询申请的状态、答复期限、公开的办理过程和答复。查询码不存在返回 404。"))
def detail(request, code: str):
    app = services.find(code)
    if app is None:
        return error(404, _("没有找到该查询码对应的申请。"))
    return _out(app)
