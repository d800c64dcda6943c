"""Page ratings (好/差) and error reports (我为政府网站找错). Changes go through
`jiyue.feedback.services` only."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from jiyue.security.fields import EncryptedCharField


class Reason(models.TextChoices):
    OUTDATED = "outdated", _("内容过时")
    INCOMPLETE = "incomplete", _("信息不全")
    UNCLEAR = "unclear", _("看不懂")
    BROKEN_LINK = "broken_link", _("链接错误")
    OTHER = "other", _("其他")


class Rating(models.Model):
    """One visitor's 好/差 for one published page on one day."""

    GOOD, BAD = "good", "bad"
    VALUES = [(GOOD, _("好")), (BAD, _("差"))]

    site = models.ForeignKey("platform.Site", verbose_name=_("站点"), on_delete=models.CASCADE,
                             related_name="+")
    page = models.CharField(_("页面"), max_length=255, help_text=_("站点内的页面路径"))
    column = models.ForeignKey("platform.Column", verbose_name=_("栏目"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    resource = models.ForeignKey("library.Resource", verbose_name=_("信息资源"), null=True,
                                 blank=True, on_delete=models.SET_NULL, related_name="+")
    organisation = models.ForeignKey("platform.Organisation", verbose_name=_("机构"), null=True,
                                     blank=True, on_delete=models.SET_NULL, related_name="+")
    value = models.CharField(_("评价"), max_length=4, choices=VALUES)
    reasons = models.JSONField(_("原因"), default=list, blank=True)
    comment = models.TextField(_("说明"), blank=True)
    day = models.DateField(_("日期"))
    voter = models.CharField(max_length=64, help_text="keyed digest of the browser's cookie")
    address = models.CharField(max_length=64, blank=True, help_text="keyed digest of the address")
    created_at = models.DateTimeField(_("评价时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("页面评价")
        verbose_name_plural = _("页面评价")
        constraints = [models.UniqueConstraint(fields=["site", "page", "day", "voter"],
                                               name="feedback_one_vote_per_day")]
        indexes = [models.Index(fields=["site", "day"]), models.Index(fields=["organisation", "day"]),
                   models.Index(fields=["site", "page", "day", "address"])]

    def __str__(self):
        return f"{self.page} {self.get_value_display()}"

    def reason_labels(self) -> list[str]:
        labels = dict(Reason.choices)
        return [str(labels[r]) for r in self.reasons if r in labels]

    @property
    def reason_text(self) -> str:
        from django.utils.translation import gettext

        return gettext("、").join(self.reason_labels())


class ErrorType(models.TextChoices):
    TYPO = "typo", _("错别字")
    LINK = "link", _("链接错误")
    CONTENT = "content", _("内容错误")
    ACCESS = "access", _("无法访问")
    OTHER = "other", _("其他")


class ReportStatus(models.TextChoices):
    NEW = "new", _("待转办")
    FORWARDED = "forwarded", _("办理中")
    ANSWERED = "answered", _("已答复")


class Outcome(models.TextChoices):
    FIXED = "fixed", _("已纠正")
    NO_ERROR = "no_error", _("经核实无误")
    INVALID = "invalid", _("无效留言，不予处理")


class ErrorReport(models.Model):
    """A report of an error on a page (我为政府网站找错), with its two clocks: forwarded within
    `JIYUE_FEEDBACK_FORWARD_DAYS` and answered within `JIYUE_FEEDBACK_ANSWER_DAYS` working
    days of receipt."""

    code = models.CharField(_("查询码"), max_length=12, unique=True)
    site = models.ForeignKey("platform.Site", verbose_name=_("站点"), on_delete=models.CASCADE,
                             related_name="+")
    page = models.CharField(_("页面"), max_length=500, blank=True)
    resource = models.ForeignKey("library.Resource", verbose_name=_("信息资源"), null=True,
                                 blank=True, on_delete=models.SET_NULL, related_name="+")
    organisation = models.ForeignKey("platform.Organisation", verbose_name=_("办理单位"),
                                     on_delete=models.PROTECT, related_name="+")
    type = models.CharField(_("错误类型"), max_length=10, choices=ErrorType.choices)
    description = models.TextField(_("问题描述"))
    contact = EncryptedCharField(_("联系方式"), max_length=100, blank=True)
    citizen = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("公众用户"), null=True,
                                blank=True, on_delete=models.SET_NULL, related_name="+")
    screenshot = models.CharField(_("截图"), max_length=200, blank=True)
    screenshot_name = models.CharField(max_length=120, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=ReportStatus.choices,
                              default=ReportStatus.NEW)
    received_at = models.DateTimeField(_("收到时间"))
    forward_due = models.DateTimeField(_("转办期限"))
    answer_due = models.DateTimeField(_("答复期限"))
    forwarded_at = models.DateTimeField(_("转办时间"), null=True, blank=True)
    forwarded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    outcome = models.CharField(_("处理结果"), max_length=10, choices=Outcome.choices, blank=True)
    answer = models.TextField(_("答复内容"), blank=True)
    forward_overdue = models.BooleanField(_("转办超期"), default=False)
    answer_overdue = models.BooleanField(_("答复超期"), default=False)
    notified_at = models.DateTimeField(null=True, blank=True)
    steps = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("网站找错")
        verbose_name_plural = _("网站找错")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["organisation", "status"]),
                   models.Index(fields=["status", "answer_due"])]

    def __str__(self):
        return f"{self.code} {self.get_type_display()}"

    @property
    def is_open(self) -> bool:
        return self.status != ReportStatus.ANSWERED
