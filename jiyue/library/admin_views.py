"""引用管理: placements in the admin — pending offers and requests, and where things are shown."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect

from jiyue.accounts import policy
from jiyue.core.admin_views import AdminPage, paginate

from . import services
from .services import placements_for
from .models import Placement

ACTIONS = services.PLACEMENT_ACTIONS
DONE = {"accept": "已接收推送", "refuse": "已拒绝推送", "approve": "已批准引用申请",
        "reject": "已拒绝引用申请", "withdraw": "已撤下"}


class PlacementsView(AdminPage):
    template_name = "library/admin/placements.html"
    page_title = "引用管理"
    header_icon = "link"

    def dispatch(self, request, *args, **kwargs):
        if not policy.grants(request.user) and not request.user.is_superuser:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        user = self.request.user
        mine = placements_for(user)
        offers = [p for p in mine.filter(state=Placement.OFFERED)
                  if policy.can_place_into(user, p.column)]
        requests = mine.filter(state=Placement.REQUESTED,
                               resource__organisation_id__in=policy.editor_organisation_ids(user))
        listing = mine.exclude(state__in=[Placement.OFFERED, Placement.REQUESTED])
        if self.request.GET.get("resource"):
            listing = listing.filter(resource__global_id=self.request.GET["resource"])
        if self.request.GET.get("state"):
            listing = listing.filter(state=self.request.GET["state"])
        listing = listing.order_by("site__code", "column__path", "-pinned", "sort_order")
        return {**super().get_context_data(**kwargs), "offers": offers, "requests": requests,
                **paginate(self.request, listing), "states": Placement.STATES,
                "filter_resource": self.request.GET.get("resource", ""),
                "filter_state": self.request.GET.get("state", "")}

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action")
        if action not in ACTIONS:
            messages.error(request, "未知操作。")
            return redirect("jiyue_placements")
        p = get_object_or_404(placements_for(request.user), pk=request.POST.get("placement"))
        try:
            ACTIONS[action](request.user, p)
        except PermissionDenied as exc:
            messages.error(request, str(exc) or "您无权执行该操作。")
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, f"{DONE[action]}：{p.resource.title}（{p.site.name} / {p.column.title}）")
        return redirect(request.get_full_path())
