"""Outbox consumer: turns library, placement, column and site events into publishing work.

For a resource event, every site that shows the resource (or a resource linked to it: a policy
and its interpretations) gets `r:<id>` marked, and every column it is placed in gets
`col:<id>` marked, so lists, feeds and sitemaps are re-planned. A column below the main
navigation that is renamed, edited, created or moved within its site marks `c:<id>` (every page
that shows its name or lies under it) and its parent's `col:`; other column events and site
events mark the whole site (`site`). Marking is idempotent; the publisher job runs after the commit.
"""

from __future__ import annotations

from jiyue.core import outbox
from jiyue.core.models import Event
from jiyue.library.models import Interpretation, Placement, Resource

from . import engine

TOPICS = ("resource.", "placement.", "site.", "column.")


def handle(event: Event) -> None:
    p = event.payload or {}
    if event.topic.startswith(("site.", "column.")):
        verb = event.topic.partition(".")[2]
        below_nav = (event.topic.startswith("column.") and verb in ("published", "moved")
                     and p.get("top") is False and p.get("column"))
        for code in p.get("sites") or ([p["site"]] if p.get("site") else []):
            if below_nav and len(p["sites"]) == 1:
                # a column below the main navigation changed (renamed, edited, created, moved
                # within the site): its pages, its parent's, and every page that shows its name
                engine.mark(code, f"c:{p['column']}", f"col:{p['column']}",
                            *([f"col:{p['parent']}"] if p.get("parent") else []))
            else:
                engine.mark(code, "site")
    else:
        rid = p.get("id")
        if rid is None:
            rid = Resource.objects.filter(global_id=p.get("resource")).values_list("pk", flat=True).first()
        if rid is None:
            return
        marks: dict[str, set[str]] = {}
        related = set(p.get("related") or [])
        related |= set(Interpretation.objects.filter(pk=rid).values_list("interprets_id", flat=True))
        related |= set(Interpretation.objects.filter(interprets_id=rid).values_list("pk", flat=True))
        rows = list(Placement.objects.filter(resource_id=rid).values_list("site__code", "column_id"))
        rows += [tuple(x) for x in p.get("placements") or []]
        if p.get("site") and p.get("column"):
            rows.append((p["site"], p["column"]))
        for code, column in rows:
            marks.setdefault(code, set()).update({f"r:{rid}", f"col:{column}"})
        for other, code in Placement.objects.filter(resource_id__in=related) \
                .values_list("resource_id", "site__code"):
            marks.setdefault(code, set()).update({f"r:{other}", f"r:{rid}"})
        for code, keys in sorted(marks.items()):
            engine.mark(code, *sorted(keys))
    outbox.once_on_commit(kick)


def kick() -> None:
    from django.conf import settings

    if getattr(settings, "JIYUE_PUBLISH_AUTORUN", True):
        from .tasks import publish_pending

        try:
            publish_pending.enqueue()
        except Exception:  # noqa: BLE001 - the periodic job publishes anyway
            import logging

            logging.getLogger(__name__).exception("could not enqueue publishing")
