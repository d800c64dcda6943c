"""对接系统 in the admin menu, for the 系统管理员 only."""

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import services


@hooks.register("register_admin_urls")
def oidc_urls():
    from .admin_views import ClientCreateView, ClientEditView, ClientsView, SecretView

    return [path("oidc/clients/", ClientsView.as_view(), name="jiyue_oidc_clients"),
            path("oidc/clients/add/", ClientCreateView.as_view(), name="jiyue_oidc_client_add"),
            path("oidc/clients/<int:pk>/", ClientEditView.as_view(), name="jiyue_oidc_client"),
            path("oidc/clients/<int:pk>/secret/", SecretView.as_view(), name="jiyue_oidc_client_secret")]


class _SystemAdminMenuItem(MenuItem):
    def is_shown(self, request):
        return services.can_manage(request.user)


@hooks.register("register_admin_menu_item")
def oidc_menu_item():
    return _SystemAdminMenuItem(_("对接系统"), reverse("jiyue_oidc_clients"), icon_name="link",
                                order=895)
