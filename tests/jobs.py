"""Tasks used by the background-job tests (importable by worker processes)."""

from django_tasks import task


@task(queue_name="default")
def add(a, b):
    return a + b


@task(queue_name="default")
def record_event(topic):
    from jiyue.core import outbox

    outbox.emit(topic, "test", "1", {})
    return topic
