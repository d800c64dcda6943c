"""What jiyue keeps beside django-oauth-toolkit's own tables."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext_lazy as _
from oauth2_provider.settings import oauth2_settings


class LinkedSystem(models.Model):
    """A linked system (对接系统): jiyue's facts about one registered client (a DOT
    Application: name, client id, hashed secret, redirect URIs, client type, skip consent)."""

    KIND_GOV_SERVICE = "gov_service"
    KIND_HOTLINE = "hotline"
    KIND_CITY = "city"
    KIND_OTHER = "other"
    KINDS = [(KIND_GOV_SERVICE, _("政务服务平台")), (KIND_HOTLINE, _("12345 热线")),
             (KIND_CITY, _("市级平台")), (KIND_OTHER, _("其他系统"))]

    application = models.OneToOneField(oauth2_settings.APPLICATION_MODEL, primary_key=True,
                                       on_delete=models.CASCADE, related_name="linked_system",
                                       verbose_name=_("客户端"))
    kind = models.CharField(_("系统类型"), max_length=20, choices=KINDS, default=KIND_OTHER)
    description = models.TextField(_("说明"), blank=True, default="")
    contact = models.CharField(_("对接联系人"), max_length=100, blank=True, default="")
    enabled = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True,
                                   blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("对接系统")
        verbose_name_plural = _("对接系统")

    def __str__(self):
        return self.application.name or self.application.client_id


class Subject(models.Model):
    """The `sub` claim of a person: random, stable, and not the database id."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE,
                                related_name="oidc_subject")
    sub = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("身份标识")
        verbose_name_plural = _("身份标识")

    @classmethod
    def for_user(cls, user) -> str:
        row = cls.objects.filter(user_id=user.pk).values_list("sub", flat=True).first()
        if row:
            return row
        try:
            with transaction.atomic():
                return cls.objects.create(user_id=user.pk, sub=secrets.token_hex(16)).sub
        except IntegrityError:  # created by a concurrent request
            return cls.objects.get(user_id=user.pk).sub


class UsedCode(models.Model):
    """An authorization code already exchanged, by its SHA-256 digest, with the tokens issued
    from it: a second use is refused and revokes those tokens (RFC 6749 section 4.1.2)."""

    digest = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE,
                                    related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE,
                             related_name="+")
    token_family = models.UUIDField(null=True)
    access_token_id = models.BigIntegerField(null=True)
    used_at = models.DateTimeField(auto_now_add=True, db_index=True)


class UpstreamIdentity(models.Model):
    """A person of the upstream provincial identity provider, linked to a local account."""

    issuer = models.CharField(_("身份提供方"), max_length=255)
    sub = models.CharField(_("提供方标识"), max_length=255)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("本平台账号"),
                             on_delete=models.CASCADE, related_name="upstream_identities")
    created_at = models.DateTimeField(_("关联时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("上级身份关联")
        verbose_name_plural = _("上级身份关联")
        constraints = [models.UniqueConstraint("issuer", "sub", name="upstream_identity_unique")]
