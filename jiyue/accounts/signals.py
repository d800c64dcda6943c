"""Session bookkeeping for staff security."""

import time

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

LOGIN_AT = "_jiyue_login_at"


@receiver(user_logged_in, dispatch_uid="jiyue-accounts-login-at")
def remember_login_time(sender, request, user, **kwargs):
    """The absolute limit of a staff session counts from here (JIYUE_STAFF_SESSION_MAX_SECONDS)."""
    if request is not None and hasattr(request, "session"):
        request.session[LOGIN_AT] = int(time.time())
