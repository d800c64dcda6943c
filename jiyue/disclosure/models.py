"""依申请公开: applications for government information, their handling steps and extensions.

State changes go through `jiyue.disclosure.services` only (the clock is derived from the
steps there). Personal data of the applicant is encrypted at rest (jiyue.security.fields).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiyue.security.fields import EncryptedCharField


class ApplicantKind(models.TextChoices):
    PERSON = "person", _("公民")
    ORGANISATION = "organisation", _("法人或其他组织")


class ApplicantCategory(models.TextChoices):
    """The columns of the annual table (国办公开办函〔2021〕30号): 自然人, then 法人或其他组织 by kind."""
    PERSON = "person", _("自然人")
    BUSINESS = "business", _("商业企业")
    RESEARCH = "research", _("科研机构")
    WELFARE = "welfare", _("社会公益组织")
    LEGAL = "legal", _("法律服务机构")
    OTHER = "other", _("其他")


ORGANISATION_CATEGORIES = [c for c in ApplicantCategory if c != ApplicantCategory.PERSON]


class IdType(models.TextChoices):
    ID_CARD = "id_card", _("居民身份证")
    OTHER = "other", _("其他有效证件")


class Delivery(models.TextChoices):
    """获取信息的方式."""
    POST = "post", _("纸质（邮寄）")
    PICKUP = "pickup", _("纸质（自行领取）")
    EMAIL = "email", _("电子邮件")
    ONLINE = "online", _("网上获取")


class Channel(models.TextChoices):
    WEB = "web", _("网上申请")
    LETTER = "letter", _("信函申请")
    IN_PERSON = "in_person", _("当面申请")


class Status(models.TextChoices):
    SUBMITTED = "submitted", _("待受理")
    HANDLING = "handling", _("办理中")
    CORRECTION = "correction", _("待补正")
    CONSULTING = "consulting", _("征求第三方意见中")
    REPLIED = "replied", _("已答复")
    CLOSED = "closed", _("已办结")


OPEN_STATUSES = (Status.SUBMITTED, Status.HANDLING, Status.CORRECTION, Status.CONSULTING)


class Result(models.TextChoices):
    """办理结果: the rows of the annual table's section 三 (国办公开办函〔2021〕30号)."""
    OPEN = "open", _("予以公开")
    PARTIAL = "partial", _("部分公开")
    DENY_SECRET = "deny_secret", _("不予公开：属于国家秘密")
    DENY_LAW = "deny_law", _("不予公开：其他法律行政法规禁止公开")
    DENY_SECURITY = "deny_security", _("不予公开：危及“三安全一稳定”")
    DENY_THIRD_PARTY = "deny_third_party", _("不予公开：保护第三方合法权益")
    DENY_INTERNAL = "deny_internal", _("不予公开：属于三类内部事务信息")
    DENY_PROCESS = "deny_process", _("不予公开：属于四类过程性信息")
    DENY_ENFORCEMENT = "deny_enforcement", _("不予公开：属于行政执法案卷")
    DENY_QUERY = "deny_query", _("不予公开：属于行政查询事项")
    NONE_NOT_HELD = "none_not_held", _("无法提供：本机关不掌握相关政府信息")
    NONE_CREATE = "none_create", _("无法提供：没有现成信息需要另行制作")
    NONE_UNCLEAR = "none_unclear", _("无法提供：补正后申请内容仍不明确")
    REFUSE_PETITION = "refuse_petition", _("不予处理：信访举报投诉类申请")
    REFUSE_REPEAT = "refuse_repeat", _("不予处理：重复申请")
    REFUSE_PUBLICATION = "refuse_publication", _("不予处理：要求提供公开出版物")
    REFUSE_MASS = "refuse_mass", _("不予处理：无正当理由大量反复申请")
    REFUSE_CONFIRM = "refuse_confirm", _("不予处理：要求行政机关确认或重新出具已获取信息")
    OTHER_NO_CORRECTION = "other_no_correction", _("其他处理：申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请")
    OTHER_NO_FEE = "other_no_fee", _("其他处理：申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请")
    OTHER = "other", _("其他处理：其他")


class Application(models.Model):
    query_code = models.CharField(_("查询码"), max_length=16, unique=True, editable=False)
    organisation = models.ForeignKey("platform.Organisation", verbose_name=_("申请机关"),
                                     on_delete=models.PROTECT, related_name="disclosure_applications")
    site = models.ForeignKey("platform.Site", verbose_name=_("申请网站"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(_("申请方式"), max_length=10, choices=Channel.choices, default=Channel.WEB)
    citizen = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("申请人账号"), null=True,
                                blank=True, on_delete=models.SET_NULL, related_name="disclosure_applications")
    # the applicant (personal data encrypted)
    applicant_kind = models.CharField(_("申请人类型"), max_length=12, choices=ApplicantKind.choices)
    category = models.CharField(_("申请人类别"), max_length=10, choices=ApplicantCategory.choices,
                                db_index=True)
    name = EncryptedCharField(_("姓名或名称"), max_length=100)
    id_type = models.CharField(_("证件类型"), max_length=10, choices=IdType.choices, blank=True)
    id_number = EncryptedCharField(_("证件号码或统一社会信用代码"), max_length=30)
    legal_representative = EncryptedCharField(_("法定代表人"), max_length=50, blank=True)
    contact_name = EncryptedCharField(_("联系人"), max_length=50, blank=True)
    phone = EncryptedCharField(_("联系电话"), max_length=30)
    email = EncryptedCharField(_("电子邮箱"), max_length=100, blank=True)
    address = EncryptedCharField(_("通信地址"), max_length=200, blank=True)
    postcode = models.CharField(_("邮政编码"), max_length=6, blank=True)
    # what is asked for
    description = models.TextField(_("所需信息的内容描述"))
    purpose = models.TextField(_("所需信息的用途"), blank=True)
    delivery = models.CharField(_("获取信息的方式"), max_length=10, choices=Delivery.choices)
    # the clock (working days on jiyue.workdays; see services.clock)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.SUBMITTED,
                              db_index=True)
    received_at = models.DateTimeField(_("收到申请时间"), default=timezone.now, db_index=True)
    clock_start = models.DateField(_("计时起算日"),
                                   help_text=_("收到申请之日；补正的，为收到补正申请之日。"))
    due_at = models.DateTimeField(_("答复期限"), null=True, blank=True, db_index=True,
                                  help_text=_("待补正期间为空（期限停止计算）。"))
    extended_days = models.PositiveSmallIntegerField(_("延长期限（工作日）"), default=0)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    correction_requested_at = models.DateTimeField(_("补正告知时间"), null=True, blank=True)
    correction_received_at = models.DateTimeField(_("收到补正时间"), null=True, blank=True)
    # the reply: drafted by a handler, issued by a dispatcher
    result_draft = models.CharField(_("拟办理结果"), max_length=24, choices=Result.choices, blank=True)
    reply_draft = models.TextField(_("答复草稿"), blank=True)
    result = models.CharField(_("办理结果"), max_length=24, choices=Result.choices, blank=True,
                              db_index=True)
    reply = models.TextField(_("答复内容"), blank=True)
    replied_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("答复人"), null=True,
                                   blank=True, on_delete=models.SET_NULL, related_name="+")
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True, db_index=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("政府信息公开申请")
        verbose_name_plural = _("政府信息公开申请")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["organisation", "status", "due_at"])]

    def __str__(self):
        return self.serial

    @property
    def serial(self) -> str:
        """The application's number as shown to staff and applicants (申请编号)."""
        return f"YS{timezone.localtime(self.received_at):%Y%m%d}{self.pk or 0:06d}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class Step(models.Model):
    """One step of the handling (办理过程). `public` steps are shown to the applicant; the
    pauses of the clock (征求第三方意见) are read from `consult_start`/`consult_end` steps."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="steps")
    action = models.CharField(_("环节"), max_length=24)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("办理人"), null=True,
                              blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(_("说明"), blank=True)
    public = models.BooleanField(_("申请人可见"), default=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("办理过程")
        verbose_name_plural = _("办理过程")
        ordering = ["at", "id"]


class Extension(models.Model):
    """A request to extend the answer period (at most 20 working days, once, with approval)."""

    PENDING, APPROVED, REFUSED = "pending", "approved", "refused"
    STATES = [(PENDING, _("待审批")), (APPROVED, _("已批准")), (REFUSED, _("未批准"))]

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="extensions")
    days = models.PositiveSmallIntegerField(_("延长（工作日）"))
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
        ordering = ["requested_at", "id"]
