"""The provider's housekeeping: expired tokens and codes are removed every hour."""

from django_tasks import task

from jiyue.core.periodic import every


@every(3600, name="oidc.clear_expired")
@task(queue_name="default")
def clear_expired():
    """django-oauth-toolkit's clear_expired (expired access tokens, refresh tokens past their
    lifetime, expired codes) and used-code records older than a day (a code lives a minute:
    a replay after a day fails as an unknown code anyway)."""
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.models import clear_expired as dot_clear_expired

    from .models import UsedCode

    dot_clear_expired()
    n, _ = UsedCode.objects.filter(used_at__lt=timezone.now() - timedelta(days=1)).delete()
    return n
