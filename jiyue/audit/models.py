from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionDenied(_("审计记录不可修改。"))

    def delete(self):
        raise PermissionDenied(_("审计记录不可删除。"))


class AuditEntry(models.Model):
    """One staff (or system) action. Append-only: rows are never changed or deleted."""

    OUTCOME_SUCCESS = "success"
    OUTCOME_FAILURE = "failure"
    OUTCOME_DENIED = "denied"
    OUTCOMES = [(OUTCOME_SUCCESS, _("成功")), (OUTCOME_FAILURE, _("失败")), (OUTCOME_DENIED, _("拒绝"))]

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("用户"), null=True,
                              blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(_("用户名"), max_length=150, blank=True)
    organisation = models.ForeignKey("platform.Organisation", verbose_name=_("机构"), null=True,
                                     blank=True, on_delete=models.SET_NULL, related_name="+")
    source_address = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    action = models.CharField(_("事件类型"), max_length=100, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=100, blank=True)
    object_id = models.CharField(_("对象标识"), max_length=100, blank=True)
    object_repr = models.CharField(_("对象"), max_length=255, blank=True)
    outcome = models.CharField(_("结果"), max_length=10, choices=OUTCOMES, default=OUTCOME_SUCCESS)
    detail = models.JSONField(_("详情"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-id"]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.pop("_allow_insert", False):
            raise PermissionDenied(_("审计记录不可修改。"))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied(_("审计记录不可删除。"))
