"""Feed every Wagtail admin action, login and logout into the audit log."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
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


def _on_wagtail_log(sender, instance, created, **kwargs):
    if not created:
        return
    model = instance.content_type.model_class() if instance.content_type_id else None
    record(instance.user, None, None, f"wagtail.{instance.action}", instance.label or "",
           object_type=model._meta.label_lower if model else "",
           object_id=str(instance.object_id)[:100],
           **({"data": instance.data} if instance.data else {}))


def connect_wagtail_logs():
    from wagtail.models import ModelLogEntry, PageLogEntry

    for model in (ModelLogEntry, PageLogEntry):
        post_save.connect(_on_wagtail_log, sender=model, dispatch_uid=f"audit-{model.__name__}")


connect_wagtail_logs()
