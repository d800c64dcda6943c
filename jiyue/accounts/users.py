"""用户 (staff accounts) in the admin: Wagtail's user screens, for the 系统管理员.

The system administrator creates, edits and disables staff accounts (model permissions on
accounts.User, given by services.PLATFORM_MODEL_PERMS). Roles are never set here: the forms
have no group and no superuser field, and the bulk "assign role" action is refused; roles are
granted in 人员授权 by the 安全管理员. The system administrator cannot edit or disable an
account that holds one of the three administrator roles (other than their own), so that the
account management right cannot take over the security or the audit administrator.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from wagtail.users.views import users as wagtail_users

from jiyue import audit

from .forms import StaffUserCreationForm, StaffUserEditForm
from .models import THREE_ADMINS, RoleGrant


def protected_from(actor, target) -> bool:
    """May `actor` not manage `target`'s account? (an administrator of the three, not oneself)"""
    if getattr(actor, "is_superuser", False) or actor.pk == target.pk:
        return False
    return RoleGrant.objects.filter(user_id=target.pk, role__in=THREE_ADMINS).exists()


class StaffUserCreateView(wagtail_users.CreateView):
    def form_valid(self, form):
        response = super().form_valid(form)
        audit.record(self.request.user, None, None, "user.create", self.object,
                     username=self.object.username)
        return response


class StaffUserEditView(wagtail_users.EditView):
    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.was_active = self.object.is_active  # the form changes self.object before form_valid

    def dispatch(self, request, *args, **kwargs):
        if protected_from(request.user, self.object):
            audit.record(request.user, None, None, "user.change", self.object, outcome="denied",
                         username=self.object.username, reason="three_admins")
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        was_active = self.was_active
        changed = [f for f in form.changed_data if not f.startswith("password")]
        response = super().form_valid(form)
        user = self.object
        audit.record(self.request.user, None, None, "user.change", user, username=user.username,
                     fields=changed)
        if was_active != user.is_active:
            audit.record(self.request.user, None, None,
                         "user.enable" if user.is_active else "user.disable", user,
                         username=user.username)
        return response


class StaffUserViewSet(wagtail_users.UserViewSet):
    add_view_class = StaffUserCreateView
    edit_view_class = StaffUserEditView
    create_template_name = "wagtailadmin/generic/create.html"
    edit_template_name = "wagtailadmin/generic/edit.html"

    def get_form_class(self, for_update=False):
        return StaffUserEditForm if for_update else StaffUserCreationForm
