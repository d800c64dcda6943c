"""Feed every Wagtail admin action, login and logout into the audit log, and pseudonymise the
entries of a deleted account."""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver

from . import record


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    record(user, None, None, "auth.login", user)


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        record(user, None, None, "auth.logout", user)


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    record(None, None, None, "auth.login", credentials.get("username", ""), outcome="failure",
           username=credentials.get("username", ""))


def _organisation_of(obj):
    """The organisation an object belongs to, if it says (resources, sites, pages of a site)."""
    if obj is None:
        return None
    org_id = getattr(obj, "organisation_id", None)
    if org_id:
        return org_id
    try:
        from wagtail.models import Page

        if isinstance(obj, Page):
            from jiyue.platform.services import site_of_page

            site = site_of_page(obj)
            return site.organisation_id if site else None
    except Exception:  # noqa: BLE001 - the organisation is a convenience, never a failure
        return None
    return None


def _on_wagtail_log(sender, instance, created, **kwargs):
    if not created:
        return
    model = instance.content_type.model_class() if instance.content_type_id else None
    obj = None
    if model is not None:
        try:
            obj = model._default_manager.filter(pk=instance.object_id).first()
        except (ValueError, TypeError):
            obj = None
    organisation = _organisation_of(obj)
    if organisation is None and instance.user is not None:
        organisation = getattr(instance.user, "organisation_id", None)
    action = instance.action if instance.action.startswith("wagtail.") else f"wagtail.{instance.action}"
    record(instance.user, organisation, None, action, instance.label or "",
           object_type=model._meta.label_lower if model else "",
           object_id=str(instance.object_id)[:100],
           **({"data": instance.data} if instance.data else {}))


def connect_wagtail_logs():
    from wagtail.models import ModelLogEntry, PageLogEntry

    for model in (ModelLogEntry, PageLogEntry):
        post_save.connect(_on_wagtail_log, sender=model, dispatch_uid=f"audit-{model.__name__}")


connect_wagtail_logs()


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="audit-pseudonymise-account")
def on_account_deleted(sender, instance, **kwargs):
    """The account goes; its audit entries stay, naming it by its pseudonymous reference only
    (the actor foreign key is then set NULL by the database delete)."""
    from .chain import actor_ref_for, pseudonym, pseudonymise_account
    from .context import current_request

    changed = pseudonymise_account(instance)
    ref = actor_ref_for(instance.pk)
    request = current_request.get()
    by = getattr(request, "user", None)
    if getattr(by, "pk", None) == instance.pk:
        by = None  # the person deleted their own account: their name must not stay
    record(by, None, None, "account.erase", object_type=instance._meta.label_lower,
           object_id=str(instance.pk), obj=pseudonym(ref), actor_ref=ref, entries=changed)
