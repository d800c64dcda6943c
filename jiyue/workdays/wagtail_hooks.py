"""工作日历 in the admin menu (admin_views.py): the platform operator and the system
administrator see it."""

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem


class _CalendarMenuItem(MenuItem):
    def is_shown(self, request):
        from .admin_views import can_read

        return can_read(request.user)


@hooks.register("register_admin_urls")
def _workdays_admin_urls():
    from .admin_views import WorkdaysView

    return [path("workdays/", WorkdaysView.as_view(), name="jiyue_workdays")]


@hooks.register("register_admin_menu_item")
def _workdays_menu_item():
    return _CalendarMenuItem(_("工作日历"), reverse("jiyue_workdays"), icon_name="date", order=880)
