"""Admin-wide scoping that is not tied to one model."""

from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import policy

# Wagtail's cross-site reports list log entries and workflow states by content type, not by
# organisation: only platform staff (operator, the three administrators) may open them.
PLATFORM_ONLY_PREFIXES = ("/admin/reports/", "/admin/workflows/", "/admin/users/", "/admin/groups/",
                          "/admin/sites/", "/admin/locales/", "/admin/collections/")


class PlatformOnlyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if path.startswith(PLATFORM_ONLY_PREFIXES) and request.user.is_authenticated \
                and not policy.is_platform_staff(request.user):
            raise PermissionDenied
        return self.get_response(request)


@hooks.register("construct_main_menu")
def hide_platform_menus(request, menu_items):
    if not policy.is_platform_staff(request.user):
        menu_items[:] = [i for i in menu_items if i.name not in ("reports", "settings")]


@hooks.register("register_admin_urls")
def account_urls():
    from django.urls import path

    from .admin_views import GrantsView, TokensView

    # 审计日志 (jiyue_audit, jiyue_audit_export) lives in jiyue/audit/wagtail_hooks.py.
    return [path("grants/", GrantsView.as_view(), name="jiyue_grants"),
            path("tokens/", TokensView.as_view(), name="jiyue_tokens")]


class _GrantsMenuItem(MenuItem):
    def is_shown(self, request):
        from .admin_views import grantable_roles

        return bool(grantable_roles(request.user))


@hooks.register("register_admin_menu_item")
def grants_menu_item():
    return _GrantsMenuItem(_("人员授权"), reverse("jiyue_grants"), icon_name="key", order=900)


class _StaffMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.is_superuser or bool(policy.grants(request.user))


@hooks.register("register_admin_menu_item")
def tokens_menu_item():
    return _StaffMenuItem(_("接口令牌"), reverse("jiyue_tokens"), icon_name="key", order=920)


# --- staff security: second factor, password change, 账号安全 (安全管理员) ------------------

@hooks.register("register_admin_urls")
def security_urls():
    from django.urls import path

    from .security_views import AccountSecurityView, OtpEnrolView, OtpVerifyView, PasswordChangeView

    return [path("security/", AccountSecurityView.as_view(), name="jiyue_account_security"),
            path("security/otp/", OtpEnrolView.as_view(), name="jiyue_otp_enrol"),
            path("security/otp/verify/", OtpVerifyView.as_view(), name="jiyue_otp_verify"),
            path("security/password/", PasswordChangeView.as_view(), name="jiyue_password_change")]


class _SecurityMenuItem(MenuItem):
    def is_shown(self, request):
        return policy.can_manage_security(request.user)


@hooks.register("register_admin_menu_item")
def security_menu_item():
    return _SecurityMenuItem(_("账号安全"), reverse("jiyue_account_security"), icon_name="lock",
                             order=905)


@hooks.register("before_bulk_action")
def guard_user_bulk_actions(request, action_type, objects, action_class_instance):
    """Roles are granted in 人员授权 only; the 系统管理员 does not disable the other two
    administrators' accounts. Refusals are audited by StaffSecurityMiddleware (403)."""
    from .models import User
    from .users import protected_from

    if getattr(action_class_instance, "model", None) is not User:
        return None
    if action_type == "assign_role" or any(protected_from(request.user, u) for u in objects):
        raise PermissionDenied
    return None


@hooks.register("after_bulk_action")
def audit_user_bulk_actions(request, action_type, objects, action_class_instance):
    from jiyue import audit

    from .models import User

    if getattr(action_class_instance, "model", None) is not User:
        return None
    for u in objects:
        if action_type == "set_active_state":
            u.refresh_from_db(fields=["is_active"])
            audit.record(request.user, None, None, "user.enable" if u.is_active else "user.disable",
                         u, username=u.username, bulk=True)
        else:
            audit.record(request.user, None, None, f"user.{action_type}", u, username=u.username,
                         bulk=True)
    return None
