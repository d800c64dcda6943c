"""Library background jobs: scheduled publishing and withdrawal."""

from django.core.management import call_command
from django_tasks import task

from jiyue.core.periodic import every


@every(60, name="library.publish_scheduled")
@task(queue_name="default")
def publish_scheduled():
    """Wagtail's scheduled publishing/expiry for resources (go_live_at / expire_at), and
    scheduled placements."""
    from . import services

    call_command("publish_scheduled", verbosity=0)
    return services.publish_due_placements()
