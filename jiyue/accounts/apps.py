from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from wagtail.users.apps import WagtailUsersAppConfig


class AccountsConfig(AppConfig):
    default = True
    name = "jiyue.accounts"
    label = "accounts"
    verbose_name = _("账号与权限")

    def ready(self):
        from . import checks, signals  # noqa: F401

        _mark_wagtail_refusals()


def _mark_wagtail_refusals():
    """Wagtail turns a PermissionDenied in an admin view into a redirect to the dashboard
    (wagtail.admin.auth.permission_denied). Mark such requests, so that StaffSecurityMiddleware
    records the refusal in the audit log as it does for a 403."""
    from wagtail.admin import auth

    if getattr(auth.permission_denied, "jiyue_marked", False):
        return
    original = auth.permission_denied

    def permission_denied(request):
        request.jiyue_denied = True
        return original(request)

    permission_denied.jiyue_marked = True
    auth.permission_denied = permission_denied


class StaffUsersConfig(WagtailUsersAppConfig):
    """Wagtail's user screens with jiyue's forms: no superuser flag and no group (role) field;
    roles are granted only through 人员授权 (services.grant), which keeps the three
    administrators apart."""

    default = False
    user_viewset = "jiyue.accounts.users.StaffUserViewSet"
