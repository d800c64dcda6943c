"""The platform's key ring: SM4 data keys (one active, older ones kept to decrypt until
everything is re-encrypted), the HMAC-SM3 blind-index key and the platform's SM2 key pair.

Kept in one JSON file, mode 0600: $JIYUE_KEYRING or $JIYUE_HOME/keys/keyring.json. It is
created on first use and is part of every backup (encrypted with the operator's key). Another
process's rotation is picked up by the file's modification time.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

_lock = threading.Lock()
_cache: tuple[float, Path, "Keyring"] | None = None


@dataclass
class Keyring:
    active: str
    data_keys: dict[str, bytes]
    index_key: bytes
    sm2_private: str
    sm2_public: str
    retired: list[str] = field(default_factory=list)

    def data_key(self, key_id: str) -> bytes:
        try:
            return self.data_keys[key_id]
        except KeyError:
            raise KeyError(f"unknown data key {key_id!r} (was it removed from the key ring?)") from None

    def to_json(self) -> str:
        return json.dumps({
            "version": 1,
            "active": self.active,
            "data_keys": {k: v.hex() for k, v in sorted(self.data_keys.items())},
            "index_key": self.index_key.hex(),
            "sm2": {"private": self.sm2_private, "public": self.sm2_public},
            "retired": self.retired,
        }, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Keyring":
        d = json.loads(text)
        return cls(active=d["active"], data_keys={k: bytes.fromhex(v) for k, v in d["data_keys"].items()},
                   index_key=bytes.fromhex(d["index_key"]), sm2_private=d["sm2"]["private"],
                   sm2_public=d["sm2"]["public"], retired=list(d.get("retired", [])))

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
            mtime = p.stat().st_mtime_ns
        except FileNotFoundError:
            _write(p, Keyring.generate(), exclusive=True)
            mtime = p.stat().st_mtime_ns
        if _cache is None or _cache[0] != mtime or _cache[1] != p:
            _cache = (mtime, p, Keyring.from_json(p.read_text()))
        return _cache[2]


def save(ring: Keyring) -> None:
    global _cache
    with _lock:
        _write(path(), ring, exclusive=False)
        _cache = None


def rotate() -> str:
    """Add a fresh data key and make it the active one. Returns its id. Existing values stay
    readable with their old keys until `jiyue keys rotate` has re-encrypted them."""
    ring = get()
    n = max(int(k[1:]) for k in ring.data_keys) + 1
    new_id = f"k{n}"
    ring = Keyring(active=new_id, data_keys={**ring.data_keys, new_id: secrets.token_bytes(16)},
                   index_key=ring.index_key, sm2_private=ring.sm2_private,
                   sm2_public=ring.sm2_public, retired=list(ring.retired))
    save(ring)
    return new_id


def retire(key_ids: list[str]) -> None:
    """Remove data keys no longer used by any value (the caller has checked)."""
    ring = get()
    keys = {k: v for k, v in ring.data_keys.items() if k not in key_ids or k == ring.active}
    save(Keyring(active=ring.active, data_keys=keys, index_key=ring.index_key,
                 sm2_private=ring.sm2_private, sm2_public=ring.sm2_public,
                 retired=sorted(set(ring.retired) | (set(key_ids) - {ring.active}))))


def forget_cache() -> None:
    global _cache
    with _lock:
        _cache = None
