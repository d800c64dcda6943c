"""Citizens' accounts: creating them, exporting a person's own data, deleting an account.

Other capabilities add their part of a person's export:

    from jiyue.identity.services import register_export
    register_export("letters", lambda user: [letter_as_dict(x) for x in user.letters.all()])
"""

from __future__ import annotations

from typing import Any, Callable

from django.db import transaction
from django.utils import timezone

from jiyue import audit
from jiyue.accounts.models import User, normalise_mobile

EXPORTERS: dict[str, Callable[[Any], Any]] = {}


def register_export(name: str, fn: Callable[[Any], Any]) -> None:
    """Add `fn(user) -> JSON-serialisable data` to every export, under the key `name`."""
    if name == "profile":
        raise ValueError("'profile' is the identity app's own part of the export")
    EXPORTERS[name] = fn


def profile_data(user) -> dict:
    return {
        "username": user.username,
        "real_name": user.real_name,
        "email": user.email,
        "email_verified": user.email_verified,
        "mobile": user.mobile,
        "mobile_verified": user.mobile_verified,
        "id_number": user.id_number,
        "address": user.address,
        "real_name_level": user.real_name_level,
        "real_name_level_display": str(user.get_real_name_level_display()),
        "date_joined": user.date_joined.isoformat(),
        "last_login": user.last_login.isoformat() if user.last_login else None,
    }


def export_user_data(user) -> dict:
    """Everything the platform holds about this person, as JSON-serialisable data."""
    data = {"format": "jiyue-personal-data/1", "exported_at": timezone.now().isoformat(),
            "profile": profile_data(user)}
    for name, fn in sorted(EXPORTERS.items()):
        data[name] = fn(user)
    return data


def new_username(prefix: str = "u") -> str:
    import secrets

    while True:
        name = f"{prefix}{secrets.token_hex(5)}"
        if not User.objects.filter(username=name).exists():
            return name


@transaction.atomic
def create_citizen(*, email: str = "", mobile: str = "", password: str) -> User:
    """A citizen account with a verified e-mail address or mobile number."""
    user = User(username=new_username(), kind=User.KIND_CITIZEN, email=email or "",
                email_verified=bool(email), mobile=normalise_mobile(mobile) if mobile else "",
                mobile_verified=bool(mobile))
    user.set_password(password)
    user.save()
    audit.record(user, None, None, "identity.register", user,
                 channel="email" if email else "sms")
    return user


def delete_account(request, user) -> None:
    """Delete a citizen's account (after the person has confirmed with the password)."""
    from . import sso

    sso.end_all_for(user)
    with transaction.atomic():
        audit.record(user, None, None, "identity.delete_account", user)
        user.delete()
