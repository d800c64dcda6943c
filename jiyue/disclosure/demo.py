"""Demo content: a handful of 依申请公开 applications across 2025–2026 in several states and
results (answered, partly public with a third-party consultation, 逾期不补正 carried over into
the next year, not held, 过程性信息; one overdue, one with an extension waiting, one new).
Idempotent: an application with the same description for the same organisation is kept.
The texts are in demo_data.json (content, not interface)."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path

from django.utils import timezone

DATA = Path(__file__).resolve().parent / "demo_data.json"
ORG_KEYS = ("czt", "bgt", "czj")  # 财政厅 / 办公厅 (the province), 财政局 (a city)


def _id_number(seed: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return seed + "10X98765432"[sum(int(c) * w for c, w in zip(seed, weights)) % 11]


def _credit_code(seed: str) -> str:
    from jiyue.platform.validators import credit_code_check_char

    return seed + credit_code_check_char(seed)


def _moment(value, now: datetime) -> datetime:
    if isinstance(value, int):  # days ago
        return now - timedelta(days=value)
    return timezone.make_aware(datetime.combine(date.fromisoformat(value), time(10, 0)))


def load(loader) -> None:
    from jiyue.accounts.models import User

    from . import services
    from .models import Application

    data = json.loads(DATA.read_text(encoding="utf-8"))
    keys = [k for k in ORG_KEYS if k in loader.sites][:2] or list(loader.sites)[:1]
    now = timezone.now()
    for n, key in enumerate(keys):
        site = loader.sites[key]
        org = site.organisation
        pre = "" if loader.key == "ah" else f"{loader.key}_"
        dispatcher = User.objects.filter(username=f"{pre}{key}_dispatch").first()
        handler = User.objects.filter(username=f"{pre}{key}_handler").first()
        for i, spec in enumerate(data["applications"]):
            if n and i % 2:  # the second organisation gets half of them
                continue
            if Application.objects.filter(organisation=org, description=spec["description"]).exists():
                continue
            person = dict(data["applicants"][spec["applicant"]])
            if "id_seed" in person:
                person["id_number"] = _id_number(person.pop("id_seed"))
            else:
                person["id_number"] = _credit_code(person.pop("credit_seed"))
            received = _moment(spec.get("received") or spec["received_days_ago"], now)
            app = services.submit(organisation=org, site=site, received_at=received,
                                  delivery=spec["delivery"], description=spec["description"],
                                  purpose=spec["purpose"], **person)
            for step in spec["steps"]:
                action, when = step[0], _moment(step[1], now)
                result = step[2] if len(step) > 2 else ""
                text = step[3] if len(step) > 3 else ""
                if action == "extend_request":
                    if handler is not None:
                        services.request_extension(app, 15, text, handler)
                    continue
                actor = dispatcher if services.ACTIONS[action][1] == "dispatch" else handler
                services.act(app, action, actor, system=actor is None, at=when,
                             note=text if action != "reply" else "", result=result,
                             reply=text if action == "reply" else "")
