"""The authentication backend: one account named by username, citizen e-mail or mobile."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend


class AccountBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        from .security import find_user

        if username is None or password is None:
            return None
        user = find_user(username)
        if user is None:
            # Run the hasher once anyway: the time taken does not tell whether the account exists.
            from .models import User

            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def user_can_authenticate(self, user):
        """Disabled accounts and demo accounts on a production platform cannot log in (their
        existing sessions end too: get_user asks the same)."""
        from .security import may_log_in

        return may_log_in(user)
