"""Demo content for 公众参与 (`jiyue demo`): an open consultation with approved comments, a closed
one with its published summary, a survey with responses and a past interview with transcript.
The texts are in demo_data.json. Idempotent: an item whose title exists on the site is kept."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

DATA = Path(__file__).resolve().parent / "demo_data.json"


def _site_key(loader) -> str | None:
    for key in ("czt", "portal"):
        if key in loader.sites:
            return key
    return next(iter(loader.sites), None)


def load(loader) -> None:
    from .models import (Comment, Consultation, Interview, InterviewQuestion, Moderation, Survey,
                         SurveyAnswer, SurveyQuestion, SurveyResponse)
    from .services import browser_key

    key = _site_key(loader)
    if key is None:
        return
    site, org = loader.sites[key], loader.orgs[key]
    data = json.loads(DATA.read_text(encoding="utf-8"))
    now = timezone.now()
    common = {"site": site, "organisation": org}

    spec = data["open_consultation"]
    if not Consultation.objects.filter(site=site, title=spec["title"]).exists():
        c = Consultation.objects.create(**common, title=spec["title"], intro=spec["intro"],
                                        draft_text=spec["draft_text"], state=Consultation.OPEN,
                                        opens_at=now - timedelta(days=5), closes_at=now + timedelta(days=25),
                                        published_at=now - timedelta(days=5))
        for i, text in enumerate(spec["comments"]):
            Comment.objects.create(consultation=c, content=text, status=Moderation.APPROVED,
                                   moderated_at=now, created_at=now - timedelta(days=4 - i))

    spec = data["closed_consultation"]
    if not Consultation.objects.filter(site=site, title=spec["title"]).exists():
        c = Consultation.objects.create(**common, title=spec["title"], intro=spec["intro"],
                                        draft_text=spec["draft_text"], state=Consultation.SUMMARISED,
                                        opens_at=now - timedelta(days=60), closes_at=now - timedelta(days=30),
                                        published_at=now - timedelta(days=60),
                                        closed_at=now - timedelta(days=30), summary=spec["summary"],
                                        summarised_at=now - timedelta(days=20))
        for i, (text, adoption, reason) in enumerate(spec["comments"]):
            Comment.objects.create(consultation=c, content=text, status=Moderation.APPROVED,
                                   moderated_at=now, adoption=adoption, adoption_reason=reason,
                                   created_at=now - timedelta(days=50 - i))

    spec = data["survey"]
    if not Survey.objects.filter(site=site, title=spec["title"]).exists():
        s = Survey.objects.create(**common, title=spec["title"], intro=spec["intro"], state=Survey.OPEN,
                                  opens_at=now - timedelta(days=10), closes_at=now + timedelta(days=20),
                                  results_public=True, published_at=now - timedelta(days=10))
        questions = [SurveyQuestion.objects.create(survey=s, order=i, kind=q["kind"], text=q["text"],
                                                   options=q.get("options", []),
                                                   required=q.get("required", True))
                     for i, q in enumerate(spec["questions"], 1)]
        for n, answers in enumerate(spec["responses"]):
            r = SurveyResponse.objects.create(survey=s, browser_key=browser_key(f"demo-{s.pk}-{n}"))
            rows = []
            for q, value in zip(questions, answers):
                if q.kind == "single":
                    rows.append(SurveyAnswer(response=r, question=q, option=value))
                elif q.kind == "multiple":
                    rows += [SurveyAnswer(response=r, question=q, option=v) for v in value]
                elif q.kind == "rating":
                    rows.append(SurveyAnswer(response=r, question=q, rating=value))
                elif value:
                    rows.append(SurveyAnswer(response=r, question=q, text=value))
            SurveyAnswer.objects.bulk_create(rows)

    spec = data["interview"]
    if not Interview.objects.filter(site=site, title=spec["title"]).exists():
        i = Interview.objects.create(**common, title=spec["title"], intro=spec["intro"],
                                     guests=spec["guests"], state=Interview.PUBLISHED,
                                     starts_at=now - timedelta(days=7, hours=2),
                                     ends_at=now - timedelta(days=7, hours=1),
                                     published_at=now - timedelta(days=14), transcript=spec["transcript"],
                                     transcript_published_at=now - timedelta(days=6))
        for nickname, content, guest, answer in spec["questions"]:
            InterviewQuestion.objects.create(interview=i, nickname=nickname, content=content,
                                             status=Moderation.APPROVED, moderated_at=now, guest=guest,
                                             answer=answer, answered_at=i.starts_at + timedelta(minutes=20),
                                             created_at=now - timedelta(days=8))
