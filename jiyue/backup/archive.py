"""The encrypted backup container (``.jyb``).

Layout::

    "JIYUEBK1" | u32 header length | header (JSON, plain: format, cipher, KDF salt/iterations,
                                             platform, created, database engine)
    u32 length | key check        (SM4-GCM of a fixed text, AAD = SM3(header) | "key-check")
    chunks:  u32 length | u8 final | SM4-GCM(nonce | ciphertext | tag)
             AAD = SM3(header) | u64 chunk index | final flag

The key is derived from the operator's passphrase with PBKDF2-HMAC-SM3 and a random salt, so
every archive has its own key. The plaintext is a tar stream (database dump, media, published
tree, keys, then the signed manifest) cut into chunks of 1 MiB; each chunk is authenticated on
its own before any of its bytes are used, and the AAD binds it to its archive, its position and
whether it is the last one, so reordered, swapped, truncated or extended archives are refused.
A wrong passphrase fails at the key check, before anything is read.
"""

from __future__ import annotations

import json
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from django.utils.translation import gettext as _

from jiyue.security import crypto

MAGIC = b"JIYUEBK1"
FORMAT = 1
CHUNK = 1 << 20
KDF_ITERATIONS = 600_000
_KEY_CHECK = b"jiyue backup key check v1"
_MAX_HEADER = 64 * 1024
_OVERHEAD = 12 + 16  # nonce + tag


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is for the operator."""


class WrongKey(BackupError):
    pass


class Corrupt(BackupError):
    pass


def derive_key(passphrase: str, salt: bytes, iterations: int) -> bytes:
    return PBKDF2HMAC(hashes.SM3(), 16, salt, iterations).derive(passphrase.encode("utf-8"))


class EncryptingWriter:
    """A write-only stream that encrypts what is written into `out`, chunk by chunk."""

    def __init__(self, out, passphrase: str, meta: dict, *, iterations: int = KDF_ITERATIONS):
        salt = secrets.token_bytes(16)
        header = {"format": FORMAT, "cipher": "SM4-GCM", "chunk": CHUNK,
                  "kdf": {"name": "PBKDF2-HMAC-SM3", "salt": salt.hex(), "iterations": iterations},
                  **meta}
        body = json.dumps(header, ensure_ascii=False, sort_keys=True).encode()
        prefix = MAGIC + len(body).to_bytes(4, "big") + body
        self._out = out
        self._bind = crypto.sm3(prefix)
        self._key = derive_key(passphrase, salt, iterations)
        check = crypto.sm4_gcm_encrypt(self._key, _KEY_CHECK, self._bind + b"key-check")
        out.write(prefix + len(check).to_bytes(4, "big") + check)
        self._buf = bytearray()
        self._index = 0
        self._done = False
        self.bytes_written = len(prefix) + 4 + len(check)

    def write(self, data) -> int:
        if self._done:
            raise ValueError("write after finish()")
        self._buf += data
        # Keep the last chunk back: only finish() knows which chunk is the final one.
        while len(self._buf) > CHUNK:
            self._emit(bytes(self._buf[:CHUNK]), final=False)
            del self._buf[:CHUNK]
        return len(data)

    def flush(self) -> None:
        pass

    def finish(self) -> None:
        if not self._done:
            self._emit(bytes(self._buf), final=True)
            self._buf.clear()
            self._done = True

    def _emit(self, data: bytes, *, final: bool) -> None:
        flag = 1 if final else 0
        blob = crypto.sm4_gcm_encrypt(self._key, data, self._aad(self._index, flag))
        self._out.write(len(blob).to_bytes(4, "big") + bytes([flag]) + blob)
        self.bytes_written += 5 + len(blob)
        self._index += 1

    def _aad(self, index: int, flag: int) -> bytes:
        return self._bind + index.to_bytes(8, "big") + bytes([flag])


def read_header(f) -> tuple[dict, bytes]:
    """The plain header of an archive (readable without the key) and the bytes it binds."""
    magic = f.read(len(MAGIC))
    if magic != MAGIC:
        raise Corrupt(_("这不是 jiyue 备份文件（文件头不符）。"))
    raw_len = f.read(4)
    length = int.from_bytes(raw_len, "big") if len(raw_len) == 4 else -1
    if not 0 < length <= _MAX_HEADER:
        raise Corrupt(_("备份文件头部已损坏。"))
    body = f.read(length)
    try:
        header = json.loads(body)
        kdf = header["kdf"]
        bytes.fromhex(kdf["salt"])
        int(kdf["iterations"])
    except (ValueError, KeyError, TypeError):
        raise Corrupt(_("备份文件头部已损坏。")) from None
    if header.get("format") != FORMAT or kdf.get("name") != "PBKDF2-HMAC-SM3" \
            or header.get("cipher") != "SM4-GCM":
        raise Corrupt(_("不支持的备份格式（版本 %(version)s）。") % {"version": header.get("format")})
    return header, MAGIC + raw_len + body


class DecryptingReader:
    """A read-only stream of an archive's plaintext; every chunk is authenticated before any
    of its bytes are returned. `progress(done, total)` is called with archive bytes read."""

    def __init__(self, f, passphrase: str, *, total: int | None = None, progress=None):
        self._f = f
        self.header, prefix = read_header(f)
        kdf = self.header["kdf"]
        iterations = int(kdf["iterations"])
        if not 10_000 <= iterations <= 10_000_000:  # a forged header must not stall the restore
            raise Corrupt(_("备份文件头部已损坏。"))
        self._bind = crypto.sm3(prefix)
        self._key = derive_key(passphrase, bytes.fromhex(kdf["salt"]), iterations)
        check = self._record(4)
        try:
            if crypto.sm4_gcm_decrypt(self._key, check, self._bind + b"key-check") != _KEY_CHECK:
                raise crypto.DecryptionError
        except crypto.DecryptionError:
            raise WrongKey(_("备份密钥不正确，无法解密（如果密钥无误，则是备份文件头部已损坏）。")) from None
        self._done_bytes = len(prefix) + 4 + len(check)
        self._total = total
        self._progress = progress
        self._index = 0
        self._final = False
        self._buf = b""
        self._pos = 0

    def _record(self, head: int) -> bytes:
        raw = self._f.read(head)
        if len(raw) < head:
            raise Corrupt(_("备份文件不完整（在第 %(n)d 块处被截断）。") % {"n": getattr(self, "_index", 0) + 1})
        length = int.from_bytes(raw[:4], "big")
        if not _OVERHEAD <= length <= CHUNK + _OVERHEAD:
            raise Corrupt(_("备份文件已损坏或被篡改（第 %(n)d 块长度异常）。") % {"n": getattr(self, "_index", 0) + 1})
        self._flag = raw[4] if head == 5 else 0
        blob = self._f.read(length)
        if len(blob) < length:
            raise Corrupt(_("备份文件不完整（在第 %(n)d 块处被截断）。") % {"n": getattr(self, "_index", 0) + 1})
        return blob

    def _next(self) -> bool:
        if self._final:
            return False
        blob = self._record(5)
        flag = self._flag
        if flag not in (0, 1):
            raise Corrupt(_("备份文件已损坏或被篡改（第 %(n)d 块）。") % {"n": self._index + 1})
        aad = self._bind + self._index.to_bytes(8, "big") + bytes([flag])
        try:
            self._buf = crypto.sm4_gcm_decrypt(self._key, blob, aad)
        except crypto.DecryptionError:
            raise Corrupt(_("备份文件已损坏或被篡改：第 %(n)d 块校验失败。") % {"n": self._index + 1}) from None
        self._pos = 0
        self._index += 1
        self._done_bytes += 5 + len(blob)
        if flag:
            self._final = True
            if self._f.read(1):
                raise Corrupt(_("备份文件已损坏或被篡改：结尾有多余的数据。"))
        if self._progress:
            self._progress(self._done_bytes, self._total)
        return True

    def read(self, n: int = -1) -> bytes:
        out = []
        want = n if n is not None and n >= 0 else None
        while want is None or want > 0:
            if self._pos >= len(self._buf):
                if not self._next():
                    break
                continue
            take = len(self._buf) - self._pos if want is None else min(want, len(self._buf) - self._pos)
            out.append(self._buf[self._pos:self._pos + take])
            self._pos += take
            if want is not None:
                want -= take
        return b"".join(out)

    def at_end(self) -> bool:
        """True once the final chunk has been read and consumed."""
        return self._final and self._pos >= len(self._buf)

    def drain(self) -> None:
        """Read (and authenticate) whatever is left, so a truncated tail is not missed."""
        while self.read(CHUNK):
            pass
        if not self._final:
            raise Corrupt(_("备份文件不完整（缺少结尾）。"))
