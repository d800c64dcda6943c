from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from jiyue.accounts import policy


@hooks.register("register_admin_urls")
def publishing_urls():
    from .admin_views import PublishingView

    return [path("publishing/", PublishingView.as_view(), name="jiyue_publishing")]


class _PublishingMenuItem(MenuItem):
    def is_shown(self, request):
        from jiyue.accounts.models import Role

        return (not policy.has_role(request.user, Role.AUDIT_ADMIN)
                and policy.visible_sites(request.user).exists())


@hooks.register("register_admin_menu_item")
def publishing_menu_item():
    return _PublishingMenuItem(_("发布状态"), reverse("jiyue_publishing"), icon_name="upload",
                               order=850)
