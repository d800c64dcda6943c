"""内容筛查 in the admin menu (platform operator only)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from .admin_views import admin_urls, can_manage


class _OperatorMenuItem(MenuItem):
    def is_shown(self, request):
        return can_manage(request.user)


@hooks.register("register_admin_urls")
def _screening_urls():
    return admin_urls()


@hooks.register("register_admin_menu_item")
def _screening_menu():
    return _OperatorMenuItem(_("敏感词"), reverse("jiyue_screening_words"), icon_name="warning",
                             order=870, name="jiyue-screening")
