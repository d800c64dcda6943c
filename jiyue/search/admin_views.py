"""搜索索引: every node's index replica (documents, backlog, last sync, a rebuild's progress)
and 全量重建 (a `search.rebuild` request that every node's worker carries out)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiyue import audit
from jiyue.accounts import policy
from jiyue.accounts.models import Role
from jiyue.core.admin_views import AdminPage

from . import replica
from .models import Replica

STALE_SECONDS = 60  # a node that has not reported for this long is shown as silent


def can_manage_index(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or policy.has_role(
        user, Role.PLATFORM_OPERATOR) or policy.has_role(user, Role.SYSTEM_ADMIN)


def replica_rows() -> list[dict]:
    """Every node's replica with its backlog (events after its cursor)."""
    from jiyue.core.outbox import last_id

    newest = last_id()
    now = timezone.now()
    rows = []
    for r in Replica.objects.order_by("node"):
        silent = r.synced_at is None or (now - r.synced_at).total_seconds() > STALE_SECONDS
        rows.append({
            "replica": r, "backlog": replica.backlog(r.last_event_id) if r.last_event_id < newest else 0,
            "silent": silent, "this_node": r.node == replica.node(),
            "percent": int(100 * r.progress_done / r.progress_total)
            if r.state == "rebuilding" and r.progress_total else None,
        })
    return rows


class IndexView(AdminPage):
    template_name = "search/admin/index_status.html"
    page_title = gettext_lazy("搜索索引")
    header_icon = "search"

    def dispatch(self, request, *args, **kwargs):
        if not can_manage_index(request.user):
            audit.record(request.user, None, None, "search.index.view", None, outcome="denied",
                         path=request.path[:200], method=request.method)
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        rows = replica_rows()
        return {**super().get_context_data(**kwargs), "rows": rows,
                "busy": any((r["replica"].state == "rebuilding" or r["backlog"]) and not r["silent"]
                             for r in rows)}

    def post(self, request, *args, **kwargs):
        replica.request_rebuild(request.user)
        audit.record(request.user, None, request.META.get("REMOTE_ADDR"), "search.rebuild", None,
                     object_type="search_index", object_id="all")
        messages.success(request, _("已请求全量重建：各节点将在后台重建搜索索引，期间搜索照常可用。"))
        return redirect("jiyue_search_index")
