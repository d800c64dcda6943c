import os
from datetime import datetime, timezone

import pytest
from django.db import transaction
from django.test import override_settings

from jiyue.core import outbox, periodic, worker
from jiyue.core.models import ConsumerCursor, Event, PeriodicSlot
from tests import jobs


def test_embedded_jobs_are_durable_rows_run_by_a_worker(transactional_db):
    from django_tasks_db.models import DBTaskResult

    result = jobs.record_event.enqueue("job.ran")
    # the job is a row in the database: it survives a restart of the process until a worker runs it
    assert DBTaskResult.objects.filter(id=result.id, status="READY").exists()
    worker.run_pending()
    result.refresh()
    assert result.status == "SUCCESSFUL" and result.return_value == "job.ran"
    assert Event.objects.filter(topic="job.ran").exists()


def test_periodic_slot_is_enqueued_once_whatever_the_number_of_schedulers(db):
    now = datetime(2026, 11, 25, 8, 0, 3, tzinfo=timezone.utc)
    first = periodic.tick(now)
    second = periodic.tick(now)  # a second scheduler in the same slot
    assert "core.dispatch_outbox" in first and "core.dispatch_outbox" not in second
    assert PeriodicSlot.objects.filter(job="core.dispatch_outbox").count() == 1
    later = periodic.tick(datetime(2026, 11, 25, 8, 0, 13, tzinfo=timezone.utc))
    assert "core.dispatch_outbox" in later
    assert "library.publish_scheduled" in periodic.jobs()


def test_outbox_consumer_added_later_catches_up_and_retries(db, settings):
    settings.JIYUE_OUTBOX_LAG_SECONDS = 0
    from django.db import transaction

    try:
        with transaction.atomic():
            outbox.emit("resource.published", "resource", "ah:1", {})
            raise RuntimeError("the change fails")
    except RuntimeError:
        pass
    assert not Event.objects.exists()  # no event without its change
    for i in range(3):
        outbox.emit("resource.published", "resource", f"ah:{i}", {})
    seen, fail = [], {"once": True}

    def handler(event):
        if event.aggregate_id == "ah:1" and fail["once"]:
            fail["once"] = False
            raise ValueError("temporary failure")
        seen.append(event.aggregate_id)

    outbox.register("test-consumer", handler, topics=["resource."])
    try:
        assert outbox.dispatch("test-consumer") == 1
        assert seen == ["ah:0"]
        assert outbox.dispatch("test-consumer") == 2  # retried from the failed event
        assert seen == ["ah:0", "ah:1", "ah:2"]
        assert ConsumerCursor.objects.get(consumer="test-consumer").last_event_id == Event.objects.last().id
    finally:
        outbox.unregister("test-consumer")


@pytest.mark.redis
@pytest.mark.django_db
def test_redis_workers_take_jobs():
    url = os.environ.get("JIYUE_TEST_REDIS_URL")
    if not url:
        pytest.skip("JIYUE_TEST_REDIS_URL not set (CI sets it to a real Redis server)")
    import redis

    redis.Redis.from_url(url).flushdb()
    rq = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default", "periodic"]}}
    queues = {n: {"URL": url, "DEFAULT_TIMEOUT": 60} for n in ("default", "periodic")}
    with override_settings(TASKS=rq, RQ_QUEUES=queues, JIYUE_TASKS="rq"):
        result = jobs.add.enqueue(2, 3)
        assert redis.Redis.from_url(url).llen("rq:queue:default") == 1
        worker.run_pending()
        result.refresh()
        assert result.status == "SUCCESSFUL" and result.return_value == 5
        # periodic jobs go to the Redis queue as well, once per slot
        with transaction.atomic():
            enqueued = periodic.tick(datetime(2026, 11, 25, 9, 0, 0, tzinfo=timezone.utc))
            again = periodic.tick(datetime(2026, 11, 25, 9, 0, 1, tzinfo=timezone.utc))
        assert "core.dispatch_outbox" in enqueued and "core.dispatch_outbox" not in again
        assert redis.Redis.from_url(url).llen("rq:queue:periodic") == len(enqueued)


def test_scheduled_publishing_and_withdrawal_run_as_a_job(province, make_policy):
    from datetime import timedelta

    from django.utils import timezone

    from jiyue.library import tasks

    doc = make_policy()
    soon = timezone.now() + timedelta(hours=1)
    doc.go_live_at = soon
    doc.save_revision().publish()  # approved, waiting for its time
    doc.refresh_from_db()
    assert not doc.live and doc.latest_revision.approved_go_live_at == soon
    tasks.publish_scheduled.call()
    doc.refresh_from_db()
    assert not doc.live  # not yet
    # the hour passes (both the approval and the revision's own go-live time are now past)
    rev = doc.latest_revision
    past = timezone.now() - timedelta(minutes=1)
    rev.content["go_live_at"] = past.isoformat()
    type(rev).objects.filter(pk=rev.pk).update(approved_go_live_at=past, content=rev.content)
    tasks.publish_scheduled.call()
    doc.refresh_from_db()
    assert doc.live and doc.index_number
    # scheduled withdrawal
    type(doc).objects.filter(pk=doc.pk).update(expire_at=timezone.now() - timedelta(minutes=1))
    tasks.publish_scheduled.call()
    doc.refresh_from_db()
    assert not doc.live and doc.expired
    assert Event.objects.filter(topic="resource.withdrawn", aggregate_id=doc.global_id).exists()


def test_a_transaction_with_many_events_enqueues_one_dispatch(db, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    before = DBTaskResult.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            for i in range(5):
                outbox.emit("test.happened", "test", i)
    assert len(callbacks) == 1
    assert DBTaskResult.objects.count() == before + 1


def test_commits_in_quick_succession_share_a_deferred_dispatch_that_misses_no_event(transactional_db, settings):
    """Under load a process asks for one dispatch job per window, not one per commit; a commit
    that comes after a job has run gets a job of its own, deferred to the window's end, so its
    event does not wait for the periodic tick."""
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    settings.JIYUE_OUTBOX_LAG_SECONDS = 0
    settings.JIYUE_OUTBOX_KICK_WINDOW = 30
    seen = []
    outbox.register("test-kicks", lambda e: seen.append(e.aggregate_id), topics=["test."])
    jobs_ = DBTaskResult.objects.filter(task_path="jiyue.core.tasks.dispatch_outbox")
    try:
        with transaction.atomic():
            outbox.emit("test.happened", "test", "first")
        assert jobs_.count() == 1
        worker.run_pending()
        assert seen == ["first"]  # the first one is dispatched at once
        for i in range(20):  # twenty more commits within the window: one more job between them
            with transaction.atomic():
                outbox.emit("test.happened", "test", i)
        assert jobs_.count() == 2
        later = jobs_.get(status="READY")
        assert later.run_after > timezone.now() + timedelta(seconds=25)
        worker.run_pending()
        assert seen == ["first"]  # not due yet
        jobs_.filter(pk=later.pk).update(run_after=timezone.now() - timedelta(seconds=1))
        worker.run_pending()  # the window is over
        assert seen == ["first"] + [str(i) for i in range(20)]
    finally:
        outbox.unregister("test-kicks")
