"""互动交流 in the admin menu: a submenu that the interaction apps join with
`@hooks.register(INTERACTION_MENU_HOOK)` (hook name "register_interaction_menu_item"); the
feedback app adds 页面评价 and 网站找错 (admin_views.py)."""

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem

INTERACTION_MENU_HOOK = "register_interaction_menu_item"


class _RatingsMenuItem(MenuItem):
    def is_shown(self, request):
        from .admin_views import may_read_ratings

        return may_read_ratings(request.user)


class _ErrorsMenuItem(MenuItem):
    def is_shown(self, request):
        from .admin_views import may_handle_reports

        return may_handle_reports(request.user)


@hooks.register("register_admin_urls")
def _feedback_admin_urls():
    from . import admin_views as v

    return [
        path("feedback/ratings/", v.RatingsView.as_view(), name="jiyue_feedback_ratings"),
        path("feedback/errors/", v.ErrorReportsView.as_view(), name="jiyue_feedback_errors"),
        path("feedback/errors/<int:pk>/", v.ErrorReportView.as_view(), name="jiyue_feedback_error"),
        path("feedback/errors/<int:pk>/screenshot", v.screenshot, name="jiyue_feedback_screenshot"),
    ]


@hooks.register("register_admin_menu_item")
def _interaction_menu():
    return SubmenuMenuItem(_("互动交流"), Menu(register_hook_name=INTERACTION_MENU_HOOK),
                           icon_name="mail", order=170, name="jiyue-interaction")


@hooks.register(INTERACTION_MENU_HOOK)
def _ratings_menu_item():
    return _RatingsMenuItem(_("页面评价"), reverse("jiyue_feedback_ratings"), icon_name="pick",
                            order=80)


@hooks.register(INTERACTION_MENU_HOOK)
def _errors_menu_item():
    return _ErrorsMenuItem(_("网站找错"), reverse("jiyue_feedback_errors"), icon_name="warning",
                           order=70)
