"""Publishing jobs: the queue is worked through right after each change and every 10 s."""

from django_tasks import task

from jiyue.core.periodic import every


@every(10, name="publishing.publish_pending")
@task(queue_name="default")
def publish_pending():
    from . import engine

    return sum(s.written for s in engine.run_pending())
