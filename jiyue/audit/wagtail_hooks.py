"""审计日志 in the admin: URLs and the menu item (审计管理员 only)."""

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from .views import AuditExportView, AuditLogView, can_read


@hooks.register("register_admin_urls")
def audit_urls():
    return [path("audit/", AuditLogView.as_view(), name="jiyue_audit"),
            path("audit/export/", AuditExportView.as_view(), name="jiyue_audit_export")]


class _AuditMenuItem(MenuItem):
    def is_shown(self, request):
        return can_read(request.user)


@hooks.register("register_admin_menu_item")
def audit_menu_item():
    return _AuditMenuItem(_("审计日志"), reverse("jiyue_audit"), icon_name="history", order=910)
