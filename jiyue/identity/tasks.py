"""Housekeeping: spent or expired codes and tickets, and ended single sign-on records."""

from django_tasks import task

from jiyue.core.periodic import every


@every(3600, name="identity.clear_expired")
@task(queue_name="default")
def clear_expired():
    """Remove codes and tickets expired for more than a day (a refusal after that is "unknown"
    instead of "expired"), and SSO records of logins that ended more than a day ago or whose
    sessions have all expired."""
    return cleanup()


def cleanup() -> int:
    from datetime import timedelta
    from importlib import import_module

    from django.conf import settings
    from django.utils import timezone

    from .models import SsoSession, SsoTicket, VerificationCode

    day_ago = timezone.now() - timedelta(days=1)
    stale = timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE) - timedelta(days=1)
    n = VerificationCode.objects.filter(expires_at__lt=day_ago).delete()[0]
    n += SsoTicket.objects.filter(expires_at__lt=day_ago).delete()[0]
    n += SsoSession.objects.filter(ended_at__lt=day_ago).delete()[0]
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    for sso in SsoSession.objects.filter(ended_at__isnull=True, created_at__lt=stale):
        keys = {sso.central_key, *sso.site_sessions.values_list("session_key", flat=True)} - {""}
        if not any(store.exists(key) for key in keys):  # every session expired on its own
            n += SsoSession.objects.filter(pk=sso.pk).delete()[0]
    return n
