"""The participation app's rules, shared by the public pages, the API and the admin.

Citizens: `submit_comment`, `submit_response`, `submit_question` validate everything and store
nothing on error (ParticipationError carries a Chinese message and an HTTP status).
Staff: every action checks `jiyue.accounts.policy` (handlers of the organisation draft;
dispatchers publish, moderate, close and publish results; the operator may do all), is audited,
and refusals are audited as outcome="denied". Consultations and surveys close at their close
date: `refresh_states()` runs periodically (tasks.py) and before every public read.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from jiyue import audit
from jiyue.accounts import policy
from jiyue.core import outbox

from .models import (Comment, Consultation, Interview, InterviewQuestion, Moderation, Survey,
                     SurveyAnswer, SurveyQuestion, SurveyResponse)

MAX_COMMENT = 2000
MIN_COMMENT = 5
MAX_QUESTION = 500
MAX_TEXT_ANSWER = 1000
MAX_NAME = 30
MAX_NICKNAME = 20
SUMMARY_DAYS = 20  # working days after closing by which the summary should be published
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_GUEST_SEP = re.compile(r"[｜|，,\s\u3000]+")
_PHONE = re.compile(r"^[0-9][0-9\- ]{5,18}[0-9]$|^\+[0-9][0-9\- ]{5,18}[0-9]$")


class ParticipationError(Exception):
    def __init__(self, message: str, status: int = 422, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


def clean_text(value) -> str:
    """Plain text as typed, without control characters (NUL cannot be stored) and outer space.
    Never rendered as HTML: templates escape it."""
    return _CONTROL.sub("", str(value or "")).replace("\r\n", "\n").strip()


def _citizen(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


# --- states ------------------------------------------------------------------------------

def refresh_states(now=None) -> int:
    """Close consultations and surveys whose close date has passed. Returns how many."""
    now = now or timezone.now()
    n = 0
    with transaction.atomic():
        due = list(Consultation.objects.filter(state=Consultation.OPEN, closes_at__lte=now)
                   .values_list("pk", flat=True))
        if due:
            n += Consultation.objects.filter(pk__in=due, state=Consultation.OPEN).update(
                state=Consultation.CLOSED, closed_at=now)
            for pk in due:
                outbox.emit("participation.consultation_closed", "consultation", pk)
        n += Survey.objects.filter(state=Survey.OPEN, closes_at__lte=now).update(state=Survey.CLOSED)
    return n


def summary_due(consultation: Consultation):
    """When the summary should be published: SUMMARY_DAYS working days after closing."""
    from jiyue.workdays import calendar

    days = getattr(settings, "JIYUE_CONSULTATION_SUMMARY_DAYS", SUMMARY_DAYS)
    closed = consultation.closed_at or consultation.closes_at
    return calendar.deadline(timezone.localtime(closed).date(), days)


def public_consultations(site):
    return Consultation.objects.filter(site=site).exclude(state=Consultation.DRAFT)


def public_surveys(site):
    return Survey.objects.filter(site=site).exclude(state=Survey.DRAFT)


def public_interviews(site):
    return Interview.objects.filter(site=site, state=Interview.PUBLISHED)


# --- citizens: comments ------------------------------------------------------------------

def _check_identity(user, require_login: bool, name: str, phone: str) -> tuple[str, str]:
    if _citizen(user) is not None:
        return name, phone
    if require_login:
        raise ParticipationError(_("本次征集仅限登录用户参与，请先登录。"), status=403)
    if not name:
        raise ParticipationError(_("请填写姓名。"), field="name")
    if len(name) > MAX_NAME:
        raise ParticipationError(_("姓名不能超过 %(n)s 个字。") % {"n": MAX_NAME}, field="name")
    if not phone:
        raise ParticipationError(_("请填写联系电话。"), field="phone")
    if not _PHONE.match(phone):
        raise ParticipationError(_("联系电话格式不正确：请填写手机号码或固定电话号码。"), field="phone")
    return name, phone


def submit_comment(consultation: Consultation, *, user=None, name="", phone="", content="",
                   now=None) -> Comment:
    """A citizen's comment on a consultation: pending until a dispatcher approves it."""
    now = now or timezone.now()
    name, phone, content = clean_text(name), clean_text(phone), clean_text(content)
    if consultation.state == Consultation.DRAFT:
        raise ParticipationError(_("该意见征集不存在。"), status=404)
    if not consultation.accepting(now):
        if now < consultation.opens_at:
            raise ParticipationError(_("意见征集尚未开始，请在开始后再提交。"), status=409)
        raise ParticipationError(_("意见征集已经结束，不再接受意见。"), status=409)
    name, phone = _check_identity(user, consultation.require_login, name, phone)
    if len(content) < MIN_COMMENT:
        raise ParticipationError(_("意见内容至少 %(n)s 个字。") % {"n": MIN_COMMENT}, field="content")
    if len(content) > MAX_COMMENT:
        raise ParticipationError(_("意见内容不能超过 %(n)s 个字。") % {"n": MAX_COMMENT}, field="content")
    from jiyue.security.fields import blind_index

    with transaction.atomic():
        comment = Comment.objects.create(
            consultation=consultation, citizen=_citizen(user), name=name[:MAX_NAME], phone=phone,
            phone_index=blind_index("participation.phone", re.sub(r"\D", "", phone)),
            content=content, created_at=now)
        outbox.emit("participation.comment_submitted", "consultation", consultation.pk,
                    {"comment": comment.pk})
    return comment


def approved_comments(consultation: Consultation):
    return consultation.comments.filter(status=Moderation.APPROVED)


def totals(consultation: Consultation) -> dict:
    """Comment counts for the published summary: received, published, and by adoption."""
    c = consultation.comments.aggregate(
        received=Count("id"), approved=Count("id", filter=Q(status=Moderation.APPROVED)),
        adopted=Count("id", filter=Q(adoption=Comment.ADOPTED)),
        partly=Count("id", filter=Q(adoption=Comment.PARTLY)),
        not_adopted=Count("id", filter=Q(adoption=Comment.NOT_ADOPTED)),
        pending=Count("id", filter=Q(status=Moderation.PENDING)))
    return c


# --- citizens: surveys --------------------------------------------------------------------

def browser_key(token: str) -> str:
    """What is stored for a browser's (or API client's) token: its digest, never the token."""
    token = clean_text(token)
    return hashlib.sha256(f"participation:{token}".encode()).hexdigest() if token else ""


def _answer_rows(question: SurveyQuestion, value) -> list[SurveyAnswer]:
    """Validate one answer; rows to store (no rows: not answered)."""
    label = question.text
    if value in (None, "", []):
        if question.required:
            raise ParticipationError(_("请回答：%(q)s") % {"q": label}, field=f"q{question.pk}")
        return []
    if question.kind == SurveyQuestion.TEXT:
        text = clean_text(value if isinstance(value, str) else "")
        if not isinstance(value, str):
            raise ParticipationError(_("“%(q)s”的回答应为文字。") % {"q": label}, field=f"q{question.pk}")
        if len(text) > MAX_TEXT_ANSWER:
            raise ParticipationError(_("“%(q)s”的回答不能超过 %(n)s 个字。") % {"q": label, "n": MAX_TEXT_ANSWER},
                                     field=f"q{question.pk}")
        if not text:
            if question.required:
                raise ParticipationError(_("请回答：%(q)s") % {"q": label}, field=f"q{question.pk}")
            return []
        return [SurveyAnswer(question=question, text=text)]
    values = value if isinstance(value, list) else [value]
    try:
        numbers = [int(v) for v in values if not isinstance(v, bool)]
    except (TypeError, ValueError):
        numbers = None
    if numbers is None or len(numbers) != len(values):
        raise ParticipationError(_("“%(q)s”的回答无效，请从给出的选项中选择。") % {"q": label},
                                 field=f"q{question.pk}")
    if question.kind == SurveyQuestion.RATING:
        if len(numbers) != 1 or not 1 <= numbers[0] <= 5:
            raise ParticipationError(_("“%(q)s”请打 1 至 5 分。") % {"q": label}, field=f"q{question.pk}")
        return [SurveyAnswer(question=question, rating=numbers[0])]
    count = len(question.options)
    if len(set(numbers)) != len(numbers) or any(not 0 <= n < count for n in numbers):
        raise ParticipationError(_("“%(q)s”的回答无效，请从给出的选项中选择。") % {"q": label},
                                 field=f"q{question.pk}")
    if question.kind == SurveyQuestion.SINGLE and len(numbers) != 1:
        raise ParticipationError(_("“%(q)s”只能选择一项。") % {"q": label}, field=f"q{question.pk}")
    return [SurveyAnswer(question=question, option=n) for n in numbers]


def submit_response(survey: Survey, *, answers: dict, user=None, token: str = "",
                    now=None) -> SurveyResponse:
    """One response: `answers` maps question id → option index, [indexes], 1–5 or text.
    One per citizen (surveys for logged-in users) or per browser token otherwise."""
    now = now or timezone.now()
    if survey.state == Survey.DRAFT:
        raise ParticipationError(_("该问卷不存在。"), status=404)
    if not survey.accepting(now):
        if now < survey.opens_at:
            raise ParticipationError(_("问卷调查尚未开始。"), status=409)
        raise ParticipationError(_("问卷调查已经结束，不再接受答卷。"), status=409)
    citizen = _citizen(user)
    if survey.require_login and citizen is None:
        raise ParticipationError(_("本问卷仅限登录用户填写，请先登录。"), status=403)
    key = "" if citizen is not None else browser_key(token)
    if citizen is None and not key:
        raise ParticipationError(_("无法识别答卷来源，请允许浏览器保存 Cookie 后重试。"), field="token")
    questions = list(survey.questions.all())
    if not isinstance(answers, dict):
        raise ParticipationError(_("答卷格式不正确。"))
    known = {str(q.pk) for q in questions}
    if any(str(k) not in known for k in answers):
        raise ParticipationError(_("答卷包含不属于本问卷的题目。"))
    given = {str(k): v for k, v in answers.items()}
    rows = []
    for q in questions:
        rows.extend(_answer_rows(q, given.get(str(q.pk))))
    if not rows:
        raise ParticipationError(_("请至少回答一道题目。"))
    duplicate = ParticipationError(_("您已经参与过本次问卷调查，每人限答一次。"), status=409)
    exists = (SurveyResponse.objects.filter(survey=survey, citizen=citizen) if citizen is not None
              else SurveyResponse.objects.filter(survey=survey, browser_key=key))
    if exists.exists():
        raise duplicate
    try:
        with transaction.atomic():
            response = SurveyResponse.objects.create(survey=survey, citizen=citizen,
                                                     browser_key=key, created_at=now)
            for row in rows:
                row.response = response
            SurveyAnswer.objects.bulk_create(rows)
    except IntegrityError:
        raise duplicate from None
    return response


def has_responded(survey: Survey, *, user=None, token: str = "") -> bool:
    citizen = _citizen(user)
    if citizen is not None:
        return SurveyResponse.objects.filter(survey=survey, citizen=citizen).exists()
    key = browser_key(token)
    return bool(key) and SurveyResponse.objects.filter(survey=survey, browser_key=key).exists()


@dataclass
class Bar:
    label: str
    count: int
    pct: int


def results(survey: Survey) -> dict:
    """Per question: counts and shares per option (ratings 1–5 and their mean), or the number
    of text answers; with an SVG bar chart for every question that has options."""
    from .charts import bar_chart

    total = survey.responses.count()
    out = []
    counts: dict[tuple[int, int | None], int] = {}
    for row in (SurveyAnswer.objects.filter(question__survey=survey)
                .values("question_id", "option", "rating").annotate(n=Count("id"))):
        key = row["option"] if row["option"] is not None else row["rating"]
        counts[(row["question_id"], key)] = counts.get((row["question_id"], key), 0) + row["n"]
    texts = dict(SurveyAnswer.objects.filter(question__survey=survey, question__kind=SurveyQuestion.TEXT)
                 .values_list("question_id").annotate(n=Count("id")))
    for q in survey.questions.all():
        item = {"id": q.pk, "text": q.text, "kind": q.kind, "kind_label": str(q.get_kind_display()),
                "bars": [], "svg": "", "mean": None, "answered": 0}
        if q.kind == SurveyQuestion.TEXT:
            item["answered"] = texts.get(q.pk, 0)
        else:
            if q.kind == SurveyQuestion.RATING:
                labels = [(n, _("%(n)s 分") % {"n": n}) for n in range(1, 6)]
            else:
                labels = list(enumerate(q.options))
            values = [(label, counts.get((q.pk, key), 0)) for key, label in labels]
            answered = (SurveyAnswer.objects.filter(question=q).values("response_id").distinct().count()
                        if q.kind == SurveyQuestion.MULTIPLE else sum(v for _l, v in values))
            item["answered"] = answered
            item["bars"] = [Bar(str(label), n, round(100 * n / answered) if answered else 0)
                            for label, n in values]
            if q.kind == SurveyQuestion.RATING and answered:
                item["mean"] = round(sum(k * counts.get((q.pk, k), 0) for k in range(1, 6)) / answered, 2)
            item["svg"] = bar_chart(q.text, item["bars"])
        out.append(item)
    return {"total": total, "questions": out}


def _csv_cell(value) -> str:
    text = str(value if value is not None else "")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_csv(user, survey: Survey) -> str:
    """Every response as a CSV row (one column per question), audited."""
    require(user, survey, "participation.survey.export", dispatch=False)
    questions = list(survey.questions.all())
    answers: dict[int, dict[int, list[str]]] = {}
    for a in (SurveyAnswer.objects.filter(response__survey=survey)
              .select_related("question").order_by("id")):
        q = a.question
        if q.kind == SurveyQuestion.TEXT:
            v = a.text
        elif q.kind == SurveyQuestion.RATING:
            v = str(a.rating)
        else:
            v = q.options[a.option] if a.option is not None and a.option < len(q.options) else ""
        answers.setdefault(a.response_id, {}).setdefault(q.pk, []).append(v)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([_("答卷编号"), _("提交时间"), *[f"{i}. {q.text}" for i, q in enumerate(questions, 1)]])
    n = 0
    for r in survey.responses.order_by("id"):
        row = answers.get(r.pk, {})
        w.writerow([r.pk, timezone.localtime(r.created_at).strftime("%Y-%m-%d %H:%M"),
                    *[_csv_cell(_("；").join(row.get(q.pk, []))) for q in questions]])
        n += 1
    audit.record(user, survey.organisation, None, "participation.survey.export", survey,
                 object_type="participation.survey", object_id=str(survey.pk), rows=n)
    return "\ufeff" + buf.getvalue()


# --- citizens: interviews -------------------------------------------------------------------

def submit_question(interview: Interview, *, user=None, nickname="", content="",
                    now=None) -> InterviewQuestion:
    now = now or timezone.now()
    nickname, content = clean_text(nickname), clean_text(content)
    if interview.state != Interview.PUBLISHED:
        raise ParticipationError(_("该访谈不存在。"), status=404)
    if not interview.accept_questions:
        raise ParticipationError(_("本次访谈不接受网友提问。"), status=409)
    if interview.phase(now) == Interview.ENDED:
        raise ParticipationError(_("访谈已经结束，不再接受提问。"), status=409)
    if len(nickname) > MAX_NICKNAME:
        raise ParticipationError(_("网名不能超过 %(n)s 个字。") % {"n": MAX_NICKNAME}, field="nickname")
    if len(content) < MIN_COMMENT:
        raise ParticipationError(_("问题至少 %(n)s 个字。") % {"n": MIN_COMMENT}, field="content")
    if len(content) > MAX_QUESTION:
        raise ParticipationError(_("问题不能超过 %(n)s 个字。") % {"n": MAX_QUESTION}, field="content")
    with transaction.atomic():
        q = InterviewQuestion.objects.create(
            interview=interview, citizen=_citizen(user), nickname=nickname, content=content,
            live=interview.phase(now) == Interview.LIVE, created_at=now)
        outbox.emit("participation.question_submitted", "interview", interview.pk, {"question": q.pk})
    return q


def public_questions(interview: Interview):
    return interview.questions.filter(status=Moderation.APPROVED)


def interview_view(interview: Interview, now=None) -> dict:
    """Plain data for the interview page and its JSON poll."""
    now = now or timezone.now()
    tz = timezone.localtime
    return {
        "id": interview.pk, "title": interview.title, "intro": interview.intro,
        "guests": interview.guests, "phase": interview.phase(now),
        "phase_label": interview.phase_label(now),
        "starts_at": tz(interview.starts_at).strftime("%Y-%m-%d %H:%M"),
        "ends_at": tz(interview.ends_at).strftime("%Y-%m-%d %H:%M"),
        "accepting": interview.accepting(now),
        "questions": [{"id": q.pk, "nickname": q.nickname or _("网友"), "content": q.content,
                       "live": q.live, "guest": q.guest, "answer": q.answer,
                       "asked_at": tz(q.created_at).strftime("%m-%d %H:%M"),
                       "answered_at": tz(q.answered_at).strftime("%H:%M") if q.answered_at else ""}
                      for q in public_questions(interview).order_by("-answered_at", "-created_at")
                      if q.answer or interview.phase(now) != Interview.ENDED],
        "transcript": interview.transcript.split("\n") if interview.transcript_published_at else [],
        "transcript_published": bool(interview.transcript_published_at),
    }


# --- staff ---------------------------------------------------------------------------------

def _label(obj) -> str:
    return obj._meta.model_name


def require(user, obj, action: str, *, dispatch: bool) -> None:
    """Refuse (audited) unless the user handles (or, with dispatch, dispatches) the
    organisation of `obj`."""
    org_id = obj.organisation_id
    ok = (policy.can_dispatch_interaction(user, org_id) if dispatch
          else policy.can_handle_interaction(user, org_id))
    if not ok:
        audit.record(user, None, None, action, obj, outcome="denied",
                     object_type=f"participation.{_label(obj)}", object_id=str(obj.pk or ""))
        raise PermissionDenied(_("您无权对该事项执行此操作。"))


def _audit(user, obj, action: str, **detail) -> None:
    audit.record(user, obj.organisation, None, action, obj,
                 object_type=f"participation.{_label(obj)}", object_id=str(obj.pk), **detail)


def visible(user, model):
    """Items of the organisations whose interaction work the user does (the operator: all)."""
    return model.objects.filter(organisation_id__in=policy.interaction_organisation_ids(user))


def may_use_admin(user) -> bool:
    return bool(policy.interaction_organisation_ids(user))


def save_draft(user, obj, *, created: bool) -> None:
    """Store an item edited in the admin (handlers and dispatchers of its organisation)."""
    require(user, obj, "participation.%s.%s" % (_label(obj), "create" if created else "edit"),
            dispatch=False)
    from jiyue.platform.models import Site

    site = Site.objects.filter(organisation_id=obj.organisation_id).first()
    if site is None:
        raise ParticipationError(_("该单位没有网站，无法发布公众参与事项。"), field="organisation")
    obj.site = site
    with transaction.atomic():
        if created:
            obj.created_by = user
        obj.save()
        _audit(user, obj, "participation.%s.%s" % (_label(obj), "create" if created else "edit"))


def publish(user, obj, now=None) -> None:
    """Dispatchers publish a draft: a consultation or survey opens (accepting from its start
    date), an interview appears on the site."""
    now = now or timezone.now()
    action = f"participation.{_label(obj)}.publish"
    require(user, obj, action, dispatch=True)
    if obj.state != "draft":
        raise ParticipationError(_("只有草稿可以发布。"), status=409)
    if isinstance(obj, Survey) and not obj.questions.exists():
        raise ParticipationError(_("问卷还没有题目，不能发布。"), status=409)
    end = obj.ends_at if isinstance(obj, Interview) else obj.closes_at
    if end <= now:
        raise ParticipationError(_("截止时间已过，请先修改时间再发布。"), status=409)
    with transaction.atomic():
        obj.state = "published" if isinstance(obj, Interview) else "open"
        obj.published_at = now
        obj.save(update_fields=["state", "published_at", "updated_at"])
        outbox.emit(f"participation.{_label(obj)}_published", _label(obj), obj.pk)
        _audit(user, obj, action)


def close(user, obj, now=None) -> None:
    """Close a consultation or survey before its close date."""
    now = now or timezone.now()
    action = f"participation.{_label(obj)}.close"
    require(user, obj, action, dispatch=True)
    if obj.state != "open":
        raise ParticipationError(_("只有进行中的事项可以结束。"), status=409)
    with transaction.atomic():
        obj.state = "closed"
        fields = ["state", "updated_at"]
        if isinstance(obj, Consultation):
            obj.closed_at = now
            fields.append("closed_at")
        obj.save(update_fields=fields)
        _audit(user, obj, action)


def moderate(user, item, approve: bool, now=None) -> None:
    """Approve or reject a comment or an interview question (dispatchers)."""
    parent = item.consultation if isinstance(item, Comment) else item.interview
    action = f"participation.{_label(item)}.{'approve' if approve else 'reject'}"
    require(user, parent, action, dispatch=True)
    with transaction.atomic():
        item.status = Moderation.APPROVED if approve else Moderation.REJECTED
        item.moderated_by = user
        item.moderated_at = now or timezone.now()
        item.save(update_fields=["status", "moderated_by", "moderated_at"])
        audit.record(user, parent.organisation, None, action, item,
                     object_type=f"participation.{_label(item)}", object_id=str(item.pk))


def set_adoption(user, comment: Comment, adoption: str, reason: str) -> None:
    """采纳 / 部分采纳 / 未采纳 with a reason (handlers draft it, before the summary is out)."""
    c = comment.consultation
    require(user, c, "participation.comment.adoption", dispatch=False)
    if adoption not in dict(Comment.ADOPTIONS):
        raise ParticipationError(_("请选择采纳情况。"), field="adoption")
    reason = clean_text(reason)
    if adoption != Comment.ADOPTED and not reason:
        raise ParticipationError(_("部分采纳或未采纳的意见须说明理由。"), field="reason")
    if len(reason) > MAX_COMMENT:
        raise ParticipationError(_("理由不能超过 %(n)s 个字。") % {"n": MAX_COMMENT}, field="reason")
    if c.state == Consultation.SUMMARISED:
        raise ParticipationError(_("结果已公布，不能再修改。"), status=409)
    with transaction.atomic():
        comment.adoption, comment.adoption_reason = adoption, reason
        comment.save(update_fields=["adoption", "adoption_reason"])
        audit.record(user, c.organisation, None, "participation.comment.adoption", comment,
                     object_type="participation.comment", object_id=str(comment.pk), adoption=adoption)


def publish_summary(user, consultation: Consultation, summary: str, now=None) -> None:
    """After closing: publish which opinions were adopted and why (dispatchers)."""
    now = now or timezone.now()
    require(user, consultation, "participation.consultation.summarise", dispatch=True)
    summary = clean_text(summary)
    if consultation.state != Consultation.CLOSED:
        raise ParticipationError(_("征集结束后才能公布结果。"), status=409)
    if not summary:
        raise ParticipationError(_("请填写意见采纳情况说明。"), field="summary")
    if len(summary) > 20000:
        raise ParticipationError(_("说明不能超过 20000 个字。"), field="summary")
    if consultation.comments.filter(status=Moderation.PENDING).exists():
        raise ParticipationError(_("还有待审核的意见，请先审核。"), status=409)
    if consultation.comments.filter(status=Moderation.APPROVED, adoption="").exists():
        raise ParticipationError(_("还有公开的意见没有填写采纳情况。"), status=409)
    with transaction.atomic():
        consultation.summary = summary
        consultation.state = Consultation.SUMMARISED
        consultation.summarised_at = now
        consultation.save(update_fields=["summary", "state", "summarised_at", "updated_at"])
        outbox.emit("participation.consultation_summarised", "consultation", consultation.pk)
        _audit(user, consultation, "participation.consultation.summarise")


def answer_question(user, question: InterviewQuestion, guest: str, answer: str, now=None) -> None:
    """A guest's answer, entered by staff during the interview; publishes the question too
    when a dispatcher enters it."""
    interview = question.interview
    require(user, interview, "participation.interviewquestion.answer", dispatch=False)
    guest, answer = clean_text(guest), clean_text(answer)
    names = [g.get("name", "") for g in interview.guests]
    if names and guest not in names:
        raise ParticipationError(_("请选择回答的嘉宾。"), field="guest")
    if not answer:
        raise ParticipationError(_("请填写回答内容。"), field="answer")
    if len(answer) > 5000:
        raise ParticipationError(_("回答不能超过 5000 个字。"), field="answer")
    with transaction.atomic():
        question.guest, question.answer = guest, answer
        question.answered_by, question.answered_at = user, now or timezone.now()
        question.save(update_fields=["guest", "answer", "answered_by", "answered_at"])
        audit.record(user, interview.organisation, None, "participation.interviewquestion.answer",
                     question, object_type="participation.interviewquestion", object_id=str(question.pk))


def publish_transcript(user, interview: Interview, now=None) -> None:
    now = now or timezone.now()
    require(user, interview, "participation.interview.transcript", dispatch=True)
    if interview.state != Interview.PUBLISHED:
        raise ParticipationError(_("请先发布访谈。"), status=409)
    if interview.phase(now) != Interview.ENDED:
        raise ParticipationError(_("访谈结束后才能公布实录。"), status=409)
    if not interview.transcript.strip():
        raise ParticipationError(_("请先填写文字实录。"), field="transcript")
    with transaction.atomic():
        interview.transcript_published_at = now
        interview.save(update_fields=["transcript_published_at", "updated_at"])
        outbox.emit("participation.transcript_published", "interview", interview.pk)
        _audit(user, interview, "participation.interview.transcript")


def parse_guests(text: str) -> list[dict]:
    """Guests typed one per line as "姓名｜职务" (or "姓名 职务")."""
    guests = []
    for line in clean_text(text).split("\n"):
        line = line.strip()
        if not line:
            continue
        parts = _GUEST_SEP.split(line, maxsplit=1)
        name, title = parts[0], parts[1] if len(parts) > 1 else ""
        name, title = name.strip()[:30], title.strip()[:60]
        if name:
            guests.append({"name": name, "title": title})
    return guests


def format_guests(guests: list[dict]) -> str:
    return "\n".join(f"{g.get('name', '')}｜{g.get('title', '')}" for g in guests or [])


# --- personal data ---------------------------------------------------------------------------

def export_for(user) -> dict:
    """A citizen's participation: comments, survey responses and interview questions."""
    tz = timezone.localtime
    return {
        "comments": [{"consultation": c.consultation.title, "content": c.content,
                      "status": c.status, "created_at": tz(c.created_at).isoformat()}
                     for c in Comment.objects.filter(citizen=user).select_related("consultation")],
        "survey_responses": [{"survey": r.survey.title, "created_at": tz(r.created_at).isoformat(),
                              "answers": [{"question": a.question.text, "option": a.option,
                                           "rating": a.rating, "text": a.text}
                                          for a in r.answers.select_related("question")]}
                             for r in SurveyResponse.objects.filter(citizen=user).select_related("survey")],
        "interview_questions": [{"interview": q.interview.title, "content": q.content,
                                 "status": q.status, "created_at": tz(q.created_at).isoformat()}
                                for q in InterviewQuestion.objects.filter(citizen=user)
                                .select_related("interview")],
    }
