"""The audit log: append-only entries, sealed into an SM3 hash chain (see chain.py)."""

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# Set only by the sealer, the archiver and the pseudonymisation of a deleted account (the
# "privileged internal path"); everything else that tries to change audit rows is refused.
_privileged: ContextVar[bool] = ContextVar("jiyue_audit_privileged", default=False)


@contextmanager
def privileged():
    token = _privileged.set(True)
    try:
        yield
    finally:
        _privileged.reset(token)


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if not _privileged.get():
            raise PermissionDenied(_("审计记录不可修改。"))
        return super().update(**kwargs)

    def delete(self):
        if not _privileged.get():
            raise PermissionDenied(_("审计记录不可删除。"))
        return super().delete()


class AuditEntry(models.Model):
    """One staff (or system) action. Append-only: rows are never changed or deleted by the
    application; the sealer only fills `seq` and `hash` once, in chain order."""

    OUTCOME_SUCCESS = "success"
    OUTCOME_FAILURE = "failure"
    OUTCOME_DENIED = "denied"
    OUTCOMES = [(OUTCOME_SUCCESS, _("成功")), (OUTCOME_FAILURE, _("失败")), (OUTCOME_DENIED, _("拒绝"))]

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("用户"), null=True,
                              blank=True, on_delete=models.SET_NULL, related_name="+")
    # Pseudonymous reference to the actor (HMAC-SM3 of the user id with the key ring's index
    # key). Hashed into the chain; it survives the deletion of the account.
    actor_ref = models.CharField(_("用户假名"), max_length=16, blank=True, db_index=True)
    actor_name = models.CharField(_("用户名"), max_length=150, blank=True)
    # Set when actor_name was replaced by the pseudonym (account deleted): the keyed digest of
    # the erased name, which keeps the chain verifiable without the personal data.
    actor_name_mac = models.CharField(max_length=64, blank=True, editable=False)
    # No database constraint and DO_NOTHING: the id is hashed into the chain, so it must
    # survive the deletion of an organisation.
    organisation = models.ForeignKey("platform.Organisation", verbose_name=_("机构"), null=True,
                                     blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
                                     related_name="+")
    source_address = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    action = models.CharField(_("事件类型"), max_length=100, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=100, blank=True)
    object_id = models.CharField(_("对象标识"), max_length=100, blank=True)
    object_repr = models.CharField(_("对象"), max_length=255, blank=True)
    object_repr_mac = models.CharField(max_length=64, blank=True, editable=False)
    outcome = models.CharField(_("结果"), max_length=10, choices=OUTCOMES, default=OUTCOME_SUCCESS)
    detail = models.JSONField(_("详情"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    # Filled by the sealer: position in the chain and SM3(previous hash || canonical bytes).
    seq = models.BigIntegerField(_("序号"), null=True, blank=True, unique=True, editable=False)
    hash = models.CharField(_("哈希"), max_length=64, blank=True, editable=False)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-id"]
        default_permissions = ("view",)
        indexes = [models.Index(fields=["id"], condition=Q(seq__isnull=True), name="audit_unsealed")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_repr}"

    @property
    def actor_erased(self) -> bool:
        return bool(self.actor_name_mac)

    @property
    def object_erased(self) -> bool:
        return bool(self.object_repr_mac)

    def save(self, *args, **kwargs):
        if self.pk is not None or not self._state.adding:  # an update, or an insert over an id
            raise PermissionDenied(_("审计记录不可修改。"))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied(_("审计记录不可删除。"))


class AuditHead(models.Model):
    """The chain's checkpoint: one row (pk 1), signed with the platform's SM2 key.

    base_seq/base_hash: the last entry moved to an archive (0 / zeros when none); head_seq/
    head_hash: the last sealed entry. chain_id names this chain (archives and the head file
    carry it). The row is also the sealer's lock."""

    chain_id = models.CharField(max_length=32)
    base_seq = models.BigIntegerField(default=0)
    base_hash = models.CharField(max_length=64)
    head_seq = models.BigIntegerField(default=0)
    head_hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()
    signature = models.CharField(max_length=128)

    class Meta:
        verbose_name = _("审计链检查点")
        verbose_name_plural = _("审计链检查点")
        default_permissions = ()
