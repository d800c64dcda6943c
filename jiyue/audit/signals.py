"""Feed every Wagtail admin action, login and logout into the audit log."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from . import record
from .context import client_address, current_request


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


def _on_wagtail_log(sender, instance, created, **kwargs):
    if not created:
        return
    user = instance.user
    obj_repr = instance.label or ""
    from .models import AuditEntry

    request = current_request.get()
    AuditEntry.objects.create(
        actor=user,
        actor_name=user.get_username() if user else "system",
        organisation=getattr(user, "organisation", None) if user else None,
        source_address=client_address(request),
        action=f"wagtail.{instance.action}",
        object_type=instance.content_type.model_class()._meta.label_lower
        if instance.content_type_id and instance.content_type.model_class() else "",
        object_id=str(instance.object_id)[:100],
        object_repr=obj_repr[:255],
        detail={"data": instance.data} if instance.data else {},
    )


def connect_wagtail_logs():
    from wagtail.models import ModelLogEntry, PageLogEntry

    for model in (ModelLogEntry, PageLogEntry):
        post_save.connect(_on_wagtail_log, sender=model, dispatch_uid=f"audit-{model.__name__}")


connect_wagtail_logs()
