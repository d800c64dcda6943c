"""Letters written at the same time share a transaction (core.groupcommit), and nothing is lost
or mixed up by it: every writer gets the receipt of their own letter, stored with its step and
its event; one bad item in a shared batch fails only itself."""

from __future__ import annotations

import threading
import time

from django.db import connection, connections

from jiyue.core.groupcommit import GroupWriter
from jiyue.core.models import Event
from jiyue.letters import services
from jiyue.letters.models import Letter, LetterStep, Mailbox
from tests.conftest import ensure_wagtail_roots


def _platform():
    from jiyue.core.models import Platform
    from jiyue.platform.models import Organisation
    from jiyue.platform.services import create_site
    from jiyue.platform.validators import credit_code_check_char, org_code_check_char

    ensure_wagtail_roots()  # a transactional test before this one flushed them
    body = "00000001"
    first17 = "11" + "340000" + body + org_code_check_char(body)
    Platform.objects.create(code="ah", name="安徽省政府网站集约化平台", level="province",
                            region_code="340000")
    org = Organisation.add_root(name="安徽省人民政府", short_name="皖政", kind="government",
                                code=first17 + credit_code_check_char(first17),
                                region_code="340000", key="portal")
    site = create_site(organisation=org, name="安徽省人民政府", level="province", kind="portal",
                       domain="www.ah.gov.cn", code="3400000001", sponsor="安徽省人民政府",
                       operator="安徽省数据资源管理局", state="running")
    return Mailbox.objects.create(organisation=org, site=site, kind=Mailbox.LEADER, name="省长信箱",
                                  allow_anonymous=True)


def _in_threads(n, target):
    errors = []

    def run(i):
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors


def test_letters_written_at_once_are_each_stored_once_with_their_own_receipt(transactional_db, monkeypatch):
    box = services.open_mailbox(_platform().pk)
    services.reply_rule("consult")  # caches read before the threads start
    batches = []
    write_batch = services._intake._write_batch

    def counting(items):
        batches.append(len(items))
        return write_batch(items)

    monkeypatch.setattr(services._intake, "_write_batch", counting)
    receipts: dict[str, str] = {}
    lock = threading.Lock()
    start = threading.Barrier(12)

    def writer(i):
        start.wait()
        for k in range(6):
            title = f"第{i}-{k}号来信：咨询惠民补贴"
            letter = services.submit(mailbox=box, site=box.site, type="consult", title=title,
                                     content=f"请问第{i}-{k}位来信人的补贴何时发放？", channel="api",
                                     anonymous=True, name="测试")
            with lock:
                receipts[letter.query_code] = title

    _in_threads(12, writer)
    assert len(receipts) == 72
    stored = dict(Letter.objects.values_list("query_code", "title"))
    assert stored == receipts  # every receipt is its own letter, none lost, none extra
    assert LetterStep.objects.filter(action="submit").count() == 72
    events = Event.objects.filter(topic="letter.submitted")
    assert sorted(int(e.aggregate_id) for e in events) == sorted(Letter.objects.values_list("pk", flat=True))
    # the writers did share transactions (otherwise there is nothing to gain under load)
    assert batches and max(batches) > 1


def test_one_bad_item_in_a_shared_batch_fails_only_its_own_writer(transactional_db):
    stored, gate = [], threading.Event()

    def write_one(item):
        if item == "first":
            gate.wait(10)  # the others queue up behind the first writer meanwhile
        if item == "bad":
            raise ValueError("这一项无效")
        stored.append(item)
        return item.upper()

    def write_batch(items):
        if "bad" in items:
            raise ValueError("批量写入失败")
        stored.extend(items)
        return [i.upper() for i in items]

    writer = GroupWriter(write_batch, write_one)
    results, failures = {}, {}

    def run(item):
        try:
            results[item] = writer.write(item)
        except ValueError as exc:
            failures[item] = str(exc)

    first = threading.Thread(target=run, args=("first",))
    first.start()
    while not writer.writing:
        time.sleep(0.001)
    others = [threading.Thread(target=run, args=(x,)) for x in ("a", "bad", "b", "c")]
    for t in others:
        t.start()
    while writer.waiting < 4:
        time.sleep(0.001)
    gate.set()
    for t in [first, *others]:
        t.join(10)
    assert failures == {"bad": "这一项无效"}
    assert results == {"first": "FIRST", "a": "A", "b": "B", "c": "C"}
    assert sorted(stored) == ["a", "b", "c", "first"]


def test_a_writer_inside_its_own_transaction_is_never_grouped(db):
    """A view that stores attachments with the letter holds a transaction: its letter commits or
    rolls back with that transaction, never with someone else's."""
    box = _platform()
    assert connection.in_atomic_block
    calls = []
    writer = GroupWriter(lambda items: calls.append(("batch", items)),
                         lambda item: calls.append(("one", item)) or item)
    assert writer.write("x") == "x" and calls == [("one", "x")]
    letter = services.submit(mailbox=box, site=box.site, type="consult", title="咨询",
                             content="请问补贴何时发放？", channel="api", anonymous=True)
    assert Letter.objects.get().pk == letter.pk


def test_a_disabled_mailbox_refuses_letters_at_once_in_this_process(db):
    box = _platform()
    assert services.open_mailbox(box.pk) is not None
    box.enabled = False
    box.save()
    assert services.open_mailbox(box.pk) is None
