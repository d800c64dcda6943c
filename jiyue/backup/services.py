"""Encrypted backups of a whole platform and their restore.

A backup holds a consistent copy of the database (SQLite: the online backup API; PostgreSQL:
pg_dump in custom format, taken in the same snapshot as the row counts), the uploaded files
(MEDIA_ROOT), the published tree (JIYUE_PUBLIC_ROOT), the keys ($JIYUE_HOME/keys: the key ring
and any other key files), the audit archives and the Django secret key, followed by a manifest (platform, engine,
migration state, row counts per table, every file with its size and SM3) signed with the
platform's SM2 key. The whole stream is encrypted with SM4-GCM (see archive.py).

A restore goes into an empty home: it decrypts into a staging folder inside $JIYUE_HOME,
checks the signature and every checksum, and only then restores the database and moves the
files into place.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _

from jiyue import audit
from jiyue.security import crypto, keyring

from .archive import BackupError, Corrupt, DecryptingReader, EncryptingWriter, read_header

ARCHIVE_RE = re.compile(r"^jiyue-backup-(?P<platform>[a-z0-9]+)-(?P<stamp>\d{8}T\d{6}Z)\.jyb$")
MIN_PASSPHRASE = 12
SECTIONS = ("db", "media", "public", "keys", "keyring", "audit", "home")
_PUBLISH_TMP = ".jiyue-tmp-"  # the publisher's files being written (jiyue.publishing.tree)
_STAGING = ".restore-"
_COPY = 1 << 20
SQLITE_BUSY_SECONDS = 120


# --- configuration ------------------------------------------------------------------------------

def passphrase(file: str | os.PathLike | None = None) -> str | None:
    """The operator's backup secret: a passphrase file, else $JIYUE_BACKUP_KEY, else the file
    named by JIYUE_BACKUP_KEY_FILE. None when none is given."""
    path = file or None
    if path is None and os.environ.get("JIYUE_BACKUP_KEY"):
        return os.environ["JIYUE_BACKUP_KEY"]
    path = path or getattr(settings, "JIYUE_BACKUP_KEY_FILE", None)
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BackupError(_("无法读取密钥文件 %(path)s：%(error)s") % {"path": path, "error": exc}) from None
    value = text.rstrip("\r\n")
    if not value:
        raise BackupError(_("密钥文件 %(path)s 是空的。") % {"path": path})
    return value


def parse_interval(value) -> int:
    """Seconds from "86400", "90m", "12h", "1d"."""
    m = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", str(value or ""))
    if not m or int(m.group(1)) <= 0:
        raise ValueError(_("备份间隔格式不正确：%(value)s（例如 86400、12h、1d）") % {"value": value})
    return int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def parse_keep(value) -> int:
    try:
        keep = int(str(value).strip())
    except ValueError:
        keep = 0
    if keep < 1:
        raise ValueError(_("保留的备份份数必须是正整数：%(value)s") % {"value": value})
    return keep


def keys_dir() -> Path:
    return Path(settings.JIYUE_HOME) / "keys"


def _keyring_outside() -> bool:
    p = keyring.path().resolve()
    return keys_dir().resolve() not in p.parents


def audit_archive_dir() -> Path:
    """Where the audit log's signed archives and checkpoint file live (jiyue.audit)."""
    try:
        from jiyue.audit.chain import archive_root
    except ImportError:  # an audit log without archives
        return Path(settings.JIYUE_HOME) / "audit-archive"
    return archive_root()


def _targets() -> dict[str, Path]:
    t = {"media": Path(settings.MEDIA_ROOT), "public": Path(settings.JIYUE_PUBLIC_ROOT),
         "keys": keys_dir(), "audit": audit_archive_dir(), "home": Path(settings.JIYUE_HOME)}
    if _keyring_outside():
        t["keyring"] = keyring.path()
    return t


# --- the database -----------------------------------------------------------------------------

@dataclass
class DatabaseCopy:
    engine: str
    path: Path
    tables: dict[str, int]
    migrations: dict[str, list[str]]


_LIBPQ_ENV = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD",
              "dbname": "PGDATABASE", "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT",
              "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT",
              "options": "PGOPTIONS", "service": "PGSERVICE", "passfile": "PGPASSFILE",
              "application_name": "PGAPPNAME", "target_session_attrs": "PGTARGETSESSIONATTRS"}


def _libpq() -> dict[str, str]:
    s = connection.settings_dict
    params = {"dbname": s.get("NAME"), "user": s.get("USER"), "password": s.get("PASSWORD"),
              "host": s.get("HOST"), "port": s.get("PORT")}
    params.update({k: v for k, v in (s.get("OPTIONS") or {}).items() if k in _LIBPQ_ENV})
    return {k: str(v) for k, v in params.items() if v not in (None, "")}


def _pg_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({_LIBPQ_ENV[k]: v for k, v in _libpq().items()})
    return env


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore: on PATH, else the newest under /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                        key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.parent.name)] or [0])
    if candidates:
        return str(candidates[-1])
    raise BackupError(_("找不到 %(tool)s：请安装 PostgreSQL 客户端（Debian：apt-get install postgresql-client）。")
                      % {"tool": name})


def _run_pg(args: list[str], what: str) -> None:
    proc = subprocess.run(args, env=_pg_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise BackupError(_("%(what)s失败：%(error)s") % {"what": what, "error": proc.stderr.strip()[-2000:]})


def _sqlite_state(path: Path) -> tuple[dict[str, int], dict[str, list[str]]]:
    con = sqlite3.connect(path)
    try:
        names = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        tables = {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
        migrations = {}
        if "django_migrations" in tables:
            for app, name in con.execute("SELECT app, name FROM django_migrations ORDER BY app, name"):
                migrations.setdefault(app, []).append(name)
        return tables, migrations
    finally:
        con.close()


def _pg_state(cur) -> tuple[dict[str, int], dict[str, list[str]]]:
    cur.execute("SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN "
                "('pg_catalog', 'information_schema') ORDER BY schemaname, tablename")
    tables = {}
    for schema, name in cur.fetchall():
        label = name if schema == "public" else f"{schema}.{name}"
        cur.execute(f'SELECT count(*) FROM "{schema}"."{name}"')
        tables[label] = cur.fetchone()[0]
    migrations = {}
    if "django_migrations" in tables:
        cur.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        for app, name in cur.fetchall():
            migrations.setdefault(app, []).append(name)
    return tables, migrations


def copy_database(folder: Path) -> DatabaseCopy:
    """A consistent copy of the database in `folder`, with its row counts and migrations."""
    vendor = connection.vendor
    if vendor == "sqlite":
        path = folder / "jiyue.sqlite3"
        connection.ensure_connection()
        target = sqlite3.connect(path)
        waited = {"since": None}

        def busy(status, remaining, total):
            # sqlite3 retries a locked source for ever: give up after a while, with a message.
            if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                waited["since"] = waited["since"] or time.monotonic()
                if time.monotonic() - waited["since"] > SQLITE_BUSY_SECONDS:
                    raise BackupError(_("数据库一直被锁定，无法复制（超过 %(n)d 秒）。") % {"n": SQLITE_BUSY_SECONDS})
            else:
                waited["since"] = None

        try:
            # One step: the whole copy is read in one read transaction, a consistent snapshot
            # (in WAL mode writers go on meanwhile).
            connection.connection.backup(target, progress=busy)
        finally:
            target.close()
        tables, migrations = _sqlite_state(path)
        return DatabaseCopy("sqlite", path, tables, migrations)
    if vendor == "postgresql":
        import psycopg

        path = folder / "jiyue.pgdump"
        tool = pg_tool("pg_dump")
        try:
            snap = psycopg.connect(**_libpq())
        except psycopg.Error as exc:
            raise BackupError(_("无法连接数据库：%(error)s") % {"error": exc}) from None
        try:
            # The row counts and pg_dump read the same snapshot.
            snap.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            snap.read_only = True
            with snap.cursor() as cur:
                cur.execute("SELECT pg_export_snapshot()")
                snapshot = cur.fetchone()[0]
                tables, migrations = _pg_state(cur)
                _run_pg([tool, "--format=custom", f"--snapshot={snapshot}", f"--file={path}",
                         _libpq()["dbname"]], _("导出数据库（pg_dump）"))
            snap.rollback()
        finally:
            snap.close()
        return DatabaseCopy("postgresql", path, tables, migrations)
    raise BackupError(_("不支持备份这种数据库：%(vendor)s") % {"vendor": vendor})


def database_state() -> tuple[dict[str, int], dict[str, list[str]]]:
    """Row counts and migrations of the configured database, as now."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        cur = connection.connection.cursor()
        names = [r[0] for r in cur.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        tables = {n: cur.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
        migrations = {}
        if "django_migrations" in tables:
            for app, name in cur.execute("SELECT app, name FROM django_migrations ORDER BY app, name"):
                migrations.setdefault(app, []).append(name)
        return tables, migrations
    with connection.cursor() as cur:
        return _pg_state(cur)


def _pg_is_empty() -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
                    "AND n.nspname NOT LIKE 'pg_toast%%' AND n.nspname NOT LIKE 'pg_temp%%'")
        return cur.fetchone()[0] == 0


# --- files ------------------------------------------------------------------------------------

def _walk(section: str, root: Path, *, skip_hidden: bool = False):
    """(archive name, path) of every file and symbolic link under root, in a stable order."""
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        links = [d for d in dirnames if (here / d).is_symlink()]
        dirnames[:] = sorted(d for d in dirnames if d not in links and not (skip_hidden and d.startswith(".")))
        for name in sorted([*filenames, *links]):
            if name.startswith(_PUBLISH_TMP) or (skip_hidden and name.startswith(".")):
                continue
            path = here / name
            yield f"{section}/{path.relative_to(root).as_posix()}", path


def _copy_tree(src: Path, dest: Path, *, only_new: bool = False, skip: set[str] = frozenset()) -> None:
    if not src.is_dir():
        return
    for _name, path in _walk("x", src, skip_hidden=True):
        rel = path.relative_to(src)
        target = dest / rel
        if only_new and (target.exists() or target.is_symlink() or rel.name in skip):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            if path.is_symlink():
                os.symlink(os.readlink(path), target)
            else:
                shutil.copy2(path, target)
        except FileNotFoundError:
            pass


class _HashingReader:
    def __init__(self, f, progress):
        self._f = f
        self._h = crypto.Sm3()
        self.size = 0
        self._progress = progress

    def read(self, n=-1):
        data = self._f.read(n)
        self._h.update(data)
        self.size += len(data)
        if self._progress:
            self._progress(len(data))
        return data

    def hexdigest(self):
        return self._h.hexdigest()


# --- backup -----------------------------------------------------------------------------------

@dataclass
class BackupResult:
    path: Path
    size: int
    files: int
    manifest: dict = field(repr=False)


def _platform_code() -> str:
    from jiyue.core.models import Platform

    return Platform.objects.order_by("pk").values_list("code", flat=True).first() or "jiyue"


def archive_name(code: str, when: datetime) -> str:
    return f"jiyue-backup-{code}-{when.astimezone(dt_timezone.utc):%Y%m%dT%H%M%SZ}.jyb"


def create_backup(output: str | os.PathLike, secret: str | None, *, progress=None, log=None) -> BackupResult:
    """Write an encrypted backup archive into the folder `output`. progress(done, total) is
    called with bytes; log(message) with steps."""
    log = log or (lambda message: None)
    if not secret:
        raise BackupError(_("没有备份密钥：请设置环境变量 JIYUE_BACKUP_KEY 或使用 --passphrase-file。"))
    if len(secret) < MIN_PASSPHRASE:
        raise BackupError(_("备份密钥太短：至少 %(n)d 个字符。") % {"n": MIN_PASSPHRASE})
    out_dir = Path(output)
    try:
        out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise BackupError(_("无法创建备份目录 %(path)s：%(error)s") % {"path": out_dir, "error": exc}) from None
    ring = keyring.get()  # created now if it did not exist: it belongs in the backup
    code = _platform_code()
    created = datetime.now(dt_timezone.utc).replace(microsecond=0)
    name = archive_name(code, created)
    final = out_dir / name
    if final.exists():
        raise BackupError(_("备份文件已存在：%(path)s") % {"path": final})
    partial = out_dir / f".{name}.partial"
    work = Path(tempfile.mkdtemp(prefix=".jiyue-backup-", dir=out_dir))
    try:
        t = _targets()
        # The audit archive is copied just before the database snapshot, so its checkpoint file
        # is never ahead of the restored database (`jiyue audit verify` would report that);
        # archive files written while the database was copied are added after it.
        audit_copy = work / "audit"
        _copy_tree(t["audit"], audit_copy)
        log(_("正在复制数据库……"))
        db = copy_database(work)
        _copy_tree(t["audit"], audit_copy, only_new=True, skip={"head.json"})
        entries = [(f"db/{db.path.name}", db.path)]
        entries += list(_walk("media", t["media"]))
        entries += list(_walk("public", t["public"]))
        entries += list(_walk("keys", t["keys"], skip_hidden=True))
        entries += list(_walk("audit", audit_copy, skip_hidden=True))
        if "keyring" in t and t["keyring"].exists():
            entries.append((f"keyring/{t['keyring'].name}", t["keyring"]))
        secret_key = Path(settings.JIYUE_HOME) / "secret_key"
        if secret_key.is_file():
            entries.append(("home/secret_key", secret_key))
        total = 0
        for _name, p in entries:
            try:
                total += p.lstat().st_size if not p.is_symlink() else 0
            except FileNotFoundError:
                pass
        done = 0

        def advance(n):
            nonlocal done
            done += n
            if progress:
                progress(done, total)

        log(_("正在加密写入 %(count)d 个文件……") % {"count": len(entries)})
        files = []
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            writer = EncryptingWriter(out, secret, {"platform": code, "created": created.isoformat(),
                                                    "engine": db.engine})
            with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for arcname, path in entries:
                    entry = _add(tar, arcname, path, advance)
                    if entry:
                        files.append(entry)
                manifest = {
                    "format": 1,
                    "created": created.isoformat(),
                    "platform": code,
                    "jiyue_version": _version(),
                    "database": {"engine": db.engine, "file": f"db/{db.path.name}",
                                 "tables": db.tables, "migrations": db.migrations},
                    "files": files,
                    "signing_key": {"algorithm": "SM2", "public": ring.sm2_public,
                                    "fingerprint": fingerprint(ring.sm2_public)},
                }
                body = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
                signature = crypto.sm2_sign(body).hex().encode()
                _add_bytes(tar, "manifest.json", body)
                _add_bytes(tar, "manifest.sig", signature)
            writer.finish()
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, final)
        size = final.stat().st_size
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, Exception):
            _audit_failure("backup.create", name, exc)
        if isinstance(exc, OSError):  # e.g. the disk is full
            raise BackupError(_("备份失败：%(error)s") % {"error": exc}) from exc
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    audit.record(None, None, None, "backup.create", obj=name, object_type="backup",
                 path=str(final), size=size, files=len(files), engine=db.engine,
                 tables=len(db.tables), rows=sum(db.tables.values()),
                 signing_key=fingerprint(ring.sm2_public))
    return BackupResult(final, size, len(files), manifest)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("jiyue")
    except Exception:  # noqa: BLE001 - informational only
        return ""


def fingerprint(public: str) -> str:
    return crypto.sm3_hex(bytes.fromhex(public))[:32]


def _add(tar: tarfile.TarFile, arcname: str, path: Path, advance) -> dict | None:
    try:
        if path.is_symlink():
            info = tarfile.TarInfo(arcname)
            info.type = tarfile.SYMTYPE
            info.linkname = os.readlink(path)
            info.mode = 0o777
            tar.addfile(info)
            return {"path": arcname, "link": info.linkname}
        f = open(path, "rb")
    except FileNotFoundError:
        return None  # removed since it was listed (a page the publisher just deleted)
    with f:
        st = os.fstat(f.fileno())
        info = tarfile.TarInfo(arcname)
        info.size = st.st_size
        info.mtime = int(st.st_mtime)
        info.mode = 0o600 if arcname.split("/", 1)[0] in ("keys", "keyring", "home", "db") else 0o644
        reader = _HashingReader(f, advance)
        # The file is read through its open descriptor: a page replaced by rename meanwhile
        # is archived as it was when opened.
        tar.addfile(info, reader)
        return {"path": arcname, "size": reader.size, "sm3": reader.hexdigest()}


def _add_bytes(tar: tarfile.TarFile, arcname: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(arcname)
    info.size = len(data)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def _audit_failure(action: str, name: str, exc: Exception) -> None:
    try:
        audit.record(None, None, None, action, obj=name, object_type="backup", outcome="failure",
                     error=str(exc)[:500])
    except Exception:  # noqa: BLE001 - the database itself may be what failed
        pass


def prune(folder: str | os.PathLike, keep: int) -> list[Path]:
    """Delete all but the `keep` newest archives in `folder` (only files named like ours)."""
    folder = Path(folder)
    archives = sorted((p for p in folder.iterdir() if p.is_file() and ARCHIVE_RE.match(p.name)),
                      key=lambda p: (ARCHIVE_RE.match(p.name)["stamp"], p.name))
    removed = archives[:-keep] if keep > 0 else archives
    for p in removed:
        p.unlink(missing_ok=True)
    return removed


# --- restore ----------------------------------------------------------------------------------

@dataclass
class RestoreResult:
    manifest: dict
    files: int
    migrated: bool
    moved_aside: Path | None


def info(archive: str | os.PathLike) -> dict:
    """The plain header of an archive (no key needed)."""
    with open(archive, "rb") as f:
        return read_header(f)[0]


def _has_files(p: Path) -> bool:
    if p.is_symlink() or p.is_file():
        return True
    return p.is_dir() and any(_has_files(c) for c in p.iterdir())


def _occupied() -> list[str]:
    """What already lives where a restore would write; an empty home has none of it.

    Files every start of the platform generates when they are missing (the Django secret key,
    key files such as the OIDC signing key) do not count: a home that holds only those has
    never held data. The key ring does count (it is created when data is first encrypted or
    signed); so do a database, uploads, published pages and audit archives."""
    home = Path(settings.JIYUE_HOME)
    found = []
    t = _targets()
    for key in ("media", "public", "audit"):
        if _has_files(t[key]):
            found.append(str(t[key]))
    if keyring.path().exists():
        found.append(str(keyring.path()))
    if connection.vendor == "sqlite":
        db = Path(connection.settings_dict["NAME"])
        for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            if p.exists() and p.stat().st_size > 0:
                found.append(str(p))
    if home.is_dir():
        ignore = {"secret_key", Path(connection.settings_dict["NAME"]).name,
                  Path(f"{connection.settings_dict['NAME']}-wal").name,
                  Path(f"{connection.settings_dict['NAME']}-shm").name}
        for child in home.iterdir():
            if child.name in ignore or child.name.startswith(_STAGING):
                continue
            if any(child == t[k] or child in t[k].parents for k in t if k != "home"):
                continue
            if _has_files(child):
                found.append(str(child))
    return found


def _safe_name(name: str) -> PurePosixPath:
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or not p.parts or p.parts[0] not in SECTIONS or len(p.parts) < 2:
        raise Corrupt(_("备份中有不允许的路径：%(name)s") % {"name": name})
    return p


def _is_keyring(name: str) -> bool:
    return name == "keys/keyring.json" or name.startswith("keyring/")


def _extract(reader: DecryptingReader, staging: Path | None) -> tuple[dict[str, dict], bytes, bytes]:
    """Read the whole archive, hashing every file (and writing it under `staging`, unless
    None: then nothing is written, only checked). Returns what was read, the manifest and its
    signature."""
    staged: dict[str, dict] = {}
    manifest = signature = None
    try:
        tar = tarfile.open(fileobj=reader, mode="r|")
        for member in tar:
            name = member.name
            if signature is not None:
                raise Corrupt(_("备份清单之后还有内容：%(name)s") % {"name": name})
            if name in ("manifest.json", "manifest.sig"):
                if not member.isfile() or member.size > 256 * 1024 * 1024:
                    raise Corrupt(_("备份清单已损坏。"))
                data = tar.extractfile(member).read()
                if name == "manifest.json":
                    manifest = data
                else:
                    signature = data
                continue
            if manifest is not None:
                raise Corrupt(_("备份清单之后还有内容：%(name)s") % {"name": name})
            rel = _safe_name(name)
            if member.isdir():
                continue
            if name in staged:
                raise Corrupt(_("备份中有重复的条目。"))
            dest = staging.joinpath(*rel.parts) if staging is not None else None
            if dest is not None:
                dest.parent.mkdir(parents=True, exist_ok=True)
            if member.issym():
                target = PurePosixPath(member.linkname)
                resolved = os.path.normpath((rel.parent / target).as_posix())
                if target.is_absolute() or not resolved.startswith(rel.parts[0] + "/"):
                    raise Corrupt(_("备份中的符号链接指向外部：%(name)s") % {"name": name})
                if dest is not None:
                    os.symlink(member.linkname, dest)
                staged[name] = {"link": member.linkname}
            elif member.isfile():
                h = crypto.Sm3()
                size = 0
                src = tar.extractfile(member)
                keep = _is_keyring(name) and member.size <= 1024 * 1024
                kept = []
                out = None
                if dest is not None:
                    mode = 0o600 if rel.parts[0] in ("keys", "keyring", "home", "db") else 0o644
                    out = os.fdopen(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb")
                try:
                    while True:
                        block = src.read(_COPY)
                        if not block:
                            break
                        h.update(block)
                        size += len(block)
                        if out is not None:
                            out.write(block)
                        if keep:
                            kept.append(block)
                finally:
                    if out is not None:
                        out.close()
                staged[name] = {"size": size, "sm3": h.hexdigest()}
                if keep:
                    staged[name]["data"] = b"".join(kept)
            else:
                raise Corrupt(_("备份中有不支持的条目：%(name)s") % {"name": name})
        tar.close()
        reader.drain()
    except tarfile.TarError as exc:
        raise Corrupt(_("备份内容已损坏：%(error)s") % {"error": exc}) from None
    except FileExistsError:
        raise Corrupt(_("备份中有重复的条目。")) from None
    if manifest is None or signature is None:
        raise Corrupt(_("备份不完整：缺少签名的清单。"))
    return staged, manifest, signature


def _verify(staged: dict[str, dict], body: bytes, signature: bytes) -> dict:
    try:
        manifest = json.loads(body)
        public = manifest["signing_key"]["public"]
        sig = bytes.fromhex(signature.decode())
        files = {f["path"]: f for f in manifest["files"]}
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise Corrupt(_("备份清单已损坏。")) from None
    if not crypto.sm2_verify(body, sig, public):
        raise Corrupt(_("备份清单的 SM2 签名无效：清单被改动过。"))
    missing = sorted(set(files) - set(staged))
    extra = sorted(set(staged) - set(files))
    if missing or extra:
        raise Corrupt(_("备份内容与清单不符：缺少 %(missing)s，多出 %(extra)s。")
                      % {"missing": ", ".join(missing[:5]) or "-", "extra": ", ".join(extra[:5]) or "-"})
    for name, want in files.items():
        got = staged[name]
        if "link" in want:
            ok = got.get("link") == want["link"]
        else:
            ok = got.get("size") == want.get("size") and got.get("sm3") == want.get("sm3")
        if not ok:
            raise Corrupt(_("文件校验失败（SM3 校验值或大小与清单不符）：%(name)s") % {"name": name})
    for ring_name, got in staged.items():
        if _is_keyring(ring_name) and "data" in got:
            try:
                ring = keyring.Keyring.from_json(got["data"].decode())
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                raise Corrupt(_("备份中的密钥环已损坏。")) from None
            if ring.sm2_public != public:
                raise Corrupt(_("清单的签名密钥与备份中的密钥环不符。"))
    db = manifest.get("database") or {}
    if db.get("file") not in files:
        raise Corrupt(_("备份中没有数据库。"))
    return manifest


def _move_into(src: Path, dest: Path, aside: Path | None) -> None:
    """Put src at dest. Whatever was at dest goes to `aside` (with --force); in an empty home it
    was empty or generated at startup (secret key, a new OIDC key) and is replaced."""
    if dest.is_symlink() or dest.exists():
        if aside is not None and _has_files(dest):
            aside.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(dest), str(aside))
        elif dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)
        else:
            dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(src, dest)
    except OSError:
        shutil.move(str(src), str(dest))  # another file system


def verify_backup(archive: str | os.PathLike, secret: str | None, *, progress=None) -> dict:
    """Decrypt an archive and check its signature and every checksum, writing nothing
    (`jiyue restore --check`). Returns the manifest."""
    archive = Path(archive)
    if not secret:
        raise BackupError(_("没有备份密钥：请设置环境变量 JIYUE_BACKUP_KEY 或使用 --passphrase-file。"))
    if not archive.is_file():
        raise BackupError(_("找不到备份文件：%(path)s") % {"path": archive})
    with open(archive, "rb") as f:
        reader = DecryptingReader(f, secret, total=archive.stat().st_size, progress=progress)
        staged, body, signature = _extract(reader, None)  # hashed as it streams, nothing written
    return _verify(staged, body, signature)


def restore_backup(archive: str | os.PathLike, secret: str | None, *, force: bool = False,
                   progress=None, log=None) -> RestoreResult:
    log = log or (lambda message: None)
    archive = Path(archive)
    if not secret:
        raise BackupError(_("没有备份密钥：请设置环境变量 JIYUE_BACKUP_KEY 或使用 --passphrase-file。"))
    if not archive.is_file():
        raise BackupError(_("找不到备份文件：%(path)s") % {"path": archive})
    vendor = connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise BackupError(_("不支持恢复到这种数据库：%(vendor)s") % {"vendor": vendor})
    occupied = _occupied()
    if occupied and not force:
        raise BackupError(_("目标不是空的：%(paths)s。恢复只能写入空的 JIYUE_HOME；确认要替换现有数据时加 --force"
                            "（现有文件会移到 JIYUE_HOME 下的 .before-restore-* 目录）。")
                          % {"paths": _("、").join(occupied[:5])})
    if vendor == "postgresql":
        try:
            empty = _pg_is_empty()
        except Exception as exc:  # noqa: BLE001 - shown to the operator
            raise BackupError(_("无法连接目标数据库：%(error)s（请先创建一个空数据库，例如 createdb）。")
                              % {"error": exc}) from None
        if not empty:
            raise BackupError(_("目标数据库 %(name)s 不是空的：请恢复到新建的空数据库（dropdb/createdb）。")
                              % {"name": connection.settings_dict["NAME"]})
        pg_tool("pg_restore")  # found before anything is decrypted
    home = Path(settings.JIYUE_HOME)
    home.mkdir(parents=True, exist_ok=True)
    for leftover in home.glob(f"{_STAGING}*"):
        shutil.rmtree(leftover, ignore_errors=True)  # of a restore that was killed
    staging = Path(tempfile.mkdtemp(prefix=_STAGING, dir=home))
    stamp = datetime.now(dt_timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    aside_root = home / f".before-restore-{stamp}" if occupied else None
    verified = False
    try:
        log(_("正在解密并校验备份……"))
        with open(archive, "rb") as f:
            reader = DecryptingReader(f, secret, total=archive.stat().st_size, progress=progress)
            engine = reader.header.get("engine")
            if engine != vendor:
                raise BackupError(_("这份备份来自 %(src)s 数据库，不能恢复到 %(dst)s：请配置相同类型的数据库。")
                                  % {"src": engine, "dst": vendor})
            try:
                staged, body, signature = _extract(reader, staging)
            except OSError as exc:  # e.g. the disk is full
                raise BackupError(_("解密到临时目录 %(path)s 时出错：%(error)s") % {"path": staging, "error": exc}) from None
        manifest = _verify(staged, body, signature)
        verified = True
        log(_("校验通过：%(count)d 个文件，签名密钥指纹 %(fp)s。")
            % {"count": len(staged), "fp": manifest["signing_key"]["fingerprint"]})

        # the database first: the step that can still fail
        db_file = staging.joinpath(*manifest["database"]["file"].split("/"))
        log(_("正在恢复数据库……"))
        connection.close()
        if vendor == "sqlite":
            target = Path(connection.settings_dict["NAME"])
            for suffix in ("-wal", "-shm"):
                side = Path(f"{target}{suffix}")
                if side.exists():
                    _move_into_aside_or_remove(side, aside_root)
            _move_into(db_file, target, aside_root / "database" / target.name if aside_root else None)
        else:
            dbname = _libpq()["dbname"]
            _run_pg([pg_tool("pg_restore"), "--single-transaction", "--exit-on-error", "--no-owner",
                     "--no-acl", f"--dbname={dbname}", str(db_file)], _("恢复数据库（pg_restore）"))
        connection.close()
        tables, _migrations = database_state()
        want = manifest["database"]["tables"]
        if tables != want:
            diff = sorted(k for k in set(tables) | set(want) if tables.get(k) != want.get(k))
            raise BackupError(_("恢复后的数据库与清单的行数不符：%(tables)s") % {"tables": ", ".join(diff[:10])})

        log(_("正在恢复文件……"))
        t = _targets()
        for section in ("media", "public", "keys", "keyring", "audit"):
            src = staging / section
            if section == "keyring":
                if src.is_dir():
                    for child in src.iterdir():
                        _move_into(child, keyring.path(), aside_root / "keyring" if aside_root else None)
                continue
            if src.is_dir():
                _move_into(src, t[section], aside_root / section if aside_root else None)
        if (staging / "home" / "secret_key").is_file():
            _move_into(staging / "home" / "secret_key", home / "secret_key",
                       aside_root / "secret_key" if aside_root else None)
        keys = keys_dir()
        if keys.is_dir():
            keys.chmod(0o700)
        keyring.forget_cache()
    except BackupError as exc:
        connection.close()
        if not verified:
            raise type(exc)(_("%(error)s没有写入任何数据。") % {"error": exc}) from None
        raise
    except BaseException:
        connection.close()
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    migrated = _migrate_if_needed(log)
    audit.record(None, None, None, "backup.restore", obj=archive.name, object_type="backup",
                 platform=manifest.get("platform"), created=manifest.get("created"),
                 files=len(manifest["files"]), rows=sum(manifest["database"]["tables"].values()),
                 signing_key=manifest["signing_key"]["fingerprint"], forced=bool(occupied),
                 migrated=migrated)
    return RestoreResult(manifest, len(manifest["files"]), migrated, aside_root)


def _move_into_aside_or_remove(p: Path, aside_root: Path | None) -> None:
    if aside_root is not None:
        (aside_root / "database").mkdir(parents=True, exist_ok=True)
        shutil.move(str(p), str(aside_root / "database" / p.name))
    else:
        p.unlink()


def _migrate_if_needed(log) -> bool:
    """A backup of an older release is brought to this release's schema."""
    from django.core.management import call_command
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if not executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return False
    log(_("备份来自较早的版本：正在迁移数据库结构（jiyue migrate）……"))
    call_command("migrate", interactive=False, verbosity=0)
    return True
