"""`/api/v1/participation`: the participation app's API (mounted in jiyue/api/api.py).

Public reads of what the sites show (never drafts, never comments or questions before they are
approved, never personal data); citizens' writes (a comment, a survey response, an interview
question) through the same rules as the site's pages, rate limited (scope public_form).
"""

from __future__ import annotations

from typing import Annotated, Union

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Query, Router, Schema, Status

from jiyue.api.errors import error, limited

from . import services
from .models import Consultation, Interview, Survey

router = Router(tags=[gettext_lazy("公众参与")])

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


# --- schemas ----------------------------------------------------------------------------------

class SiteRef(Schema):
    code: str = Field(description=gettext_lazy("网站标识码"))
    name: str = Field(description=gettext_lazy("网站名称"))


class ConsultationOut(Schema):
    id: int
    title: str = Field(description=gettext_lazy("标题"))
    organisation: str = Field(description=gettext_lazy("主办单位"))
    site: SiteRef
    state: str = Field(description=gettext_lazy("状态：open（征集中）、closed（已结束）、summarised（已公布结果）"))
    accepting: bool = Field(description=gettext_lazy("现在是否接受意见"))
    require_login: bool = Field(description=gettext_lazy("是否仅限登录用户发表意见（否则须填写姓名和联系电话）"))
    opens_at: str = Field(description=gettext_lazy("开始时间（YYYY-MM-DD HH:MM，北京时间）"))
    closes_at: str = Field(description=gettext_lazy("截止时间（YYYY-MM-DD HH:MM，北京时间）"))


class CommentOut(Schema):
    number: int = Field(description=gettext_lazy("序号"))
    content: str = Field(description=gettext_lazy("意见内容（不含提交人信息）"))
    created_at: str = Field(description=gettext_lazy("提交时间"))
    adoption: str = Field(description=gettext_lazy("采纳情况（公布结果后）：adopted 采纳、partly 部分采纳、not_adopted 未采纳，未公布为空"))
    reason: str = Field(description=gettext_lazy("采纳或不采纳的理由（公布结果后）"))


class TotalsOut(Schema):
    received: int = Field(description=gettext_lazy("收到意见数"))
    adopted: int = Field(description=gettext_lazy("采纳数"))
    partly: int = Field(description=gettext_lazy("部分采纳数"))
    not_adopted: int = Field(description=gettext_lazy("未采纳数"))


class ConsultationDetail(ConsultationOut):
    intro: str = Field(description=gettext_lazy("征集说明"))
    draft_text: str = Field(description=gettext_lazy("草案全文"))
    draft_file: str | None = Field(description=gettext_lazy("草案文件的下载地址（站点下的相对路径）"))
    comments: list[CommentOut] = Field(description=gettext_lazy("审核通过的意见"))
    summary: str = Field(description=gettext_lazy("意见采纳情况说明（公布结果后）"))
    totals: TotalsOut | None = Field(description=gettext_lazy("意见统计（公布结果后）"))


class ConsultationList(Schema):
    count: int
    next: str | None
    previous: str | None
    results: list[ConsultationOut]


class CommentIn(Schema):
    content: str = Field(max_length=services.MAX_COMMENT,
                         description=gettext_lazy("意见内容，5 至 2000 字"))
    name: str = Field("", max_length=services.MAX_NAME,
                      description=gettext_lazy("姓名（未登录时必填，不公开）"))
    phone: str = Field("", max_length=20, description=gettext_lazy("联系电话（未登录时必填，不公开）"))


class Accepted(Schema):
    id: int = Field(description=gettext_lazy("编号"))
    status: str = Field(description=gettext_lazy("pending：待审核，审核通过后公开"))
    message: str = Field(description=gettext_lazy("给提交人的提示"))


class QuestionOut(Schema):
    id: int = Field(description=gettext_lazy("题目编号：作答时作为 answers 的键"))
    kind: str = Field(description=gettext_lazy("题型：single 单选、multiple 多选、text 填空、rating 评分（1–5）"))
    text: str = Field(description=gettext_lazy("题目"))
    options: list[str] = Field(description=gettext_lazy("选项（单选、多选）；作答时提交选项的序号，从 0 开始"))
    required: bool = Field(description=gettext_lazy("是否必答"))


class SurveyOut(Schema):
    id: int
    title: str = Field(description=gettext_lazy("标题"))
    intro: str = Field(description=gettext_lazy("问卷说明"))
    organisation: str = Field(description=gettext_lazy("主办单位"))
    site: SiteRef
    state: str = Field(description=gettext_lazy("状态：open（进行中）、closed（已结束）"))
    accepting: bool = Field(description=gettext_lazy("现在是否接受答卷"))
    require_login: bool = Field(description=gettext_lazy("是否仅限登录用户（每人一份）；否则每个客户端标识一份"))
    results_public: bool = Field(description=gettext_lazy("调查结果是否公开"))
    opens_at: str
    closes_at: str
    questions: list[QuestionOut]


Answer = Union[int, list[int], Annotated[str, Field(max_length=services.MAX_TEXT_ANSWER)]]


class ResponseIn(Schema):
    answers: dict[Annotated[str, Field(max_length=20)], Answer] = Field(
        description=gettext_lazy("题目编号 → 回答：单选为选项序号，多选为选项序号列表，评分为 1 至 5，填空为文字（至多 1000 字）"))
    client_token: str = Field("", max_length=64, pattern=r"^[A-Za-z0-9_-]*$",
                              description=gettext_lazy("客户端标识（16 至 64 位字母数字）：未登录时必填，同一标识只能答一次"))


class InterviewOut(Schema):
    id: int
    title: str = Field(description=gettext_lazy("标题"))
    organisation: str = Field(description=gettext_lazy("主办单位"))
    site: SiteRef
    phase: str = Field(description=gettext_lazy("阶段：upcoming 即将开始、live 正在直播、ended 已结束"))
    starts_at: str
    ends_at: str
    guests: list[dict] = Field(description=gettext_lazy("嘉宾：name 姓名、title 职务"))
    accepting: bool = Field(description=gettext_lazy("现在是否接受提问"))
    transcript_published: bool = Field(description=gettext_lazy("文字实录是否已公布"))


class InterviewList(Schema):
    count: int
    next: str | None
    previous: str | None
    results: list[InterviewOut]


class InterviewQuestionIn(Schema):
    content: str = Field(max_length=services.MAX_QUESTION, description=gettext_lazy("问题，5 至 500 字"))
    nickname: str = Field("", max_length=services.MAX_NICKNAME,
                          description=gettext_lazy("网名（选填，审核通过后随问题公开）"))


# --- helpers ----------------------------------------------------------------------------------

def _fmt(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M")


def _site(obj) -> dict:
    return {"code": obj.site.code, "name": obj.site.name}


def _site_filter(qs, site: str | None):
    if site:
        from jiyue.platform.models import Site

        if not Site.objects.filter(code=site).exists():
            return None
        qs = qs.filter(site__code=site)
    return qs


def _consultation_out(c: Consultation) -> dict:
    now = timezone.now()
    return {"id": c.pk, "title": c.title, "organisation": c.organisation.name, "site": _site(c),
            "state": c.state, "accepting": c.accepting(now), "require_login": c.require_login,
            "opens_at": _fmt(c.opens_at), "closes_at": _fmt(c.closes_at)}


def _public_consultation(pk: int) -> Consultation | None:
    services.refresh_states()
    return (Consultation.objects.exclude(state=Consultation.DRAFT)
            .select_related("organisation", "site").filter(pk=pk).first())


def _user(request):
    from jiyue.api.api import caller

    return caller(request, write=True) if request.user.is_authenticated or \
        request.headers.get("Authorization") else None


# --- consultations ------------------------------------------------------------------------------

@router.get("/consultations", response={200: ConsultationList}, summary=gettext_lazy("意见征集列表"),
            description=gettext_lazy("已发布的意见征集，最新的在前；可按站点筛选。站点不存在返回 404。"))
def list_consultations(request,
                       site: str | None = Query(None, max_length=10, description=gettext_lazy("网站标识码")),
                       page: int = Query(1, ge=1, le=1_000_000, description=gettext_lazy("页码")),
                       page_size: int = Query(20, ge=1, le=100, description=gettext_lazy("每页条数，至多 100"))):
    from jiyue.api.api import paginate

    services.refresh_states()
    qs = _site_filter(Consultation.objects.exclude(state=Consultation.DRAFT)
                      .select_related("organisation", "site").order_by("-opens_at", "-id"), site)
    if qs is None:
        return error(404, _("站点不存在。"))
    return paginate(request, qs, _consultation_out, page, page_size)


@router.get("/consultations/{consultation_id}", response={200: ConsultationDetail},
            summary=gettext_lazy("意见征集详情"),
            description=gettext_lazy("草案、审核通过的意见（不含提交人信息），结果公布后含采纳情况和统计。"))
def get_consultation(request, consultation_id: Id):
    c = _public_consultation(consultation_id)
    if c is None:
        return error(404, _("该意见征集不存在。"))
    summarised = c.state == Consultation.SUMMARISED
    comments = [{"number": i, "content": x.content, "created_at": _fmt(x.created_at),
                 "adoption": x.adoption if summarised else "",
                 "reason": x.adoption_reason if summarised else ""}
                for i, x in enumerate(services.approved_comments(c).order_by("created_at", "id"), 1)]
    t = services.totals(c) if summarised else None
    return {**_consultation_out(c), "intro": c.intro, "draft_text": c.draft_text,
            "draft_file": f"_/participation/files/draft/{c.pk}" if c.draft_file else None,
            "comments": comments, "summary": c.summary if summarised else "",
            "totals": {k: t[k] for k in ("received", "adopted", "partly", "not_adopted")} if t else None}


@router.post("/consultations/{consultation_id}/comments", response={201: Accepted},
             summary=gettext_lazy("发表意见"),
             description=gettext_lazy(
                 "对征集中的草案发表意见；审核通过后公开，姓名和联系电话不公开。未登录时须填写姓名和联系电话"
                 "（仅限登录用户的征集返回 403）；征集未开始或已结束返回 409；内容不符合要求返回 422；"
                 "提交过于频繁返回 429（带 Retry-After）。"))
def post_comment(request, consultation_id: Id, payload: CommentIn):
    c = _public_consultation(consultation_id)
    if c is None:
        return error(404, _("该意见征集不存在。"))
    user = _user(request)
    refused = limited(request, "public_form", _("提交过于频繁，请 %(n)s 秒后再试。"))
    if refused is not None:
        return refused
    try:
        comment = services.submit_comment(c, user=user, name=payload.name, phone=payload.phone,
                                          content=payload.content)
    except services.ParticipationError as exc:
        return error(exc.status, exc.message, title=_("当前不能提交") if exc.status == 409 else None)
    return Status(201, {"id": comment.pk, "status": comment.status,
                 "message": _("您的意见已提交，审核通过后公开显示。")})


# --- surveys ----------------------------------------------------------------------------------

def _public_survey(pk: int) -> Survey | None:
    services.refresh_states()
    return (Survey.objects.exclude(state=Survey.DRAFT).select_related("organisation", "site")
            .filter(pk=pk).first())


@router.get("/surveys/{survey_id}", response={200: SurveyOut}, summary=gettext_lazy("问卷详情"),
            description=gettext_lazy("问卷的说明和题目；作答时按题目编号提交。"))
def get_survey(request, survey_id: Id):
    s = _public_survey(survey_id)
    if s is None:
        return error(404, _("该问卷不存在。"))
    return {"id": s.pk, "title": s.title, "intro": s.intro, "organisation": s.organisation.name,
            "site": _site(s), "state": s.state, "accepting": s.accepting(),
            "require_login": s.require_login, "results_public": s.results_public,
            "opens_at": _fmt(s.opens_at), "closes_at": _fmt(s.closes_at),
            "questions": [{"id": q.pk, "kind": q.kind, "text": q.text, "options": q.options,
                           "required": q.required} for q in s.questions.all()]}


@router.post("/surveys/{survey_id}/responses", response={201: Accepted},
             summary=gettext_lazy("提交答卷"),
             description=gettext_lazy(
                 "每位登录用户（或每个客户端标识）限答一次，重复提交返回 409；问卷未开始或已结束返回 409；"
                 "仅限登录用户的问卷未登录返回 403；回答不符合题目要求返回 422；提交过于频繁返回 429。"))
def post_response(request, survey_id: Id, payload: ResponseIn):
    s = _public_survey(survey_id)
    if s is None:
        return error(404, _("该问卷不存在。"))
    user = _user(request)
    if user is None and not 16 <= len(payload.client_token) <= 64:
        return error(422, _("未登录时须提供 16 至 64 位的客户端标识 client_token。"))
    refused = limited(request, "public_form", _("提交过于频繁，请 %(n)s 秒后再试。"))
    if refused is not None:
        return refused
    try:
        response = services.submit_response(s, answers=payload.answers, user=user,
                                            token=payload.client_token)
    except services.ParticipationError as exc:
        return error(exc.status, exc.message, title=_("当前不能提交") if exc.status == 409 else None)
    return Status(201, {"id": response.pk, "status": "received", "message": _("您的答卷已提交，感谢您的参与！")})


# --- interviews -----------------------------------------------------------------------------

def _interview_out(i: Interview) -> dict:
    now = timezone.now()
    return {"id": i.pk, "title": i.title, "organisation": i.organisation.name, "site": _site(i),
            "phase": i.phase(now), "starts_at": _fmt(i.starts_at), "ends_at": _fmt(i.ends_at),
            "guests": [{"name": g.get("name", ""), "title": g.get("title", "")} for g in i.guests],
            "accepting": i.accepting(now), "transcript_published": bool(i.transcript_published_at)}


@router.get("/interviews", response={200: InterviewList}, summary=gettext_lazy("在线访谈列表"),
            description=gettext_lazy("已发布的在线访谈，最新的在前；可按站点筛选。站点不存在返回 404。"))
def list_interviews(request,
                    site: str | None = Query(None, max_length=10, description=gettext_lazy("网站标识码")),
                    page: int = Query(1, ge=1, le=1_000_000, description=gettext_lazy("页码")),
                    page_size: int = Query(20, ge=1, le=100, description=gettext_lazy("每页条数，至多 100"))):
    from jiyue.api.api import paginate

    qs = _site_filter(Interview.objects.filter(state=Interview.PUBLISHED)
                      .select_related("organisation", "site").order_by("-starts_at", "-id"), site)
    if qs is None:
        return error(404, _("站点不存在。"))
    return paginate(request, qs, _interview_out, page, page_size)


@router.post("/interviews/{interview_id}/questions", response={201: Accepted},
             summary=gettext_lazy("向访谈嘉宾提问"),
             description=gettext_lazy(
                 "访谈开始前和访谈中均可提问，审核通过后显示；访谈已结束或不接受提问返回 409；"
                 "内容不符合要求返回 422；提交过于频繁返回 429。"))
def post_question(request, interview_id: Id, payload: InterviewQuestionIn):
    i = (Interview.objects.filter(state=Interview.PUBLISHED, pk=interview_id)
         .select_related("organisation", "site").first())
    if i is None:
        return error(404, _("该访谈不存在。"))
    user = _user(request)
    refused = limited(request, "public_form", _("提交过于频繁，请 %(n)s 秒后再试。"))
    if refused is not None:
        return refused
    try:
        q = services.submit_question(i, user=user, nickname=payload.nickname, content=payload.content)
    except services.ParticipationError as exc:
        return error(exc.status, exc.message, title=_("当前不能提交") if exc.status == 409 else None)
    return Status(201, {"id": q.pk, "status": q.status, "message": _("您的问题已提交，审核通过后显示。")})
