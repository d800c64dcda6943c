"""平台设置 in the admin: the system administrator edits the platform record (name, 索引号
pattern); its code, which every global identifier starts with, is fixed once set."""

from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from jiyue.accounts import policy

from .models import Platform


class PlatformPermissions(ModelPermissionPolicy):
    def user_has_permission(self, user, action):
        if action in ("add", "delete"):
            return False  # `jiyue setup` creates the one platform record
        return user.is_superuser or policy.has_role(user, "system_admin")

    def user_has_permission_for_instance(self, user, action, instance):
        return self.user_has_permission(user, action)


register_permission_policy(Platform, PlatformPermissions(Platform), exact_class=True)


class PlatformForm(WagtailAdminModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "code" in self.fields:
            self.fields["code"].disabled = True


Platform.base_form_class = PlatformForm


class PlatformViewSet(ModelViewSet):
    model = Platform
    icon = "cogs"
    menu_label = _("平台设置")
    add_to_admin_menu = True
    menu_order = 890
    panels = [FieldPanel("code"), FieldPanel("name"), FieldPanel("level"), FieldPanel("region_code"),
              FieldPanel("index_number_pattern")]
    list_display = ["name", "code", "level", "index_number_pattern"]
    copy_view_enabled = False


@hooks.register("register_admin_viewset")
def register_platform():
    return PlatformViewSet("platform")


@hooks.register("insert_global_admin_css")
def admin_stylesheet():
    """jiyue's few admin styles (core/static/jiyue/admin.css) on every admin page."""
    return format_html('<link rel="stylesheet" href="{}">', static("jiyue/admin.css"))
