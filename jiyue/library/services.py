"""The public interface of the library: placing, offering, taking, withdrawing resources.

Every function checks permissions through `jiyue.accounts.policy`, runs in one transaction,
writes an audit record and emits outbox events for the publisher and later consumers.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from jiyue import audit
from jiyue.accounts import policy
from jiyue.core import outbox

from . import indexno
from .models import Placement, Resource


class NeedsConfirmation(Exception):
    """Deleting a resource that is in use needs an explicit confirmation."""


def _event(topic: str, resource: Resource, **payload):
    payload.setdefault("resource", resource.global_id)
    payload.setdefault("id", resource.pk)
    payload.setdefault("kind", resource.kind)
    payload.setdefault("organisation", resource.organisation_id)
    outbox.emit(topic, "resource", resource.global_id or resource.pk, payload)


def _placement_payload(p: Placement) -> dict:
    return {"placement": p.pk, "site": p.site.code, "column": p.column_id, "state": p.state}


# --- publishing hooks (called from signals) -----------------------------------------------

@transaction.atomic
def after_publish(resource: Resource, user=None) -> None:
    r = Resource.objects.select_for_update().get(pk=resource.pk)
    changed = []
    if r.published_at is None:
        r.published_at = resource.published_at or resource.first_published_at or timezone.now()
        changed.append("published_at")
    if (r.in_directory or resource.always_in_directory) and not r.index_number:
        r.index_number = indexno.generate(r.organisation.code, timezone.localtime(r.published_at))
        changed.append("index_number")
    if changed:
        Resource.objects.filter(pk=r.pk).update(**{f: getattr(r, f) for f in changed})
        for f in changed:
            setattr(resource, f, getattr(r, f))
    Placement.objects.filter(resource_id=r.pk).exclude(published_at=r.published_at) \
        .update(published_at=r.published_at)
    _event("resource.published", resource,
           sites=sorted({p.site.code for p in resource.placements.select_related("site")}))
    audit.record(user, resource.organisation, None, "resource.publish", resource)


@transaction.atomic
def after_unpublish(resource: Resource) -> None:
    _event("resource.withdrawn", resource,
           sites=sorted({p.site.code for p in resource.placements.select_related("site")}))


def before_delete(resource: Resource) -> None:
    placements = sorted({(p.site.code, p.column_id)
                         for p in resource.placements.select_related("site")})
    related = [getattr(resource.specific, "interprets_id", None)]
    outbox.emit("resource.deleted", "resource", resource.global_id or resource.pk,
                {"resource": resource.global_id, "id": resource.pk,
                 "sites": sorted({c for c, _ in placements}),
                 "placements": [list(p) for p in placements],
                 "related": [r for r in related if r]})


def _unpublish(resource: Resource, actor) -> None:
    """Unpublish after jiyue's own permission check (Wagtail's check knows no organisations)."""
    from wagtail.actions.unpublish import UnpublishAction

    UnpublishAction(resource, user=actor if getattr(actor, "is_authenticated", False) else None) \
        .execute(skip_permission_checks=True)


@transaction.atomic
def delete_resource(actor, resource: Resource, confirm: bool = False) -> None:
    if resource.live and not policy.can_publish_resource(actor, resource):
        audit.record(actor, None, None, "resource.delete", resource, outcome="denied")
        raise PermissionDenied(_("已发布的信息资源须由发布员或站点管理员撤下后删除。"))
    if not policy.can_edit_resource(actor, resource):
        audit.record(actor, None, None, "resource.delete", resource, outcome="denied")
        raise PermissionDenied(_("您无权删除该信息资源。"))
    in_use = resource.placements.exclude(state__in=[Placement.WITHDRAWN, Placement.REFUSED])
    if in_use.exists() and not confirm:
        raise NeedsConfirmation(_("该信息资源正在 %(count)d 个栏目中使用，确认后将先撤下再删除。")
                                % {"count": in_use.count()})
    if resource.live:
        _unpublish(resource, actor)
    resource.placements.update(state=Placement.WITHDRAWN)
    audit.record(actor, resource.organisation, None, "resource.delete", resource)
    resource.delete()


@transaction.atomic
def withdraw_resource(actor, resource: Resource) -> None:
    """Take a resource off every page of every site."""
    if not (policy.can_publish_resource(actor, resource) or policy.can_edit_resource(actor, resource)):
        audit.record(actor, None, None, "resource.withdraw", resource, outcome="denied")
        raise PermissionDenied(_("您无权撤下该信息资源。"))
    if resource.live:
        _unpublish(resource, actor)
    audit.record(actor, resource.organisation, None, "resource.withdraw", resource)


# --- placements ---------------------------------------------------------------------------

def _next_order(column) -> int:
    return (Placement.objects.filter(column=column).aggregate(m=Max("sort_order"))["m"] or 0) + 1


@transaction.atomic
def place(actor, resource: Resource, column, *, pinned: bool = False, go_live_at=None,
          note: str = "") -> Placement:
    """Put a resource into a column. Own organisation: direct. Another site's column when the
    actor edits the resource: an offer the target accepts. A column the actor edits, with
    another organisation's resource: direct if shared to all, a request if on request,
    refused if not shared."""
    from jiyue.platform.models import Column
    from jiyue.platform.services import site_of_page

    if not isinstance(column.specific, Column):
        raise ValidationError(_("只能放入栏目。"))
    site = site_of_page(column)
    if site is None:
        raise ValidationError(_("目标栏目不属于任何站点。"))
    if Placement.objects.filter(resource=resource, column=column).exclude(
            state__in=[Placement.REFUSED, Placement.WITHDRAWN]).exists():
        raise ValidationError(_("该信息资源已在此栏目中。"))
    own_resource = policy.can_edit_resource(actor, resource)
    own_column = policy.can_place_into(actor, column)
    same_org = site.organisation_id == resource.organisation_id
    if own_column and same_org:
        state = Placement.LIVE
    elif own_column:
        if not policy.can_view_resource(actor, resource):
            raise PermissionDenied(_("您无权查看该信息资源。"))
        if resource.sharing == "none":
            audit.record(actor, None, None, "placement.create", resource, outcome="denied",
                         column=column.pk)
            raise PermissionDenied(_("该信息资源不予共享，不能引用。"))
        state = Placement.LIVE if resource.sharing == "all" else Placement.REQUESTED
    elif own_resource:
        state = Placement.OFFERED
    else:
        audit.record(actor, None, None, "placement.create", resource, outcome="denied",
                     column=column.pk)
        raise PermissionDenied(_("您无权向该栏目放置内容。"))
    if state == Placement.LIVE and go_live_at and go_live_at > timezone.now():
        state = Placement.SCHEDULED
    existing = Placement.objects.filter(resource=resource, column=column).first()
    p = existing or Placement(resource=resource, column=column)
    p.site = site
    p.state = state
    p.pinned = pinned
    p.go_live_at = go_live_at
    p.note = note
    p.requested_by = actor
    p.decided_by = None
    p.sort_order = _next_order(column)
    try:
        with transaction.atomic():
            p.save()
    except IntegrityError:  # the same placement made concurrently
        raise ValidationError(_("该信息资源已在此栏目中。")) from None
    _event(f"placement.{state}", resource, **_placement_payload(p))
    audit.record(actor, site.organisation, None, f"placement.{state}", p)
    return p


def _decide(actor, p: Placement, accept: bool, who: str) -> Placement:
    p = Placement.objects.select_for_update(of=("self",)).select_related("site", "resource").get(pk=p.pk)
    expected = Placement.OFFERED if who == "target" else Placement.REQUESTED
    if p.state != expected:
        raise ValidationError(_("该引用已处理，不能重复操作。"))
    allowed = policy.can_place_into(actor, p.column) if who == "target" else \
        policy.can_edit_resource(actor, p.resource)
    if not allowed:
        audit.record(actor, None, None, "placement.decide", p, outcome="denied")
        raise PermissionDenied(_("您无权处理该引用。"))
    p.state = Placement.LIVE if accept else Placement.REFUSED
    p.decided_by = actor
    p.save(update_fields=["state", "decided_by", "updated_at"])
    _event(f"placement.{'live' if accept else 'refused'}", p.resource, **_placement_payload(p))
    audit.record(actor, p.site.organisation, None,
                 "placement.accept" if accept else "placement.refuse", p)
    return p


@transaction.atomic
def accept_offer(actor, p: Placement) -> Placement:
    return _decide(actor, p, True, "target")


@transaction.atomic
def refuse_offer(actor, p: Placement) -> Placement:
    return _decide(actor, p, False, "target")


@transaction.atomic
def approve_request(actor, p: Placement) -> Placement:
    return _decide(actor, p, True, "owner")


@transaction.atomic
def refuse_request(actor, p: Placement) -> Placement:
    return _decide(actor, p, False, "owner")


def can_manage_placement(actor, p: Placement) -> bool:
    return policy.can_place_into(actor, p.column) or policy.can_edit_resource(actor, p.resource)


@transaction.atomic
def withdraw_placement(actor, p: Placement) -> Placement:
    if not can_manage_placement(actor, p):
        audit.record(actor, None, None, "placement.withdraw", p, outcome="denied")
        raise PermissionDenied(_("您无权撤下该引用。"))
    p.state = Placement.WITHDRAWN
    p.save(update_fields=["state", "updated_at"])
    _event("placement.withdrawn", p.resource, **_placement_payload(p))
    audit.record(actor, p.site.organisation, None, "placement.withdraw", p)
    return p


@transaction.atomic
def update_placement(actor, p: Placement, *, pinned=None, sort_order=None) -> Placement:
    if not policy.can_place_into(actor, p.column):
        audit.record(actor, None, None, "placement.update", p, outcome="denied")
        raise PermissionDenied(_("您无权调整该栏目。"))
    if pinned is not None:
        p.pinned = pinned
    if sort_order is not None:
        p.sort_order = sort_order
    p.save(update_fields=["pinned", "sort_order", "updated_at"])
    _event("placement.updated", p.resource, **_placement_payload(p))
    audit.record(actor, p.site.organisation, None, "placement.update", p)
    return p


def publish_due_placements(now=None) -> int:
    """Scheduled placements whose time has come go live (a periodic job)."""
    now = now or timezone.now()
    n = 0
    for p in Placement.objects.filter(state=Placement.SCHEDULED, go_live_at__lte=now) \
            .select_related("resource", "site"):
        with transaction.atomic():
            Placement.objects.filter(pk=p.pk, state=Placement.SCHEDULED).update(state=Placement.LIVE)
            p.state = Placement.LIVE
            _event("placement.live", p.resource, **_placement_payload(p))
            n += 1
    return n


# --- queries ------------------------------------------------------------------------------

def placements_for(user):
    """Placements a staff member may see: those on their sites and those of the resources they
    edit (all of them for the platform operator)."""
    from django.db.models import Q

    qs = Placement.objects.select_related("resource", "site", "column", "requested_by")
    if policy.sees_all_content(user):
        return qs
    return qs.filter(Q(site__in=policy.visible_sites(user))
                     | Q(resource__organisation_id__in=policy.editor_organisation_ids(user)))


def public_placements():
    return Placement.objects.filter(state=Placement.LIVE, resource__live=True)


def live_placement_counts(column_ids) -> dict[int, int]:
    return dict(public_placements().filter(column_id__in=column_ids).values("column_id")
                .annotate(n=Count("id")).values_list("column_id", "n"))


def where_used(resource: Resource):
    return resource.placements.select_related("site", "column").order_by("site__code")


@transaction.atomic
def attach(resource: Resource, column, state: str = Placement.LIVE, pinned: bool = False) -> Placement:
    """Place without a permission check: for importers and the demo loader, which act for the
    platform (an accepted offer, a migrated page). Idempotent."""
    from jiyue.platform.services import site_of_page

    site = site_of_page(column)
    p, created = Placement.objects.get_or_create(
        resource=resource, column=column,
        defaults={"site": site, "state": state, "pinned": pinned,
                  "sort_order": _next_order(column)})
    if created:
        _event(f"placement.{state}", resource, **_placement_payload(p))
    return p


# The decisions on a placement, by name (admin buttons and API paths use these names).
PLACEMENT_ACTIONS = {"accept": accept_offer, "refuse": refuse_offer, "approve": approve_request,
                     "reject": refuse_request, "withdraw": withdraw_placement}
