"""Audit every token issued; revoke a person's tokens when their account is disabled."""

from __future__ import annotations

from django.conf import settings
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from oauth2_provider.signals import app_authorized

from jiyue import audit


@receiver(app_authorized)
def on_token_issued(sender, request, token, **kwargs):
    app = token.application
    audit.record(token.user, None, None, "oidc.token",
                 getattr(app, "linked_system", None) or app.client_id,
                 grant_type=request.POST.get("grant_type", "")[:40], scope=token.scope)


@receiver(pre_save, sender=settings.AUTH_USER_MODEL)
def remember_active(sender, instance, **kwargs):
    if instance.pk and not instance.is_active:
        instance._jiyue_was_active = sender.objects.filter(pk=instance.pk, is_active=True).exists()


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def revoke_when_disabled(sender, instance, created, **kwargs):
    if getattr(instance, "_jiyue_was_active", False):
        from .services import revoke_tokens

        instance._jiyue_was_active = False
        n = revoke_tokens(user=instance)
        if n:
            audit.record(None, getattr(instance, "organisation", None), None, "oidc.revoke", instance,
                         reason="account_disabled", revoked_tokens=n)
