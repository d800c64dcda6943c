"""Organisations and sites in the admin, scoped to what the user is granted."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel
from wagtail.admin.ui.tables import Column as TableColumn
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from jiyue.accounts import policy
from jiyue.accounts.admin_scope import ScopedViewSetMixin, scope_patterns

from .models import Organisation, Site


class SitePolicy(ModelPermissionPolicy):
    """系统管理员 creates and removes sites; a site's 站点管理员 (and the 系统管理员) edit it;
    anyone granted a role on a site, and platform staff, may view it."""

    def _system(self, user) -> bool:
        return user.is_superuser or policy.has_role(user, "system_admin")

    def user_has_permission(self, user, action):
        if action in ("add", "delete"):
            return self._system(user)
        if action == "change":
            return self._system(user) or any(g.role == "site_admin" for g in policy.grants(user))
        if action == "view":
            return policy.is_platform_staff(user) or bool(policy.grants(user))
        return False

    def user_has_permission_for_instance(self, user, action, instance):
        if not self.user_has_permission(user, action):
            return False
        if action == "view":
            return policy.visible_sites(user).filter(pk=instance.pk).exists()
        return self._system(user) or (action == "change" and policy.has_role(user, "site_admin", instance))

    def instances_user_has_any_permission_for(self, user, actions):
        return policy.visible_sites(user)


class OrganisationPolicy(ModelPermissionPolicy):
    def user_has_permission(self, user, action):
        if action == "view":
            return bool(policy.grants(user)) or user.is_superuser
        return user.is_superuser or policy.has_role(user, "system_admin")

    def user_has_permission_for_instance(self, user, action, instance):
        if action == "view":
            return instance.pk in policy.visible_organisation_ids(user)
        return self.user_has_permission(user, action)

    def instances_user_has_any_permission_for(self, user, actions):
        return Organisation.objects.filter(pk__in=policy.visible_organisation_ids(user))


register_permission_policy(Site, SitePolicy(Site), exact_class=True)
register_permission_policy(Organisation, OrganisationPolicy(Organisation), exact_class=True)


class SiteForm(WagtailAdminModelForm):
    """A site administrator keeps the footer facts of their site current; its identity
    (organisation, level, kind, domains, 网站标识码) and state are the system administrator's."""

    IDENTITY = ("organisation", "level", "kind", "domain", "cn_domain", "code", "state")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = self.for_user
        if user is not None and not (user.is_superuser or policy.has_role(user, "system_admin")):
            for name in self.IDENTITY:
                if name in self.fields:
                    self.fields[name].disabled = True

    def save(self, commit=True):
        from .services import provision_site

        creating = self.instance.pk is None
        site = super().save(commit=commit)
        if creating and commit:
            provision_site(site)  # home page, columns by level and kind, local hostname
        return site


Site.base_form_class = SiteForm


class SiteViewSet(ScopedViewSetMixin, ModelViewSet):
    model = Site
    icon = "site"
    menu_label = _("站点")
    list_display = ["name", "code", "domain", TableColumn("organisation", label=_("主办机构")),
                    "state"]
    search_fields = ["name", "code", "domain"]
    panels = Site.panels
    inspect_view_enabled = True
    copy_view_enabled = False

    def get_queryset(self, request):
        return policy.visible_sites(request.user)

    def get_urlpatterns(self):
        pol = SitePolicy(Site)
        return scope_patterns(
            super().get_urlpatterns(), Site,
            lambda u, o: pol.user_has_permission_for_instance(u, "view", o),
            lambda u, o, v: pol.user_has_permission_for_instance(u, "delete" if v == "delete" else "change", o))


class OrganisationForm(WagtailAdminModelForm):
    """Organisations form a tree: a new one is created under its parent (or as a root)."""

    parent = forms.ModelChoiceField(label=_("上级机构"), required=False,
                                    queryset=Organisation.objects.order_by("path"),
                                    help_text=_("不选则为顶级机构（如省、市人民政府）。"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["parent"]  # moving within the tree is a separate operation

    def save(self, commit=True):
        if self.instance.pk:
            return super().save(commit=commit)
        obj = super().save(commit=False)
        parent = self.cleaned_data.get("parent")
        return parent.add_child(instance=obj) if parent else Organisation.add_root(instance=obj)


Organisation.base_form_class = OrganisationForm


class OrganisationViewSet(ScopedViewSetMixin, ModelViewSet):
    model = Organisation
    icon = "group"
    menu_label = _("机构")
    list_display = ["name", "short_name", "code", "kind"]
    search_fields = ["name", "short_name"]
    panels = [FieldPanel("parent"), *Organisation.panels]
    copy_view_enabled = False

    def get_queryset(self, request):
        return Organisation.objects.filter(pk__in=policy.visible_organisation_ids(request.user))

    def get_urlpatterns(self):
        pol = OrganisationPolicy(Organisation)
        return scope_patterns(
            super().get_urlpatterns(), Organisation,
            lambda u, o: pol.user_has_permission_for_instance(u, "view", o),
            lambda u, o, v: pol.user_has_permission(u, "change"))


class PlatformGroup(ModelViewSetGroup):
    menu_label = _("站点管理")
    menu_icon = "site"
    menu_order = 120
    items = (SiteViewSet, OrganisationViewSet)


@hooks.register("register_admin_viewset")
def register_viewset():
    return PlatformGroup()
