"""Letters: mailboxes, letters, their handling steps, attachments, extensions, templates and
per-type deadlines. State changes go through `jiyue.letters.services` only."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiyue.security.fields import EncryptedCharField


class LetterType(models.TextChoices):
    CONSULT = "consult", _("咨询")
    SUGGEST = "suggest", _("建议")
    COMPLAIN = "complain", _("投诉")
    REPORT = "report", _("举报")
    HELP = "help", _("求助")


class Channel(models.TextChoices):
    WEB = "web", _("网站")
    API = "api", _("接口")
    HOTLINE = "hotline", _("12345热线")


class Status(models.TextChoices):
    SUBMITTED = "submitted", _("待受理")
    ACCEPTED = "accepted", _("待转办")
    HANDLING = "handling", _("办理中")
    REVIEWING = "reviewing", _("答复待审核")
    REPLIED = "replied", _("已答复")
    CLOSED = "closed", _("已办结")
    REJECTED = "rejected", _("不予受理")


OPEN_STATUSES = (Status.SUBMITTED, Status.ACCEPTED, Status.HANDLING, Status.REVIEWING)


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASIC = "basic", _("基本满意")
    DISSATISFIED = "dissatisfied", _("不满意")


class Mailbox(models.Model):
    """A channel letters are written to: a named leader's mailbox, a department mailbox, or the
    12345 hotline. Letters go to its organisation first."""

    LEADER, DEPARTMENT, HOTLINE = "leader", "department", "hotline"
    KINDS = [(LEADER, _("领导信箱")), (DEPARTMENT, _("部门信箱")), (HOTLINE, _("12345热线"))]

    organisation = models.ForeignKey("platform.Organisation", verbose_name=_("受理单位"),
                                      on_delete=models.PROTECT, related_name="mailboxes")
    site = models.ForeignKey("platform.Site", verbose_name=_("所在站点"), null=True, blank=True,
                             on_delete=models.CASCADE, related_name="mailboxes",
                             help_text=_("信箱出现在哪个网站；留空为不在网站公开（如12345热线）。"))
    kind = models.CharField(_("类型"), max_length=12, choices=KINDS, default=DEPARTMENT)
    name = models.CharField(_("名称"), max_length=60, help_text=_("如：省长信箱、省财政厅厅长信箱。"))
    leader_name = models.CharField(_("领导姓名"), max_length=30, blank=True)
    description = models.TextField(_("说明"), blank=True)
    types = models.JSONField(_("受理类型"), default=list, blank=True,
                             help_text=_("留空为全部类型。"))
    allow_anonymous = models.BooleanField(_("允许匿名"), default=False)
    enabled = models.BooleanField(_("启用"), default=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("信箱")
        verbose_name_plural = _("信箱")
        ordering = ["order", "id"]

    def __str__(self):
        return self.name

    def accepts(self, letter_type: str) -> bool:
        return not self.types or letter_type in self.types


class DeadlineRule(models.Model):
    """Working days to reply per letter type (STANDARDS.md: 5 by default), and when to warn."""

    type = models.CharField(_("信件类型"), max_length=12, choices=LetterType.choices, unique=True)
    reply_days = models.PositiveSmallIntegerField(_("答复时限（工作日）"), default=5)
    warn_days = models.PositiveSmallIntegerField(_("到期前提醒（工作日）"), default=1)

    class Meta:
        verbose_name = _("办理时限")
        verbose_name_plural = _("办理时限")

    def __str__(self):
        return f"{self.get_type_display()} {self.reply_days}"


class Letter(models.Model):
    query_code = models.CharField(_("查询码"), max_length=16, unique=True, editable=False)
    mailbox = models.ForeignKey(Mailbox, verbose_name=_("信箱"), on_delete=models.PROTECT,
                                related_name="letters")
    site = models.ForeignKey("platform.Site", verbose_name=_("来信站点"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    type = models.CharField(_("类型"), max_length=12, choices=LetterType.choices)
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices, default=Channel.WEB)
    title = models.CharField(_("标题"), max_length=200)
    content = models.TextField(_("内容"))
    # the writer: a citizen account, or anonymous where the mailbox allows it
    citizen = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("来信人账号"), null=True,
                                blank=True, on_delete=models.SET_NULL, related_name="letters")
    anonymous = models.BooleanField(_("匿名"), default=False)
    name = EncryptedCharField(_("姓名"), max_length=50, blank=True)
    phone = EncryptedCharField(_("联系电话"), max_length=30, blank=True)
    phone_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    email = EncryptedCharField(_("电子邮箱"), max_length=100, blank=True)
    address = EncryptedCharField(_("联系地址"), max_length=200, blank=True)
    consent_publish = models.BooleanField(_("同意公开"), default=False)
    # a 举报's reported organisation never sees who wrote it
    reported_organisation = models.ForeignKey("platform.Organisation", verbose_name=_("被举报单位"),
                                              null=True, blank=True, on_delete=models.SET_NULL,
                                              related_name="+")
    # who is responsible now (the mailbox's organisation until it is routed)
    organisation = models.ForeignKey("platform.Organisation", verbose_name=_("承办单位"),
                                     on_delete=models.PROTECT, related_name="letters")
    suggested_organisation = models.ForeignKey("platform.Organisation", verbose_name=_("建议承办单位"),
                                               null=True, blank=True, on_delete=models.SET_NULL,
                                               related_name="+")
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.SUBMITTED,
                              db_index=True)
    valid = models.BooleanField(_("有效"), default=True,
                                help_text=_("不予受理（重复、无实质内容等）的来信为无效来信。"))
    reject_reason = models.CharField(_("不予受理理由"), max_length=500, blank=True)
    # the clock (working days on jiyue.workdays)
    received_at = models.DateTimeField(_("来信时间"), default=timezone.now, db_index=True)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    assigned_at = models.DateTimeField(_("转办时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("答复期限"), db_index=True)
    extended_days = models.PositiveSmallIntegerField(_("已延期（工作日）"), default=0)
    warned_at = models.DateTimeField(_("到期提醒时间"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("超期督办时间"), null=True, blank=True)
    # the reply: drafted by a handler, released when a dispatcher approves it
    reply_draft = models.TextField(_("答复草稿"), blank=True)
    reply = models.TextField(_("答复内容"), blank=True)
    reply_organisation = models.ForeignKey("platform.Organisation", verbose_name=_("答复单位"),
                                           null=True, blank=True, on_delete=models.SET_NULL,
                                           related_name="+")
    replied_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("答复人"), null=True,
                                   blank=True, on_delete=models.SET_NULL, related_name="+")
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    # the citizen's rating of the reply
    rating = models.CharField(_("评价"), max_length=12, choices=Rating.choices, blank=True)
    rating_comment = models.CharField(_("评价意见"), max_length=500, blank=True)
    rated_at = models.DateTimeField(_("评价时间"), null=True, blank=True)
    reopened_count = models.PositiveSmallIntegerField(_("重办次数"), default=0)
    # publication (公开) as a library resource
    published = models.BooleanField(_("已公开"), default=False)
    published_resource_id = models.PositiveBigIntegerField(_("公开信息资源"), null=True, blank=True)
    published_at = models.DateTimeField(_("公开时间"), null=True, blank=True)
    # screening (in the background after submission)
    screened_at = models.DateTimeField(_("筛查时间"), null=True, blank=True)
    sensitive_words = models.JSONField(_("敏感词"), default=list, blank=True)
    duplicate_of = models.ForeignKey("self", verbose_name=_("疑似重复"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    # a 12345 work order number (idempotency of the exchange), unique when set
    external_ref = models.CharField(_("外部编号"), max_length=64, null=True, blank=True, unique=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("信件")
        verbose_name_plural = _("信件")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["organisation", "status", "due_at"]),
                   models.Index(fields=["status", "due_at"])]

    def __str__(self):
        return f"{self.serial} {self.title[:30]}"

    @property
    def serial(self) -> str:
        """The letter's number as shown to staff and citizens (来信编号)."""
        return f"X{timezone.localtime(self.received_at):%Y%m%d}{self.pk or 0:07d}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    HANDLED_BY = "handled_by"  # key in `data` (services.hand_over)

    @property
    def handled_by(self) -> dict | None:
        """{"name", "ref", "since"} when the letter was handed over to another platform that
        handles it (对方办理, services.hand_over); staff here then do not act on it."""
        value = (self.data or {}).get(self.HANDLED_BY)
        return value if isinstance(value, dict) else None

    @property
    def reply_unit(self) -> str:
        """回复单位 as shown: the answering organisation, or the other platform's unit for a
        reply released there (services.release_reply)."""
        if self.reply_organisation_id:
            return self.reply_organisation.name
        return str((self.data or {}).get("reply_unit") or "") if self.reply else ""


class LetterStep(models.Model):
    """One step of a letter's handling (办理过程): who did what, when; `public` steps are shown
    to the writer on the query page."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="steps")
    action = models.CharField(_("环节"), max_length=20)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("办理人"), null=True,
                              blank=True, on_delete=models.SET_NULL, related_name="+")
    organisation = models.ForeignKey("platform.Organisation", verbose_name=_("单位"), null=True,
                                     blank=True, on_delete=models.SET_NULL, related_name="+")
    to_organisation = models.ForeignKey("platform.Organisation", verbose_name=_("转至单位"), null=True,
                                        blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(_("说明"), blank=True)
    public = models.BooleanField(_("对来信人可见"), default=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("办理过程")
        verbose_name_plural = _("办理过程")
        ordering = ["at", "id"]


def _private_storage():
    from .storage import private_storage

    return private_storage()


class LetterAttachment(models.Model):
    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("文件"), storage=_private_storage, upload_to="letters/%Y/%m/")
    name = models.CharField(_("文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小"), default=0)
    sm3 = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")


class ExtensionRequest(models.Model):
    PENDING, APPROVED, REFUSED = "pending", "approved", "refused"
    STATES = [(PENDING, _("待审批")), (APPROVED, _("已批准")), (REFUSED, _("未批准"))]

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="extensions")
    days = models.PositiveSmallIntegerField(_("延期（工作日）"))
    reason = models.TextField(_("延期理由"))
    state = models.CharField(_("状态"), max_length=10, choices=STATES, default=PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                     related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("审批意见"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")


class ReplyTemplate(models.Model):
    organisation = models.ForeignKey("platform.Organisation", verbose_name=_("单位"), null=True,
                                     blank=True, on_delete=models.CASCADE, related_name="+",
                                     help_text=_("留空为全平台通用。"))
    title = models.CharField(_("名称"), max_length=60)
    body = models.TextField(_("内容"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("答复模板")
        verbose_name_plural = _("答复模板")
        ordering = ["title"]

    def __str__(self):
        return self.title


# --- publication (公开) as a library resource (jiyue.letters.publishing) ----------------------

from wagtail.admin.panels import FieldPanel  # noqa: E402

from jiyue.library.models import Resource, resource_panels  # noqa: E402


class LetterRecord(Resource):
    """A replied letter published with its reply (kind "letter"), personal data masked. Made by
    `jiyue.letters.publishing.publish_letter`; shown by the theme's `detail/letter.html`."""

    letter_type = models.CharField(_("来信类型"), max_length=12, choices=LetterType.choices)
    received_on = models.DateTimeField(_("来信时间"))
    letter_content = models.TextField(_("来信内容"))
    reply_content = models.TextField(_("答复内容"))
    reply_organisation_name = models.CharField(_("答复单位"), max_length=100)
    replied_on = models.DateTimeField(_("答复时间"))
    letter_id = models.PositiveBigIntegerField(_("来信"), null=True, blank=True, editable=False,
                                               db_index=True)

    kind_code = "letter"
    edit_handler = resource_panels([FieldPanel("letter_type"), FieldPanel("received_on"),
                                    FieldPanel("letter_content"), FieldPanel("reply_content"),
                                    FieldPanel("reply_organisation_name"), FieldPanel("replied_on")])

    class Meta:
        verbose_name = _("公开信件")
        verbose_name_plural = _("公开信件")

    @property
    def received_text(self) -> str:
        return f"{timezone.localtime(self.received_on):%Y-%m-%d %H:%M}" if self.received_on else ""

    @property
    def replied_text(self) -> str:
        return f"{timezone.localtime(self.replied_on):%Y-%m-%d %H:%M}" if self.replied_on else ""
