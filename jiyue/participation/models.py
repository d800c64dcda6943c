"""Public participation: 意见征集 (consultations on draft policies with moderated comments and a
published summary), 问卷调查 (surveys) and 在线访谈 (interviews with moderated questions and a
transcript). State changes go through `jiyue.participation.services`."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiyue.security.fields import EncryptedCharField


def _upload_to(folder: str):
    def name(instance, filename: str) -> str:
        ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
        return f"participation/{folder}/{uuid.uuid4().hex}.{ext}"

    name.__name__ = f"upload_{folder}"
    name.__qualname__ = name.__name__
    return name


def draft_upload(instance, filename):
    return _upload_to("drafts")(instance, filename)


def transcript_upload(instance, filename):
    return _upload_to("transcripts")(instance, filename)


class Moderation(models.TextChoices):
    PENDING = "pending", _("待审核")
    APPROVED = "approved", _("已通过")
    REJECTED = "rejected", _("未通过")


class Owned(models.Model):
    """What every participation item has: the organisation running it, the site showing it,
    a draft that a dispatcher publishes, and who made it."""

    organisation = models.ForeignKey("platform.Organisation", verbose_name=_("主办单位"),
                                     on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey("platform.Site", verbose_name=_("所在站点"), on_delete=models.CASCADE,
                             related_name="+")
    title = models.CharField(_("标题"), max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True,
                                   blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.title


class Consultation(Owned):
    DRAFT, OPEN, CLOSED, SUMMARISED = "draft", "open", "closed", "summarised"
    STATES = [(DRAFT, _("草稿")), (OPEN, _("征集中")), (CLOSED, _("已结束")), (SUMMARISED, _("已公布结果"))]

    intro = models.TextField(_("征集说明"), blank=True,
                             help_text=_("征集的目的、起草背景和意见提交方式。"))
    draft_text = models.TextField(_("草案全文"), blank=True)
    draft_file = models.FileField(_("草案文件"), upload_to=draft_upload, blank=True,
                                  help_text=_("PDF、Word、WPS 或 OFD 文件。"))
    opens_at = models.DateTimeField(_("开始时间"))
    closes_at = models.DateTimeField(_("截止时间"))
    state = models.CharField(_("状态"), max_length=12, choices=STATES, default=DRAFT, db_index=True)
    require_login = models.BooleanField(
        _("仅限登录用户"), default=False,
        help_text=_("勾选后只有登录的公众用户可以发表意见；否则未登录者须填写姓名和联系电话。"))
    summary = models.TextField(_("意见采纳情况说明"), blank=True,
                               help_text=_("征集结束后公布：总体情况、主要意见和采纳情况。"))
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    summarised_at = models.DateTimeField(_("结果公布时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("意见征集")
        verbose_name_plural = _("意见征集")
        ordering = ["-opens_at", "-id"]

    def accepting(self, now=None) -> bool:
        now = now or timezone.now()
        return self.state == self.OPEN and self.opens_at <= now < self.closes_at


class Comment(models.Model):
    ADOPTED, PARTLY, NOT_ADOPTED = "adopted", "partly", "not_adopted"
    ADOPTIONS = [(ADOPTED, _("采纳")), (PARTLY, _("部分采纳")), (NOT_ADOPTED, _("未采纳"))]

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="comments")
    citizen = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    name = EncryptedCharField(_("姓名"), max_length=30, blank=True)
    phone = EncryptedCharField(_("联系电话"), max_length=20, blank=True)
    phone_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    content = models.TextField(_("意见内容"))
    status = models.CharField(_("审核状态"), max_length=10, choices=Moderation.choices,
                              default=Moderation.PENDING, db_index=True)
    moderated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    moderated_at = models.DateTimeField(null=True, blank=True)
    adoption = models.CharField(_("采纳情况"), max_length=12, choices=ADOPTIONS, blank=True)
    adoption_reason = models.TextField(_("理由"), blank=True)
    created_at = models.DateTimeField(_("提交时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("意见")
        verbose_name_plural = _("意见")
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.content[:30]


class Survey(Owned):
    DRAFT, OPEN, CLOSED = "draft", "open", "closed"
    STATES = [(DRAFT, _("草稿")), (OPEN, _("进行中")), (CLOSED, _("已结束"))]

    intro = models.TextField(_("问卷说明"), blank=True)
    opens_at = models.DateTimeField(_("开始时间"))
    closes_at = models.DateTimeField(_("截止时间"))
    state = models.CharField(_("状态"), max_length=10, choices=STATES, default=DRAFT, db_index=True)
    require_login = models.BooleanField(
        _("仅限登录用户"), default=False,
        help_text=_("勾选后每位登录用户限答一次；否则每个浏览器限答一次。"))
    results_public = models.BooleanField(_("公开调查结果"), default=False)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("问卷调查")
        verbose_name_plural = _("问卷调查")
        ordering = ["-opens_at", "-id"]

    def accepting(self, now=None) -> bool:
        now = now or timezone.now()
        return self.state == self.OPEN and self.opens_at <= now < self.closes_at


class SurveyQuestion(models.Model):
    SINGLE, MULTIPLE, TEXT, RATING = "single", "multiple", "text", "rating"
    KINDS = [(SINGLE, _("单选")), (MULTIPLE, _("多选")), (TEXT, _("填空")), (RATING, _("评分（1–5）"))]

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveSmallIntegerField(_("序号"), default=0)
    kind = models.CharField(_("题型"), max_length=10, choices=KINDS)
    text = models.CharField(_("题目"), max_length=300)
    options = models.JSONField(_("选项"), default=list, blank=True)
    required = models.BooleanField(_("必答"), default=True)

    class Meta:
        verbose_name = _("问卷题目")
        verbose_name_plural = _("问卷题目")
        ordering = ["order", "id"]

    def __str__(self):
        return self.text


class SurveyResponse(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    citizen = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    browser_key = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("提交时间"), default=timezone.now)

    class Meta:
        verbose_name = _("答卷")
        verbose_name_plural = _("答卷")
        constraints = [
            models.UniqueConstraint(fields=["survey", "citizen"], condition=Q(citizen__isnull=False),
                                    name="participation_one_response_per_citizen"),
            models.UniqueConstraint(fields=["survey", "browser_key"], condition=~Q(browser_key=""),
                                    name="participation_one_response_per_browser"),
        ]


class SurveyAnswer(models.Model):
    """One answer to one question; a multiple choice answer is one row per option chosen."""

    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(SurveyQuestion, on_delete=models.CASCADE, related_name="answers")
    option = models.PositiveSmallIntegerField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["question", "option"])]


class Interview(Owned):
    DRAFT, PUBLISHED = "draft", "published"
    STATES = [(DRAFT, _("草稿")), (PUBLISHED, _("已发布"))]

    intro = models.TextField(_("访谈简介"), blank=True)
    guests = models.JSONField(_("嘉宾"), default=list, blank=True)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    state = models.CharField(_("状态"), max_length=10, choices=STATES, default=DRAFT, db_index=True)
    accept_questions = models.BooleanField(_("接受网友提问"), default=True,
                                           help_text=_("访谈前和访谈中网友可以提问，审核后显示。"))
    transcript = models.TextField(_("文字实录"), blank=True,
                                  help_text=_("访谈结束后公布；每段一行，可写作“嘉宾姓名：发言内容”。"))
    transcript_published_at = models.DateTimeField(_("实录公布时间"), null=True, blank=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("在线访谈")
        verbose_name_plural = _("在线访谈")
        ordering = ["-starts_at", "-id"]

    UPCOMING, LIVE, ENDED = "upcoming", "live", "ended"

    def phase(self, now=None) -> str:
        now = now or timezone.now()
        if now < self.starts_at:
            return self.UPCOMING
        return self.LIVE if now < self.ends_at else self.ENDED

    def phase_label(self, now=None) -> str:
        return str({self.UPCOMING: _("即将开始"), self.LIVE: _("正在直播"),
                    self.ENDED: _("已结束")}[self.phase(now)])

    def accepting(self, now=None) -> bool:
        return (self.state == self.PUBLISHED and self.accept_questions
                and self.phase(now) != self.ENDED)


class InterviewQuestion(models.Model):
    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="questions")
    citizen = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    nickname = models.CharField(_("网名"), max_length=20, blank=True)
    content = models.TextField(_("问题"))
    live = models.BooleanField(_("访谈中提问"), default=False)
    status = models.CharField(_("审核状态"), max_length=10, choices=Moderation.choices,
                              default=Moderation.PENDING, db_index=True)
    moderated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    moderated_at = models.DateTimeField(null=True, blank=True)
    guest = models.CharField(_("回答嘉宾"), max_length=60, blank=True)
    answer = models.TextField(_("回答"), blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    answered_at = models.DateTimeField(_("回答时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("提问时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("访谈提问")
        verbose_name_plural = _("访谈提问")
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.content[:30]


class TranscriptImage(models.Model):
    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(_("图片"), upload_to=transcript_upload)
    caption = models.CharField(_("图片说明"), max_length=100)
    order = models.PositiveSmallIntegerField(_("序号"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("访谈图片")
        verbose_name_plural = _("访谈图片")
        ordering = ["order", "id"]

    def __str__(self):
        return self.caption
