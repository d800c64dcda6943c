"""Demo letters: the portal's leader mailbox (省长信箱 / 市长信箱, no anonymous letters), a few
department mailboxes, the default reply deadlines (5 working days per type), and about ten
letters in every state — some replied and published (masked), one overdue. The written content
is in `demo_letters.json`. Idempotent: each demo letter is marked in `Letter.data["demo"]` and
made once."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from django.utils import timezone

DEPARTMENTS = ("czt", "jyt", "wjw", "swt", "rst", "zjt")


@lru_cache(maxsize=1)
def data() -> dict:
    return json.loads((Path(__file__).resolve().parent / "demo_letters.json").read_text("utf-8"))


def _staff(site, role):
    from jiyue.accounts.models import User

    return User.objects.filter(grants__site=site, grants__role=role, is_active=True).order_by("pk").first()


def _mailboxes(loader) -> dict:
    from .models import Mailbox

    text = data()["mailboxes"]
    out = {}
    portal = loader.sites.get("portal")
    if portal is not None:
        out["leader"], _c = Mailbox.objects.get_or_create(
            site=portal, kind=Mailbox.LEADER,
            defaults={"organisation": portal.organisation,
                      "name": text["leader_province" if loader.key == "ah" else "leader_city"],
                      "description": text["leader_description"], "allow_anonymous": False,
                      "order": 0})
    for key in DEPARTMENTS:
        site = loader.sites.get(key)
        if site is None:
            continue
        out[key], _c = Mailbox.objects.get_or_create(
            site=site, kind=Mailbox.DEPARTMENT,
            defaults={"organisation": site.organisation,
                      "name": text["department_name"].format(organisation=site.organisation.name),
                      "description": text["department_description"], "allow_anonymous": True,
                      "order": 10})
    return out


def load(loader) -> None:
    from . import services
    from .models import DeadlineRule, Letter, LetterStep, LetterType
    from .publishing import publish_letter

    for value in LetterType.values:
        DeadlineRule.objects.get_or_create(type=value, defaults={"reply_days": 5, "warn_days": 1})
    boxes = _mailboxes(loader)
    notes = data()["notes"]
    done = set(Letter.objects.filter(data__has_key="demo").values_list("data__demo", flat=True))
    now = timezone.now()
    for row in data()["letters"]:
        mailbox = boxes.get(row["mailbox"])
        demo_key = f"{loader.key}-{row['n']}"
        if mailbox is None or demo_key in done:
            continue
        received = now - timedelta(days=row["days"], hours=row["n"])
        named = bool(row["name"])
        # named letters come through the API channel (a web letter needs a citizen's login)
        letter = services.submit(
            mailbox=mailbox, site=mailbox.site, type=row["type"], title=row["title"],
            content=row["content"], anonymous=not named, name=row["name"], phone=row["phone"],
            consent_publish=row["consent"], channel="api" if named else "web",
            received_at=received, data={"demo": demo_key})
        state = row["state"]
        dispatcher, handler = _staff(mailbox.site, "dispatcher"), _staff(mailbox.site, "handler")
        if state == "submitted" or dispatcher is None or handler is None:
            continue
        if state == "rejected":
            services.act(letter, "reject", dispatcher, note=notes["reject"])
        else:
            services.act(letter, "accept", dispatcher)
        if state not in ("accepted", "rejected"):
            services.act(letter, "assign", dispatcher, note=notes["assign"])
        if row["reply"]:
            services.act(letter, "draft", handler, reply=row["reply"])
            letter = services.act(letter, "approve", dispatcher)
            if row["rating"]:
                letter = services.rate(letter, row["rating"])
            if state == "published":
                publish_letter(letter, dispatcher)
        # spread the handling over the days since the letter came (the clock is unchanged)
        steps = list(LetterStep.objects.filter(letter=letter).order_by("at", "id").values_list("pk", flat=True))
        span = (now - received) / (len(steps) + 1)
        for i, pk in enumerate(steps):
            LetterStep.objects.filter(pk=pk).update(at=received + span * i)
        last = received + span * max(len(steps) - 1, 0)
        fields = {f: last for f in ("accepted_at", "assigned_at", "replied_at", "closed_at", "rated_at")
                  if getattr(letter, f, None)}
        if fields:
            Letter.objects.filter(pk=letter.pk).update(**fields)
