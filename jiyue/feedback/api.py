"""`/api/v1/feedback`: page ratings and error reports (mounted in jiyue/api/api.py).

    POST /api/v1/feedback/ratings        rate a published page 好/差 (with reasons)
    POST /api/v1/feedback/errors         report an error on a page (我为政府网站找错)
    GET  /api/v1/feedback/errors/{code}  the report's progress and outcome
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Router, Schema, Status

from jiyue.api.errors import error, limited
from jiyue.security import ratelimit

from . import services

router = Router(tags=[gettext_lazy("评价与找错")])

class RatingIn(Schema):
    site: str = Field(max_length=10, description=gettext_lazy("网站标识码"), examples=["3400000002"])
    page: str = Field("", max_length=500, description=gettext_lazy(
        "被评价页面在站点内的路径，如 content/12.html；给出 resource 时可省略"))
    resource: int | None = Field(None, ge=1, le=2**63 - 1,
                                 description=gettext_lazy("页面所展示的信息资源编号（详情页）"))
    column: int | None = Field(None, ge=1, le=2**63 - 1,
                               description=gettext_lazy("页面所属栏目编号（栏目页）"))
    value: Literal["good", "bad"] = Field(description=gettext_lazy("good（好）或 bad（差）"))
    reasons: list[Literal["outdated", "incomplete", "unclear", "broken_link", "other"]] = Field(
        default_factory=list, max_length=5,
        description=gettext_lazy("评“差”的原因（可多选）：outdated 内容过时、incomplete 信息不全、"
                                 "unclear 看不懂、broken_link 链接错误、other 其他"))
    comment: str = Field("", max_length=400, description=gettext_lazy("补充说明（300字以内）"))


class RatingOut(Schema):
    id: int
    value: str = Field(description=gettext_lazy("good 或 bad"))
    page: str = Field(description=gettext_lazy("被评价页面在站点内的路径"))
    message: str = Field(description=gettext_lazy("给评价人的提示"))


class ErrorIn(Schema):
    site: str = Field(max_length=10, description=gettext_lazy("网站标识码"), examples=["3400000002"])
    url: str = Field("", max_length=2000, description=gettext_lazy(
        "有错误的页面：站点内路径或本站网址"))
    type: Literal["typo", "link", "content", "access", "other"] = Field(
        description=gettext_lazy("错误类型：typo 错别字、link 链接错误、content 内容错误、"
                                 "access 无法访问、other 其他"))
    description: str = Field(max_length=2000, description=gettext_lazy("问题描述（1000字以内）"))
    contact: str = Field("", max_length=200, description=gettext_lazy(
        "联系方式（选填）：电子邮箱或电话；留下邮箱可收到答复通知"))


class ErrorReceipt(Schema):
    code: str = Field(description=gettext_lazy("查询码：凭此查询办理情况"))
    status: str = Field(description=gettext_lazy("new 待转办、forwarded 办理中、answered 已答复"))
    answer_due: datetime = Field(description=gettext_lazy("答复期限（工作日计算）"))
    query_url: str = Field(description=gettext_lazy("查询页面地址（站点内路径）"))


class ErrorOut(Schema):
    code: str
    type: str = Field(description=gettext_lazy("错误类型"))
    page: str = Field(description=gettext_lazy("有错误的页面（站点内路径）"))
    status: str = Field(description=gettext_lazy("new 待转办、forwarded 办理中、answered 已答复"))
    status_label: str = Field(description=gettext_lazy("办理状态（中文）"))
    received_at: datetime
    answer_due: datetime = Field(description=gettext_lazy("答复期限"))
    outcome: str | None = Field(None, description=gettext_lazy(
        "处理结果：fixed 已纠正、no_error 经核实无误、invalid 无效留言（答复后才有）"))
    outcome_label: str | None = None
    answer: str | None = Field(None, description=gettext_lazy("答复内容（答复后才有）"))
    answered_at: datetime | None = None
    organisation: str = Field(description=gettext_lazy("办理单位"))


def _refused(exc):
    """A service's refusal (FeedbackError) as a problem+json answer."""
    return error(exc.status, exc.message, title=_("已评价") if exc.status == 409 else None,
                 **({"errors": exc.errors} if exc.status == 422 and exc.errors else {}))


def _site(code: str):
    from jiyue.platform.models import Site

    return Site.objects.filter(code=code.strip()).first()


@router.post("/ratings", response={201: RatingOut}, summary=gettext_lazy("评价页面（好/差）"),
             description=gettext_lazy(
                 "对已发布页面评价“好”或“差”，评“差”时可选原因和补充说明。同一浏览器（Cookie jy_voter）"
                 "对同一页面每天只能评价一次，重复评价返回 409；页面不存在返回 404；参数无效返回 422；"
                 "提交过于频繁返回 429（带 Retry-After）。"))
def create_rating(request, payload: RatingIn):
    from .views import _COOKIE, VOTER_COOKIE

    site = _site(payload.site)
    if site is None:
        return error(404, _("站点不存在。"))
    refused = limited(request, "public_form", _("提交过于频繁，请 %(n)s 秒后再试。"))
    if refused is not None:
        return refused
    cookie = request.COOKIES.get(VOTER_COOKIE, "")
    known = bool(_COOKIE.match(cookie))
    try:
        rating = services.rate(site=site, page=payload.page, value=payload.value,
                               voter=cookie if known else "", new_browser=not known,
                               address=ratelimit.client_key(request),
                               resource_id=payload.resource, column_id=payload.column,
                               reasons=list(payload.reasons), comment=payload.comment)
    except services.FeedbackError as exc:
        return _refused(exc)
    return Status(201, {"id": rating.pk, "value": rating.value, "page": rating.page,
                 "message": _("感谢您的评价！")})


@router.post("/errors", response={201: ErrorReceipt}, summary=gettext_lazy("我为政府网站找错"),
             description=gettext_lazy(
                 "报告页面上的错别字、链接错误、内容错误或无法访问等问题，返回查询码。"
                 "网站在1个工作日内转办、3个工作日内答复（可配置）。参数无效返回 422（errors 按字段给出中文说明）；"
                 "站点不存在返回 404；提交过于频繁返回 429。截图请通过网页表单上传。"))
def create_error(request, payload: ErrorIn):
    site = _site(payload.site)
    if site is None:
        return error(404, _("站点不存在。"))
    refused = limited(request, "public_form", _("提交过于频繁，请 %(n)s 秒后再试。"))
    if refused is not None:
        return refused
    try:
        report = services.report_error(site=site, url=payload.url, type=payload.type,
                                       description=payload.description, contact=payload.contact)
    except services.FeedbackError as exc:
        return _refused(exc)
    return Status(201, {"code": report.code, "status": report.status, "answer_due": report.answer_due,
                 "query_url": f"_/feedback/error/q/{report.code}"})


@router.get("/errors/{code}", response={200: ErrorOut}, summary=gettext_lazy("查询找错留言"),
            description=gettext_lazy("凭查询码查看找错留言的办理状态和答复；查询码不存在返回 404。"))
def get_error(request, code: str):
    report = services.find(code)
    if report is None:
        return error(404, _("没有找到该查询码对应的留言。"))
    answered = report.status == "answered"
    return {"code": report.code, "type": report.type, "page": report.page, "status": report.status,
            "status_label": report.get_status_display(), "received_at": report.received_at,
            "answer_due": report.answer_due,
            "outcome": report.outcome if answered else None,
            "outcome_label": report.get_outcome_display() if answered else None,
            "answer": report.answer if answered else None,
            "answered_at": report.answered_at, "organisation": report.organisation.name}

