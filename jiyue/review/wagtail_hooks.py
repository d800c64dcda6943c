"""审核策略 in the admin: a site administrator sets the review levels for their organisation,
site or columns; the security/system administrators see all. Reviewers of each level are
granted in 人员授权 (role 审核员, with its level)."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from jiyue.accounts import policy
from jiyue.accounts.admin_scope import ScopedViewSetMixin, scope_patterns

from .models import ReviewPolicy


def _platform_admin(user) -> bool:
    return user.is_superuser or policy.has_role(user, "system_admin") or policy.has_role(user, "security_admin")


def administered_org_ids(user) -> set[int]:
    if _platform_admin(user):
        from jiyue.platform.models import Organisation

        return set(Organisation.objects.values_list("pk", flat=True))
    return {g.site.organisation_id for g in policy.grants(user) if g.role == "site_admin" and g.site}


class ReviewPolicyPermissions(ModelPermissionPolicy):
    def user_has_permission(self, user, action):
        return bool(administered_org_ids(user))

    def user_has_permission_for_instance(self, user, action, instance):
        return instance.organisation_id in administered_org_ids(user)

    def instances_user_has_any_permission_for(self, user, actions):
        return ReviewPolicy.objects.filter(organisation_id__in=administered_org_ids(user))


register_permission_policy(ReviewPolicy, ReviewPolicyPermissions(ReviewPolicy), exact_class=True)


class ReviewPolicyForm(WagtailAdminModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = self.for_user
        if user is None:
            return
        from jiyue.platform.models import Column, Site

        orgs = administered_org_ids(user)
        self.fields["organisation"].queryset = self.fields["organisation"].queryset.filter(pk__in=orgs)
        sites = Site.objects.filter(organisation_id__in=orgs)
        self.fields["site"].queryset = sites
        q = Q(pk__in=[])
        for path in sites.exclude(home=None).values_list("home__path", flat=True):
            q |= Q(path__startswith=path)
        self.fields["column"].queryset = Column.objects.filter(q).order_by("path")


ReviewPolicy.base_form_class = ReviewPolicyForm


class ReviewPolicyViewSet(ScopedViewSetMixin, ModelViewSet):
    model = ReviewPolicy
    icon = "tasks"
    menu_label = _("审核策略")
    add_to_admin_menu = True
    menu_order = 170
    panels = [FieldPanel("organisation"), FieldPanel("site"), FieldPanel("column"),
              FieldPanel("levels"), FieldPanel("secrecy_check")]
    list_display = ["__str__", "levels", "secrecy_check"]
    copy_view_enabled = False

    def get_queryset(self, request):
        return ReviewPolicy.objects.filter(organisation_id__in=administered_org_ids(request.user))

    def get_urlpatterns(self):
        return scope_patterns(
            super().get_urlpatterns(), ReviewPolicy,
            lambda u, o: o.organisation_id in administered_org_ids(u),
            lambda u, o, v: o.organisation_id in administered_org_ids(u))


@hooks.register("register_admin_viewset")
def register_review_policies():
    return ReviewPolicyViewSet("review_policies")
