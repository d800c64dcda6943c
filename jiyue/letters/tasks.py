"""The letters' background jobs. Imported at start-up by LettersConfig.ready (OPTIONAL_MODULES):
importing it also registers the outbox consumers of screening (`letters.screening`, on
`letter.submitted`) and of the alert e-mails (`letters.alert_mail`, on `letter.alert`)."""

from __future__ import annotations

from django_tasks import task

from jiyue.core.periodic import every

from . import clock, screening  # noqa: F401  (outbox consumers)

CLOCK_SECONDS = 300


@every(CLOCK_SECONDS, name="letters.clock")
@task(queue_name="default")
def check_clock():
    """Warnings, escalations and the inspection alerts (jiyue.letters.clock), and the screening
    catch-up. Idempotent: safe to run from several schedulers or by hand."""
    summary = clock.check()
    return {"warned": summary.warned, "escalated": summary.escalated,
            "inspection": {str(k): v for k, v in summary.inspection.items()},
            "screened": summary.screened}
