"""Public interface of review: which workflow applies to a resource, and keeping workflows in
step with review policies."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from wagtail.models import Workflow, WorkflowTask

from .models import ReviewPolicy, ReviewTask, level_name


@transaction.atomic
def sync_workflow(policy: ReviewPolicy) -> Workflow:
    scope = policy.column or policy.site or policy.organisation
    # Stored names (tasks are found again by name): always in the platform's language.
    with translation.override(settings.LANGUAGE_CODE):
        name = (_("%(scope)s审核流程（%(levels)s级）") % {"scope": scope, "levels": policy.levels})[:255]
        task_names = [
            (_("%(scope)s·%(level)s") % {"scope": scope, "level": level_name(level, policy.levels)})[:255]
            for level in range(1, policy.levels + 1)]
    wf = policy.workflow or Workflow.objects.create(name=name, active=True)
    if wf.name != name:
        wf.name = name
        wf.save(update_fields=["name"])
    tasks = []
    for level, task_name in enumerate(task_names, 1):
        secrecy = policy.secrecy_check and level == policy.levels
        task = ReviewTask.objects.filter(name=task_name, level=level).first() \
            or ReviewTask.objects.create(name=task_name, level=level, secrecy_check=secrecy)
        if task.secrecy_check != secrecy:
            task.secrecy_check = secrecy
            task.save(update_fields=["secrecy_check"])
        tasks.append(task)
    WorkflowTask.objects.filter(workflow=wf).delete()
    for i, task in enumerate(tasks):
        WorkflowTask.objects.create(workflow=wf, task=task, sort_order=i)
    if policy.workflow_id != wf.pk:
        policy.workflow = wf
        ReviewPolicy.objects.filter(pk=policy.pk).update(workflow=wf)
    return wf


def set_policy(organisation, *, site=None, column=None, levels=2, secrecy_check=True) -> ReviewPolicy:
    scope = {"column": column} if column is not None else {"site": site, "column": None}
    policy = ReviewPolicy.objects.filter(organisation=organisation, **scope).first() \
        or ReviewPolicy(organisation=organisation, site=site, column=column)
    policy.levels, policy.secrecy_check = levels, secrecy_check
    policy.full_clean()
    policy.save()  # also brings the workflow in step
    return policy


def policy_for(resource) -> ReviewPolicy | None:
    """Most specific first: the column of the resource's first own placement, its site, then
    the organisation."""
    from jiyue.library.models import Placement

    org_id = resource.organisation_id
    if org_id is None:
        return None
    policies = list(ReviewPolicy.objects.filter(organisation_id=org_id).select_related("workflow"))
    if not policies:
        return None
    if resource.pk:
        p = Placement.objects.filter(resource_id=resource.pk, site__organisation_id=org_id) \
            .select_related("column").order_by("id").first()
        if p:
            ancestors = set(p.column.get_ancestors(inclusive=True).values_list("pk", flat=True))
            for pol in policies:
                if pol.column_id in ancestors:
                    return pol
            for pol in policies:
                if pol.site_id == p.site_id and pol.column_id is None:
                    return pol
    for pol in policies:
        if pol.site_id is None and pol.column_id is None:
            return pol
    return None


def workflow_for(resource):
    pol = policy_for(resource)
    if pol and pol.workflow and pol.workflow.active:
        return pol.workflow
    return None

