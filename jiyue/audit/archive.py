"""Retention: sealed entries older than JIYUE_AUDIT_RETENTION_DAYS (at least 180) move to signed
archive files, and only then leave the database.

$JIYUE_HOME/audit-archive/<chain id>/ holds, per run, ``audit-<first>-<last>.jsonl.gz`` (one
JSON object per entry: every stored value, see chain.entry_record) and
``audit-<first>-<last>.manifest.json``: first/last seq, the hash before the first entry and
the last hash, the count, first/last time, the SM3 of the .gz file and an SM2 signature over
the manifest. The checkpoint's base (last archived seq and hash) moves forward in the same
transaction that deletes the archived rows, so `verify` continues the chain from there.
"""

from __future__ import annotations

import gzip
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from jiyue.security import crypto

from . import chain
from .models import AuditEntry, AuditHead, privileged

MINIMUM_RETENTION_DAYS = 180
MANIFEST_FORMAT = "jiyue-audit-archive/1"


class AuditChainError(Exception):
    """The chain is broken or the checkpoint is invalid: archiving refuses to go on."""


def retention_days() -> int:
    raw = getattr(settings, "JIYUE_AUDIT_RETENTION_DAYS", MINIMUM_RETENTION_DAYS)
    try:
        days = int(raw)
    except (TypeError, ValueError):
        raise ImproperlyConfigured(
            _("JIYUE_AUDIT_RETENTION_DAYS 必须是整数天数（当前为 %(value)r）。") % {"value": raw}) from None
    if days < MINIMUM_RETENTION_DAYS:
        raise ImproperlyConfigured(
            _("审计日志至少保存 %(min)d 天，JIYUE_AUDIT_RETENTION_DAYS=%(days)d 不符合要求。")
            % {"min": MINIMUM_RETENTION_DAYS, "days": days})
    return days


@dataclass
class ArchiveResult:
    name: str
    first_seq: int
    last_seq: int
    count: int
    path: Path


def _manifest_bytes(manifest: dict) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "signature" and not k.startswith("_")}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def manifest_valid(manifest: dict) -> bool:
    try:
        return crypto.sm2_verify(_manifest_bytes(manifest), bytes.fromhex(manifest["signature"]))
    except (KeyError, ValueError, TypeError):
        return False


def load_manifests(chain_id: str) -> list[dict]:
    directory = chain.chain_dir(chain_id)
    manifests = []
    for path in sorted(directory.glob("audit-*.manifest.json")) if directory.is_dir() else []:
        try:
            m = json.loads(path.read_text())
            m["first_seq"], m["last_seq"] = int(m["first_seq"]), int(m["last_seq"])
        except (OSError, ValueError, KeyError, TypeError):
            m = {"broken": True, "path": str(path), "first_seq": -1, "last_seq": -1}
        m["_path"] = str(path)
        manifests.append(m)
    return sorted(manifests, key=lambda m: (m["first_seq"], m["last_seq"]))


def _file_sm3(path: Path) -> str:
    h = crypto.Sm3()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_archives(report: chain.Report, head: AuditHead, *, full: bool = False, progress=None) -> None:
    """The archives must cover seq 1..base exactly, each continuing the previous one's hash and
    ending at the checkpoint's base. With `full`: signatures, file checksums and every entry."""
    report.archives_checked = full
    manifests = [m for m in load_manifests(head.chain_id) if m["last_seq"] <= head.base_seq]
    if head.base_seq == 0:
        return
    if not manifests:
        message = _("找不到已归档的审计记录 seq=1–%(seq)s 的归档文件（%(dir)s）。") % {
            "seq": head.base_seq, "dir": chain.chain_dir(head.chain_id)}
        if full:
            report.problems.append(chain.Problem(message, 1))
        else:
            report.notes.append(message)
            report.archived = head.base_seq
        return
    expected, prev = 1, chain.GENESIS
    for m in manifests:
        label = Path(m["_path"]).name
        if m.get("broken"):
            report.problems.append(chain.Problem(_("归档清单 %(file)s 无法读取。") % {"file": label}))
            continue
        if m["first_seq"] != expected:
            report.problems.append(chain.Problem(
                _("归档缺失：seq=%(first)s–%(last)s 不在任何归档文件中。")
                % {"first": expected, "last": m["first_seq"] - 1}, expected))
        elif m.get("prev_hash") != prev:
            report.problems.append(chain.Problem(
                _("归档 %(file)s 的起始哈希与上一段不符。") % {"file": label}, m["first_seq"]))
        if m.get("chain_id") != head.chain_id:
            report.problems.append(chain.Problem(
                _("归档 %(file)s 不属于本审计链。") % {"file": label}, m["first_seq"]))
        if full:
            _check_archive_file(report, m, progress)
        report.archived += m["last_seq"] - m["first_seq"] + 1
        expected, prev = m["last_seq"] + 1, m.get("last_hash")
    if expected - 1 != head.base_seq:
        report.problems.append(chain.Problem(
            _("归档缺失：seq=%(first)s–%(last)s 不在任何归档文件中。")
            % {"first": expected, "last": head.base_seq}, expected))
    elif prev != head.base_hash:
        report.problems.append(chain.Problem(
            _("最后一个归档的末尾哈希与签名检查点不符（seq=%(seq)s）。") % {"seq": head.base_seq},
            head.base_seq))


def _check_archive_file(report: chain.Report, m: dict, progress=None) -> None:
    label = Path(m["_path"]).name
    if not manifest_valid(m):
        report.problems.append(chain.Problem(
            _("归档清单 %(file)s 的 SM2 签名无效：清单被篡改。") % {"file": label}, m["first_seq"]))
        return
    data = Path(m["_path"]).with_name(m.get("file", ""))
    if not data.is_file():
        report.problems.append(chain.Problem(
            _("归档文件 %(file)s 不存在。") % {"file": data.name}, m["first_seq"]))
        return
    if _file_sm3(data) != m.get("sm3"):
        report.problems.append(chain.Problem(
            _("归档文件 %(file)s 的 SM3 校验值与清单不符：文件被修改。") % {"file": data.name}, m["first_seq"]))
        return
    walker = chain.Walker(report, m["first_seq"], m["prev_hash"],
                          where=_("归档 %(file)s 中的") % {"file": data.name})
    count = 0
    try:
        with gzip.open(data, "rt", encoding="utf-8") as f:
            for line in f:
                walker.add(json.loads(line))
                count += 1
                if progress and count % 1000 == 0:
                    progress(count, m["last_seq"] - m["first_seq"] + 1)
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        report.problems.append(chain.Problem(
            _("归档文件 %(file)s 无法读取。") % {"file": data.name}, m["first_seq"]))
        return
    walker.finish(m["last_seq"], m["last_hash"])
    if count != m.get("count"):
        report.problems.append(chain.Problem(
            _("归档文件 %(file)s 的记录数（%(n)s）与清单（%(m)s）不符。")
            % {"file": data.name, "n": count, "m": m.get("count")}, m["first_seq"]))


def _remove_leftovers(directory: Path, base_seq: int) -> None:
    """Files of an earlier run that failed before the database moved its base past them (the
    entries are still in the database). Unreadable manifests are left for verify to report."""
    for path in directory.glob("audit-*-*.*"):
        parts = path.name.split(".", 1)[0].split("-")
        if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) > base_seq:
            path.unlink()


def archive(*, now: datetime | None = None, progress=None) -> ArchiveResult | None:
    """Move sealed entries older than the retention period to a signed archive, then delete
    them from the database. Refuses when the part of the chain to archive does not verify."""
    from . import record

    days = retention_days()
    chain.seal()
    head = AuditHead.objects.filter(pk=1).first()
    if head is None:
        return None
    if not chain.head_valid(head):
        raise AuditChainError(_("检查点的签名无效，拒绝归档。请先运行 jiyue audit verify 查明原因。"))
    cutoff = (now or timezone.now()) - timedelta(days=days)
    newer = AuditEntry.objects.filter(seq__gt=head.base_seq, at__gte=cutoff).aggregate(m=Min("seq"))["m"]
    first = head.base_seq + 1
    last = newer - 1 if newer is not None else head.head_seq
    if last < first:
        return None
    directory = chain.chain_dir(head.chain_id)
    directory.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(directory, head.base_seq)
    name = f"audit-{first:012d}-{last:012d}"
    data_path = directory / f"{name}.jsonl.gz"
    tmp = directory / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
    report = chain.Report()
    walker = chain.Walker(report, first, head.base_hash)
    count, first_at, last_at = 0, None, None
    try:
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
            rows = AuditEntry.objects.filter(seq__gte=first, seq__lte=last).order_by("seq")
            for row in rows.iterator(chunk_size=2000):
                rec = chain.entry_record(row)
                walker.add(rec)
                gz.write(json.dumps(rec, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                         .encode() + b"\n")
                count += 1
                first_at = first_at or rec["at"]
                last_at = rec["at"]
                if progress and count % 1000 == 0:
                    progress(count, last - first + 1)
            walker.finish(last, walker.prev if count else head.base_hash)
            if report.problems:
                raise AuditChainError(_("审计链校验失败，拒绝归档：%(problem)s")
                                      % {"problem": report.problems[0].message})
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, data_path)
    finally:
        if tmp.exists():
            tmp.unlink()
    manifest = {
        "format": MANIFEST_FORMAT, "chain_id": head.chain_id, "file": data_path.name,
        "first_seq": first, "last_seq": last, "count": count, "prev_hash": head.base_hash,
        "last_hash": walker.prev, "first_at": first_at, "last_at": last_at,
        "sm3": _file_sm3(data_path), "size": data_path.stat().st_size,
        "created_at": chain.iso_utc(timezone.now()), "retention_days": days,
    }
    manifest["signature"] = crypto.sm2_sign(_manifest_bytes(manifest)).hex()
    manifest_path = directory / f"{name}.manifest.json"
    chain.write_atomically(manifest_path, json.dumps(manifest, indent=2, ensure_ascii=False).encode())
    with transaction.atomic():
        locked = chain.locked_head(create=False)
        if locked is None or locked.base_seq != head.base_seq:
            raise AuditChainError(_("另一个归档任务同时在运行，本次不归档。"))
        with privileged():
            deleted, _by_model = AuditEntry.objects.filter(seq__gte=first, seq__lte=last).delete()
        if deleted != count:
            raise AuditChainError(_("归档时数据库中的记录数发生了变化（%(n)s ≠ %(m)s），本次不归档。")
                                  % {"n": deleted, "m": count})
        locked.base_seq, locked.base_hash = last, walker.prev
        chain.save_head(locked)
        record(None, None, None, "audit.archive", object_type="audit.archive", object_id=name,
               obj=name, first_seq=first, last_seq=last, count=count, sm3=manifest["sm3"],
               retention_days=days)
    return ArchiveResult(name=name, first_seq=first, last_seq=last, count=count, path=data_path)
