"""12345热线 in the admin menu: 对接配置 (系统管理员) and 交换记录 (operator, 系统管理员)."""

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import services


@hooks.register("register_admin_urls")
def hotline_urls():
    from .admin_views import KeyView, MessagesView, PeerCreateView, PeerEditView, PeersView

    return [path("hotline/peers/", PeersView.as_view(), name="jiyue_hotline_peers"),
            path("hotline/peers/add/", PeerCreateView.as_view(), name="jiyue_hotline_peer_add"),
            path("hotline/peers/<int:pk>/", PeerEditView.as_view(), name="jiyue_hotline_peer"),
            path("hotline/peers/<int:pk>/key/", KeyView.as_view(), name="jiyue_hotline_peer_key"),
            path("hotline/messages/", MessagesView.as_view(), name="jiyue_hotline_messages")]


class _ConfigMenuItem(MenuItem):
    def is_shown(self, request):
        return services.can_configure(request.user)


class _LogMenuItem(MenuItem):
    def is_shown(self, request):
        return services.can_read_log(request.user)


@hooks.register("register_admin_menu_item")
def hotline_config_item():
    return _ConfigMenuItem(_("12345对接配置"), reverse("jiyue_hotline_peers"), icon_name="link",
                           order=896)


@hooks.register("register_admin_menu_item")
def hotline_log_item():
    return _LogMenuItem(_("12345交换记录"), reverse("jiyue_hotline_messages"), icon_name="list-ul",
                        order=897)
