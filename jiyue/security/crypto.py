"""商用密码 for the platform: SM3 (hash, HMAC), SM4 (GCM, authenticated encryption) through
`cryptography` (OpenSSL), and SM2 signatures through `gmssl` (pure Python; signatures are
small, the hashing before them is done by OpenSSL's SM3).

Tokens produced by sm4_encrypt() look like ``sm4:k2:<base64url(nonce|ciphertext|tag)>``: the
key id says which data key of the key ring decrypts them, so keys can be rotated.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as _hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PREFIX = "sm4:"


class DecryptionError(ValueError):
    """A ciphertext that is malformed, was altered, or needs a key the ring does not hold."""


# --- SM3 -------------------------------------------------------------------------------------

def sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def sm3_hex(data: bytes) -> str:
    return sm3(data).hex()


class Sm3:
    """Incremental SM3 (for files)."""

    def __init__(self):
        self._h = hashes.Hash(hashes.SM3())

    def update(self, data: bytes) -> None:
        self._h.update(data)

    def hexdigest(self) -> str:
        return self._h.finalize().hex()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    h = _hmac.HMAC(key, hashes.SM3())
    h.update(data)
    return h.finalize()


def constant_time_equal(a: bytes, b: bytes) -> bool:
    return secrets.compare_digest(a, b)


# --- SM4 -------------------------------------------------------------------------------------

def sm4_gcm_encrypt(key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """nonce(12) | ciphertext | tag(16)."""
    nonce = secrets.token_bytes(12)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    if aad:
        enc.authenticate_additional_data(aad)
    return nonce + enc.update(plaintext) + enc.finalize() + enc.tag


def sm4_gcm_decrypt(key: bytes, blob: bytes, aad: bytes = b"") -> bytes:
    if len(blob) < 28:
        raise DecryptionError("ciphertext too short")
    nonce, body, tag = blob[:12], blob[12:-16], blob[-16:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    if aad:
        dec.authenticate_additional_data(aad)
    try:
        return dec.update(body) + dec.finalize()
    except InvalidTag:
        raise DecryptionError("ciphertext was altered or the key is wrong") from None


def sm4_encrypt(plaintext: bytes | str, aad: bytes = b"") -> str:
    """Encrypt with the key ring's active data key."""
    from . import keyring

    if isinstance(plaintext, str):
        plaintext = plaintext.encode()
    ring = keyring.get()
    blob = sm4_gcm_encrypt(ring.data_key(ring.active), plaintext, aad)
    return f"{PREFIX}{ring.active}:{base64.urlsafe_b64encode(blob).decode().rstrip('=')}"


def key_id_of(token: str) -> str | None:
    if not token or not token.startswith(PREFIX):
        return None
    return token[len(PREFIX):].split(":", 1)[0]


def sm4_decrypt(token: str, aad: bytes = b"") -> bytes:
    from . import keyring

    try:
        key_id, body = token[len(PREFIX):].split(":", 1)
        if not token.startswith(PREFIX):
            raise ValueError
        blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, TypeError):
        raise DecryptionError("not an SM4 token") from None
    try:
        key = keyring.get().data_key(key_id)
    except KeyError as exc:
        raise DecryptionError(exc.args[0]) from None
    return sm4_gcm_decrypt(key, blob, aad)


# --- SM2 -------------------------------------------------------------------------------------

_ECC = None
_DEFAULT_ID = b"1234567812345678"  # GB/T 32918 default signer id


def _table():
    global _ECC
    if _ECC is None:
        from gmssl import sm2

        _ECC = sm2.default_ecc_table
    return _ECC


def _crypt(private: str | None, public: str):
    from gmssl import sm2

    c = sm2.CryptSM2(private_key=private, public_key="00")
    c.public_key = public  # gmssl's constructor lstrips "04" characters; set it directly
    return c


def _e(data: bytes, public: str, signer_id: bytes = _DEFAULT_ID) -> bytes:
    """e = SM3(Z_A || M), Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA)."""
    t = _table()
    z = sm3((len(signer_id) * 8).to_bytes(2, "big") + signer_id + bytes.fromhex(t["a"] + t["b"] + t["g"] + public))
    return sm3(z + data)


@dataclass(frozen=True)
class Sm2KeyPair:
    private: str  # 64 hex digits
    public: str   # 128 hex digits, x || y (no 04 prefix)

    @classmethod
    def generate(cls) -> "Sm2KeyPair":
        t = _table()
        n = int(t["n"], 16)
        d = secrets.randbelow(n - 2) + 1
        c = _crypt(None, "00")
        public = c._kg(d, t["g"])
        return cls(private=f"{d:064x}", public=public)

    def sign(self, data: bytes) -> bytes:
        return sm2_sign(data, self.private, self.public)

    def verify(self, data: bytes, signature: bytes) -> bool:
        return sm2_verify(data, signature, self.public)


def sm2_sign(data: bytes, private: str | None = None, public: str | None = None) -> bytes:
    """SM2 signature (r || s, 64 bytes) over SM3 with the signer's Z value. Without keys, the
    platform's own key pair from the key ring signs."""
    if private is None:
        from . import keyring

        ring = keyring.get()
        private, public = ring.sm2_private, ring.sm2_public
    n = int(_table()["n"], 16)
    c = _crypt(private, public)
    e = _e(data, public)
    while True:
        k = secrets.randbelow(n - 2) + 1
        sig = c.sign(e, f"{k:064x}")
        if sig:
            return bytes.fromhex(sig)


def sm2_verify(data: bytes, signature: bytes, public: str | None = None) -> bool:
    if public is None:
        from . import keyring

        public = keyring.get().sm2_public
    if len(signature) != 64 or len(public) != 128:
        return False
    try:
        return bool(_crypt(None, public).verify(signature.hex(), _e(data, public)))
    except (ValueError, ZeroDivisionError):
        return False


def platform_public_key() -> str:
    from . import keyring

    return keyring.get().sm2_public
