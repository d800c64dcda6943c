"""Single logout: however a person logs out (the identity host, a site host, the admin, the
OIDC provider's end-session endpoint), every session of that login ends."""

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver


@receiver(user_logged_out, dispatch_uid="identity-single-logout")
def single_logout(sender, request, user, **kwargs):
    from . import sso

    if request is not None:
        sso.end(request, user)
