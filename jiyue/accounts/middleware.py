"""Staff security in the admin: second factor, expired passwords, absolute session limit.

Installed right after django_otp's OTPMiddleware (which sets request.user.otp_device). For a
logged-in user on an /admin/ page:
- a staff session older than JIYUE_STAFF_SESSION_MAX_SECONDS is ended (idle timeout is the
  session cookie age, refreshed on every request);
- staff who must pass a second factor (security.second_factor_required) are sent to the
  enrolment page when they have no TOTP device yet, otherwise to the verification page, until
  the session is verified (JIYUE_STAFF_2FA);
- staff whose password has expired are sent to the change-password page.
Enrolment, verification, logout and login stay reachable.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.handlers.exception import response_for_exception
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from jiyue import audit

from . import policy, security
from .models import Role
from .signals import LOGIN_AT

ADMIN = "/admin/"


def _always_open() -> tuple[str, ...]:
    return (reverse(security.ENROL_URL), reverse(security.VERIFY_URL), reverse("wagtailadmin_logout"),
            reverse("wagtailadmin_login"), "/admin/jsi18n/", "/admin/login/", "/admin/logout/")


class StaffSecurityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(ADMIN):
            return self.get_response(request)
        started = timezone.now()
        response = self.check(request) or self.get_response(request)
        if response.status_code == 403 or getattr(request, "jiyue_denied", False):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and not _denial_recorded(user, started):
                # Every refused admin page or action is in the audit log (once: a view that
                # recorded its own refusal with more detail is not recorded again).
                audit.record(user, None, None, "admin.access", request.path[:255],
                             outcome="denied", method=request.method, path=request.path[:500])
        return response

    def check(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        limit = int(getattr(settings, "JIYUE_STAFF_SESSION_MAX_SECONDS", 0) or 0)
        if limit and getattr(user, "kind", "staff") == "staff":
            started = request.session.get(LOGIN_AT)
            if started is None:
                request.session[LOGIN_AT] = int(time.time())
            elif time.time() - started > limit:
                logout(request)
                messages.info(request, _("登录已超过最长时限，请重新登录。"))
                return redirect_to_login(request.get_full_path(), security.login_url())
        path = request.path
        if path.startswith(_always_open()):
            return None
        if security.staff_2fa_enforced() and security.second_factor_required(user) \
                and not security.otp_verified(request):
            target = security.VERIFY_URL if security.has_second_factor(user) else security.ENROL_URL
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        if security.password_expired(user) and not path.startswith(reverse(security.PASSWORD_CHANGE_URL)):
            return redirect(f"{reverse(security.PASSWORD_CHANGE_URL)}?{urlencode({'next': request.get_full_path()})}")
        if path != ADMIN and not path.startswith(_audit_admin_paths()) \
                and policy.has_role(user, Role.AUDIT_ADMIN) and not user.is_superuser:
            # The 审计管理员 reads the audit log and nothing else, whatever other screens allow.
            return response_for_exception(request, PermissionDenied())
        return None


def _denial_recorded(user, since) -> bool:
    from jiyue.audit.models import AuditEntry

    return AuditEntry.objects.filter(actor_id=user.pk, outcome="denied", at__gte=since).exists()


def _audit_admin_paths() -> tuple[str, ...]:
    paths = ["/admin/audit/", reverse(security.PASSWORD_CHANGE_URL), "/admin/account/",
             "/admin/security/otp/"]
    for name in ("jiyue_audit", "jiyue_audit_export"):
        try:
            paths.append(reverse(name))
        except NoReverseMatch:
            pass
    return tuple(paths)
