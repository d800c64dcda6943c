"""依申请公开 in the admin menu: 申请办理 and 年度统计 (jiyue/disclosure/admin_views.py)."""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.viewsets.base import ViewSet, ViewSetGroup


class _MenuItem(MenuItem):
    def is_shown(self, request):
        from .admin_views import may_use

        return may_use(request.user)


class ApplicationsViewSet(ViewSet):
    icon = "doc-full"
    menu_label = _("申请办理")

    @property
    def menu_item_class(self):
        return _MenuItem

    def get_urlpatterns(self):
        from .admin_views import ApplicationsView, ApplicationView, RegisterView

        return [path("", ApplicationsView.as_view(), name="index"),
                path("new/", RegisterView.as_view(), name="register"),
                path("<int:pk>/", ApplicationView.as_view(), name="detail")]


class AnnualViewSet(ViewSet):
    icon = "table"
    menu_label = _("年度统计")

    @property
    def menu_item_class(self):
        return _MenuItem

    def get_urlpatterns(self):
        from .admin_views import AnnualView

        return [path("", AnnualView.as_view(), name="index")]


class DisclosureGroup(ViewSetGroup):
    menu_label = _("依申请公开")
    menu_icon = "doc-full"
    menu_order = 182
    items = (ApplicationsViewSet("disclosure_applications", url_prefix="disclosure/applications"),
             AnnualViewSet("disclosure_annual", url_prefix="disclosure/annual"))


@hooks.register("register_admin_viewset")
def register_disclosure():
    return DisclosureGroup()
