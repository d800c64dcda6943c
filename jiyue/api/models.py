"""Personal API tokens are Wagtail's own `wagtailcore.APIToken` (hashed, shown once)."""

from django.utils import timezone
from wagtail.models import APIToken


def authenticate_token(token: str):
    if not APIToken.validate_token_format(token):
        return None
    obj = APIToken.objects.select_related("user").filter(
        key_hash__in=APIToken.candidate_key_hashes(token), revoked_at__isnull=True).first()
    if obj is None or not obj.user.is_active:
        return None
    APIToken.objects.filter(pk=obj.pk).update(last_used_at=timezone.now())
    return obj.user


def issue_token(user, name: str) -> str:
    _, plaintext = APIToken.create_token(user=user, name=name)
    return plaintext
