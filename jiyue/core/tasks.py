"""Core background jobs."""

from django_tasks import task

from . import outbox
from .periodic import every


@every(10, name="core.dispatch_outbox")
@task(queue_name="default")
def dispatch_outbox():
    return outbox.dispatch()
