"""One-time verification codes and the records behind single sign-on.

Nothing secret is stored in clear: codes and tickets are kept as HMAC-SM3 digests under the key
ring's index key, recipients (e-mail addresses, mobile numbers) as blind indexes.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class VerificationCode(models.Model):
    """A 6-digit code sent to an e-mail address or a mobile number for one purpose."""

    PURPOSE_REGISTER = "register"
    PURPOSE_RESET = "reset"
    PURPOSE_CHANGE_EMAIL = "change_email"
    PURPOSE_CHANGE_MOBILE = "change_mobile"
    PURPOSES = [(PURPOSE_REGISTER, _("注册")), (PURPOSE_RESET, _("找回密码")),
                (PURPOSE_CHANGE_EMAIL, _("更换邮箱")), (PURPOSE_CHANGE_MOBILE, _("更换手机号"))]
    CHANNEL_EMAIL = "email"
    CHANNEL_SMS = "sms"
    CHANNELS = [(CHANNEL_EMAIL, _("电子邮件")), (CHANNEL_SMS, _("短信"))]

    purpose = models.CharField(_("用途"), max_length=20, choices=PURPOSES)
    channel = models.CharField(_("渠道"), max_length=10, choices=CHANNELS)
    recipient_index = models.CharField(max_length=64, db_index=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.CASCADE, related_name="+")
    salt = models.CharField(max_length=32, editable=False)
    code_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("发送时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("过期时间"))
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("验证码")
        verbose_name_plural = _("验证码")
        indexes = [models.Index(fields=["purpose", "channel", "recipient_index", "-id"])]


class SsoSession(models.Model):
    """A login on the identity host and every site session created from it (single logout)."""

    sid = models.CharField(max_length=64, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="sso_sessions")
    central_key = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(_("登录时间"), auto_now_add=True)
    ended_at = models.DateTimeField(_("退出时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("统一登录会话")
        verbose_name_plural = _("统一登录会话")


class SsoSiteSession(models.Model):
    """A session on a site host, opened by redeeming a ticket of an SsoSession."""

    sso = models.ForeignKey(SsoSession, on_delete=models.CASCADE, related_name="site_sessions")
    site = models.ForeignKey("platform.Site", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    host = models.CharField(max_length=260)
    session_key = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("站点会话")
        verbose_name_plural = _("站点会话")


class SsoTicket(models.Model):
    """A one-time ticket (random, stored hashed, 60 s, single use) for one site host."""

    ticket_hash = models.CharField(max_length=64, unique=True, editable=False)
    sso = models.ForeignKey(SsoSession, on_delete=models.CASCADE, related_name="tickets")
    site = models.ForeignKey("platform.Site", on_delete=models.CASCADE, related_name="+")
    host = models.CharField(max_length=260)
    next = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("登录票据")
        verbose_name_plural = _("登录票据")
