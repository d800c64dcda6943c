"""Who sees which letters in the admin, and whose identity they see.

Built on `jiyue.accounts.policy` (the interaction roles) and `jiyue.letters.services.may` (the
right to act now). Rules:

- A letter is visible to the staff of the organisation responsible for it now (its 互动分办员,
  互动办理员 and site administrators), to the dispatchers of the mailbox's organisation (they
  follow what they routed elsewhere, read-only unless it comes back), and to the platform
  operator. The three administrators see no letters.
- 举报 (type "report"): the writer's identity (name, phone, e-mail, address, citizen account and
  whether it was anonymous) is shown only to the dispatchers of the mailbox's organisation and
  to the platform operator; never to a handler, and never to anyone working for the reported
  organisation, even when the letter is routed there.
- 转办 (assign) goes to the responsible organisation itself or one below it; 转交 (transfer)
  to any other organisation, across levels.
- 督查督办 (supervision) is the platform operator's.
"""

from __future__ import annotations

from django.db.models import Q

from jiyue.accounts import policy
from jiyue.accounts.models import Role

from .models import Letter, LetterType, Mailbox, ReplyTemplate

IDENTITY_FIELDS = ("name", "phone", "email", "address", "citizen", "anonymous")


def dispatch_organisation_ids(user) -> set[int]:
    """Organisations for which the user accepts, routes and reviews (site admins included)."""
    return policy.interaction_organisation_ids(user, {Role.DISPATCHER})


def handler_organisation_ids(user) -> set[int]:
    """Organisations for which the user drafts replies as a handler (site admins included)."""
    return policy.interaction_organisation_ids(user, {Role.HANDLER})


def works_on_letters(user) -> bool:
    return policy.sees_all_content(user) or bool(policy.interaction_organisation_ids(user))


def letters_visible(user):
    """The letters a staff member sees in the workspace."""
    qs = Letter.objects.select_related("mailbox", "organisation")
    if policy.sees_all_content(user):
        return qs
    ids = policy.interaction_organisation_ids(user)
    if not ids:
        return qs.none()
    dispatch = dispatch_organisation_ids(user)
    return qs.filter(Q(organisation_id__in=ids) | Q(mailbox__organisation_id__in=dispatch))


def can_view(user, letter: Letter) -> bool:
    if policy.sees_all_content(user):
        return True
    if letter.organisation_id in policy.interaction_organisation_ids(user):
        return True
    return letter.mailbox.organisation_id in dispatch_organisation_ids(user)


def works_for(user, organisation_id) -> bool:
    """Whether the user belongs to, or does any interaction or editorial work for, the
    organisation."""
    if organisation_id is None:
        return False
    if getattr(user, "organisation_id", None) == organisation_id:
        return True
    return any(g.site_id and g.site.organisation_id == organisation_id for g in policy.grants(user))


def shows_identity(user, letter: Letter) -> bool:
    """Whether the user may see who wrote the letter (only restricted for 举报)."""
    if letter.type != LetterType.REPORT:
        return can_view(user, letter)
    if policy.sees_all_content(user):
        return True
    if works_for(user, letter.reported_organisation_id):
        return False
    return letter.mailbox.organisation_id in dispatch_organisation_ids(user)


def assign_targets(letter: Letter):
    """转办: the responsible organisation itself or one below it."""
    from jiyue.platform.models import Organisation

    return Organisation.objects.filter(path__startswith=letter.organisation.path).order_by("path")


def transfer_targets(letter: Letter):
    """转交: any other organisation of the platform, across levels."""
    from jiyue.platform.models import Organisation

    return Organisation.objects.exclude(pk=letter.organisation_id).order_by("path")


def bulk_targets(user):
    """Organisations a dispatcher may bulk-assign to: theirs and those below them."""
    from jiyue.platform.models import Organisation

    if policy.sees_all_content(user):
        return Organisation.objects.order_by("path")
    paths = list(Organisation.objects.filter(pk__in=dispatch_organisation_ids(user))
                 .values_list("path", flat=True))
    if not paths:
        return Organisation.objects.none()
    q = Q()
    for p in paths:
        q |= Q(path__startswith=p)
    return Organisation.objects.filter(q).order_by("path")


# --- 督查督办 -------------------------------------------------------------------------------

def can_supervise(user) -> bool:
    return policy.sees_all_content(user)


# --- 答复模板 -------------------------------------------------------------------------------

def template_organisation_ids(user) -> set[int]:
    """Organisations whose reply templates the user manages (their dispatchers)."""
    return dispatch_organisation_ids(user)


def can_manage_template(user, organisation_id) -> bool:
    if organisation_id is None:
        return policy.sees_all_content(user)
    return organisation_id in template_organisation_ids(user)


def templates_visible(user):
    if policy.sees_all_content(user):
        return ReplyTemplate.objects.all()
    return ReplyTemplate.objects.filter(organisation_id__in=template_organisation_ids(user))


def templates_for(letter: Letter):
    """The templates offered when replying to a letter: its organisation's and the platform's."""
    return ReplyTemplate.objects.filter(Q(organisation_id=letter.organisation_id)
                                        | Q(organisation__isnull=True)).order_by("title")


# --- 信箱管理 -------------------------------------------------------------------------------

def mailbox_sites(user):
    """Sites whose mailboxes the user manages: a site administrator's sites (the operator: all)."""
    from jiyue.platform.models import Site

    if policy.sees_all_content(user):
        return Site.objects.all()
    return policy.sites_with(user, {Role.SITE_ADMIN})


def can_manage_mailbox(user, mailbox: Mailbox) -> bool:
    if policy.sees_all_content(user):
        return True
    return mailbox.site_id is not None and mailbox.site_id in set(
        mailbox_sites(user).values_list("pk", flat=True))


def mailboxes_visible(user):
    if policy.sees_all_content(user):
        return Mailbox.objects.all()
    return Mailbox.objects.filter(site__in=mailbox_sites(user))


# --- 办理时限 -------------------------------------------------------------------------------

def can_manage_deadlines(user) -> bool:
    return policy.sees_all_content(user)
