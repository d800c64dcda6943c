"""Staff security: login checks, lockout, second factor and password expiry.

The central login page (jiyue.identity) and the Wagtail admin call these functions; they are
the one place that decides whether a person may log in and what they must do next:

    user, error = security.authenticate_user(request, identifier, password)
    if user and security.second_factor_required(user):
        if not security.has_second_factor(user): -> log in, then redirect to reverse(ENROL_URL)
        else: ask for a code; security.verify_second_factor(request, user, code)
    if user and security.password_expired(user): -> reverse(PASSWORD_CHANGE_URL)

Failed logins are counted per account by django-axes (AXES_LOCKOUT_PARAMETERS = username);
`axes_username` maps an e-mail address or mobile number to the account's username first, so
the three ways of naming one account share one counter. Every outcome is in the audit log:
successes and plain failures through Django's auth signals (jiyue.audit.signals), refusals
that have a reason (locked, disabled, demo account, rate limited) recorded here.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.utils import timezone
from django.utils.translation import gettext as _

from jiyue import audit

# URL names (reverse() them): where a staff member sets up TOTP, enters a code, changes an
# expired password. All three live inside the Wagtail admin and are reachable before the
# second factor is verified.
ENROL_URL = "jiyue_otp_enrol"
VERIFY_URL = "jiyue_otp_verify"
PASSWORD_CHANGE_URL = "jiyue_password_change"
# The brief's spelling.
enrol_url = ENROL_URL
verify_url = VERIFY_URL
password_change_url = PASSWORD_CHANGE_URL


# --- settings ----------------------------------------------------------------------------

def lockout_failures() -> int:
    return int(getattr(settings, "JIYUE_LOCKOUT_FAILURES", 5))


def lockout_period() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "JIYUE_LOCKOUT_MINUTES", 30)))


def password_max_age() -> timedelta | None:
    days = int(getattr(settings, "JIYUE_PASSWORD_MAX_AGE_DAYS", 90) or 0)
    return timedelta(days=days) if days > 0 else None


def login_url() -> str:
    """Where staff log in (the central login page when jiyue.identity provides it)."""
    return getattr(settings, "WAGTAILADMIN_LOGIN_URL", None) or settings.LOGIN_URL


def demo_platform() -> bool:
    return bool(getattr(settings, "JIYUE_DEMO", False))


def staff_2fa_enforced() -> bool:
    return bool(getattr(settings, "JIYUE_STAFF_2FA", True))


# --- finding the account -----------------------------------------------------------------

def find_user(identifier: str):
    """The account named by a username, a citizen's e-mail address or a mobile number."""
    from .models import User, normalise_mobile

    ident = (identifier or "").strip()
    if not ident or len(ident) > 254:
        return None
    user = User.objects.filter(username=ident).first()
    if user is not None:
        return user
    if "@" in ident:
        return User.objects.filter(kind=User.KIND_CITIZEN, email__iexact=ident).first()
    mobile = normalise_mobile(ident)
    if len(mobile) == 11 and mobile.startswith("1") and set(ident) <= set("0123456789+-() "):
        from jiyue.security.fields import blind_index

        return User.objects.filter(mobile_index=blind_index("mobile", mobile)).first()
    return None


def axes_client_ip(request) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the same client address as the audit log (X-Real-IP behind nginx)."""
    from jiyue.audit.context import client_address

    return client_address(request)


def axes_username(request, credentials) -> str | None:
    """AXES_USERNAME_CALLABLE: count failures against the account, however it was named."""
    field = getattr(settings, "AXES_USERNAME_FORM_FIELD", "username")
    raw = None
    if credentials:
        raw = credentials.get("username") or credentials.get(str(field))
    if raw is None and request is not None and hasattr(request, "POST"):
        raw = request.POST.get("username")
    if raw is None:
        return None
    user = find_user(raw)
    return user.get_username() if user is not None else str(raw).strip()[:150]


# --- lockout -----------------------------------------------------------------------------

def locked_until(username: str):
    """When the lock on this account ends, or None when it is not locked."""
    from axes.models import AccessAttempt
    from django.db.models import Max, Sum

    since = timezone.now() - lockout_period()
    agg = AccessAttempt.objects.filter(username=username, attempt_time__gte=since).aggregate(
        failures=Sum("failures_since_start"), last=Max("attempt_time"))
    if (agg["failures"] or 0) >= lockout_failures():
        return agg["last"] + lockout_period()
    return None


def locked_accounts() -> list[dict]:
    """Accounts locked now: username, failures, until (for the 安全管理员's screen)."""
    from axes.models import AccessAttempt
    from django.db.models import Max, Sum

    since = timezone.now() - lockout_period()
    rows = (AccessAttempt.objects.filter(attempt_time__gte=since).values("username")
            .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
            .filter(failures__gte=lockout_failures()).order_by("-last"))
    return [{"username": r["username"], "failures": r["failures"],
             "until": r["last"] + lockout_period()} for r in rows]


def unlock(actor, username: str) -> int:
    """Lift the lock on an account (the 安全管理员); returns the attempts removed. Audited."""
    from axes.utils import reset
    from django.core.exceptions import PermissionDenied

    from . import policy

    if not policy.can_unlock(actor):
        audit.record(actor, None, None, "auth.unlock", username, outcome="denied",
                     username=username)
        raise PermissionDenied(_("只有安全管理员可以解除账号锁定。"))
    n = reset(username=username)
    audit.record(actor, None, None, "auth.unlock", username, username=username, attempts=n)
    return n


def lock_message(until) -> str:
    local = timezone.localtime(until)
    return _("账号因连续 %(n)d 次登录失败已被锁定，将于 %(time)s 自动解锁；"
             "如需提前解锁，请联系安全管理员。") % {"n": lockout_failures(),
                                                  "time": local.strftime("%Y-%m-%d %H:%M")}


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the Chinese message, for logins that do not go through
    authenticate_user (Wagtail's own login form)."""
    from django.http import HttpResponse
    from django.utils.html import escape

    username = axes_username(request, credentials) or ""
    until = locked_until(username) or (timezone.now() + lockout_period())
    body = ("<!doctype html><meta charset=utf-8><title>%s</title><p>%s</p>"
            % (escape(_("账号已锁定")), escape(lock_message(until))))
    return HttpResponse(body, status=429, content_type="text/html; charset=utf-8")


# --- logging in ----------------------------------------------------------------------------

def may_log_in(user) -> bool:
    """Active, and not a demo account on a production platform."""
    if not user.is_active:
        return False
    if getattr(user, "is_demo", False) and not demo_platform():
        return False
    return True


def _refuse(request, identifier, user, outcome, reason, message):
    audit.record(None, getattr(user, "organisation", None), None, "auth.login",
                 user if user is not None else identifier, outcome=outcome, reason=reason,
                 username=getattr(user, "username", None) or identifier[:150])
    return None, message


def authenticate_user(request, identifier: str, password: str):
    """Check a login. Returns (user, None) or (None, a Chinese message for the form).

    Wrong credentials get one generic message whether or not the account exists. A disabled
    or demo account is told so only when the password is right. A locked account is told so
    whatever the password: any name, existing or not, locks after the same number of
    failures, so this tells nothing about which accounts exist."""
    from jiyue.security import ratelimit

    identifier = (identifier or "").strip()
    generic = _("账号或密码错误。")
    if not identifier or not password:
        return None, _("请输入账号和密码。")
    if not ratelimit.hit("login", ratelimit.client_key(request), request=request):
        return _refuse(request, identifier, None, "denied", "rate_limited",
                       _("登录尝试过于频繁，请稍后再试。"))
    user = find_user(identifier)
    username = user.get_username() if user is not None else identifier
    if user is not None:
        until = locked_until(username)
        if until is not None:
            return _refuse(request, identifier, user, "denied", "locked", lock_message(until))
        if not may_log_in(user) and user.check_password(password):
            if not user.is_active:
                return _refuse(request, identifier, user, "denied", "disabled",
                               _("账号已停用，请联系系统管理员。"))
            return _refuse(request, identifier, user, "denied", "demo_account",
                           _("演示账号只能在演示平台登录。"))
    result = authenticate(request=request, username=username, password=password)
    if result is None:
        until = locked_until(username)
        # The middleware would replace the login page with axes' own response; the page
        # shows our message instead.
        request.axes_locked_out = False
        if until is not None:
            return None, lock_message(until)
        return None, generic
    return result, None


# --- second factor -----------------------------------------------------------------------

def second_factor_required(user) -> bool:
    """Staff with publish or administrative rights must pass a TOTP second factor.

    Roles: the three administrators, platform operator, site administrator, publisher, and a
    reviewer of the last level of their organisation's review policy (approving at that level
    publishes). Superusers too. Demo accounts on a demo platform are exempt."""
    from . import policy

    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_demo", False) and demo_platform():
        return False
    if getattr(user, "is_superuser", False):
        return True
    return policy.publishes_or_administers(user)


def _devices(user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True)


def has_second_factor(user) -> bool:
    return bool(getattr(user, "pk", None)) and _devices(user).exists()


def verify_second_factor(request, user, code: str) -> bool:
    """Check a TOTP code against the user's confirmed device; on success mark the session as
    verified. A code is accepted once; wrong codes count towards the account lockout."""
    import django_otp
    from django.db import transaction

    code = "".join((code or "").split())
    device = None
    if code.isdigit() and len(code) <= 8:
        with transaction.atomic():
            for d in _devices(user).select_for_update():
                if d.verify_token(code):
                    device = d
                    break
    if device is None:
        _count_failure(request, user)
        audit.record(user, None, None, "auth.otp", user, outcome="failure",
                     username=user.get_username())
        return False
    user.otp_device = device  # persisted by django_otp on auth.login if not yet logged in
    if getattr(getattr(request, "user", None), "pk", None) == user.pk:
        django_otp.login(request, device)
    else:
        request.session[django_otp.DEVICE_ID_SESSION_KEY] = device.persistent_id
    audit.record(user, None, None, "auth.otp", user, username=user.get_username())
    return True


def _count_failure(request, user) -> None:
    """A wrong second-factor code is a failed login attempt for axes."""
    from axes.handlers.proxy import AxesProxyHandler

    # Straight to axes, not through the user_login_failed signal: the audit log has its own
    # auth.otp entry for this attempt.
    AxesProxyHandler.user_login_failed(sender=__name__, credentials={"username": user.get_username()},
                                       request=request)
    request.axes_locked_out = False


def otp_verified(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and getattr(user, "is_verified", lambda: False)())


# --- passwords ---------------------------------------------------------------------------

def password_expired(user) -> bool:
    """Staff whose password is older than JIYUE_PASSWORD_MAX_AGE_DAYS must change it."""
    if user is None or getattr(user, "kind", "staff") != "staff" or not user.has_usable_password():
        return False
    age = password_max_age()
    if age is None:
        return False
    if getattr(user, "is_demo", False) and demo_platform():
        return False
    changed = user.password_changed_at
    return changed is None or timezone.now() - changed > age


def policy_summary() -> list[tuple[str, str]]:
    """The security policy in force (settings; shown to the 安全管理员)."""
    age = int(getattr(settings, "JIYUE_PASSWORD_MAX_AGE_DAYS", 90) or 0)
    return [
        (_("密码最短长度"), str(getattr(settings, "JIYUE_PASSWORD_MIN_LENGTH", 8))),
        (_("密码字符类别（大写、小写、数字、特殊字符）至少"), str(getattr(settings, "JIYUE_PASSWORD_MIN_CLASSES", 3))),
        (_("不能重复使用最近的密码个数"), str(getattr(settings, "JIYUE_PASSWORD_HISTORY", 5))),
        (_("工作人员密码有效期（天）"), str(age) if age else _("不限")),
        (_("连续登录失败锁定次数"), str(lockout_failures())),
        (_("锁定时长（分钟）"), str(int(lockout_period().total_seconds() // 60))),
        (_("会话空闲超时（分钟）"), str(int(getattr(settings, "SESSION_COOKIE_AGE", 1800)) // 60)),
        (_("工作人员会话最长（小时）"),
         str(round(int(getattr(settings, "JIYUE_STAFF_SESSION_MAX_SECONDS", 0) or 0) / 3600, 1))),
        (_("发布、管理权限须第二因素（TOTP）"), _("是") if staff_2fa_enforced() else _("否")),
        (_("演示平台"), _("是（演示账号免第二因素）") if demo_platform() else _("否（演示账号不能登录）")),
    ]
