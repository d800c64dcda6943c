"""站内搜索 in the admin menu (a submenu): 搜索索引 (admin_views.py) and 政务词典, 同义词,
搜索统计 (admin_stats.py, which registers its own URLs and menu items, and the submenu with
the hook name admin_stats.SEARCH_MENU_HOOK for the other screens to join)."""

from . import admin_stats  # noqa: F401  (registers its hooks)


# --- 搜索索引 (admin_views.py) ------------------------------------------------------------------

from django.urls import path, reverse  # noqa: E402
from django.utils.translation import gettext_lazy  # noqa: E402
from wagtail import hooks  # noqa: E402
from wagtail.admin.menu import MenuItem  # noqa: E402


class _IndexMenuItem(MenuItem):
    def is_shown(self, request):
        from .admin_views import can_manage_index

        return can_manage_index(request.user)


@hooks.register("register_admin_urls")
def _search_index_urls():
    from .admin_views import IndexView

    return [path("search/index/", IndexView.as_view(), name="jiyue_search_index")]


@hooks.register(admin_stats.SEARCH_MENU_HOOK)
def _search_index_menu_item():
    return _IndexMenuItem(gettext_lazy("搜索索引"), reverse("jiyue_search_index"), icon_name="search",
                          order=10)
