"""Benchmarks of the 商用密码 primitives and the backup stream (not tests).

    .venv/bin/python bench/bench_crypto.py        # a fresh temporary JIYUE_HOME (its own key ring)

Results are recorded in docs/benchmarks.md.
"""

import io
import os
import tempfile
import time

os.environ.setdefault("JIYUE_HOME", tempfile.mkdtemp(prefix="jiyue-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiyue.settings")

import django  # noqa: E402

django.setup()

from jiyue.backup import archive  # noqa: E402
from jiyue.security import crypto, fields, keyring  # noqa: E402


def rate(label, fn, n, unit="ops"):
    fn()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    s = time.perf_counter() - t
    print(f"{label}: {n / s:,.0f} {unit}/s ({s / n * 1e6:,.1f} µs each)")


def throughput(label, fn, size, n):
    fn()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    s = time.perf_counter() - t
    print(f"{label}: {size * n / s / 1e6:,.0f} MB/s")


class Sink:
    def write(self, b):
        return len(b)


def main():
    keyring.get()
    mb = os.urandom(1 << 20)
    key = os.urandom(16)
    throughput("SM3, 1 MiB blocks", lambda: crypto.sm3(mb), len(mb), 200)
    throughput("SM4-GCM encrypt, 1 MiB blocks", lambda: crypto.sm4_gcm_encrypt(key, mb), len(mb), 200)
    token = crypto.sm4_encrypt("13800138000")
    rate("encrypted field value: encrypt (sm4_encrypt, key ring)", lambda: crypto.sm4_encrypt("13800138000"), 20000)
    rate("encrypted field value: decrypt", lambda: crypto.sm4_decrypt(token), 20000)
    rate("blind index (HMAC-SM3)", lambda: fields.blind_index("mobile", "13800138000"), 20000)
    rate("SM2 sign (gmssl, pure Python)", lambda: crypto.sm2_sign(b"manifest"), 50)
    sig = crypto.sm2_sign(b"manifest")
    rate("SM2 verify", lambda: crypto.sm2_verify(b"manifest", sig), 50)
    t = time.perf_counter()
    archive.derive_key("correct horse battery staple", os.urandom(16), archive.KDF_ITERATIONS)
    print(f"PBKDF2-HMAC-SM3, {archive.KDF_ITERATIONS:,} iterations: {(time.perf_counter() - t) * 1000:.0f} ms")

    total = 256 << 20
    buf = io.BytesIO()
    t = time.perf_counter()
    w = archive.EncryptingWriter(buf, "correct horse battery staple", {})
    for _ in range(total // len(mb)):
        w.write(mb)
    w.finish()
    s = time.perf_counter() - t
    print(f"backup stream, encrypt {total >> 20} MiB (incl. key derivation): {total / s / 1e6:,.0f} MB/s")
    buf.seek(0)
    t = time.perf_counter()
    r = archive.DecryptingReader(buf, "correct horse battery staple")
    while r.read(1 << 20):
        pass
    s = time.perf_counter() - t
    print(f"backup stream, authenticate and decrypt {total >> 20} MiB: {total / s / 1e6:,.0f} MB/s")


if __name__ == "__main__":
    main()
