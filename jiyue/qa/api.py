"""`/api/v1/qa`: ask a question, rate the answer (mounted in jiyue/api/api.py)."""

from __future__ import annotations

from typing import Annotated

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Query, Router, Schema
from ninja.utils import check_csrf

from jiyue.api.errors import error, limited

from . import services

router = Router(tags=[gettext_lazy("智能问答")])


class SourceOut(Schema):
    kind: str = Field(description=gettext_lazy("来源类型：faq（问答知识）或信息资源类型（article、policy、guide …）"))
    id: int = Field(description=gettext_lazy("来源编号（问答知识或信息资源的编号）"))
    url: str = Field(description=gettext_lazy("来源的公开页面地址"))


class AnswerOut(Schema):
    text: str = Field(description=gettext_lazy("回答内容：问答知识的答案，或信息资源的摘要/首段"))
    title: str = Field(description=gettext_lazy("标题：知识的问题（或答案首句），或信息资源的标题"))
    source: SourceOut
    score: float = Field(ge=0, le=1, description=gettext_lazy("匹配得分，0 至 1，越大越相关"))


class AskOut(Schema):
    answers: list[AnswerOut] = Field(description=gettext_lazy("至多 5 条回答，最相关的在前"))
    confident: bool = Field(description=gettext_lazy("是否有把握：为 false 时应提示“没有找到确切答案”"))
    question_id: int = Field(description=gettext_lazy("本次提问的编号，用于评价"))
    feedback_token: str = Field(description=gettext_lazy("评价凭据：评价本次回答时一并提交"))


class FeedbackIn(Schema):
    useful: bool = Field(description=gettext_lazy("true 为“有用”，false 为“没用”"))
    token: str | None = Field(None, max_length=100,
                              description=gettext_lazy("提问时返回的 feedback_token（在提问的网页会话中评价时可省略）"))


class FeedbackOut(Schema):
    question_id: int
    feedback: str = Field(description=gettext_lazy("useful（有用）或 useless（没用）"))
    changed: bool = Field(description=gettext_lazy("本次请求是否记录了评价（重复提交相同评价为 false）"))


@router.get("", response={200: AskOut}, summary=gettext_lazy("智能问答"),
            description=gettext_lazy(
                "用中文提问，返回至多 5 条回答（问答知识库、已发布的信息和办事指南），最相关的在前，"
                "每条带来源链接和 0 至 1 的得分；confident 为 false 表示没有找到确切答案。"
                "指定 site 时只回答该站点可见的内容（该站点机构及其下属机构的问答知识、该站点发布的信息）"
                "和平台级问答知识。问题为空或超过 500 字返回 422，站点不存在返回 404，"
                "提问过于频繁返回 429（带 Retry-After）。"))
def ask(request,
        q: str = Query("", description=gettext_lazy("问题（1 至 500 字）"), examples=["公积金怎么提取？"]),
        site: str | None = Query(None, description=gettext_lazy("网站标识码：只回答该站点可见的内容"),
                                 examples=["3400000001"])):
    from jiyue.api.api import caller

    user = caller(request)
    try:
        services.clean_question(q)
        if site:
            services.site_by_code(site)
    except services.QaError as exc:
        return error(exc.status, exc.message, title=_("已评价") if exc.status == 409 else None)
    refused = limited(request, "qa", _("提问过于频繁，请 %(n)s 秒后再试。"))
    if refused is not None:
        return refused
    try:
        result = services.ask(q, site_code=site or None, user=user)
    except services.QaError as exc:
        return error(exc.status, exc.message, title=_("已评价") if exc.status == 409 else None)
    _remember(request, result["question_id"])
    return result


def _remember(request, question_id: int) -> None:
    """A browser session that asked may rate without the token (only if it has a session)."""
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        asked = list(session.get("qa_asked", []))[-49:]
        session["qa_asked"] = [*asked, question_id]


@router.post("/{question_id}/feedback", response={200: FeedbackOut},
             summary=gettext_lazy("评价回答（有用/没用）"),
             description=gettext_lazy(
                 "提问人对回答的评价，每个问题只能评价一次；重复提交相同评价不改变记录，提交不同评价返回 409。"
                 "需提交提问时返回的 feedback_token，或在提问的网页会话中提交（须带 CSRF 令牌）。"))
def feedback(request, question_id: Annotated[int, Field(ge=1, le=2**63 - 1)], payload: FeedbackIn):
    asked = ()
    if not payload.token:
        session = getattr(request, "session", None)
        asked = tuple(session.get("qa_asked", [])) if session is not None else ()
        if asked and check_csrf(request) is not None:
            return error(403, _("CSRF 校验失败，请刷新页面后重试。"))
    try:
        q, changed = services.feedback(question_id, payload.useful, token=payload.token, asked=asked)
    except services.QaError as exc:
        return error(exc.status, exc.message, title=_("已评价") if exc.status == 409 else None)
    return {"question_id": q.pk, "feedback": q.feedback, "changed": changed}
