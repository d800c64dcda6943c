"""The platform's key ring: SM4 data keys (one active, older ones kept to decrypt until
everything is re-encrypted), the HMAC-SM3 blind-index key and the platform's SM2 key pair.

Kept in one JSON file, mode 0600: $JIYUE_KEYRING or $JIYUE_HOME/keys/keyring.json. It is
created on first use and is part of every backup (encrypted with the operator's key). Every
change replaces the file under an flock (`jiyue keys rotate`); other processes pick it up by the
file's inode and modification time.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

_lock = threading.Lock()
_cache: tuple[tuple[int, int], Path, "Keyring"] | None = None


@dataclass
class Keyring:
    active: str
    data_keys: dict[str, bytes]
    index_key: bytes
    sm2_private: str
    sm2_public: str
    retired: list[str] = field(default_factory=list)
    # The key a rotation started by `jiyue keys rotate` moves every value to, until it has
    # finished: a rerun after an interruption resumes it instead of adding yet another key.
    rotating: str | None = None

    def data_key(self, key_id: str) -> bytes:
        try:
            return self.data_keys[key_id]
        except KeyError:
            if key_id in self.retired:
                raise KeyError(f"data key {key_id!r} was retired") from None
            raise KeyError(f"unknown data key {key_id!r} (was it removed from the key ring?)") from None

    def next_id(self) -> str:
        """A key id never used before (retired ids are not reused)."""
        used = [int(k[1:]) for k in [*self.data_keys, *self.retired] if k[1:].isdigit()]
        return f"k{max(used, default=0) + 1}"

    def replace(self, **changes) -> "Keyring":
        return Keyring(**{"active": self.active, "data_keys": dict(self.data_keys),
                          "index_key": self.index_key, "sm2_private": self.sm2_private,
                          "sm2_public": self.sm2_public, "retired": list(self.retired),
                          "rotating": self.rotating, **changes})

    def to_json(self) -> str:
        return json.dumps({
            "version": 1,
            "active": self.active,
            "data_keys": {k: v.hex() for k, v in sorted(self.data_keys.items())},
            "index_key": self.index_key.hex(),
            "sm2": {"private": self.sm2_private, "public": self.sm2_public},
            "retired": self.retired,
            **({"rotating": self.rotating} if self.rotating else {}),
        }, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Keyring":
        d = json.loads(text)
        return cls(active=d["active"], data_keys={k: bytes.fromhex(v) for k, v in d["data_keys"].items()},
                   index_key=bytes.fromhex(d["index_key"]), sm2_private=d["sm2"]["private"],
                   sm2_public=d["sm2"]["public"], retired=list(d.get("retired", [])),
                   rotating=d.get("rotating"))

    @classmethod
    def generate(cls) -> "Keyring":
        from .crypto import Sm2KeyPair

        pair = Sm2KeyPair.generate()
        return cls(active="k1", data_keys={"k1": secrets.token_bytes(16)},
                   index_key=secrets.token_bytes(32), sm2_private=pair.private, sm2_public=pair.public)


def path() -> Path:
    from django.conf import settings

    return Path(getattr(settings, "JIYUE_KEYRING", None) or settings.JIYUE_HOME / "keys" / "keyring.json")


def _write(p: Path, ring: Keyring, *, exclusive: bool) -> bool:
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(ring.to_json())
        f.flush()
        os.fsync(f.fileno())
    try:
        if exclusive:
            try:
                os.link(tmp, p)  # fails if another process created the ring first
            except FileExistsError:
                return False
        else:
            os.replace(tmp, p)
            tmp = None
        return True
    finally:
        if tmp is not None and tmp.exists():
            tmp.unlink()


def get() -> Keyring:
    """The current key ring, created on first use."""
    global _cache
    p = path()
    with _lock:
        try:
            st = p.stat()
        except FileNotFoundError:
            _write(p, Keyring.generate(), exclusive=True)
            st = p.stat()
        # Every save replaces the file (a new inode): the inode tells a change apart even when
        # two saves fall within the file system's timestamp granularity.
        mtime = (st.st_mtime_ns, st.st_ino)
        if _cache is None or _cache[0] != mtime or _cache[1] != p:
            _cache = (mtime, p, Keyring.from_json(p.read_text()))
        return _cache[2]


def save(ring: Keyring) -> None:
    global _cache
    with _lock:
        _write(path(), ring, exclusive=False)
        _cache = None


def rotate(*, resumable: bool = False) -> str:
    """Add a fresh data key and make it the active one. Returns its id. Existing values stay
    readable with their old keys until `jiyue keys rotate` has re-encrypted them.

    resumable=True (used by `jiyue keys rotate`) marks the rotation as in progress until
    finish_rotation(); another call while it is in progress returns the same key instead of
    adding one more."""
    with _rotation_lock():
        ring = get()
        if resumable and ring.rotating and ring.rotating == ring.active:
            return ring.active
        new_id = ring.next_id()
        save(ring.replace(active=new_id, data_keys={**ring.data_keys, new_id: secrets.token_bytes(16)},
                          rotating=new_id if resumable else None))
        return new_id


def finish_rotation() -> None:
    """Every value is under the active key: the rotation is complete."""
    with _rotation_lock():
        ring = get()
        if ring.rotating:
            save(ring.replace(rotating=None))


def retire(key_ids: list[str]) -> None:
    """Remove data keys no longer used by any value (the caller has checked). The active key
    is never retired; a retired id is never issued again."""
    with _rotation_lock():
        ring = get()
        gone = (set(key_ids) & set(ring.data_keys)) - {ring.active}
        keys = {k: v for k, v in ring.data_keys.items() if k not in gone}
        save(ring.replace(data_keys=keys, retired=sorted(set(ring.retired) | gone)))


@contextmanager
def _rotation_lock():
    """One change of the key ring at a time, across processes (an flock beside the file)."""
    p = path()
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(p.with_name(f".{p.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        forget_cache()
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def forget_cache() -> None:
    global _cache
    with _lock:
        _cache = None
