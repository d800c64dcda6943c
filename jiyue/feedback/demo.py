"""Demo ratings and error reports: a few 好/差 on the published pages of the portal and two
departments (with reasons), and three 找错 reports per site — one new, one overdue, one
answered. The written content is in `demo_feedback.json`. Idempotent: ratings have fixed voter
keys and reports fixed query codes."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

SITES = ("portal", "czt", "jyt")


def _data() -> dict:
    return json.loads((Path(__file__).resolve().parent / "demo_feedback.json").read_text("utf-8"))


def _code(seed: str) -> str:
    from .services import CODE_ALPHABET, CODE_LENGTH

    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(CODE_ALPHABET[b % len(CODE_ALPHABET)] for b in digest[:CODE_LENGTH])


def _staff(site, role):
    from jiyue.accounts.models import User

    return User.objects.filter(grants__site=site, grants__role=role, is_active=True).order_by("pk").first()


def load(loader) -> None:
    from jiyue.library.models import Placement

    from . import services
    from .models import ErrorReport, Rating

    data = _data()
    today = timezone.localdate()
    for key in SITES:
        site = loader.sites.get(key)
        if site is None:
            continue
        placements = list(Placement.objects.filter(site=site, state=Placement.LIVE, resource__live=True)
                          .select_related("resource").order_by("-published_at", "pk")[:3])
        for i, spec in enumerate(data["ratings"]):
            if not placements:
                break
            p = placements[i % len(placements)]
            day = today - timedelta(days=i % 5)
            Rating.objects.get_or_create(
                site=site, page=f"content/{p.resource_id}.html", day=day,
                voter=services.voter_key(f"demo-{loader.key}-{site.code}-{i}"),
                defaults={"column_id": p.column_id, "resource_id": p.resource_id,
                          "organisation_id": p.resource.organisation_id or site.organisation_id,
                          "value": spec["value"], "reasons": spec["reasons"],
                          "comment": spec["comment"], "address": services.address_key("demo")})
        for i, spec in enumerate(data["errors"]):
            code = _code(f"{loader.key}-{site.code}-{i}")
            if ErrorReport.objects.filter(code=code).exists():
                continue
            page = f"content/{placements[i % len(placements)].resource_id}.html" if placements else ""
            report = services.report_error(
                site=site, url=page, type=spec["type"], description=spec["description"],
                contact=spec["contact"],
                received_at=timezone.now() - timedelta(days=spec["days_ago"], hours=2))
            ErrorReport.objects.filter(pk=report.pk).update(code=code)
            report.code = code
            if spec["state"] == "answered":
                dispatcher, handler = _staff(site, "dispatcher"), _staff(site, "handler")
                if dispatcher is None or handler is None:
                    continue
                report = services.forward(report, dispatcher)
                services.answer(report, handler, spec["outcome"], spec["answer"])
        services.check_overdue()
