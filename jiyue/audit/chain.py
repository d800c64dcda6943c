"""The SM3 hash chain over the audit log, and its SM2-signed checkpoint.

Writers never wait for the chain: `record()` inserts an unsealed entry (seq NULL). The sealer
(`seal()`: a periodic job every few seconds, and `jiyue audit seal` / `verify`) takes the
checkpoint row's lock, reads unsealed entries older than a short lag in id order and gives
each the next `seq` and `hash = SM3(previous hash || canonical bytes)`. It picks up every
unsealed row, not "ids after a cursor", so a transaction that commits late (its lower id
committed after higher ones were sealed) is sealed in the next run instead of being skipped.

The checkpoint (`AuditHead`) holds the last sealed seq and hash and the archive base, signed
with the platform's SM2 key; a copy is written to $JIYUE_HOME/audit-archive/<chain>/head.json
so that rolling the database back to an older (validly signed) checkpoint is noticed too.

What is hashed (format 1), as sorted-key compact JSON in UTF-8:
    v, seq, id, at (UTC, microseconds, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``), actor (actor_ref),
    actor_name (HMAC-SM3 of the name), org (organisation id), src (client address,
    normalised), action, object_type, object_id, object (HMAC-SM3 of object_repr), outcome,
    detail (JSON, integral floats as integers).
Not hashed: the actor foreign key (set NULL when the account is deleted; checked against
actor_ref instead) and the plain display names, which are replaced by the pseudonym when an
account is deleted; their digests stay valid because the erased name's digest is kept
(`actor_name_mac` / `object_repr_mac`).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timedelta, timezone as dt_timezone
from pathlib import Path
from typing import Callable

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiyue.security import crypto, keyring

from .models import AuditEntry, AuditHead, privileged

logger = logging.getLogger(__name__)

FORMAT = 1
GENESIS = "0" * 64
PSEUDONYM_PREFIX = "~"


# --- pseudonyms and keyed digests -------------------------------------------------------------

def actor_ref_for(user_id) -> str:
    """The pseudonymous reference of an account: HMAC-SM3(index key, id), 16 hex digits."""
    if user_id is None:
        return ""
    return crypto.hmac_sm3(keyring.get().index_key, f"jiyue-audit-actor\x00{user_id}".encode()).hex()[:16]


def pseudonym(ref: str) -> str:
    return f"{PSEUDONYM_PREFIX}{ref}"


def index_key() -> bytes:
    return keyring.get().index_key


def name_mac(field_name: str, value: str, key: bytes | None = None) -> str:
    """Keyed digest of a display name (what the chain hashes instead of the name)."""
    return crypto.hmac_sm3(key or index_key(), f"jiyue-audit-{field_name}\x00{value}".encode()).hex()


# --- canonical form ---------------------------------------------------------------------------

def iso_utc(at: datetime) -> str:
    return at.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@lru_cache(maxsize=4096)
def _address(value: str) -> str:
    try:
        return ipaddress.ip_address(value.split("/", 1)[0]).compressed
    except ValueError:
        return value


def normalise_address(value) -> str | None:
    return _address(str(value)) if value else None


def normalise_json(value):
    """JSON values as both databases return them: PostgreSQL's jsonb turns 1.0 into 1."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): normalise_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalise_json(v) for v in value]
    return value


def entry_record(row: AuditEntry) -> dict:
    """Every stored value of an entry, JSON-ready: what an archive line holds."""
    return {
        "seq": row.seq, "id": row.id, "at": iso_utc(row.at), "actor_id": row.actor_id,
        "actor_ref": row.actor_ref, "actor_name": row.actor_name, "actor_name_mac": row.actor_name_mac,
        "organisation_id": row.organisation_id, "source_address": normalise_address(row.source_address),
        "action": row.action, "object_type": row.object_type, "object_id": row.object_id,
        "object_repr": row.object_repr, "object_repr_mac": row.object_repr_mac,
        "outcome": row.outcome, "detail": normalise_json(row.detail), "hash": row.hash,
    }


def canonical_bytes(rec: dict, key: bytes | None = None) -> bytes:
    key = key or index_key()
    doc = {
        "v": FORMAT, "seq": rec["seq"], "id": rec["id"], "at": rec["at"], "actor": rec["actor_ref"],
        "actor_name": rec["actor_name_mac"] or name_mac("actor_name", rec["actor_name"], key),
        "org": rec["organisation_id"], "src": normalise_address(rec["source_address"]),
        "action": rec["action"], "object_type": rec["object_type"], "object_id": rec["object_id"],
        "object": rec["object_repr_mac"] or name_mac("object_repr", rec["object_repr"], key),
        "outcome": rec["outcome"], "detail": normalise_json(rec["detail"]),
    }
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode()


def chain_hash(prev: str, rec: dict, key: bytes | None = None) -> str:
    return crypto.sm3_hex(bytes.fromhex(prev) + canonical_bytes(rec, key))


# --- the checkpoint ---------------------------------------------------------------------------

def head_message(chain_id, base_seq, base_hash, head_seq, head_hash, sealed_at: str) -> bytes:
    return (f"jiyue-audit-head/{FORMAT}|{chain_id}|{base_seq}|{base_hash}|{head_seq}|{head_hash}|"
            f"{sealed_at}").encode()


def _message_of(head: AuditHead) -> bytes:
    return head_message(head.chain_id, head.base_seq, head.base_hash, head.head_seq, head.head_hash,
                        iso_utc(head.sealed_at))


def sign_head(head: AuditHead) -> None:
    head.sealed_at = timezone.now()
    head.signature = crypto.sm2_sign(_message_of(head)).hex()


def head_valid(head: AuditHead) -> bool:
    try:
        signature = bytes.fromhex(head.signature)
    except ValueError:
        return False
    return crypto.sm2_verify(_message_of(head), signature)


def archive_root() -> Path:
    configured = getattr(settings, "JIYUE_AUDIT_ARCHIVE_DIR", None)
    return Path(configured) if configured else Path(settings.JIYUE_HOME) / "audit-archive"


def chain_dir(chain_id: str) -> Path:
    return archive_root() / chain_id


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _head_document(head: AuditHead) -> dict:
    return {"chain_id": head.chain_id, "base_seq": head.base_seq, "base_hash": head.base_hash,
            "head_seq": head.head_seq, "head_hash": head.head_hash,
            "sealed_at": iso_utc(head.sealed_at), "signature": head.signature}


def write_head_file(doc: dict) -> None:
    """Keep a copy of the signed checkpoint outside the database (never goes backwards)."""
    path = chain_dir(doc["chain_id"]) / "head.json"
    try:
        current = read_head_file(doc["chain_id"])
        if current and current["head_seq"] > doc["head_seq"]:
            return
        write_atomically(path, json.dumps(doc, indent=2).encode())
    except OSError:
        logger.exception("could not write the audit head file %s", path)


def read_head_file(chain_id: str) -> dict | None:
    path = chain_dir(chain_id) / "head.json"
    try:
        doc = json.loads(path.read_text())
        doc["head_seq"] = int(doc["head_seq"])
        doc["base_seq"] = int(doc["base_seq"])
        return doc
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return {"invalid": True, "chain_id": chain_id, "head_seq": -1, "base_seq": -1}


def head_file_valid(doc: dict) -> bool:
    if doc.get("invalid"):
        return False
    try:
        return crypto.sm2_verify(
            head_message(doc["chain_id"], doc["base_seq"], doc["base_hash"], doc["head_seq"],
                         doc["head_hash"], doc["sealed_at"]),
            bytes.fromhex(doc["signature"]))
    except (KeyError, ValueError, TypeError):
        return False


def locked_head(create: bool = True) -> AuditHead | None:
    """The checkpoint row, locked for this transaction (created, signed, on first use)."""
    if create and not AuditHead.objects.filter(pk=1).exists():
        head = AuditHead(pk=1, chain_id=secrets.token_hex(8), base_hash=GENESIS, head_hash=GENESIS)
        sign_head(head)
        try:
            with transaction.atomic():
                head.save(force_insert=True)
        except IntegrityError:
            pass  # another sealer created it
    return AuditHead.objects.select_for_update().filter(pk=1).first()


def save_head(head: AuditHead) -> None:
    sign_head(head)
    head.save()
    doc = _head_document(head)
    transaction.on_commit(lambda: write_head_file(doc))


# --- sealing ----------------------------------------------------------------------------------

def lag() -> timedelta:
    value = getattr(settings, "JIYUE_AUDIT_SEAL_LAG_SECONDS", None)
    if value in (None, ""):
        value = 0 if connection.vendor == "sqlite" else 2
    return timedelta(seconds=float(value))


def seal(*, lag_seconds: float | None = None, batch: int = 1000) -> int:
    """Seal committed entries older than the lag, in id order. Returns how many."""
    horizon = timezone.now() - (lag() if lag_seconds is None else timedelta(seconds=lag_seconds))
    total = 0
    while True:
        with transaction.atomic():
            if not AuditEntry.objects.filter(seq__isnull=True, at__lte=horizon).exists():
                return total
            head = locked_head()
            rows = list(AuditEntry.objects.filter(seq__isnull=True, at__lte=horizon)
                        .order_by("id")[:batch])
            if not rows:
                return total
            seq, prev, key = head.head_seq, head.head_hash, index_key()
            for row in rows:
                seq += 1
                row.seq = seq
                row.hash = chain_hash(prev, entry_record(row), key)
                prev = row.hash
            _store_seals(rows)
            head.head_seq, head.head_hash = seq, prev
            save_head(head)
        total += len(rows)


def _store_seals(rows: list[AuditEntry]) -> None:
    """One UPDATE per row (executemany): far cheaper than a bulk CASE on 1000 rows."""
    qn = connection.ops.quote_name
    with connection.cursor() as c:  # the privileged path: raw SQL, never the model
        c.executemany(f"UPDATE {qn(AuditEntry._meta.db_table)} SET {qn('seq')} = %s, {qn('hash')} = %s "
                      f"WHERE {qn('id')} = %s AND {qn('seq')} IS NULL",
                      [(row.seq, row.hash, row.id) for row in rows])
        if c.rowcount != len(rows):  # cannot happen under the checkpoint lock; never leave a gap
            raise RuntimeError(f"sealed {c.rowcount} audit entries instead of {len(rows)}")


# --- verification -----------------------------------------------------------------------------

@dataclass
class Problem:
    message: str
    seq: int | None = None


@dataclass
class Report:
    checked: int = 0          # sealed entries in the database whose hashes were checked
    archived: int = 0         # entries in the archives (counted from the manifests)
    archives_checked: bool = False
    unsealed: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def total(self) -> int:
        return self.checked + self.archived


def describe(rec: dict | AuditEntry | None) -> str:
    """seq / id / time of an entry, as the report names it."""
    if rec is None:
        return ""
    if isinstance(rec, AuditEntry):
        seq, eid, at = rec.seq, rec.id, rec.at
    else:
        seq, eid = rec.get("seq"), rec.get("id")
        at = datetime.strptime(rec["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt_timezone.utc)
    return _("seq=%(seq)s，id=%(id)s，时间 %(at)s") % {
        "seq": seq, "id": eid, "at": timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S")}


class Walker:
    """Checks consecutive entries of a chain: contiguity of seq and each hash link."""

    def __init__(self, report: Report, first_seq: int, prev_hash: str, where: str = ""):
        self.report = report
        self.expected = first_seq
        self.prev = prev_hash
        self.last: dict | None = None
        self.where = where
        self.key = index_key()

    def add(self, rec: dict) -> None:
        seq = rec["seq"]
        if seq < self.expected:
            self._problem(_("%(where)s审计记录（%(entry)s）的序号重复或早于链的起点：该记录是被插入或复制的。")
                          % {"where": self.where, "entry": describe(rec)}, seq)
            return
        if seq > self.expected:
            self._missing(self.expected, seq - 1, rec)
            self.prev, self.expected, self.last = rec["hash"], seq + 1, rec
            return
        if chain_hash(self.prev, rec, self.key) != rec["hash"]:
            self._problem(_("%(where)s审计记录（%(entry)s）的内容与哈希不符：该记录已被修改。")
                          % {"where": self.where, "entry": describe(rec)}, seq)
        self.prev, self.expected, self.last = rec["hash"], seq + 1, rec

    def _missing(self, first: int, last: int, after: dict | None) -> None:
        span = str(first) if first == last else f"{first}–{last}"
        if after is not None:
            where = _("位于（%(before)s）与（%(after)s）之间") % {
                "before": describe(self.last) if self.last else _("链的起点"), "after": describe(after)}
        else:
            where = _("在（%(before)s）之后，是最新的记录") % {
                "before": describe(self.last) if self.last else _("链的起点")}
        message = (_("%(where)s审计记录 seq=%(span)s 缺失（%(position)s）：该记录已被删除。") if first == last
                   else _("%(where)s审计记录 seq=%(span)s 缺失（%(position)s）：这些记录已被删除。"))
        self._problem(message % {"where": self.where, "span": span, "position": where}, first)

    def finish(self, last_seq: int, last_hash: str) -> None:
        """The chain must end exactly at the checkpoint."""
        if self.expected - 1 < last_seq:
            self._missing(self.expected, last_seq, None)
        elif self.prev != last_hash and self.expected - 1 == last_seq:
            self._problem(_("%(where)s链尾哈希与签名检查点不符（seq=%(seq)s）：审计链被整体重写。")
                          % {"where": self.where, "seq": last_seq}, last_seq)

    def _problem(self, message: str, seq: int | None) -> None:
        self.report.problems.append(Problem(message, seq))


def verify(*, archives: bool = False, seal_first: bool = True,
           progress: Callable[[int, int], None] | None = None) -> Report:
    """Check the whole chain: archives (their manifests; with `archives`, their signatures,
    checksums and every entry), the database entries, and the signed checkpoint."""
    from . import archive as archive_mod

    report = Report()
    if seal_first:
        seal()
    head = AuditHead.objects.filter(pk=1).first()
    sealed = AuditEntry.objects.filter(seq__isnull=False)
    report.unsealed = AuditEntry.objects.filter(seq__isnull=True).count()
    if head is None:
        first = sealed.order_by("seq").first()
        if first is not None:
            report.problems.append(Problem(
                _("签名检查点缺失，而数据库中有已封存的审计记录（最早 %(entry)s）：检查点被删除。")
                % {"entry": describe(first)}, first.seq))
            last = sealed.order_by("-seq").first()
            head = AuditHead(chain_id="", base_seq=0, base_hash=GENESIS, head_seq=last.seq,
                             head_hash=last.hash)
        else:
            return report
    elif not head_valid(head):
        report.problems.append(Problem(
            _("检查点（seq=%(seq)s）的 SM2 签名无效：检查点被篡改，或不是用本平台的密钥签署的。")
            % {"seq": head.head_seq}, head.head_seq))

    if head.chain_id:
        archive_mod.check_archives(report, head, full=archives, progress=progress)
        file_head = read_head_file(head.chain_id)
    else:
        file_head = None
    if file_head is not None:
        if not head_file_valid(file_head):
            report.problems.append(Problem(
                _("检查点文件 %(path)s 损坏或签名无效。") % {"path": chain_dir(head.chain_id) / "head.json"}))
            file_head = None
        elif file_head["head_seq"] > head.head_seq:
            report.problems.append(Problem(
                _("数据库中的检查点（seq=%(db)s）落后于检查点文件（seq=%(file)s）：最新的审计记录被删除，"
                  "检查点被回退。（如果刚把数据库恢复到了较早的备份，这是预期的。）")
                % {"db": head.head_seq, "file": file_head["head_seq"]}, head.head_seq + 1))

    walker = Walker(report, head.base_seq + 1, head.base_hash)
    total = max(head.head_seq - head.base_seq, 0)
    refs: dict[int, str] = {}
    for row in sealed.order_by("seq").iterator(chunk_size=2000):
        if row.seq > head.head_seq:
            report.problems.append(Problem(
                _("审计记录（%(entry)s）在签名检查点（seq=%(seq)s）之后：该记录是被插入的，或检查点被回退。")
                % {"entry": describe(row), "seq": head.head_seq}, row.seq))
            continue
        rec = entry_record(row)
        walker.add(rec)
        if row.actor_id is not None and row.actor_id not in refs:
            refs[row.actor_id] = actor_ref_for(row.actor_id)
        if row.actor_id is not None and row.actor_ref != refs[row.actor_id]:
            report.problems.append(Problem(
                _("审计记录（%(entry)s）的用户与用户假名不符：用户字段已被修改。") % {"entry": describe(row)},
                row.seq))
        if file_head and row.seq == file_head["head_seq"] and row.hash != file_head["head_hash"]:
            report.problems.append(Problem(
                _("审计记录（%(entry)s）与检查点文件中的哈希不符：审计链被重写。") % {"entry": describe(row)},
                row.seq))
        report.checked += 1
        if progress and report.checked % 1000 == 0:
            progress(report.checked, total)
    walker.finish(head.head_seq, head.head_hash)
    if progress:
        progress(report.checked, total)
    report.problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
    return report


def pseudonymise_account(user) -> int:
    """The account is being deleted: its entries keep the pseudonymous reference only.

    actor_name (and object_repr of entries about the account) become the pseudonym; the
    digest of the erased value is kept so the chain still verifies. Returns the number of
    entries changed."""
    ref = actor_ref_for(user.pk)
    name = pseudonym(ref)
    changed = 0
    with privileged():
        as_actor = AuditEntry.objects.filter(actor_id=user.pk, actor_name_mac="")
        for value in set(as_actor.values_list("actor_name", flat=True)):
            changed += as_actor.filter(actor_name=value).update(
                actor_name=name, actor_name_mac=name_mac("actor_name", value))
        about = AuditEntry.objects.filter(object_type=user._meta.label_lower, object_id=str(user.pk),
                                          object_repr_mac="")
        for value in set(about.values_list("object_repr", flat=True)):
            changed += about.filter(object_repr=value).update(
                object_repr=name, object_repr_mac=name_mac("object_repr", value))
    return changed

