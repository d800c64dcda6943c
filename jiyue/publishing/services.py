"""The publishing interface other apps and commands use."""

from __future__ import annotations

from . import engine
from .engine import Stats, mark, run_full, run_pending  # noqa: F401  (the interface)
from .models import Dirty, PublishedFile, SiteState


def request_rebuild(site_code: str) -> None:
    """Queue a full rebuild of one site (the admin's 全部重建 button)."""
    engine.mark(site_code, "site")
    from .consumer import kick

    kick()


def states() -> list[dict]:
    """Each site's publishing state and queue, for the admin and the CLI."""
    from django.db.models import Count, Sum

    from jiyue.platform.models import Site

    queue = dict(Dirty.objects.values("site_code").annotate(n=Count("id"))
                 .values_list("site_code", "n"))
    files = {r["site_code"]: r for r in PublishedFile.objects.values("site_code")
             .annotate(n=Count("id"), size=Sum("size"))}
    st = {s.site_code: s for s in SiteState.objects.all()}
    out = []
    for site in Site.objects.order_by("code"):
        s = st.get(site.code)
        out.append({"site": site, "queue": queue.get(site.code, 0),
                    "files": files.get(site.code, {}).get("n", 0),
                    "size": files.get(site.code, {}).get("size") or 0, "state": s,
                    "running": bool(s and s.lease_owner)})
    return out

