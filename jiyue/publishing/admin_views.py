"""发布状态: each site's publishing state and queue; a full rebuild on request."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiyue import audit
from jiyue.accounts import policy
from jiyue.accounts.models import Role
from jiyue.core.admin_views import AdminPage

from . import services


def can_rebuild(user, site) -> bool:
    return (getattr(user, "is_superuser", False) or policy.has_role(user, Role.PLATFORM_OPERATOR)
            or policy.has_role(user, Role.SYSTEM_ADMIN) or policy.has_role(user, Role.SITE_ADMIN, site))


class PublishingView(AdminPage):
    template_name = "publishing/admin/state.html"
    page_title = gettext_lazy("发布状态")
    header_icon = "upload"

    def dispatch(self, request, *args, **kwargs):
        if (not request.user.is_authenticated or policy.has_role(request.user, Role.AUDIT_ADMIN)
                or not policy.visible_sites(request.user).exists()):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        visible = set(policy.visible_sites(self.request.user).values_list("pk", flat=True))
        rows = [r for r in services.states() if r["site"].pk in visible]
        for r in rows:
            r["can_rebuild"] = can_rebuild(self.request.user, r["site"])
            s = r["state"]
            r["percent"] = int(100 * s.progress_done / s.progress_total) \
                if s and r["running"] and s.progress_total else None
        return {**super().get_context_data(**kwargs), "rows": rows,
                "busy": any(r["running"] or r["queue"] for r in rows),
                "queued": sum(r["queue"] for r in rows),
                "failed": sum(1 for r in rows if r["state"] and r["state"].last_error)}

    def post(self, request, *args, **kwargs):
        site = policy.visible_sites(request.user).filter(code=request.POST.get("site", "")).first()
        if site is None or not can_rebuild(request.user, site):
            audit.record(request.user, None, request.META.get("REMOTE_ADDR"), "publishing.rebuild",
                         None, outcome="denied", object_type="site",
                         object_id=request.POST.get("site", ""))
            raise PermissionDenied
        services.request_rebuild(site.code)
        audit.record(request.user, site.organisation, request.META.get("REMOTE_ADDR"),
                     "publishing.rebuild", site)
        messages.success(request, _("已加入发布队列：%(site)s 全量重建。") % {"site": site.name})
        return redirect("jiyue_publishing")
