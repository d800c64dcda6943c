"""公众用户 in the admin: the 系统管理员 looks citizens up and records their real-name level
(实名 is set by staff until an identity-verification adapter exists) or disables an account."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiyue import audit
from jiyue.accounts import policy
from jiyue.accounts.models import Role, User, normalise_mobile
from jiyue.core.admin_views import AdminPage, paginate
from jiyue.security.fields import blind_index


def may_manage_citizens(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or policy.has_role(user, Role.SYSTEM_ADMIN)


class CitizensView(AdminPage):
    template_name = "identity/admin/citizens.html"
    page_title = gettext_lazy("公众用户")
    header_icon = "user"

    def dispatch(self, request, *args, **kwargs):
        if not may_manage_citizens(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        qs = User.objects.filter(kind=User.KIND_CITIZEN).order_by("-date_joined", "-id")
        q = self.request.GET.get("q", "").strip()[:254]
        if q:
            match = Q(username=q) | Q(email__iexact=q) | Q(real_name=q)
            mobile = normalise_mobile(q)
            if len(mobile) == 11:
                match |= Q(mobile_index=blind_index("mobile", mobile))
            qs = qs.filter(match)
        return {**super().get_context_data(**kwargs), **paginate(self.request, qs), "q": q,
                "levels": User.REAL_NAME_LEVELS}

    def post(self, request, *args, **kwargs):
        citizen = get_object_or_404(User, kind=User.KIND_CITIZEN, pk=request.POST.get("user"))
        level = request.POST.get("real_name_level")
        active = request.POST.get("is_active")
        if level not in dict(User.REAL_NAME_LEVELS) or active not in ("0", "1"):
            messages.error(request, _("提交的内容无效。"))
            return redirect("jiyue_citizens")
        before = {"real_name_level": citizen.real_name_level, "is_active": citizen.is_active}
        citizen.real_name_level = level
        citizen.is_active = active == "1"
        citizen.save(update_fields=["real_name_level", "is_active"])
        after = {"real_name_level": citizen.real_name_level, "is_active": citizen.is_active}
        if before != after:
            audit.record(request.user, None, None, "identity.citizen.update", citizen,
                         before=before, after=after)
            if not citizen.is_active:
                from . import sso

                sso.end_all_for(citizen)
        messages.success(request, _("已保存：%(user)s") % {"user": citizen.username})
        return redirect(request.get_full_path())
