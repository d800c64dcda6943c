from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem


class _CitizensMenuItem(MenuItem):
    def is_shown(self, request):
        from .admin_views import may_manage_citizens

        return may_manage_citizens(request.user)


@hooks.register("register_admin_urls")
def citizen_urls():
    from .admin_views import CitizensView

    return [path("citizens/", CitizensView.as_view(), name="jiyue_citizens")]


@hooks.register("register_admin_menu_item")
def citizens_menu_item():
    return _CitizensMenuItem(_("公众用户"), reverse("jiyue_citizens"), icon_name="group", order=905)
