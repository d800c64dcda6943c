"""The periodic overdue check of error reports (找错): marks the reports whose forwarding or
answer deadline has passed, so that the lists and the figures show them as 超期."""

from __future__ import annotations

from django_tasks import task

from jiyue.core.periodic import every


@every(600, name="feedback.check_overdue")
@task(queue_name="default")
def check_overdue():
    from . import services

    return services.check_overdue()
