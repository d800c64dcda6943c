"""Staff accounts and their role grants."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiyue.security.fields import EncryptedCharField, EncryptedTextField, blind_index


def normalise_mobile(value: str) -> str:
    """Digits only, without the +86 / 0086 country prefix."""
    digits = "".join(ch for ch in (value or "") if ch.isdigit())
    for prefix in ("0086", "86"):
        if len(digits) == 11 + len(prefix) and digits.startswith(prefix):
            digits = digits[len(prefix):]
    return digits


class User(AbstractUser):
    organisation = models.ForeignKey("platform.Organisation", verbose_name=_("所属机构"),
                                     null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="staff")
    real_name = models.CharField(_("姓名"), max_length=40, blank=True)
    is_demo = models.BooleanField(_("演示账号"), default=False)

    KIND_STAFF = "staff"
    KIND_CITIZEN = "citizen"
    KINDS = [(KIND_STAFF, _("工作人员")), (KIND_CITIZEN, _("公众用户"))]
    kind = models.CharField(_("账号类型"), max_length=10, choices=KINDS, default=KIND_STAFF,
                            db_index=True)
    REAL_NAME_NONE = "none"
    REAL_NAME_VERIFIED = "verified"
    REAL_NAME_LEVELS = [(REAL_NAME_NONE, _("未实名")), (REAL_NAME_VERIFIED, _("实名"))]
    real_name_level = models.CharField(_("实名等级"), max_length=10, choices=REAL_NAME_LEVELS,
                                       default=REAL_NAME_NONE)
    # Personal data, encrypted at rest with SM4; the mobile number is looked up by its blind index.
    mobile = EncryptedCharField(_("手机号码"), max_length=20, blank=True, default="")
    mobile_index = models.CharField(max_length=64, blank=True, default="", editable=False,
                                    db_index=True)
    id_number = EncryptedCharField(_("证件号码"), max_length=18, blank=True, default="")
    address = EncryptedTextField(_("联系地址"), blank=True, default="")
    email_verified = models.BooleanField(_("邮箱已验证"), default=False)
    mobile_verified = models.BooleanField(_("手机已验证"), default=False)
    password_changed_at = models.DateTimeField(_("密码修改时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        constraints = [
            models.UniqueConstraint("mobile_index", condition=~Q(mobile_index=""),
                                    name="user_mobile_unique"),
            models.UniqueConstraint(Lower("email"), condition=Q(kind="citizen") & ~Q(email=""),
                                    name="citizen_email_unique"),
        ]

    def save(self, *args, **kwargs):
        self.mobile_index = blind_index("mobile", normalise_mobile(self.mobile))
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "mobile" in update_fields:
            kwargs["update_fields"] = update_fields = {*update_fields, "mobile_index"}
        # A new password (set_password, not a rehash on login) starts its age and history.
        existed = self.pk is not None and not self._state.adding
        # (create_user assigns the hash directly: a new account's password is new too.)
        password_changed = self._password is not None or (
            not existed and bool(self.password) and self.has_usable_password())
        if password_changed:
            self.password_changed_at = timezone.now()
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "password_changed_at"}
        super().save(*args, **kwargs)
        if password_changed:
            PasswordHistory.remember(self)
            if existed:
                from jiyue import audit
                from jiyue.audit.context import current_request

                request = current_request.get()
                actor = getattr(request, "user", None) if request is not None else None
                audit.record(actor if getattr(actor, "is_authenticated", False) else None,
                             self.organisation, None, "user.password_change", self,
                             username=self.username,
                             by_self=bool(actor is not None and getattr(actor, "pk", None) == self.pk))

    @property
    def is_citizen(self) -> bool:
        return self.kind == self.KIND_CITIZEN

    def get_full_name(self):
        return self.real_name or self.username

    def get_short_name(self):
        return self.real_name or self.username

    def __str__(self):
        if self.real_name:
            return _("%(name)s（%(username)s）") % {"name": self.real_name, "username": self.username}
        return self.username


class Role(models.TextChoices):
    PLATFORM_OPERATOR = "platform_operator", _("平台运营管理员")
    SYSTEM_ADMIN = "system_admin", _("系统管理员")
    SECURITY_ADMIN = "security_admin", _("安全管理员")
    AUDIT_ADMIN = "audit_admin", _("审计管理员")
    SITE_ADMIN = "site_admin", _("站点管理员")
    EDITOR = "editor", _("编辑")
    REVIEWER = "reviewer", _("审核员")
    PUBLISHER = "publisher", _("发布员")
    # Interaction (letters, 找错, 依申请公开, 意见征集 …) in the site's organisation: the
    # dispatcher accepts, routes, reviews replies and approves extensions; the handler replies.
    DISPATCHER = "dispatcher", _("互动分办员")
    HANDLER = "handler", _("互动办理员")


PLATFORM_ROLES = {Role.PLATFORM_OPERATOR, Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN}
THREE_ADMINS = {Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN}
SITE_ROLES = {Role.SITE_ADMIN, Role.EDITOR, Role.REVIEWER, Role.PUBLISHER, Role.DISPATCHER,
              Role.HANDLER}
INTERACTION_ROLES = {Role.DISPATCHER, Role.HANDLER}
ADMINISTRATIVE_ROLES = PLATFORM_ROLES | {Role.SITE_ADMIN}
EDITORIAL_ROLES = {Role.EDITOR, Role.REVIEWER, Role.PUBLISHER}


class RoleGrant(models.Model):
    """A role held by a user: platform-wide, on a site, or on a column subtree of a site."""

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE,
                             related_name="grants")
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    site = models.ForeignKey("platform.Site", verbose_name=_("站点"), null=True, blank=True,
                             on_delete=models.CASCADE, related_name="grants")
    column = models.ForeignKey("platform.Column", verbose_name=_("栏目（含下级）"), null=True,
                               blank=True, on_delete=models.CASCADE, related_name="grants")
    level = models.PositiveSmallIntegerField(_("审核级别"), null=True, blank=True)
    group = models.OneToOneField("auth.Group", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="role_grant", editable=False)
    granted_by = models.ForeignKey(User, verbose_name=_("授权人"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("授权时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("角色授权")
        verbose_name_plural = _("角色授权")
        constraints = [
            models.UniqueConstraint("user", "role", Coalesce("site", 0), Coalesce("column", 0),
                                    Coalesce("level", 0), name="grant_unique"),
        ]

    def __str__(self):
        where = self.column or self.site or _("全平台")
        lvl = f" L{self.level}" if self.level else ""
        return f"{self.user} · {self.get_role_display()}{lvl} · {where}"

    def clean(self):
        errors = {}
        if self.role in PLATFORM_ROLES:
            if self.site_id or self.column_id:
                errors["site"] = _("平台级角色不能限定站点或栏目。")
        elif not self.site_id:
            errors["site"] = _("站点级角色必须指定站点。")
        if self.role == Role.REVIEWER and not self.level:
            errors["level"] = _("审核员必须指定审核级别。")
        if self.role != Role.REVIEWER and self.level:
            errors["level"] = _("只有审核员有审核级别。")
        if self.column_id and self.role not in (Role.EDITOR, Role.REVIEWER):
            errors["column"] = _("只有编辑和审核员可以限定到栏目。")
        if self.column_id and self.site_id:
            from jiyue.platform.services import site_of_page

            if site_of_page(self.column) != self.site:
                errors["column"] = _("栏目不属于所选站点。")
        if self.user_id:
            others = RoleGrant.objects.filter(user_id=self.user_id).exclude(pk=self.pk)
            if self.role in THREE_ADMINS:
                if others.filter(role__in=THREE_ADMINS).exclude(role=self.role).exists():
                    errors["role"] = _("系统管理员、安全管理员、审计管理员必须由不同账号担任（三员分立）。")
                elif others.exclude(role=self.role).exists():
                    errors["role"] = _("三员账号专用：担任系统管理员、安全管理员或审计管理员的账号"
                                       "不能再担任其他角色。")
            elif others.filter(role__in=THREE_ADMINS).exists():
                errors["role"] = _("三员账号专用：担任系统管理员、安全管理员或审计管理员的账号"
                                   "不能再担任其他角色。")
        if errors:
            raise ValidationError(errors)


class PasswordHistory(models.Model):
    """Hashes of an account's recent passwords (JIYUE_PASSWORD_HISTORY): none may be reused."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("历史密码")
        verbose_name_plural = _("历史密码")
        ordering = ["-created_at", "-id"]

    @classmethod
    def keep(cls) -> int:
        from django.conf import settings

        return max(int(getattr(settings, "JIYUE_PASSWORD_HISTORY", 5) or 0), 0)

    @classmethod
    def remember(cls, user) -> None:
        keep = cls.keep()
        if not keep or not user.has_usable_password():
            return
        cls.objects.create(user=user, password=user.password)
        old = list(cls.objects.filter(user=user).values_list("pk", flat=True)[keep:])
        if old:
            cls.objects.filter(pk__in=old).delete()

    @classmethod
    def recent(cls, user) -> list[str]:
        return list(cls.objects.filter(user=user).values_list("password", flat=True)[:cls.keep()])
