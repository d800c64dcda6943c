"""Periodic job: close consultations and surveys at their close date (the public pages also
close them on read, so a page never shows an expired item as open)."""

from __future__ import annotations

from django_tasks import task

from jiyue.core.periodic import every


@every(60, name="participation.close_due")
@task(queue_name="default")
def close_due():
    from . import services

    return services.refresh_states()
