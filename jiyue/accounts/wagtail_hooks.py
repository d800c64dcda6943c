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

    from .admin_views import AuditLogView, GrantsView, TokensView

    return [path("grants/", GrantsView.as_view(), name="jiyue_grants"),
            path("audit/", AuditLogView.as_view(), name="jiyue_audit"),
            path("tokens/", TokensView.as_view(), name="jiyue_tokens")]


class _GrantsMenuItem(MenuItem):
    def is_shown(self, request):
        from .admin_views import grantable_roles

        return bool(grantable_roles(request.user))


class _AuditMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.is_superuser or policy.has_role(request.user, "audit_admin")


@hooks.register("register_admin_menu_item")
def grants_menu_item():
    return _GrantsMenuItem(_("人员授权"), reverse("jiyue_grants"), icon_name="key", order=900)


@hooks.register("register_admin_menu_item")
def audit_menu_item():
    return _AuditMenuItem(_("审计日志"), reverse("jiyue_audit"), icon_name="history", order=910)


class _StaffMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.is_superuser or bool(policy.grants(request.user))


@hooks.register("register_admin_menu_item")
def tokens_menu_item():
    return _StaffMenuItem(_("接口令牌"), reverse("jiyue_tokens"), icon_name="key", order=920)
