"""Granting and revoking roles. Each grant is mirrored into a Wagtail group so that Wagtail's
own page explorer, collections and model permissions follow the same scope."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from wagtail.models import GroupCollectionPermission, GroupPagePermission, Page

from jiyue import audit

from . import policy
from .models import THREE_ADMINS, Role, RoleGrant, User

PAGE_PERMS = {
    Role.SITE_ADMIN: ["add_page", "change_page", "publish_page", "bulk_delete_page",
                      "lock_page", "unlock_page"],
    Role.EDITOR: ["add_page", "change_page", "lock_page"],
    Role.PUBLISHER: ["publish_page"],
    Role.REVIEWER: [],
    Role.DISPATCHER: [],
    Role.HANDLER: [],
}
RESOURCE_PERMS = {
    Role.SITE_ADMIN: ["add", "change", "delete", "publish", "lock", "unlock", "view"],
    Role.EDITOR: ["add", "change", "delete", "lock", "view"],
    Role.PUBLISHER: ["publish", "view", "unlock"],
    Role.REVIEWER: ["view"],
    Role.DISPATCHER: [],
    Role.HANDLER: [],
}
COLLECTION_PERMS = {
    Role.SITE_ADMIN: ["add", "change", "delete", "choose"],
    Role.EDITOR: ["add", "change", "choose"],
    Role.PUBLISHER: ["choose"],
    Role.REVIEWER: ["choose"],
    Role.DISPATCHER: [],
    Role.HANDLER: [],
}
# 三员分立: the 系统管理员 manages accounts (create, edit, disable; roles are not on its forms)
# and configuration; the 安全管理员 works in 人员授权 and 账号安全 (jiyue's own screens, which
# ask policy), not through model permissions; the 审计管理员 only reads the audit log.
PLATFORM_MODEL_PERMS = {
    Role.SYSTEM_ADMIN: [("wagtailcore", "site", ["view"]), ("platform", "site", ["view"]),
                        ("accounts", "user", ["add", "change", "view"])],
    Role.SECURITY_ADMIN: [],
    Role.AUDIT_ADMIN: [("audit", "auditentry", ["view"])],
    Role.PLATFORM_OPERATOR: [("platform", "site", ["view"])],
}


def _perm(app_label: str, model: str, action: str) -> Permission | None:
    return Permission.objects.filter(content_type__app_label=app_label,
                                     codename=f"{action}_{model}").first()


def _sync_group(grant: RoleGrant) -> None:
    from jiyue.library.kinds import resource_models
    from jiyue.platform.services import org_collection

    group = grant.group or Group.objects.create(name=f"授权#{grant.pk}")
    if grant.group_id != group.pk:
        grant.group = group
        RoleGrant.objects.filter(pk=grant.pk).update(group=group)
    group.permissions.clear()
    GroupPagePermission.objects.filter(group=group).delete()
    GroupCollectionPermission.objects.filter(group=group).delete()
    perms = [Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")]
    role = grant.role
    if role in PLATFORM_MODEL_PERMS:
        for app, model, actions in PLATFORM_MODEL_PERMS[role]:
            perms += [p for a in actions if (p := _perm(app, model, a))]
    if grant.site_id:
        site = grant.site
        for model in resource_models():
            ct = ContentType.objects.get_for_model(model)
            for action in RESOURCE_PERMS[role]:
                p = Permission.objects.filter(content_type=ct, codename=f"{action}_{ct.model}").first()
                if p:
                    perms.append(p)
        root: Page | None = grant.column if grant.column_id else site.home
        page_ct = ContentType.objects.get_for_model(Page)
        if root is not None:
            for codename in PAGE_PERMS[role]:
                GroupPagePermission.objects.create(
                    group=group, page=root,
                    permission=Permission.objects.get(content_type=page_ct, codename=codename))
        collection = org_collection(site.organisation)
        for app, model in (("wagtailimages", "image"), ("wagtaildocs", "document")):
            for action in COLLECTION_PERMS[role]:
                p = _perm(app, model, action)
                if p:
                    GroupCollectionPermission.objects.create(group=group, collection=collection,
                                                             permission=p)
    group.permissions.set(perms)
    grant.user.groups.add(group)


def grant(actor, user: User, role: str, site=None, column=None, level=None) -> RoleGrant:
    """Grant a role. A refusal (no right to grant it, or a combination the rules forbid, such
    as two of the three administrators on one account) is recorded as denied and raised."""
    org = site.organisation if site else None
    if actor is not None and not policy.can_grant(actor, role, site):
        audit.record(actor, org, None, "grant.create", user, outcome="denied", role=role,
                     user=user.username, reason="not_allowed")
        raise PermissionDenied(_("您无权授予该角色。"))
    try:
        return _grant(actor, user, role, site, column, level)
    except ValidationError as exc:
        # Recorded outside the failed transaction, so the entry stays.
        audit.record(actor, org, None, "grant.create", user, outcome="denied", role=role,
                     user=user.username, reason="; ".join(exc.messages))
        raise


@transaction.atomic
def _grant(actor, user, role, site, column, level) -> RoleGrant:
    # Lock the user row: two concurrent grants cannot combine two of the three administrators.
    User.objects.select_for_update().filter(pk=user.pk).first()
    if role in THREE_ADMINS and user.is_superuser:
        raise ValidationError({"role": _("超级用户不能担任三员角色。")})
    if user.kind != User.KIND_STAFF:
        raise ValidationError({"role": _("公众用户账号不能被授予工作人员角色。")})
    g = RoleGrant(user=user, role=role, site=site, column=column, level=level,
                  granted_by=actor if getattr(actor, "is_authenticated", False) else None)
    g.full_clean()
    g.save()
    _sync_group(g)
    policy.forget(user)
    audit.record(actor, site.organisation if site else None, None, "grant.create", g,
                 role=role, user=user.username)
    return g


def revoke(actor, g: RoleGrant) -> None:
    if actor is not None and not policy.can_grant(actor, g.role, g.site):
        audit.record(actor, g.site.organisation if g.site else None, None, "grant.delete", g,
                     outcome="denied", role=g.role, user=g.user.username)
        raise PermissionDenied(_("您无权撤销该授权。"))
    with transaction.atomic():
        audit.record(actor, g.site.organisation if g.site else None, None, "grant.delete", g,
                     role=g.role, user=g.user.username)
        group = g.group
        g.delete()
        if group:
            group.delete()
    policy.forget(g.user)


def resync_all() -> int:
    """Rebuild every grant's Wagtail group (after new resource kinds are installed)."""
    n = 0
    for g in RoleGrant.objects.select_related("site", "column", "user"):
        _sync_group(g)
        n += 1
    return n
