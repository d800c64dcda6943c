"""The letters' clock: warnings before the deadline, escalation after it, and the inspection
alert for valid consultations left unanswered (a site fails the national inspection when one
stays unanswered for three months).

    check(now=None) -> Summary        everything below, once; idempotent
    warn_due(now) / escalate_overdue(now) / inspection_alerts(now)

- Warning: an open letter whose deadline is at most `warn_days` working days away
  (DeadlineRule per type, default 1; counted with jiyue.workdays.calendar) and not past yet:
  step "warn" (internal), `warned_at`, event `letter.alert` (kind "warn", level "notice").
- Escalation: an open letter past its deadline: step "escalate" (internal), `escalated_at`,
  `letter.alert` (kind "escalate", level "urgent"), for the organisation and the one above it.
  An approved extension or a reopening clears both marks (letters.services), so the new
  deadline is watched again.
- Inspection: a valid 咨询 with no reply released, received 30, 60 and 80 calendar days ago
  (well before the three months): `letter.alert` (kind "inspection", level "warning",
  "serious", "critical"), once per threshold, recorded in `letter.data["inspection"]`. A
  letter first seen past several thresholds (the platform was down) gets one alert, at the
  highest level. "critical" also goes to the platform operators.

Each letter is changed in its own transaction under a row lock, re-checked there, so two
overlapping runs (the periodic job and `jiyue letters check`) never alert twice.
The events are sent as e-mail by the `letters.alert_mail` outbox consumer (the sink at the
bottom of this module, Django's mail: the console backend unless configured) to the
dispatchers of the organisations named in the event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiyue.core import outbox
from jiyue.workdays import calendar

from .models import OPEN_STATUSES, Letter, LetterStep, LetterType

logger = logging.getLogger(__name__)

INSPECTION_DAYS = ((30, "warning"), (60, "serious"), (80, "critical"))
CONSUMER = "letters.alert_mail"


@dataclass
class Summary:
    warned: int = 0
    escalated: int = 0
    inspection: dict = field(default_factory=lambda: {d: 0 for d, _lv in INSPECTION_DAYS})
    screened: int = 0

    def text(self) -> str:
        return _("到期提醒 %(w)d 封，超期督办 %(e)d 封，巡查预警 %(i)s，补筛查 %(s)d 封。") % {
            "w": self.warned, "e": self.escalated, "s": self.screened,
            "i": _("，").join(_("%(d)d天 %(n)d 封") % {"d": d, "n": n} for d, n in self.inspection.items())}


def _rules() -> dict[str, tuple[int, int]]:
    from .services import reply_rule

    return {t: reply_rule(t) for t in LetterType.values}


def _open():
    return Letter.objects.filter(status__in=OPEN_STATUSES)


def _alert(letter: Letter, kind: str, level: str, notify: list, **extra) -> None:
    outbox.emit("letter.alert", "letter", letter.pk, {
        "kind": kind, "level": level, "organisation": letter.organisation_id,
        "notify": [o for o in notify if o], "serial": letter.serial, "type": letter.type,
        "due_at": letter.due_at.isoformat(), **extra})


def warn_due(now=None) -> int:
    now = now or timezone.now()
    done = 0
    for letter_type, (_reply, warn_days) in _rules().items():
        limit = calendar.deadline(now, warn_days)
        ids = list(_open().filter(type=letter_type, warned_at__isnull=True, escalated_at__isnull=True,
                                  due_at__gt=now, due_at__lte=limit).values_list("pk", flat=True))
        for pk in ids:
            with transaction.atomic():
                letter = Letter.objects.select_for_update().filter(
                    pk=pk, status__in=OPEN_STATUSES, warned_at__isnull=True, due_at__gt=now,
                    due_at__lte=limit).first()
                if letter is None:
                    continue
                left = calendar.remaining(letter.due_at, now)
                letter.warned_at = now
                letter.save(update_fields=["warned_at", "updated_at"])
                LetterStep.objects.create(
                    letter=letter, action="warn", public=False, at=now, organisation_id=letter.organisation_id,
                    note=_("距答复期限还有%(n)d个工作日（%(d)s）。") % {
                        "n": left, "d": timezone.localtime(letter.due_at).strftime("%Y-%m-%d")},
                    data={"remaining": left})
                _alert(letter, "warn", "notice", [letter.organisation_id], remaining=left)
                done += 1
    return done


def escalate_overdue(now=None) -> int:
    from jiyue.platform.models import Organisation

    now = now or timezone.now()
    done = 0
    ids = list(_open().filter(escalated_at__isnull=True, due_at__lt=now).values_list("pk", flat=True))
    for pk in ids:
        with transaction.atomic():
            letter = Letter.objects.select_for_update().filter(
                pk=pk, status__in=OPEN_STATUSES, escalated_at__isnull=True, due_at__lt=now).first()
            if letter is None:
                continue
            overdue = -calendar.remaining(letter.due_at, now)
            letter.escalated_at = now
            letter.save(update_fields=["escalated_at", "updated_at"])
            org = Organisation.objects.filter(pk=letter.organisation_id).first()
            parent = org.get_parent() if org is not None and org.depth > 1 else None
            LetterStep.objects.create(
                letter=letter, action="escalate", public=False, at=now,
                organisation_id=letter.organisation_id, to_organisation=parent,
                note=_("已超过答复期限（%(d)s），超期%(n)d个工作日，督办。") % {
                    "d": timezone.localtime(letter.due_at).strftime("%Y-%m-%d"), "n": max(overdue, 0)},
                data={"overdue": overdue})
            _alert(letter, "escalate", "urgent", [letter.organisation_id, parent.pk if parent else None],
                   overdue=overdue)
            done += 1
    return done


def _unanswered_consultations():
    return Letter.objects.filter(type=LetterType.CONSULT, valid=True, status__in=OPEN_STATUSES,
                                 replied_at__isnull=True)


def inspection_alerts(now=None) -> dict:
    now = now or timezone.now()
    counts = {d: 0 for d, _lv in INSPECTION_DAYS}
    first = INSPECTION_DAYS[0][0]
    rows = _unanswered_consultations().filter(received_at__lte=now - timedelta(days=first)) \
        .values_list("pk", "received_at", "data")
    for pk, received_at, data in rows.iterator(chunk_size=500):
        done = set((data or {}).get("inspection", {}))
        age = now - received_at
        reached = [(d, lv) for d, lv in INSPECTION_DAYS if age >= timedelta(days=d)]
        if not [d for d, _lv in reached if str(d) not in done]:
            continue
        with transaction.atomic():
            letter = _unanswered_consultations().select_for_update().filter(pk=pk).first()
            if letter is None:
                continue
            data = dict(letter.data or {})
            marks = dict(data.get("inspection", {}))
            new = [(d, lv) for d, lv in reached if str(d) not in marks]
            if not new:
                continue
            for d, _lv in new:
                marks[str(d)] = now.isoformat()
            data["inspection"] = marks
            letter.data = data
            letter.save(update_fields=["data", "updated_at"])
            days, level = new[-1]
            _alert(letter, "inspection", level, [letter.organisation_id], days=days,
                   age_days=age.days, status=letter.status)
            counts[days] += 1
    return counts


def check(now=None, screen: bool = True) -> Summary:
    """One pass of the clock (and the screening catch-up)."""
    now = now or timezone.now()
    summary = Summary()
    if screen:
        from .screening import screen_pending

        summary.screened = screen_pending()
    summary.escalated = escalate_overdue(now)
    summary.warned = warn_due(now)
    summary.inspection = inspection_alerts(now)
    return summary


def overview(now=None) -> dict:
    """Figures for the command's summary: open letters due soon, overdue, unanswered
    consultations by age."""
    now = now or timezone.now()
    unanswered = _unanswered_consultations()
    return {
        "open": _open().count(),
        "overdue": _open().filter(due_at__lt=now).count(),
        "unanswered_30": unanswered.filter(received_at__lte=now - timedelta(days=30)).count(),
        "unanswered_60": unanswered.filter(received_at__lte=now - timedelta(days=60)).count(),
        "unanswered_80": unanswered.filter(received_at__lte=now - timedelta(days=80)).count(),
        "oldest": unanswered.order_by("received_at").values_list("received_at", flat=True).first(),
    }


# --- the notification sink ----------------------------------------------------------------------

KIND_LABELS = {"warn": gettext_lazy("到期提醒"), "escalate": gettext_lazy("超期督办"),
               "inspection": gettext_lazy("巡查预警")}
LEVEL_LABELS = {"notice": gettext_lazy("提醒"), "urgent": gettext_lazy("紧急"),
                "warning": gettext_lazy("预警"), "serious": gettext_lazy("严重"),
                "critical": gettext_lazy("特急")}


def recipients(organisation_ids, level: str) -> list[str]:
    """E-mail addresses of the active dispatchers of these organisations (and, for a critical
    alert, of the platform operators)."""
    from django.db.models import Q

    from jiyue.accounts.models import Role, User

    cond = Q(grants__role=Role.DISPATCHER, grants__site__organisation_id__in=list(organisation_ids))
    if level == "critical":
        cond |= Q(grants__role=Role.PLATFORM_OPERATOR)
    emails = (User.objects.filter(cond, is_active=True).exclude(email="")
              .values_list("email", flat=True).distinct())
    return sorted(set(emails))


def message(payload: dict) -> tuple[str, str]:
    """Subject and body of an alert e-mail: the letter's number, type and deadline only (no
    title, no writer: e-mail is not the place for personal data)."""
    kind = payload.get("kind", "")
    serial = payload.get("serial", "")
    type_label = str(LetterType(payload["type"]).label) if payload.get("type") in LetterType.values else ""
    due = (payload.get("due_at") or "")[:10]
    if kind == "warn":
        line = _("信件 %(s)s（%(t)s）距答复期限还有%(n)s个工作日，期限为 %(d)s。") % {
            "s": serial, "t": type_label, "n": payload.get("remaining", ""), "d": due}
    elif kind == "escalate":
        line = _("信件 %(s)s（%(t)s）已超过答复期限 %(d)s，超期%(n)s个工作日，请督促办理。") % {
            "s": serial, "t": type_label, "d": due, "n": payload.get("overdue", "")}
    else:
        line = _("咨询 %(s)s 已%(a)s天未答复（%(x)d天预警）。有效咨询超过3个月未答复将导致网站普查单项否决，请立即办理。") % {
            "s": serial, "a": payload.get("age_days", payload.get("days", "")), "x": payload.get("days", 0)}
    subject = _("【%(k)s·%(l)s】信件 %(s)s") % {"k": KIND_LABELS.get(kind, kind),
                                              "l": LEVEL_LABELS.get(payload.get("level", ""), ""),
                                              "s": serial}
    body = line + "\n\n" + _("请登录管理后台“信件”查看和办理。本邮件由系统自动发送。")
    return subject, body


def send_alert(event) -> None:
    """The outbox handler of `letter.alert`: one e-mail per recipient (addresses not shared).
    Best effort: a mail failure is logged, it does not stop the outbox."""
    from django.core.mail import send_mass_mail

    payload = event.payload or {}
    to = recipients(payload.get("notify") or [payload.get("organisation")], payload.get("level", ""))
    if not to:
        return
    subject, body = message(payload)
    try:
        send_mass_mail([(subject, body, None, [address]) for address in to], fail_silently=False)
    except Exception:  # noqa: BLE001
        logger.exception("could not send the alert e-mail for letter %s", event.aggregate_id)


outbox.register(CONSUMER, send_alert, ["letter.alert"])
