"""The 12345 exchange: peers (the other side's address and shared key), work orders (a 12345
work-order number bound to a letter), the message log (every message sent or received, with
its delivery state) and the nonce store (replay protection).

Letters themselves live in jiyue.letters and change only through jiyue.letters.services.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiyue.security.fields import EncryptedCharField, EncryptedTextField


class Peer(models.Model):
    """A 12345 platform jiyue exchanges work orders with."""

    code = models.SlugField(_("对方标识"), max_length=40, unique=True,
                            help_text=_("对方在请求头 X-Jiyue-Peer 中使用的标识，如 ah12345。"))
    name = models.CharField(_("名称"), max_length=100, help_text=_("如：安徽省12345政务服务便民热线。"))
    organisation = models.ForeignKey("platform.Organisation", verbose_name=_("受理单位"),
                                     on_delete=models.PROTECT, related_name="+",
                                     help_text=_("接收12345工单的本平台机构；工单先进入该机构的12345热线信箱。"))
    mailbox = models.ForeignKey("letters.Mailbox", verbose_name=_("12345热线信箱"), null=True,
                                blank=True, on_delete=models.SET_NULL, related_name="+",
                                help_text=_("留空则在收到第一张工单时自动创建。"))
    url = models.URLField(_("对方接收地址"), max_length=300, blank=True,
                          help_text=_("本平台向对方推送消息的地址（HTTPS），如 https://12345.example.gov.cn/jiyue/messages。"))
    our_code = models.SlugField(_("本平台标识"), max_length=40, blank=True,
                                help_text=_("本平台推送时在 X-Jiyue-Peer 中使用的标识；留空为平台代码。"))
    key = EncryptedCharField(_("共享密钥"), max_length=200, blank=True)
    key_rotated_at = models.DateTimeField(_("密钥生成时间"), null=True, blank=True)
    enabled = models.BooleanField(_("启用"), default=True)
    push_letters = models.BooleanField(_("推送本平台来信"), default=False,
                                       help_text=_("把网站、接口渠道的来信作为工单推送给12345平台。"))
    RECORD, HANDLE = "record", "handle"
    PUSH_MODES = [(RECORD, _("仅报备")), (HANDLE, _("对方办理"))]
    push_mode = models.CharField(
        _("推送来信的办理方式"), max_length=8, choices=PUSH_MODES, default=RECORD,
        help_text=_("仅报备：来信由本平台办理，向对方通报进展和答复。对方办理：来信由对方受理、办理和答复，"
                    "本平台标为“由对方办理”，工作人员不再办理；对方的受理、转办、退回、答复和办结同步到来信，"
                    "答复无需本平台审核即向来信人公布。只影响此后推送的来信。"))
    push_types = models.JSONField(_("推送的来信类型"), default=list, blank=True,
                                  help_text=_("留空为全部类型。"))
    push_mailboxes = models.ManyToManyField("letters.Mailbox", verbose_name=_("推送的信箱"), blank=True,
                                            related_name="+", help_text=_("留空为全部信箱。"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("12345对接配置")
        verbose_name_plural = _("12345对接配置")
        ordering = ["code"]

    def __str__(self):
        return self.name


class WorkOrder(models.Model):
    """A 12345 work order bound to a letter: received from the peer (inbound) or created from
    one of our letters and pushed to it (outbound)."""

    INBOUND, OUTBOUND = "in", "out"
    DIRECTIONS = [(INBOUND, _("12345转来")), (OUTBOUND, _("本平台推送"))]

    peer = models.ForeignKey(Peer, verbose_name=_("对接平台"), on_delete=models.PROTECT,
                             related_name="orders")
    order_no = models.CharField(_("工单编号"), max_length=64, unique=True)
    letter = models.OneToOneField("letters.Letter", verbose_name=_("信件"), on_delete=models.CASCADE,
                                  related_name="hotline_order")
    direction = models.CharField(_("来源"), max_length=3, choices=DIRECTIONS)
    handled_by_peer = models.BooleanField(
        _("对方办理"), default=False,
        help_text=_("本平台推送、由对方办理的工单：对方的状态变更和答复驱动本平台的来信。"))
    peer_status = models.CharField(_("12345状态"), max_length=12, blank=True)
    unit_name = models.CharField(_("承办单位"), max_length=100, blank=True)
    unit_code = models.CharField(_("承办单位代码"), max_length=40, blank=True)
    due_at = models.DateTimeField(_("12345办理时限"), null=True, blank=True)
    satisfaction = models.CharField(_("回访满意度"), max_length=12, blank=True)
    satisfaction_note = models.CharField(_("回访意见"), max_length=500, blank=True)
    visited_at = models.DateTimeField(_("回访时间"), null=True, blank=True)
    steps = models.JSONField(_("12345办理过程"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("12345工单")
        verbose_name_plural = _("12345工单")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.order_no


class Message(models.Model):
    """One message of the exchange, either way. Outbound ones are delivered by the sender job
    with retries (exponential back-off); the body is kept encrypted (it carries the caller's
    name and phone number)."""

    OUT, IN = "out", "in"
    DIRECTIONS = [(OUT, _("发送")), (IN, _("接收"))]
    PENDING, SENT, FAILED, APPLIED, REFUSED = "pending", "sent", "failed", "applied", "refused"
    STATES = [(PENDING, _("待发送")), (SENT, _("已送达")), (FAILED, _("发送失败")),
              (APPLIED, _("已处理")), (REFUSED, _("已拒绝"))]

    peer = models.ForeignKey(Peer, verbose_name=_("对接平台"), on_delete=models.PROTECT,
                             related_name="messages")
    direction = models.CharField(_("方向"), max_length=3, choices=DIRECTIONS)
    message_id = models.CharField(_("消息编号"), max_length=64)
    kind = models.CharField(_("消息类型"), max_length=20)
    order_no = models.CharField(_("工单编号"), max_length=64, db_index=True)
    letter = models.ForeignKey("letters.Letter", verbose_name=_("信件"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    event_id = models.BigIntegerField(_("来源事件"), null=True, blank=True)
    body = EncryptedTextField(_("消息内容"), blank=True)
    body_sm3 = models.CharField(max_length=64, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=STATES, db_index=True)
    attempts = models.PositiveIntegerField(_("发送次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次发送时间"), null=True, blank=True, db_index=True)
    last_error = models.CharField(_("最近错误"), max_length=500, blank=True)
    response_status = models.PositiveSmallIntegerField(_("对方应答码"), null=True, blank=True)
    result = models.CharField(_("处理结果"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("12345交换记录")
        verbose_name_plural = _("12345交换记录")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["peer", "direction", "message_id"],
                                    name="hotline_message_unique_id"),
            models.UniqueConstraint(fields=["peer", "event_id", "kind"],
                                    name="hotline_message_unique_event"),
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self):
        return f"{self.kind} {self.order_no}"


class Nonce(models.Model):
    """A nonce seen from a peer within the timestamp window: the same one again is a replay."""

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["peer", "nonce"], name="hotline_nonce_unique")]


class AppliedEvent(models.Model):
    """An outbox event caused by applying a message from the peer: it is not sent back (no
    echo)."""

    event_id = models.BigIntegerField(unique=True)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
