"""The operator's sensitive-word list, import runs, and content fingerprints (near-duplicates).

Words are stored normalised (see `matcher.normalise`: full-width → half-width, lower case, no
spaces or punctuation), so "敏 感 词" and "敏感词" are one entry and match the same text.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    POLITICS = "politics", _("政治")
    DRUGS = "drugs", _("毒品")
    PORN = "porn", _("色情")
    GAMBLING = "gambling", _("赌博")
    ILLEGAL = "illegal", _("违法犯罪")
    ABUSE = "abuse", _("辱骂")
    AD = "ad", _("广告")
    PRIVACY = "privacy", _("隐私")
    OTHER = "other", _("其他")


class Level(models.TextChoices):
    BLOCK = "block", _("禁止")     # never published; the dispatcher sees it flagged first
    REVIEW = "review", _("审核")   # shown to the dispatcher for a look
    ALLOW = "allow", _("放行")     # allow-list: hits inside an allowed term are ignored


class SensitiveWord(models.Model):
    word = models.CharField(_("词语"), max_length=50, unique=True)
    category = models.CharField(_("分类"), max_length=12, choices=Category.choices,
                                default=Category.OTHER)
    level = models.CharField(_("级别"), max_length=8, choices=Level.choices, default=Level.REVIEW,
                             help_text=_("禁止：不得公开；审核：提示分办员查看；放行：白名单，包含在该词中的命中不计。"))
    enabled = models.BooleanField(_("启用"), default=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("敏感词")
        verbose_name_plural = _("敏感词")
        ordering = ["word"]

    def __str__(self):
        return self.word


class ImportRun(models.Model):
    """One import of a word file from the admin, done by a background job (progress shown)."""

    PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
    STATES = [(PENDING, _("等待处理")), (RUNNING, _("导入中")), (DONE, _("已完成")), (FAILED, _("失败"))]

    name = models.CharField(_("文件名"), max_length=200)
    text = models.TextField(editable=False)
    default_category = models.CharField(max_length=12, choices=Category.choices, default=Category.OTHER)
    default_level = models.CharField(max_length=8, choices=Level.choices, default=Level.REVIEW)
    state = models.CharField(_("状态"), max_length=8, choices=STATES, default=PENDING)
    total = models.PositiveIntegerField(_("行数"), default=0)
    done = models.PositiveIntegerField(_("已处理"), default=0)
    added = models.PositiveIntegerField(_("新增"), default=0)
    updated = models.PositiveIntegerField(_("更新"), default=0)
    unchanged = models.PositiveIntegerField(_("未变化"), default=0)
    errors = models.JSONField(_("错误"), default=list, blank=True)  # [[line, message], …] (first 500)
    error_count = models.PositiveIntegerField(_("错误行数"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("敏感词导入")
        verbose_name_plural = _("敏感词导入")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.name


class Fingerprint(models.Model):
    """Fingerprints of a text (a letter …): its 64-bit SimHash, and four MinHash-LSH band keys
    (screening.services.bands): near-identical texts share a band, which the lookup uses."""

    scope = models.CharField(max_length=20)
    ref = models.BigIntegerField()
    simhash = models.BigIntegerField()  # signed 64-bit storage of the unsigned hash
    b0 = models.IntegerField()
    b1 = models.IntegerField()
    b2 = models.IntegerField()
    b3 = models.IntegerField()
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "ref"], name="screening_fp_unique")]
        indexes = [models.Index(fields=["scope", "b0"]), models.Index(fields=["scope", "b1"]),
                   models.Index(fields=["scope", "b2"]), models.Index(fields=["scope", "b3"])]
