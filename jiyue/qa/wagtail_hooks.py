"""智能问答 in the admin: 问答知识库 (FAQ entries, per organisation) and 问答记录 (questions).

Who: site administrators and editors of a site manage their organisation's entries and read
their site's questions; the platform operator manages every entry (and the platform-level
ones) and reads every question (`jiyue.accounts.policy.faq_organisation_ids / can_manage_faq /
qa_sites`). Entries added, edited (启用/停用 included) and deleted here are audited through
Wagtail's action log; the question log audits its own actions.
"""

from __future__ import annotations

import django_filters
from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import FieldPanel
from wagtail.admin.ui.tables import Column as TableColumn, UpdatedAtColumn
from wagtail.admin.viewsets.base import ViewSet, ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from jiyue.accounts import policy
from jiyue.accounts.admin_scope import ScopedViewSetMixin, scope_patterns

from .forms import FaqForm
from .models import FaqEntry


def _manages_any(user) -> bool:
    return bool(policy.faq_organisation_ids(user)) or policy.can_manage_faq(user, None)


def faq_visible(user):
    """The entries a user manages (the operator: all, platform-level ones included)."""
    if policy.can_manage_faq(user, None):
        return FaqEntry.objects.all()
    return FaqEntry.objects.filter(organisation_id__in=policy.faq_organisation_ids(user))


class FaqPermissions(ModelPermissionPolicy):
    def user_has_permission(self, user, action):
        return _manages_any(user)

    def user_has_permission_for_instance(self, user, action, instance):
        return policy.can_manage_faq(user, instance.organisation_id)

    def instances_user_has_any_permission_for(self, user, actions):
        return faq_visible(user)


register_permission_policy(FaqEntry, FaqPermissions(FaqEntry), exact_class=True)
FaqEntry.base_form_class = FaqForm


def _organisations(request):
    from jiyue.platform.models import Organisation

    if request is None:
        return Organisation.objects.none()
    return Organisation.objects.filter(pk__in=policy.faq_organisation_ids(request.user)).order_by("path")


class FaqFilterSet(WagtailFilterSet):
    organisation = django_filters.ModelChoiceFilter(label=_("处理单位"), queryset=_organisations)
    platform = django_filters.BooleanFilter(label=_("平台级知识"), field_name="organisation",
                                            lookup_expr="isnull")
    enabled = django_filters.BooleanFilter(label=_("启用"))

    class Meta:
        model = FaqEntry
        fields = ["organisation", "platform", "enabled"]


class FaqViewSet(ScopedViewSetMixin, ModelViewSet):
    model = FaqEntry
    icon = "help"
    menu_label = _("问答知识库")
    panels = [FieldPanel("organisation"), FieldPanel("question"), FieldPanel("answer"),
              FieldPanel("enabled")]
    list_display = ["__str__", TableColumn("organisation", label=_("处理单位")),
                    TableColumn("unit_name", label=_("导入时的处理单位")),
                    TableColumn("enabled", label=_("启用")), UpdatedAtColumn()]
    search_fields = ["question", "answer", "unit_name"]
    search_backend_name = None  # database filtering within the scoped queryset
    filterset_class = FaqFilterSet
    copy_view_enabled = False
    inspect_view_enabled = True
    inspect_view_fields = ["organisation", "question", "answer", "unit_name", "enabled",
                           "created_by", "created_at", "updated_at"]

    def get_queryset(self, request):
        return faq_visible(request.user).select_related("organisation")

    def get_urlpatterns(self):
        return scope_patterns(
            super().get_urlpatterns(), FaqEntry,
            lambda u, o: policy.can_manage_faq(u, o.organisation_id),
            lambda u, o, v: policy.can_manage_faq(u, o.organisation_id))


class _QuestionsMenuItem(MenuItem):
    def is_shown(self, request):
        from .admin_views import may_read_questions

        return may_read_questions(request.user)


class QuestionLogViewSet(ViewSet):
    icon = "list-ul"
    menu_label = _("问答记录")

    @property
    def menu_item_class(self):
        return _QuestionsMenuItem

    def get_urlpatterns(self):
        from .admin_views import ConvertView, QuestionsView

        return [path("", QuestionsView.as_view(), name="index"),
                path("<int:pk>/faq/", ConvertView.as_view(), name="convert")]


class QaGroup(ViewSetGroup):
    menu_label = _("智能问答")
    menu_icon = "help"
    menu_order = 175
    items = (FaqViewSet("qa_faq", url_prefix="qa/faq"),
             QuestionLogViewSet("qa_questions", url_prefix="qa/questions"))


@hooks.register("register_admin_viewset")
def register_qa():
    return QaGroup()
