"""The RSA key that signs id_tokens (RS256), kept in $JIYUE_HOME/keys/ next to the key ring.

`oidc-rs256.pem` is the active key: generated on first use (mode 0600, in a 0700 directory;
backups include the directory). `jiyue oidc_key rotate` renames it to
`oidc-rs256-<time>.retired.pem` and generates a new one; retired keys stay in the JWKS so that
tokens signed before the rotation still verify, until `jiyue oidc_key prune` removes those
older than the longest token lifetime. Processes read the keys when settings load: restart
them after a rotation.

Imported by jiyue/settings.py: no Django imports at module level.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

ACTIVE = "oidc-rs256.pem"
RETIRED_SUFFIX = ".retired.pem"


def _generate_pem() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write_new(path: Path, pem: bytes, *, replace: bool) -> bool:
    """Write atomically with mode 0600; without `replace`, keep a key another process wrote
    first (returns False then)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        if tmp.exists():
            tmp.unlink()


def active_key(keys_dir: Path) -> str:
    """The active signing key (PEM text), created on first use."""
    path = Path(keys_dir) / ACTIVE
    if not path.exists():
        _write_new(path, _generate_pem(), replace=False)
    return path.read_text()


def retired_keys(keys_dir: Path) -> list[str]:
    """Retired keys, newest first: still published in the JWKS."""
    files = sorted(Path(keys_dir).glob("oidc-rs256-*" + RETIRED_SUFFIX), reverse=True)
    return [f.read_text() for f in files]


def load(keys_dir: Path) -> tuple[str, list[str]]:
    return active_key(keys_dir), retired_keys(keys_dir)


def rotate(keys_dir: Path) -> Path:
    """Retire the active key and generate a new one. Returns the retired key's path."""
    keys_dir = Path(keys_dir)
    active = keys_dir / ACTIVE
    active_key(keys_dir)
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    retired = keys_dir / f"oidc-rs256-{stamp}{RETIRED_SUFFIX}"
    n = 1
    while retired.exists():
        n += 1
        retired = keys_dir / f"oidc-rs256-{stamp}-{n}{RETIRED_SUFFIX}"
    os.link(active, retired)
    _write_new(active, _generate_pem(), replace=True)
    return retired


def prune(keys_dir: Path, older_than_seconds: float) -> list[Path]:
    """Remove retired keys retired longer ago than `older_than_seconds`."""
    removed = []
    now = time.time()
    for f in Path(keys_dir).glob("oidc-rs256-*" + RETIRED_SUFFIX):
        if now - f.stat().st_ctime > older_than_seconds:
            f.unlink()
            removed.append(f)
    return removed
