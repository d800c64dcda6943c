"""互动交流 in the admin: 信件办理 (workspace), 督查督办 (the operator's supervision view),
答复模板, 信箱管理 and 办理时限.

Each screen joins the shared 互动交流 submenu (hook "register_interaction_menu_item").

Who (see `jiyue.letters.policy`): interaction staff of an organisation (互动分办员, 互动办理员,
site administrators) and the platform operator use the workspace; dispatchers manage their
organisation's reply templates (the operator also the platform-wide ones); site administrators
manage their site's mailboxes (the operator: all, and those without a site); the operator alone
sets the deadlines and sees 督查督办. The three administrators see none of it. Template, mailbox
and deadline changes are audited through Wagtail's action log.
"""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import FieldPanel
from wagtail.admin.ui.tables import Column as TableColumn, UpdatedAtColumn
from wagtail.admin.viewsets.base import ViewSet
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from jiyue.accounts.admin_scope import ScopedViewSetMixin, scope_patterns

from . import policy
from .admin_forms import DeadlineRuleForm, MailboxForm, ReplyTemplateForm
from .models import DeadlineRule, Mailbox, ReplyTemplate

# The 互动交流 submenu (created by jiyue/feedback/wagtail_hooks.py, which the interaction apps
# share): these screens join it.
INTERACTION_MENU_HOOK = "register_interaction_menu_item"


# --- permission policies of the model screens ----------------------------------------------

class TemplatePermissions(ModelPermissionPolicy):
    def user_has_permission(self, user, action):
        return bool(policy.template_organisation_ids(user)) or policy.can_manage_template(user, None)

    def user_has_permission_for_instance(self, user, action, instance):
        return policy.can_manage_template(user, instance.organisation_id)

    def instances_user_has_any_permission_for(self, user, actions):
        return policy.templates_visible(user)


class MailboxPermissions(ModelPermissionPolicy):
    def user_has_permission(self, user, action):
        return policy.mailbox_sites(user).exists()

    def user_has_permission_for_instance(self, user, action, instance):
        if action == "delete" and instance.letters.exists():
            return False  # letters keep their mailbox: disable it instead
        return policy.can_manage_mailbox(user, instance)

    def instances_user_has_any_permission_for(self, user, actions):
        return policy.mailboxes_visible(user)


class DeadlinePermissions(ModelPermissionPolicy):
    def user_has_permission(self, user, action):
        return policy.can_manage_deadlines(user)

    def user_has_permission_for_instance(self, user, action, instance):
        return policy.can_manage_deadlines(user)

    def instances_user_has_any_permission_for(self, user, actions):
        return DeadlineRule.objects.all() if policy.can_manage_deadlines(user) else DeadlineRule.objects.none()


register_permission_policy(ReplyTemplate, TemplatePermissions(ReplyTemplate), exact_class=True)
register_permission_policy(Mailbox, MailboxPermissions(Mailbox), exact_class=True)
register_permission_policy(DeadlineRule, DeadlinePermissions(DeadlineRule), exact_class=True)
ReplyTemplate.base_form_class = ReplyTemplateForm
Mailbox.base_form_class = MailboxForm
DeadlineRule.base_form_class = DeadlineRuleForm


class ReplyTemplateViewSet(ScopedViewSetMixin, ModelViewSet):
    menu_hook = INTERACTION_MENU_HOOK
    model = ReplyTemplate
    icon = "doc-full"
    menu_label = _("答复模板")
    menu_order = 30
    panels = [FieldPanel("organisation"), FieldPanel("title"), FieldPanel("body")]
    list_display = ["title", TableColumn("organisation", label=_("单位")), UpdatedAtColumn()]
    search_fields = ["title", "body"]
    search_backend_name = None
    copy_view_enabled = False
    inspect_view_enabled = False

    def get_queryset(self, request):
        return policy.templates_visible(request.user).select_related("organisation")

    def get_urlpatterns(self):
        return scope_patterns(
            super().get_urlpatterns(), ReplyTemplate,
            lambda u, o: policy.can_manage_template(u, o.organisation_id),
            lambda u, o, v: policy.can_manage_template(u, o.organisation_id))


class MailboxViewSet(ScopedViewSetMixin, ModelViewSet):
    menu_hook = INTERACTION_MENU_HOOK
    model = Mailbox
    icon = "mail"
    menu_label = _("信箱管理")
    menu_order = 40
    panels = [FieldPanel("site"), FieldPanel("organisation"), FieldPanel("kind"), FieldPanel("name"),
              FieldPanel("leader_name"), FieldPanel("description"), FieldPanel("types"),
              FieldPanel("allow_anonymous"), FieldPanel("enabled"), FieldPanel("order")]
    list_display = ["name", TableColumn("kind", label=_("类型"), accessor="get_kind_display"),
                    TableColumn("site", label=_("所在站点")), TableColumn("organisation", label=_("受理单位")),
                    TableColumn("enabled", label=_("启用"))]
    search_fields = ["name", "leader_name"]
    search_backend_name = None
    copy_view_enabled = False
    inspect_view_enabled = False

    def get_queryset(self, request):
        return policy.mailboxes_visible(request.user).select_related("site", "organisation")

    def get_urlpatterns(self):
        return scope_patterns(
            super().get_urlpatterns(), Mailbox,
            lambda u, o: policy.can_manage_mailbox(u, o),
            lambda u, o, v: policy.can_manage_mailbox(u, o)
            and not (v == "delete" and o.letters.exists()))


class DeadlineRuleViewSet(ModelViewSet):
    menu_hook = INTERACTION_MENU_HOOK
    model = DeadlineRule
    icon = "time"
    menu_label = _("办理时限")
    menu_order = 50
    panels = [FieldPanel("type"), FieldPanel("reply_days"), FieldPanel("warn_days")]
    list_display = [TableColumn("type", label=_("信件类型"), accessor="get_type_display"),
                    TableColumn("reply_days", label=_("答复时限（工作日）")),
                    TableColumn("warn_days", label=_("到期前提醒（工作日）"))]
    copy_view_enabled = False
    inspect_view_enabled = False

    def get_urlpatterns(self):
        return scope_patterns(super().get_urlpatterns(), DeadlineRule,
                              lambda u, o: policy.can_manage_deadlines(u),
                              lambda u, o, v: policy.can_manage_deadlines(u))


# --- the workspace and supervision -----------------------------------------------------------

class _WorkspaceMenuItem(MenuItem):
    def is_shown(self, request):
        return policy.works_on_letters(request.user)


class _SupervisionMenuItem(MenuItem):
    def is_shown(self, request):
        return policy.can_supervise(request.user)


class WorkspaceViewSet(ViewSet):
    menu_hook = INTERACTION_MENU_HOOK
    icon = "mail"
    menu_label = _("信件办理")
    menu_order = 10

    @property
    def menu_item_class(self):
        return _WorkspaceMenuItem

    def get_urlpatterns(self):
        from .admin_views import AttachmentView, LetterView, WorkspaceView

        return [path("", WorkspaceView.as_view(), name="index"),
                path("<int:pk>/", LetterView.as_view(), name="letter"),
                path("<int:pk>/attachments/<int:attachment>/", AttachmentView.as_view(),
                     name="attachment")]


class SupervisionViewSet(ViewSet):
    menu_hook = INTERACTION_MENU_HOOK
    icon = "warning"
    menu_label = _("督查督办")
    menu_order = 20

    @property
    def menu_item_class(self):
        return _SupervisionMenuItem

    def get_urlpatterns(self):
        from .admin_views import SupervisionView

        return [path("", SupervisionView.as_view(), name="index")]


@hooks.register("register_admin_viewset")
def register_letters():
    return [WorkspaceViewSet("letters_workspace", url_prefix="letters"),
            SupervisionViewSet("letters_supervision", url_prefix="letters/supervision"),
            ReplyTemplateViewSet("letters_templates", url_prefix="letters/templates"),
            MailboxViewSet("letters_mailboxes", url_prefix="letters/mailboxes"),
            DeadlineRuleViewSet("letters_deadlines", url_prefix="letters/deadlines")]
