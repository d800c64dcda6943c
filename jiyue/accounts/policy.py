"""Who may see and do what. Every admin view, chooser, report and API endpoint asks here.

This is the one place organisation scoping lives (the model is Wagtail's permission policies):
views never filter by organisation themselves, they call these functions.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from .models import ADMINISTRATIVE_ROLES, PLATFORM_ROLES, THREE_ADMINS, Role, RoleGrant

_CACHE = "_jiyue_grants"


def grants(user) -> list[RoleGrant]:
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, _CACHE, None)
    if cached is None:
        cached = list(RoleGrant.objects.filter(user=user).select_related("site", "column"))
        setattr(user, _CACHE, cached)
    return cached


def forget(user) -> None:
    if hasattr(user, _CACHE):
        delattr(user, _CACHE)


def has_role(user, role: str, site=None) -> bool:
    return any(g.role == role and (site is None or g.site_id == getattr(site, "pk", site))
               for g in grants(user))


def is_platform_staff(user) -> bool:
    """Operator, 系统管理员, 安全管理员: platform-wide screens (sites, organisations, reports).
    The 审计管理员 reads the audit log and nothing else, so is not platform staff here."""
    return bool(getattr(user, "is_superuser", False)) or any(
        g.role in PLATFORM_ROLES and g.role != Role.AUDIT_ADMIN for g in grants(user))


def is_three_admin(user) -> bool:
    """Holds 系统管理员, 安全管理员 or 审计管理员 (such an account holds no other role)."""
    return not getattr(user, "is_superuser", False) and any(g.role in THREE_ADMINS for g in grants(user))


def sees_all_content(user) -> bool:
    """The platform operator supervises every site's content; superusers exist only in tests and demo."""
    return bool(getattr(user, "is_superuser", False)) or has_role(user, Role.PLATFORM_OPERATOR)


def can_grant(actor, role: str, site=None) -> bool:
    """安全管理员 grants administrative roles; a site administrator grants editorial ones in their site."""
    if getattr(actor, "is_superuser", False):
        return True
    if role in ADMINISTRATIVE_ROLES:
        return has_role(actor, Role.SECURITY_ADMIN)
    return has_role(actor, Role.SECURITY_ADMIN) or (site is not None and has_role(actor, Role.SITE_ADMIN, site))


# --- sites and organisations -------------------------------------------------------------

def visible_sites(user) -> QuerySet:
    from jiyue.platform.models import Site

    if is_platform_staff(user):
        return Site.objects.all()
    ids = {g.site_id for g in grants(user) if g.site_id}
    return Site.objects.filter(pk__in=ids)


def sites_with(user, roles) -> QuerySet:
    """Sites on which the user holds one of these roles (by grant, never platform-wide)."""
    from jiyue.platform.models import Site

    ids = {g.site_id for g in grants(user) if g.site_id and g.role in roles}
    return Site.objects.filter(pk__in=ids)


def visible_organisation_ids(user) -> set[int]:
    from jiyue.platform.models import Organisation

    if is_platform_staff(user):
        return set(Organisation.objects.values_list("pk", flat=True))
    ids = set(visible_sites(user).values_list("organisation_id", flat=True))
    if getattr(user, "organisation_id", None):
        ids.add(user.organisation_id)
    return ids


def editor_organisation_ids(user) -> set[int]:
    """Organisations whose resources this user may write (editor or site admin on their site)."""
    if getattr(user, "is_superuser", False):
        from jiyue.platform.models import Organisation

        return set(Organisation.objects.values_list("pk", flat=True))
    return set(sites_with(user, {Role.EDITOR, Role.SITE_ADMIN}).values_list("organisation_id", flat=True))


def reviewer_levels(user, organisation_id: int) -> set[int]:
    return {g.level for g in grants(user)
            if g.role == Role.REVIEWER and g.site and g.site.organisation_id == organisation_id}


# --- resources ---------------------------------------------------------------------------

def resources_visible(user, queryset: QuerySet) -> QuerySet:
    """Resources a staff member may see in the admin and the API.

    Their own organisations' resources (any state), resources placed on their sites, and
    published resources that are shared (the shared catalogue: public information offered for
    reuse). Never another organisation's drafts or its unshared resources.
    """
    if sees_all_content(user):
        return queryset
    if is_three_admin(user):  # accounts, roles, audit: never content
        return queryset.none()
    orgs = visible_organisation_ids(user)
    site_ids = list(visible_sites(user).values_list("pk", flat=True))
    return queryset.filter(
        Q(organisation_id__in=orgs)
        | Q(placements__site_id__in=site_ids, live=True)
        | Q(live=True, sharing__in=("all", "request"))
    ).distinct()


def resources_editable(user, queryset: QuerySet) -> QuerySet:
    return queryset.filter(organisation_id__in=editor_organisation_ids(user))


def can_edit_resource(user, resource) -> bool:
    return resource.organisation_id in editor_organisation_ids(user)


def can_view_resource(user, resource) -> bool:
    return resources_visible(user, type(resource)._default_manager.filter(pk=resource.pk)).exists()


def can_publish_resource(user, resource) -> bool:
    """Publishers and site administrators of the owner's site; and the final-level reviewer,
    whose approval completes the review workflow and publishes."""
    if getattr(user, "is_superuser", False):
        return True
    if any(g.role in (Role.PUBLISHER, Role.SITE_ADMIN) and g.site
           and g.site.organisation_id == resource.organisation_id for g in grants(user)):
        return True
    levels = reviewer_levels(user, resource.organisation_id)
    if levels:
        from jiyue.review.services import policy_for

        pol = policy_for(resource)
        return pol is not None and pol.levels in levels
    return False


# --- columns -----------------------------------------------------------------------------

def column_grants(user, roles=(Role.EDITOR, Role.SITE_ADMIN)) -> list[RoleGrant]:
    return [g for g in grants(user) if g.role in roles and g.site_id]


def can_place_into(user, column) -> bool:
    """May this user put content into this column (editor on its subtree, or site admin)."""
    if getattr(user, "is_superuser", False):
        return True
    for g in column_grants(user):
        home = g.site.home
        if home is None:
            continue
        root = g.column if (g.role == Role.EDITOR and g.column_id) else home
        if column.path.startswith(root.path) and column.depth > home.depth:
            return True
    return False


def placeable_columns(user) -> QuerySet:
    from jiyue.platform.models import Column

    if getattr(user, "is_superuser", False):
        return Column.objects.all()
    q = Q(pk__in=[])
    for g in column_grants(user):
        if g.site.home is None:
            continue
        root = g.column if (g.role == Role.EDITOR and g.column_id) else g.site.home
        q |= Q(path__startswith=root.path, depth__gt=g.site.home.depth)
    return Column.objects.filter(q)


def visible_columns(user) -> QuerySet:
    from jiyue.platform.models import Column

    if is_three_admin(user):
        return Column.objects.none()
    if is_platform_staff(user):
        return Column.objects.all()
    q = Q(pk__in=[])
    for site in visible_sites(user).select_related("home"):
        if site.home:
            q |= Q(path__startswith=site.home.path)
    return Column.objects.filter(q)


def users_visible(user, queryset: QuerySet) -> QuerySet:
    if is_platform_staff(user):
        return queryset
    site_ids = [g.site_id for g in grants(user) if g.role == Role.SITE_ADMIN]
    return queryset.filter(Q(pk=user.pk) | Q(grants__site_id__in=site_ids)).distinct()


# --- the three administrators (三员分立) and staff security ---------------------------------
# 系统管理员: accounts (create, edit, disable; never roles) and configuration.
# 安全管理员: roles and permissions (every role), unlocking accounts, security policy.
# 审计管理员: reads and exports the audit log, nothing else.
# None of the three reads what another one controls; superusers exist only in demo and tests.

def can_manage_accounts(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or has_role(user, Role.SYSTEM_ADMIN)


def can_configure(user) -> bool:
    """Platform and site settings."""
    return bool(getattr(user, "is_superuser", False)) or has_role(user, Role.SYSTEM_ADMIN)


def can_manage_security(user) -> bool:
    """Unlock accounts, see locked accounts and second-factor devices, reset a device."""
    return bool(getattr(user, "is_superuser", False)) or has_role(user, Role.SECURITY_ADMIN)


can_unlock = can_manage_security


def can_read_audit(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or has_role(user, Role.AUDIT_ADMIN)


def publishes_or_administers(user) -> bool:
    """Holds a right to publish or to administer (these staff need a second factor).

    A reviewer publishes when their level is the last level of a review policy of their
    organisation: approving at that level publishes."""
    from jiyue.review.models import ReviewPolicy

    for g in grants(user):
        if g.role in ADMINISTRATIVE_ROLES or g.role == Role.PUBLISHER:
            return True
        if g.role == Role.REVIEWER and g.site_id and g.level and ReviewPolicy.objects.filter(
                organisation_id=g.site.organisation_id, levels=g.level).exists():
            return True
    return False


# --- Q&A knowledge base and question log (jiyue.qa) ----------------------------------------
# Site administrators and editors of a site manage the FAQ entries of its organisation and read
# the questions asked on that site; the platform operator manages every entry, including the
# platform-level ones (no organisation), and reads every site's questions. The three
# administrators never see content, so neither the knowledge base nor the questions.

def faq_organisation_ids(user) -> set[int]:
    """Organisations whose FAQ entries this user manages."""
    if sees_all_content(user):
        from jiyue.platform.models import Organisation

        return set(Organisation.objects.values_list("pk", flat=True))
    return set(sites_with(user, {Role.EDITOR, Role.SITE_ADMIN}).values_list("organisation_id", flat=True))


def can_manage_faq(user, organisation_id) -> bool:
    """May this user add, edit, disable or delete FAQ entries of this organisation (None: the
    platform-level knowledge base, the operator's)."""
    if organisation_id is None:
        return sees_all_content(user)
    return organisation_id in faq_organisation_ids(user)


def qa_sites(user) -> QuerySet:
    """Sites whose question log (问答记录) this user reads."""
    from jiyue.platform.models import Site

    if sees_all_content(user):
        return Site.objects.all()
    return sites_with(user, {Role.EDITOR, Role.SITE_ADMIN})


# --- Interaction (letters, 找错, 依申请公开, 意见征集 …; jiyue.letters and the other interaction
# apps) ---------------------------------------------------------------------------------------
# Work belongs to an organisation. Its site's 互动办理员 (handler) works on what is assigned to
# it and drafts replies; its 互动分办员 (dispatcher) accepts, routes, transfers, reviews replies
# before release and approves extensions; its site administrator can do both. The platform
# operator sees every organisation's work and dispatches at platform level. The three
# administrators never see content.

def interaction_organisation_ids(user, roles=None) -> set[int]:
    """Organisations whose interaction work this user may act on with one of `roles`
    (default: handler or dispatcher); the site administrator holds both."""
    from .models import INTERACTION_ROLES

    if sees_all_content(user):
        from jiyue.platform.models import Organisation

        return set(Organisation.objects.values_list("pk", flat=True))
    wanted = set(roles or INTERACTION_ROLES) | {Role.SITE_ADMIN}
    return set(sites_with(user, wanted).values_list("organisation_id", flat=True))


def can_handle_interaction(user, organisation_id) -> bool:
    """Work on (read, draft a reply to) this organisation's items."""
    return organisation_id is not None and organisation_id in interaction_organisation_ids(user)


def can_dispatch_interaction(user, organisation_id) -> bool:
    """Accept, route, transfer, review replies and approve extensions for this organisation
    (None: platform-level items, the operator's)."""
    if organisation_id is None:
        return sees_all_content(user)
    return organisation_id in interaction_organisation_ids(user, {Role.DISPATCHER})
