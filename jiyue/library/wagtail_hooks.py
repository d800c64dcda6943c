"""The library in the Wagtail admin: one scoped viewset per resource kind, grouped in a menu."""

from __future__ import annotations

import django_filters
from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.ui.tables import Column as TableColumn, UpdatedAtColumn
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from jiyue.accounts import policy
from jiyue.accounts.admin_scope import scope_patterns

from . import services
from .kinds import resource_models
from .models import Classification, Resource

REVIEW_VIEWS = {"edit", "workflow_action", "collect_workflow_action_data", "preview_on_edit",
                "lock", "revisions_view", "revisions_compare"}


class ResourcePermissionPolicy(ModelPermissionPolicy):
    """Model permissions (from role grants) narrowed to the user's organisations."""

    def user_has_permission_for_instance(self, user, action, instance):
        if action == "publish":
            # publishers and site admins hold the model permission; the final-level reviewer
            # does not (no 发布 button), yet their approval publishes through the workflow
            return policy.can_publish_resource(user, instance)
        if not self.user_has_permission(user, action):
            return False
        if action == "view":
            return policy.can_view_resource(user, instance)
        return policy.can_edit_resource(user, instance)

    def instances_user_has_any_permission_for(self, user, actions):
        qs = self.model._default_manager.all()
        if not self.user_has_any_permission(user, actions):
            return qs.none()
        if set(actions) <= {"view"}:
            return policy.resources_visible(user, qs)
        return policy.resources_editable(user, qs)


class ResourceForm(WagtailAdminModelForm):
    """Offers only the organisations the user edits for, preselected when there is one, and a
    list of the columns the user may fill; the chosen columns are placed after saving
    (`after_create_snippet` / `after_edit_snippet` below)."""

    place_in = forms.ModelMultipleChoiceField(
        label=_("放置到栏目"), required=False, queryset=None,
        help_text=_("保存后放入所选栏目（可多选）；信息资源发布后即在这些栏目中显示。"
                    "其他单位站点的栏目将作为推送，由对方编辑接收。"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from jiyue.platform.models import Column

        user = self.for_user
        if user is None:
            self.fields["place_in"].queryset = Column.objects.none()
            return
        if "organisation" in self.fields:
            if self.instance.pk:
                # the owner of an existing resource does not change here (索引号 and review
                # follow it); reviewers submit this form too and edit for no organisation
                self.fields["organisation"].disabled = True
            else:
                orgs = policy.editor_organisation_ids(user)
                field = self.fields["organisation"]
                field.queryset = field.queryset.filter(pk__in=orgs)
                if len(orgs) == 1:
                    self.initial["organisation"] = next(iter(orgs))
        taken = set(self.instance.placements.values_list("column_id", flat=True)) if self.instance.pk else set()
        cols = policy.placeable_columns(user).exclude(column_type="外链").exclude(pk__in=taken)
        self.fields["place_in"].queryset = Column.objects.filter(pk__in=cols.values("pk")).order_by("path")
        self.fields["place_in"].label_from_instance = _column_label
        if "interprets" in self.fields:
            self.fields["interprets"].queryset = policy.resources_visible(
                user, self.fields["interprets"].queryset)

    def save(self, commit=True):
        obj = super().save(commit=commit)
        obj._place_in = list(self.cleaned_data.get("place_in") or [])
        return obj


@hooks.register("after_create_snippet")
@hooks.register("after_edit_snippet")
def place_chosen_columns(request, instance):
    if not isinstance(instance, Resource):
        return
    if instance.created_by_id is None:
        Resource.objects.filter(pk=instance.pk, created_by=None).update(created_by=request.user)
    for col in getattr(instance, "_place_in", []):
        services.place(request.user, instance, col)


def _column_label(col):
    from jiyue.platform.services import site_of_page

    site = site_of_page(col)
    return f"{site.name if site else ''} / {col.title}"


def _can_write(user, obj, view_name) -> bool:
    # The same rules as library.services.withdraw_resource / delete_resource: publishers take
    # items off the sites; a published item is withdrawn by a publisher before anyone deletes it.
    if view_name == "unpublish":
        return policy.can_publish_resource(user, obj) or policy.can_edit_resource(user, obj)
    if view_name == "delete" and obj.live and not policy.can_publish_resource(user, obj):
        return False
    if policy.can_edit_resource(user, obj):
        return True
    # Reviewers reach the editor of an item in their review step (Wagtail's workflow actions).
    return view_name in REVIEW_VIEWS and obj.workflow_in_progress and bool(
        policy.reviewer_levels(user, obj.organisation_id))


class ResourceFilterSet(WagtailFilterSet):
    """范围: the user's own organisations' resources by default; the shared catalogue (published
    resources of other organisations offered for reuse) on request."""

    scope = django_filters.ChoiceFilter(
        label=_("范围"), method="filter_scope", empty_label=_("全部可见"),
        choices=[("own", _("本单位")), ("placed", _("本站点引用的")), ("shared", _("可引用的共享资源"))])
    live = django_filters.BooleanFilter(label=_("已发布"))

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and "scope" not in data:
            data = data.copy()
            data["scope"] = "own"
        super().__init__(data, *args, **kwargs)

    def filter_scope(self, queryset, name, value):
        user = self.request.user
        own = policy.visible_organisation_ids(user)
        if value == "own":
            return queryset.filter(organisation_id__in=own)
        if value == "placed":
            sites = policy.visible_sites(user)
            return queryset.filter(placements__site__in=sites).exclude(organisation_id__in=own).distinct()
        if value == "shared":
            return queryset.filter(live=True, sharing__in=("all", "request")).exclude(organisation_id__in=own)
        return queryset


class ResourceViewSet(SnippetViewSet):
    list_display = ["title", TableColumn("global_id", label=_("标识")),
                    TableColumn("organisation", label=_("所属机构")),
                    TableColumn("index_number", label=_("索引号")), UpdatedAtColumn()]
    search_fields = ["title", "index_number", "keywords"]
    # database filtering over the scoped queryset (the search backend cannot apply the scope);
    # Chinese full-text search across sites comes with the search issue
    search_backend_name = None
    inspect_view_enabled = True
    copy_view_enabled = False

    def get_queryset(self, request):
        return policy.resources_visible(request.user, self.model._default_manager.all())

    def get_urlpatterns(self):
        return scope_patterns(super().get_urlpatterns(), self.model,
                              policy.can_view_resource, _can_write)


def _viewset_for(model):
    filterset = type(f"{model.__name__}FilterSet", (ResourceFilterSet,),
                     {"Meta": type("Meta", (), {"model": model, "fields": ["scope", "live"]})})
    return type(f"{model.__name__}ViewSet", (ResourceViewSet,), {
        "model": model, "filterset_class": filterset, "icon": ICONS.get(model.kind_code, "doc-full"),
        "menu_label": str(model._meta.verbose_name_plural),
    })


ICONS = {"article": "doc-full-inverse", "policy": "doc-full", "interpretation": "help",
         "guide": "list-ul", "file": "doc-empty", "image": "image", "link": "link"}


class LibraryGroup(SnippetViewSetGroup):
    menu_label = _("信息资源库")
    menu_icon = "folder-open-inverse"
    menu_order = 150
    items = tuple(_viewset_for(m) for m in resource_models())


# Every kind's panels build their form on this base (Wagtail reads the model attribute).
Resource.base_form_class = ResourceForm

for _m in [Resource, *resource_models()]:
    register_permission_policy(_m, ResourcePermissionPolicy(_m), exact_class=True)
register_snippet(LibraryGroup)


@hooks.register("register_admin_urls")
def placement_urls():
    from django.urls import path

    from .admin_views import PlacementsView

    return [path("placements/", PlacementsView.as_view(), name="jiyue_placements")]


class _GrantedMenuItem(MenuItem):
    def is_shown(self, request):
        return bool(policy.grants(request.user)) or request.user.is_superuser


@hooks.register("register_admin_menu_item")
def placement_menu_item():
    return _GrantedMenuItem(_("引用管理"), reverse("jiyue_placements"), icon_name="link", order=160)


class ClassificationPermissions(ModelPermissionPolicy):
    """The vocabularies are platform data: the operator and the system administrator edit them;
    editors choose from them in forms."""

    def user_has_permission(self, user, action):
        return user.is_superuser or policy.has_role(user, "platform_operator") or \
            policy.has_role(user, "system_admin")

    def user_has_permission_for_instance(self, user, action, instance):
        return self.user_has_permission(user, action)


register_permission_policy(Classification, ClassificationPermissions(Classification), exact_class=True)


class ClassificationViewSet(ModelViewSet):
    model = Classification
    icon = "tag"
    menu_label = _("分类词表")
    add_to_admin_menu = True
    menu_order = 880
    form_fields = ["scheme", "name", "parent", "sort_order"]
    list_display = ["__str__", "scheme", "sort_order"]
    list_filter = ["scheme"]
    search_fields = ["name"]
    copy_view_enabled = False


@hooks.register("register_admin_viewset")
def register_classifications():
    return ClassificationViewSet("classifications")
