"""`jiyue backup` / `jiyue restore`: a platform with content, uploads, published pages, keys and
encrypted personal data is backed up and restored into an empty home (on PostgreSQL: an empty
database), and everything comes back: row counts, every file's SM3, the key ring (an encrypted
field still decrypts) and the rendered pages. A wrong key, a flipped byte or a cut-off archive
is refused with nothing written. Plus the archive format, the manifest's checks, and
scheduled backups with retention."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from jiyue.backup import archive, services, tasks
from jiyue.backup.archive import BackupError, Corrupt, WrongKey
from jiyue.security import crypto
from tests.publishing_util import snapshot

ROOT = Path(__file__).resolve().parent.parent
JIYUE = [sys.executable, "-m", "jiyue.cli"]
SECRET = "长城 correct horse battery staple 2026"
PG = (os.environ.get("DATABASE_URL") or "").startswith("postgres")

SETUP = r"""
import os
from django.core.files.base import ContentFile
from wagtail.documents.models import Document
from tests.conftest import _make_province
from tests.publishing_util import make_article, make_guide
from jiyue.accounts.models import User

p = _make_province()
make_article(p)
make_article(p, title="全省财政运行情况通报")
make_guide(p)
doc = Document(title="2026年部门预算公开表")
# more than one archive chunk, and incompressible
doc.file.save("budget.pdf", ContentFile(b"%PDF-1.4\n" + os.urandom(3 * 1024 * 1024 + 17)), save=False)
doc.save()
User.objects.create_user(username="citizen1", password="Passw0rd!x", kind="citizen",
                         mobile="13800138000", id_number="34010419900101123X",
                         address="合肥市蜀山区中山路1号")
from django.core.management import call_command
call_command("publish", "--full", "--no-progress")
"""

COUNTS = r"""
import json
from django.db import connection
from jiyue.accounts.models import User
from jiyue.security.fields import blind_index
with connection.cursor() as cur:
    counts = {}
    for table in sorted(connection.introspection.table_names(cur)):
        cur.execute("SELECT count(*) FROM " + connection.ops.quote_name(table))
        counts[table] = cur.fetchone()[0]
    cur.execute("SELECT action FROM audit_auditentry WHERE action LIKE %s ORDER BY id", ["backup.%"])
    backup_actions = [r[0] for r in cur.fetchall()]
    # the citizen, found by the blind index of the number, and the column as stored
    u = User.objects.get(mobile_index=blind_index("mobile", "13800138000"))
    cur.execute("SELECT mobile FROM accounts_user WHERE id = %s", [u.pk])
    citizen = {"mobile": u.mobile, "id_number": u.id_number, "address": u.address,
               "raw": cur.fetchone()[0]}
print(json.dumps({"counts": counts, "backup_actions": backup_actions, "citizen": citizen}))
"""


# --- helpers: a platform of its own per home (its own SQLite file or PostgreSQL database) -------

def _pg_admin():
    import dj_database_url
    import psycopg

    s = dj_database_url.parse(os.environ["DATABASE_URL"])
    conn = psycopg.connect(dbname="postgres", host=s["HOST"] or None, port=s["PORT"] or None,
                           user=s["USER"] or None, password=s["PASSWORD"] or None, autocommit=True)
    return s, conn


@contextmanager
def databases(*labels):
    """An empty database URL per label (PostgreSQL), or None each (SQLite in the home)."""
    if not PG:
        yield {label: None for label in labels}
        return
    s, conn = _pg_admin()
    names = {label: f"{s['NAME']}_bk{os.getpid()}_{label}"[:63] for label in labels}
    try:
        for name in names.values():
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
        yield {label: f"postgres://{auth}@{s['HOST']}:{s['PORT'] or 5432}/{name}"
               for label, name in names.items()}
    finally:
        for name in names.values():
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


def pg_tables(url) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]


class Home:
    def __init__(self, path: Path, database_url: str | None):
        self.path = path
        self.env = {**os.environ, "JIYUE_HOME": str(path), "JIYUE_TASKS": "db",
                    "JIYUE_OUTBOX_LAG_SECONDS": "0"}
        self.env.pop("DATABASE_URL", None)
        self.env.pop("JIYUE_BACKUP_KEY", None)
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.database_url = database_url

    def run(self, *args, check=True, **extra):
        proc = subprocess.run([*JIYUE, *args], env={**self.env, **extra}, cwd=ROOT, timeout=900,
                              capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"jiyue {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def shell(self, code: str) -> dict:
        return json.loads(self.run("shell", "--no-imports", "-c", code).stdout.strip().splitlines()[-1])

    def files(self) -> dict[str, str]:
        """SM3 of every uploaded, published and key file (links by their target)."""
        out = {}
        for section in ("media", "public", "keys", "audit-archive"):
            root = self.path / section
            for p in sorted(root.rglob("*")):
                rel = f"{section}/{p.relative_to(root).as_posix()}"
                if p.name.startswith("."):
                    continue  # lock files beside the key ring
                if p.is_symlink():
                    out[rel] = "-> " + os.readlink(p)
                elif p.is_file():
                    out[rel] = crypto.sm3_hex(p.read_bytes())
        return out

    def written(self) -> list[str]:
        """What a failed restore must not have left: a database, uploads, pages, a key ring."""
        found = [str(p.relative_to(self.path)) for name in ("media", "public", "audit-archive")
                 for p in (self.path / name).rglob("*") if p.is_file()]
        for name in ("jiyue.sqlite3", "keys/keyring.json"):
            p = self.path / name
            if p.exists() and p.stat().st_size:
                found.append(name)
        found += [p.name for p in self.path.glob(".restore-*")]
        if self.database_url and pg_tables(self.database_url):
            found.append("database tables")
        return found


# --- the round trip ---------------------------------------------------------------------------

def test_backup_and_restore_into_an_empty_home_brings_everything_back(tmp_path):
    if PG:
        try:
            tool = services.pg_tool("pg_dump")
            services.pg_tool("pg_restore")
        except BackupError:
            pytest.skip("pg_dump/pg_restore are not installed (scripts/test installs postgresql-client as root)")
        version = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout
        client = int(re.search(r"\)\s*(\d+)", version).group(1))  # "pg_dump (PostgreSQL) 15.20 ..."
        _s, conn = _pg_admin()
        with conn:
            server = conn.info.server_version // 10000
        if client < server:
            pytest.skip(f"pg_dump {client} cannot dump a PostgreSQL {server} server")
    key_file = tmp_path / "backup.key"
    key_file.write_text(SECRET + "\n")
    wrong_file = tmp_path / "wrong.key"
    wrong_file.write_text("这不是正确的备份密钥 at all\n")
    with databases("src", "dst") as urls:
        src = Home(tmp_path / "src", urls["src"])
        dst = Home(tmp_path / "dst", urls["dst"])
        src.run("migrate", "-v0")
        src.run("shell", "--no-imports", "-c", SETUP)  # content, an upload, pages, a citizen
        (src.path / "keys").mkdir(exist_ok=True)
        (src.path / "keys" / "upstream-idp.pem").write_text("-----BEGIN PUBLIC KEY-----\nMFkw...\n")

        out = src.run("backup", "--output", str(tmp_path / "backups"), "--passphrase-file",
                      str(key_file), "--no-progress").stdout
        archives = sorted((tmp_path / "backups").glob("jiyue-backup-ah-*.jyb"))
        assert len(archives) == 1 and "备份完成" in out, out
        backup = archives[0]
        assert oct(backup.stat().st_mode & 0o777) == "0o600"
        assert b"13800138000" not in backup.read_bytes() and b"<html" not in backup.read_bytes()
        fingerprint = out.split("指纹（SM3）：")[1].split()[0]
        source = src.shell(COUNTS)
        source_files = src.files()
        assert any(k.startswith("media/documents/") for k in source_files)
        assert any(k.startswith("public/") and k.endswith("index.html") for k in source_files)
        assert {"keys/keyring.json", "keys/upstream-idp.pem"} <= set(source_files)
        assert source["backup_actions"] == ["backup.create"]

        # a wrong key, a flipped byte, a cut-off archive: refused, and nothing is written
        proc = dst.run("restore", str(backup), "--passphrase-file", str(wrong_file), check=False)
        assert proc.returncode != 0 and "备份密钥不正确" in proc.stderr, proc.stderr
        assert dst.written() == []
        data = bytearray(backup.read_bytes())
        data[len(data) // 2] ^= 0x20
        tampered = tmp_path / "tampered.jyb"
        tampered.write_bytes(bytes(data))
        proc = dst.run("restore", str(tampered), check=False, JIYUE_BACKUP_KEY=SECRET)
        assert proc.returncode != 0 and "已损坏或被篡改" in proc.stderr and "没有写入任何数据" in proc.stderr, \
            proc.stderr
        assert dst.written() == []
        cut = tmp_path / "cut.jyb"
        cut.write_bytes(backup.read_bytes()[:-5000])
        with pytest.raises(Corrupt, match="不完整"):
            services.verify_backup(cut, SECRET)

        check = dst.run("restore", "--check", str(backup), JIYUE_BACKUP_KEY=SECRET).stdout
        assert "备份完好" in check and fingerprint in check
        assert dst.written() == []

        out = dst.run("restore", str(backup), "--passphrase-file", str(key_file), "--no-progress").stdout
        assert "恢复完成" in out and fingerprint in out, out

        # every table has the same rows (the audit log has one entry more on either side: the
        # backup on the source, the restore on the restored platform)
        restored = dst.shell(COUNTS)
        assert restored["backup_actions"] == ["backup.restore"]
        for table, n in source["counts"].items():
            if table != "audit_auditentry":
                assert restored["counts"][table] == n, table
        assert set(restored["counts"]) == set(source["counts"])
        assert restored["counts"]["audit_auditentry"] == source["counts"]["audit_auditentry"]
        assert source["counts"]["accounts_user"] > 10 and source["counts"]["library_resource"] >= 3

        # every uploaded, published and key file, byte for byte; the secret key too
        assert dst.files() == source_files
        assert (dst.path / "secret_key").read_text() == (src.path / "secret_key").read_text()
        assert oct((dst.path / "keys" / "keyring.json").stat().st_mode & 0o777) == "0o600"

        # the key ring came back: the encrypted personal data still decrypts, found by its index
        citizen = restored["citizen"]
        assert citizen["mobile"] == "13800138000" and citizen["id_number"] == "34010419900101123X"
        assert citizen["address"] == "合肥市蜀山区中山路1号"
        assert citizen["raw"].startswith("sm4:") and "13800138000" not in citizen["raw"]

        # the restored platform renders the same pages
        dst.run("publish", "--full", "--no-progress", JIYUE_PUBLIC_ROOT=str(tmp_path / "rebuilt"))
        assert snapshot(tmp_path / "rebuilt") == snapshot(src.path / "public")

        # a restore never writes over a platform
        before = dst.files()
        proc = dst.run("restore", str(backup), check=False, JIYUE_BACKUP_KEY=SECRET)
        assert proc.returncode != 0 and "不是空的" in proc.stderr, proc.stderr
        assert dst.files() == before

        # --force: what is in the way is moved aside, not deleted; a PostgreSQL database must
        # still be a new, empty one
        proc = dst.run("restore", str(backup), "--force", check=False, JIYUE_BACKUP_KEY=SECRET)
        if PG:
            assert proc.returncode != 0 and "目标数据库" in proc.stderr and "不是空的" in proc.stderr
        else:
            assert proc.returncode == 0 and "原有数据已移到" in proc.stdout, proc.stderr
            [aside] = dst.path.glob(".before-restore-*")
            assert (aside / "database" / "jiyue.sqlite3").stat().st_size > 0
            assert (aside / "keys" / "keyring.json").is_file() and (aside / "media").is_dir()
        assert dst.files() == before


# --- the archive format and the manifest's checks ----------------------------------------------

def _write(chunks: int, tail: int = 123, secret: str = SECRET) -> tuple[bytes, bytes]:
    plain = os.urandom(archive.CHUNK * chunks + tail)
    out = io.BytesIO()
    w = archive.EncryptingWriter(out, secret, {"platform": "ah"}, iterations=20_000)
    for i in range(0, len(plain), 300_001):  # writes that do not line up with chunks
        w.write(plain[i:i + 300_001])
    w.finish()
    return plain, out.getvalue()


def _read(blob: bytes, secret: str = SECRET) -> bytes:
    r = archive.DecryptingReader(io.BytesIO(blob), secret)
    data = r.read()
    r.drain()
    return data


def _records(blob: bytes) -> tuple[bytes, list[bytes]]:
    """The archive's head (header and key check) and its chunk records."""
    f = io.BytesIO(blob)
    _header, prefix = archive.read_header(f)
    n = int.from_bytes(f.read(4), "big")
    head = prefix + n.to_bytes(4, "big") + f.read(n)
    records = []
    while True:
        hdr = f.read(5)
        if not hdr:
            return head, records
        records.append(hdr + f.read(int.from_bytes(hdr[:4], "big")))


def test_archive_chunks_are_authenticated_bound_to_their_place_and_complete():
    plain, blob = _write(3)
    assert _read(blob) == plain
    assert plain[:4096] not in blob
    head, records = _records(blob)
    assert len(records) == 4 and records[-1][4] == 1 and all(r[4] == 0 for r in records[:-1])

    with pytest.raises(WrongKey, match="备份密钥不正确"):
        _read(blob, secret="another passphrase entirely")
    swapped = head + records[1] + records[0] + records[2] + records[3]
    with pytest.raises(Corrupt, match="第 1 块校验失败"):
        _read(swapped)
    with pytest.raises(Corrupt, match="不完整"):
        _read(head + b"".join(records[:3]))  # the final chunk is missing
    with pytest.raises(Corrupt, match="不完整"):
        _read(blob[:-10])
    with pytest.raises(Corrupt, match="多余的数据"):
        _read(blob + records[1])
    flagged = bytearray(records[2])
    flagged[4] = 1  # claims to be the last chunk
    with pytest.raises(Corrupt, match="第 3 块校验失败"):
        _read(head + records[0] + records[1] + bytes(flagged))
    _other_plain, other = _write(3)
    _other_head, other_records = _records(other)
    with pytest.raises(Corrupt):  # a chunk of another archive (another salt, another key)
        _read(head + records[0] + other_records[1] + records[2] + records[3])
    with pytest.raises(Corrupt, match="不是 jiyue 备份文件"):
        _read(b"PK\x03\x04" + blob[4:])


def _forged_archive(path: Path, *, manifest_edit=None, signer=None, payload=b"<html>page</html>"):
    """An archive encrypted with the right key whose manifest is edited or signed by another key."""
    from jiyue.security import keyring

    ring = keyring.get()
    files = [{"path": "db/jiyue.sqlite3", "size": 4, "sm3": crypto.sm3_hex(b"SQLi")},
             {"path": "public/index.html", "size": len(payload), "sm3": crypto.sm3_hex(payload)}]
    manifest = {"format": 1, "created": "2026-01-01T00:00:00+00:00", "platform": "ah",
                "database": {"engine": "sqlite", "file": "db/jiyue.sqlite3", "tables": {}, "migrations": {}},
                "files": files,
                "signing_key": {"algorithm": "SM2", "public": ring.sm2_public,
                                "fingerprint": services.fingerprint(ring.sm2_public)}}
    if manifest_edit:
        manifest_edit(manifest)
    body = json.dumps(manifest).encode()
    signature = (signer.sign(body) if signer else crypto.sm2_sign(body)).hex().encode()
    with open(path, "wb") as out:
        w = archive.EncryptingWriter(out, SECRET, {"platform": "ah", "engine": "sqlite"}, iterations=20_000)
        with tarfile.open(fileobj=w, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for name, data in (("db/jiyue.sqlite3", b"SQLi"), ("public/index.html", payload),
                               ("manifest.json", body), ("manifest.sig", signature)):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        w.finish()


def test_restore_checks_the_manifest_signature_and_every_checksum(tmp_path):
    good = tmp_path / "good.jyb"
    _forged_archive(good)
    assert services.verify_backup(good, SECRET)["platform"] == "ah"

    wrong_sum = tmp_path / "wrong-sum.jyb"
    _forged_archive(wrong_sum, manifest_edit=lambda m: m["files"][1].update(sm3="0" * 64))
    with pytest.raises(Corrupt, match="文件校验失败.*public/index.html"):
        services.verify_backup(wrong_sum, SECRET)
    missing = tmp_path / "missing.jyb"
    _forged_archive(missing, manifest_edit=lambda m: m["files"].append(
        {"path": "media/a.png", "size": 1, "sm3": "00"}))
    with pytest.raises(Corrupt, match="缺少 media/a.png"):
        services.verify_backup(missing, SECRET)
    other_key = tmp_path / "other-key.jyb"
    _forged_archive(other_key, signer=crypto.Sm2KeyPair.generate())
    with pytest.raises(Corrupt, match="签名无效"):
        services.verify_backup(other_key, SECRET)
    with pytest.raises(WrongKey):
        services.verify_backup(good, "not the operator's passphrase")


@pytest.mark.django_db
def test_backup_refuses_a_missing_or_short_key(tmp_path, monkeypatch):
    monkeypatch.delenv("JIYUE_BACKUP_KEY", raising=False)
    with pytest.raises(CommandError, match="没有备份密钥"):
        call_command("backup", output=str(tmp_path), no_progress=True, stdout=io.StringIO())
    monkeypatch.setenv("JIYUE_BACKUP_KEY", "short")
    with pytest.raises(CommandError, match="太短"):
        call_command("backup", output=str(tmp_path), no_progress=True, stdout=io.StringIO())
    (tmp_path / "empty.key").write_text("\n")
    with pytest.raises(CommandError, match="是空的"):
        call_command("backup", output=str(tmp_path), passphrase_file=str(tmp_path / "empty.key"),
                     stdout=io.StringIO())
    assert not list(tmp_path.glob("*.jyb"))


# --- scheduled backups ------------------------------------------------------------------------

def test_backup_interval_and_retention_settings_are_validated():
    assert services.parse_interval("1d") == 86400 and services.parse_interval("90m") == 5400
    assert services.parse_interval("3600") == 3600
    for bad in ("", "0", "daily", "-5h"):
        with pytest.raises(ValueError, match="备份间隔"):
            services.parse_interval(bad)
    with pytest.raises(ValueError, match="正整数"):
        services.parse_keep("0")


# Transactional: the SQLite online backup reads committed data, not a test's open transaction.
@pytest.mark.django_db(transaction=True)
def test_scheduled_backups_run_when_configured_and_keep_the_newest(tmp_path, settings, monkeypatch):
    from jiyue.audit.models import AuditEntry
    from jiyue.core import periodic

    monkeypatch.setattr(periodic, "_jobs", dict(periodic._jobs))
    monkeypatch.delenv("JIYUE_BACKUP_KEY", raising=False)
    settings.JIYUE_BACKUP_DIR = str(tmp_path / "backups")
    settings.JIYUE_BACKUP_KEY_FILE = None
    assert not tasks.schedule() and tasks.JOB not in periodic.jobs()
    assert tasks.scheduled_backup.call() is None  # not configured: nothing happens

    monkeypatch.setenv("JIYUE_BACKUP_KEY", SECRET)
    settings.JIYUE_BACKUP_INTERVAL = "12h"
    settings.JIYUE_BACKUP_KEEP = "2"
    assert tasks.schedule()
    assert periodic.jobs()[tasks.JOB].every == 12 * 3600

    folder = tmp_path / "backups"
    folder.mkdir()
    old = [folder / f"jiyue-backup-ah-2026010{i}T020000Z.jyb" for i in (1, 2, 3)]
    for p in old:
        p.write_bytes(b"an older backup")
    (folder / "notes.txt").write_text("not a backup: never deleted")

    path = Path(tasks.scheduled_backup.call())
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == sorted([old[2].name, path.name, "notes.txt"])
    manifest = services.verify_backup(path, SECRET)
    assert manifest["database"]["engine"] == ("postgresql" if PG else "sqlite")
    assert "django_migrations" in manifest["database"]["tables"]
    assert manifest["database"]["migrations"]["accounts"]
    assert AuditEntry.objects.filter(action="backup.create", object_repr=path.name).exists()
    prune = AuditEntry.objects.get(action="backup.prune")
    assert sorted(prune.detail["removed"]) == sorted(p.name for p in old[:2])

    settings.JIYUE_BACKUP_INTERVAL = "sometimes"
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="备份间隔"):
        tasks.schedule()
