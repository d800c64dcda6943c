"""The tamper-evident audit log: SM3 hash chain, signed checkpoint, archives, pseudonyms.

Tampering is done the way an intruder with database access would: raw SQL on the table,
never through the application (which refuses)."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from jiyue import audit
from jiyue.audit import chain
from jiyue.audit.models import AuditEntry, AuditHead

TABLE = AuditEntry._meta.db_table


@pytest.fixture(autouse=True)
def _audit_settings(settings, tmp_path):
    settings.JIYUE_AUDIT_SEAL_LAG_SECONDS = 0
    settings.JIYUE_AUDIT_ARCHIVE_DIR = str(tmp_path / "audit-archive")
    settings.JIYUE_AUDIT_RETENTION_DAYS = "180"


def _sql(statement, *params):
    with connection.cursor() as c:
        c.execute(statement, params)
        return c.rowcount


def _verify(*args):
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command("audit", "verify", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return False, out.getvalue() + err.getvalue() + str(exc)
    return True, out.getvalue() + err.getvalue()


def _entries(n=6, actor=None):
    return [audit.record(actor, None, "192.0.2.10", "test.event", f"对象{i}", number=i) for i in range(n)]


def _sealed(n=6, actor=None):
    _entries(n, actor)
    chain.seal()
    return list(AuditEntry.objects.filter(seq__isnull=False).order_by("seq"))


def test_intact_chain_verifies_with_the_number_of_entries(db):
    rows = _sealed(7)
    assert [r.seq for r in rows] == list(range(1, 8))
    ok, text = _verify()
    assert ok, text
    assert "校验通过 7 条" in text


def test_entries_wait_for_the_sealer_and_are_sealed_by_verify(db):
    _entries(3)
    assert AuditEntry.objects.filter(seq__isnull=True).count() == 3  # no lock taken on insert
    ok, text = _verify()
    assert ok and "校验通过 3 条" in text
    assert not AuditEntry.objects.filter(seq__isnull=True).exists()


def test_one_edited_field_is_named_by_seq_id_and_time(db):
    rows = _sealed(6)
    victim = rows[2]
    assert _sql(f"UPDATE {TABLE} SET outcome = 'failure' WHERE id = %s", victim.id) == 1
    ok, text = _verify()
    assert not ok
    local = timezone.localtime(victim.at).strftime("%Y-%m-%d %H:%M:%S")
    assert f"seq={victim.seq}，id={victim.id}，时间 {local}" in text and "已被修改" in text
    # only that entry is reported: the next entries still link to its stored hash
    assert f"seq={rows[3].seq}，" not in text


def test_edited_detail_and_address_are_detected(db):
    rows = _sealed(4)
    _sql(f"UPDATE {TABLE} SET source_address = %s WHERE id = %s", "198.51.100.7", rows[1].id)
    ok, text = _verify()
    assert not ok and f"id={rows[1].id}" in text
    _sql(f"UPDATE {TABLE} SET source_address = %s WHERE id = %s", "192.0.2.10", rows[1].id)
    assert _verify()[0]
    _sql(f"UPDATE {TABLE} SET detail = %s WHERE id = %s", json.dumps({"number": 99}), rows[3].id)
    ok, text = _verify()
    assert not ok and f"id={rows[3].id}" in text


def test_deleted_middle_entry_is_named(db):
    rows = _sealed(6)
    victim = rows[3]
    assert _sql(f"DELETE FROM {TABLE} WHERE id = %s", victim.id) == 1
    ok, text = _verify()
    assert not ok
    assert f"seq={victim.seq} 缺失" in text and "已被删除" in text
    # the report places the gap between its neighbours
    assert f"id={rows[2].id}" in text and f"id={rows[4].id}" in text


def test_deleting_the_newest_sealed_entries_is_detected(db):
    rows = _sealed(5)
    _sql(f"DELETE FROM {TABLE} WHERE id = %s", rows[-1].id)
    ok, text = _verify()
    assert not ok
    assert f"seq={rows[-1].seq} 缺失" in text and "最新的记录" in text


def test_rewriting_the_whole_chain_without_the_signing_key_is_detected(db):
    rows = _sealed(5)
    # The intruder edits an entry and recomputes every later hash (even knowing the index key),
    # but cannot sign a new checkpoint without the platform's SM2 private key.
    _sql(f"UPDATE {TABLE} SET action = 'test.other' WHERE id = %s", rows[1].id)
    prev = chain.GENESIS
    for row in AuditEntry.objects.filter(seq__isnull=False).order_by("seq"):
        new = chain.chain_hash(prev, chain.entry_record(row))
        _sql(f"UPDATE {TABLE} SET hash = %s WHERE id = %s", new, row.id)
        prev = new
    ok, text = _verify()
    assert not ok and "整体重写" in text
    # pointing the checkpoint at the new head breaks its signature
    _sql(f"UPDATE {AuditHead._meta.db_table} SET head_hash = %s", prev)
    ok, text = _verify()
    assert not ok and "签名无效" in text


def test_deleting_the_checkpoint_is_detected(db):
    _sealed(3)
    _sql(f"DELETE FROM {AuditHead._meta.db_table}")
    ok, text = _verify("--no-seal")
    assert not ok and "检查点缺失" in text


def test_rolling_back_the_checkpoint_with_the_newest_entries_is_detected(
        db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _sealed(3)
    old = AuditHead.objects.values().get(pk=1)
    with django_capture_on_commit_callbacks(execute=True):
        newer = [e.id for e in _entries(2)]
        chain.seal()
    head_file = chain.chain_dir(old["chain_id"]) / "head.json"
    assert json.loads(head_file.read_text())["head_seq"] == 5
    # the intruder deletes the two newest entries and puts back the old (validly signed) checkpoint
    _sql(f"DELETE FROM {TABLE} WHERE id IN (%s, %s)", *newer)
    _sql(f"UPDATE {AuditHead._meta.db_table} SET head_seq = %s, head_hash = %s, sealed_at = %s, "
         f"signature = %s WHERE id = 1", old["head_seq"], old["head_hash"], old["sealed_at"], old["signature"])
    ok, text = _verify("--no-seal")
    assert not ok and "落后于检查点文件（seq=5）" in text


def test_a_late_transaction_is_sealed_later_not_skipped(db):
    first, *others = _entries(3)
    # first's transaction "commits late": it is not yet visible to the sealer (here: not old enough)
    _sql(f"UPDATE {TABLE} SET at = %s WHERE id = %s", timezone.now() + timedelta(hours=1), first.id)
    assert chain.seal() == 2
    _sql(f"UPDATE {TABLE} SET at = %s WHERE id = %s", timezone.now(), first.id)
    assert chain.seal() == 1
    assert AuditEntry.objects.get(pk=first.id).seq == 3
    ok, text = _verify()
    assert ok and "校验通过 3 条" in text


def test_the_application_cannot_edit_or_delete_entries(db):
    entry = _sealed(2)[0]
    with pytest.raises(PermissionDenied):
        AuditEntry.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(PermissionDenied):
        AuditEntry.objects.all().delete()
    entry.action = "x"
    with pytest.raises(PermissionDenied):
        entry.save()
    with pytest.raises(PermissionDenied):
        entry.delete()
    with pytest.raises(PermissionDenied):  # nor insert over an existing id
        AuditEntry(id=entry.id, action="forged").save()
    assert _verify()[0]


def test_canonical_bytes_are_the_same_whatever_the_database(db):
    entry = audit.record(None, None, "2001:DB8:0:0:0:0:0:1", "test.event", "对象",
                         ratio=1.0, share=0.25, names=["乙", "甲"], nested={"b": 2, "a": None})
    _sql(f"UPDATE {TABLE} SET at = %s WHERE id = %s", "2026-03-01 02:03:04.000005+00:00"
         if connection.vendor == "postgresql" else "2026-03-01 02:03:04.000005", entry.id)
    row = AuditEntry.objects.get(pk=entry.id)
    doc = json.loads(chain.canonical_bytes({**chain.entry_record(row), "seq": 1}))
    assert doc["at"] == "2026-03-01T02:03:04.000005Z"
    assert doc["src"] == "2001:db8::1"
    assert doc["detail"] == {"names": ["乙", "甲"], "nested": {"a": None, "b": 2}, "ratio": 1, "share": 0.25}
    assert doc["actor"] == "" and len(doc["actor_name"]) == 64 and doc["object"] != "对象"
    raw = chain.canonical_bytes({**chain.entry_record(row), "seq": 1})
    assert raw.startswith(b'{"action":"test.event","actor":""') and b" " not in raw


def test_deleted_account_keeps_a_pseudonym_and_the_chain_still_verifies(db, client):
    from jiyue.accounts.models import User

    person = User.objects.create_user(username="zhang.san@example.cn", password="Passw0rd!x",
                                      kind=User.KIND_CITIZEN)
    pk = person.pk
    client.force_login(person)  # auth.login: actor and object are the person
    audit.record(person, None, "192.0.2.1", "profile.update", person)
    chain.seal()
    audit.record(person, None, "192.0.2.1", "account.export", person)  # not yet sealed
    ref = chain.actor_ref_for(pk)
    person.delete()
    entries = AuditEntry.objects.filter(actor_ref=ref)
    assert entries.count() == 3
    for e in entries:
        assert e.actor_id is None and e.actor_name == f"~{ref}" and e.actor_erased
        assert e.object_repr == f"~{ref}"
    assert not AuditEntry.objects.filter(actor_name__contains="zhang.san").exists()
    assert not AuditEntry.objects.filter(object_repr__contains="zhang.san").exists()
    erase = AuditEntry.objects.get(action="account.erase")
    assert erase.object_id == str(pk) and erase.detail["entries"] >= 3
    ok, text = _verify()
    assert ok, text
    # a forged "erasure" of someone else's name is not accepted: the digest cannot be made up
    other = audit.record(None, None, None, "test.event", "李四")
    chain.seal()
    _sql(f"UPDATE {TABLE} SET object_repr = %s, object_repr_mac = %s WHERE id = %s",
         f"~{ref}", erase.object_repr_mac or "0" * 64, other.id)
    assert not _verify()[0]


def test_changing_the_actor_of_an_entry_is_detected(db, province):
    entry = audit.record(province.users["czt_editor"], None, None, "test.event", "x")
    chain.seal()
    _sql(f"UPDATE {TABLE} SET actor_id = %s WHERE id = %s", province.users["jyt_editor"].pk, entry.id)
    ok, text = _verify()
    assert not ok and "用户字段已被修改" in text and f"id={entry.id}" in text


def _backdate(ids, days):
    old = timezone.now() - timedelta(days=days)
    for i in ids:
        _sql(f"UPDATE {TABLE} SET at = %s WHERE id = %s", old, i)


def test_old_entries_move_to_a_signed_archive_and_verify_continues_from_it(db, settings):
    old = [e.id for e in _entries(5)]
    _backdate(old, 200)  # before sealing: an old log
    recent = [e.id for e in _entries(3)]
    out = __import__("io").StringIO()
    call_command("audit", "archive", stdout=out)
    assert "seq=1–5 共 5 条" in out.getvalue()
    assert not AuditEntry.objects.filter(id__in=old).exists()
    assert AuditEntry.objects.filter(id__in=recent).count() == 3
    head = AuditHead.objects.get(pk=1)
    assert head.base_seq == 5
    directory = chain.chain_dir(head.chain_id)
    manifest = json.loads((directory / "audit-000000000001-000000000005.manifest.json").read_text())
    assert manifest["first_seq"] == 1 and manifest["last_seq"] == 5 and manifest["prev_hash"] == chain.GENESIS
    lines = gzip.open(directory / manifest["file"], "rt", encoding="utf-8").read().splitlines()
    assert [json.loads(line)["id"] for line in lines] == old
    archived = AuditEntry.objects.get(action="audit.archive")
    assert archived.detail["count"] == 5 and archived.actor_id is None
    ok, text = _verify()
    assert ok and "校验通过 9 条" in text  # 5 archived + 3 recent + the audit.archive entry
    ok, text = _verify("--archives")
    assert ok and "已逐条校验归档文件" in text, text
    # nothing left to archive
    out = __import__("io").StringIO()
    call_command("audit", "archive", stdout=out)
    assert "没有超过保存期（180 天）" in out.getvalue()


def test_tampered_archives_are_detected_with_archives_option(db):
    _backdate([e.id for e in _entries(4)], 365)
    _entries(1)
    call_command("audit", "archive", stdout=__import__("io").StringIO())
    head = AuditHead.objects.get(pk=1)
    directory = chain.chain_dir(head.chain_id)
    data = directory / "audit-000000000001-000000000004.jsonl.gz"
    lines = gzip.open(data, "rt", encoding="utf-8").read().splitlines()
    rec = json.loads(lines[1])
    rec["outcome"] = "failure"
    lines[1] = json.dumps(rec, ensure_ascii=False)
    original = data.read_bytes()
    data.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    assert _verify()[0]  # the manifests still tile the chain
    ok, text = _verify("--archives")
    assert not ok and "SM3 校验值与清单不符" in text
    data.write_bytes(original)
    manifest_path = directory / "audit-000000000001-000000000004.manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["count"] = 3
    manifest_path.write_text(json.dumps(manifest))
    ok, text = _verify("--archives")
    assert not ok and "签名无效" in text
    manifest_path.unlink()
    ok, text = _verify("--archives")
    assert not ok and "找不到已归档" in text


def test_archiving_refuses_a_broken_chain_and_a_short_retention(db, settings):
    rows = _sealed(4)
    _sql(f"UPDATE {TABLE} SET at = %s", timezone.now() - timedelta(days=400))
    # at is hashed: the backdating above broke every entry, so archiving refuses
    with pytest.raises(CommandError, match="拒绝归档"):
        call_command("audit", "archive", stdout=__import__("io").StringIO())
    assert AuditEntry.objects.filter(id__in=[r.id for r in rows]).count() == 4
    settings.JIYUE_AUDIT_RETENTION_DAYS = "90"
    with pytest.raises(CommandError, match="至少保存 180 天"):
        call_command("audit", "archive", stdout=__import__("io").StringIO())
    from jiyue.audit.checks import audit_retention

    assert [e.id for e in audit_retention(None)] == ["jiyue.audit.E001"]


def test_periodic_jobs_seal_and_archive(db):
    from jiyue.audit import tasks
    from jiyue.core import periodic

    assert periodic.jobs()["audit.seal"].every <= 10
    assert periodic.jobs()["audit.archive"].every == 24 * 3600
    _entries(2)
    assert tasks.seal_audit_log.call() == 2
    assert tasks.archive_audit_log.call() is None  # nothing older than 180 days


def test_cli_export_writes_csv_for_the_period_and_is_audited(db, tmp_path):
    rows = _entries(3)
    _backdate([rows[0].id], 30)
    target = tmp_path / "audit.csv"
    today = timezone.localdate()
    out = __import__("io").StringIO()
    call_command("audit", "export", "--since", str(today - timedelta(days=1)), "--until", str(today),
                 "--output", str(target), stdout=out)
    text = target.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff序号,编号,时间")
    assert "对象1" in text and "对象2" in text and "对象0" not in text
    exported = AuditEntry.objects.get(action="audit.export")
    assert exported.detail["via"] == "cli" and exported.detail["count"] == 2
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("audit", "export", "--since", "2026/01/01", "--output", str(target))
    with pytest.raises(CommandError, match="起始日期不能晚于截止日期"):
        call_command("audit", "export", "--since", "2026-02-01", "--until", "2026-01-01",
                     "--output", str(target))


def test_writers_never_wait_for_the_sealer_and_late_commits_are_sealed_later(transactional_db):
    """PostgreSQL, real concurrency: an audited transaction that stays open while later ones
    commit is sealed after them (never skipped), and recording does not wait for the sealer."""
    import threading
    import time

    from django.db import close_old_connections, transaction

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises all writers: there is no concurrency to show")
    slow_recorded, slow_commit, result = threading.Event(), threading.Event(), {}

    def slow_transaction():
        try:
            with transaction.atomic():
                result["slow"] = audit.record(None, None, None, "test.slow", "慢事务").id
                slow_recorded.set()
                slow_commit.wait(10)
        finally:
            close_old_connections()

    slow = threading.Thread(target=slow_transaction)
    slow.start()
    assert slow_recorded.wait(10)
    fast = audit.record(None, None, None, "test.fast", "快事务")
    assert fast.id > result["slow"]

    sealer_locked, release = threading.Event(), threading.Event()

    def sealer_holding_the_lock():
        try:
            with transaction.atomic():
                chain.locked_head()
                sealer_locked.set()
                release.wait(10)
        finally:
            close_old_connections()

    sealer = threading.Thread(target=sealer_holding_the_lock)
    sealer.start()
    assert sealer_locked.wait(10)
    started = time.monotonic()
    during = audit.record(None, None, None, "test.fast", "封存期间")
    waited = time.monotonic() - started
    release.set()
    sealer.join()
    assert waited < 1.0
    assert chain.seal(lag_seconds=0) == 2  # the slow transaction is not visible yet
    slow_commit.set()
    slow.join()
    assert chain.seal(lag_seconds=0) == 1
    seqs = dict(AuditEntry.objects.values_list("id", "seq"))
    assert seqs[fast.id] == 1 and seqs[during.id] == 2 and seqs[result["slow"]] == 3
    assert chain.verify().ok


def test_an_archive_run_that_fails_half_way_leaves_the_log_whole(db, monkeypatch):
    from jiyue.audit import archive as archive_mod

    old = [e.id for e in _entries(3)]
    _backdate(old, 200)
    _entries(1)
    chain.seal()
    real = chain.locked_head
    monkeypatch.setattr(chain, "locked_head", lambda create=True: None)  # e.g. a crash before the delete
    with pytest.raises(CommandError, match="本次不归档"):
        call_command("audit", "archive", stdout=__import__("io").StringIO())
    monkeypatch.setattr(chain, "locked_head", real)
    assert AuditEntry.objects.filter(id__in=old).count() == 3  # files written, nothing deleted
    directory = chain.chain_dir(AuditHead.objects.get(pk=1).chain_id)
    assert len(list(directory.glob("audit-*"))) == 2
    ok, text = _verify()
    assert ok and "校验通过 4 条" in text
    result = archive_mod.archive()
    assert (result.first_seq, result.last_seq) == (1, 3)
    assert sorted(p.name for p in directory.glob("audit-*")) == [
        "audit-000000000001-000000000003.jsonl.gz", "audit-000000000001-000000000003.manifest.json"]
    ok, text = _verify("--archives")
    assert ok and "校验通过 5 条" in text, text
