"""Multi-level review: a policy per organisation, overridable per site or column.

Each policy owns a Wagtail workflow whose tasks are `ReviewTask`s, one per level (初审 → 复审 →
终审). Reviewers are the users holding a reviewer grant at that level on a site of the
resource's organisation. The last level can require a 保密审查 (secrecy check) confirmation.
Wagtail keeps the history: every submission, approval, rejection and comment.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from wagtail.models import Task, TaskState, Workflow

LEVEL_NAMES = {1: _("初审"), 2: _("复审"), 3: _("终审"), 4: _("四审"), 5: _("五审")}


def level_name(level: int, levels: int) -> str:
    if level == levels and levels >= 2:
        return str(_("终审"))
    return str(LEVEL_NAMES.get(level) or _("第%(level)s级审核") % {"level": level})


class ReviewPolicy(models.Model):
    organisation = models.ForeignKey("platform.Organisation", verbose_name=_("机构"),
                                     on_delete=models.CASCADE, related_name="review_policies")
    site = models.ForeignKey("platform.Site", verbose_name=_("站点（可选）"), null=True, blank=True,
                             on_delete=models.CASCADE, related_name="review_policies")
    column = models.ForeignKey("platform.Column", verbose_name=_("栏目（可选）"), null=True,
                               blank=True, on_delete=models.CASCADE, related_name="review_policies")
    levels = models.PositiveSmallIntegerField(
        _("审核级数"), default=2, validators=[MinValueValidator(1), MaxValueValidator(5)])
    secrecy_check = models.BooleanField(_("发布前须确认保密审查"), default=True)
    workflow = models.OneToOneField(Workflow, null=True, blank=True, on_delete=models.SET_NULL,
                                    editable=False, related_name="review_policy")

    class Meta:
        verbose_name = _("审核策略")
        verbose_name_plural = _("审核策略")
        constraints = [models.UniqueConstraint("organisation", Coalesce("site", 0),
                                               Coalesce("column", 0), name="review_policy_scope")]

    def __str__(self):
        scope = self.column or self.site or self.organisation
        return _("%(scope)s：%(levels)s 级审核") % {"scope": scope, "levels": self.levels}

    def save(self, *args, **kwargs):
        """Saving a policy keeps its Wagtail workflow in step (levels, 保密审查)."""
        from .services import sync_workflow

        super().save(*args, **kwargs)
        sync_workflow(self)

    def clean(self):
        if self.column_id:
            from jiyue.platform.services import site_of_page

            owner = site_of_page(self.column)
            if self.site_id is None:
                self.site = owner
            elif owner != self.site:
                raise ValidationError({"column": _("栏目不属于所选站点。")})
        if self.site_id and self.site.organisation_id != self.organisation_id:
            raise ValidationError({"site": _("站点须属于该机构。")})


class ReviewTask(Task):
    level = models.PositiveSmallIntegerField(_("审核级别"), default=1)
    secrecy_check = models.BooleanField(_("须确认保密审查"), default=False)

    admin_form_fields = Task.admin_form_fields + ["level", "secrecy_check"]

    class Meta:
        verbose_name = _("分级审核任务")
        verbose_name_plural = _("分级审核任务")

    def _is_reviewer(self, obj, user) -> bool:
        from jiyue.accounts import policy

        if getattr(user, "is_superuser", False):
            return True
        org_id = getattr(obj, "organisation_id", None)
        return org_id is not None and self.level in policy.reviewer_levels(user, org_id)

    def user_can_access_editor(self, obj, user):
        return self._is_reviewer(obj, user)

    def locked_for_user(self, obj, user):
        return not self._is_reviewer(obj, user)

    def user_can_lock(self, obj, user):
        return self._is_reviewer(obj, user)

    def user_can_unlock(self, obj, user):
        return False

    def get_actions(self, obj, user):
        if not self._is_reviewer(obj, user):
            return []
        approve = _("审核通过并确认保密审查") if self.secrecy_check else _("审核通过")
        return [
            ("reject", _("退回修改"), True),
            ("approve", approve, self.secrecy_check),
            *([] if self.secrecy_check else [("approve", _("审核通过并留言"), True)]),
        ]

    def get_form_for_action(self, action):
        if action == "approve" and self.secrecy_check:
            from .forms import SecrecyConfirmForm

            return SecrecyConfirmForm
        return super().get_form_for_action(action)

    def on_action(self, task_state, user, action_name, **kwargs):
        from jiyue import audit

        obj = task_state.workflow_state.content_object
        if not self._is_reviewer(obj, user):
            audit.record(user, None, None, f"review.{action_name}", obj, outcome="denied")
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied(_("您不是该级审核员。"))
        secrecy = bool(kwargs.pop("secrecy_confirmed", False))
        if action_name == "approve" and self.secrecy_check and not secrecy:
            audit.record(user, obj.organisation, None, "review.approve", obj, outcome="failure",
                         level=self.level, reason="secrecy check not confirmed")
            from django.core.exceptions import ValidationError

            raise ValidationError(_("发布前须确认已完成保密审查。"))
        super().on_action(task_state, user, action_name, **kwargs)
        audit.record(user, obj.organisation, None, f"review.{action_name}", obj,
                     level=self.level, comment=kwargs.get("comment") or "",
                     secrecy_confirmed=secrecy if self.secrecy_check else None)

    def get_task_states_user_can_moderate(self, user, **kwargs):
        from jiyue.accounts import policy
        from jiyue.library.models import Resource

        if getattr(user, "is_superuser", False):
            return self.task_states.filter(status=TaskState.STATUS_IN_PROGRESS)
        org_ids = [g.site.organisation_id for g in policy.grants(user)
                   if g.role == "reviewer" and g.level == self.level and g.site_id]
        if not org_ids:
            return TaskState.objects.none()
        from django.contrib.contenttypes.models import ContentType

        from django.db.models import CharField
        from django.db.models.functions import Cast

        base_ct = ContentType.objects.get_for_model(Resource)
        ids = Resource.objects.filter(organisation_id__in=org_ids) \
            .annotate(pk_text=Cast("pk", CharField())).values("pk_text")
        return self.task_states.filter(status=TaskState.STATUS_IN_PROGRESS,
                                       workflow_state__base_content_type=base_ct,
                                       workflow_state__object_id__in=ids)

    @classmethod
    def get_description(cls):
        return _("由持有该级审核员授权的人员审核；末级可要求确认保密审查。")
