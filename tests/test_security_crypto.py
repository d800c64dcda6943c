"""商用密码 primitives against the published test vectors, SM2 interoperability with the
standard Z value, personal data encrypted at rest with a working blind index, and key rotation
(the key-ring API and `jiyue keys`)."""

from __future__ import annotations

import io

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from jiyue.security import crypto, fields, keyring
from jiyue.security.crypto import DecryptionError


@pytest.fixture
def ring(settings, tmp_path):
    """A key ring of this test's own (rotation must not touch the session's ring)."""
    settings.JIYUE_KEYRING = str(tmp_path / "keys" / "keyring.json")
    keyring.forget_cache()
    yield keyring
    keyring.forget_cache()


def raw(user, column="mobile"):
    from jiyue.accounts.models import User

    qn = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute(f"SELECT {qn(column)} FROM {qn(User._meta.db_table)} WHERE id = %s", [user.pk])
        return cur.fetchone()[0]


def citizen(username, mobile, **extra):
    from jiyue.accounts.models import User

    return User.objects.create_user(username=username, password="Passw0rd!x", kind="citizen",
                                    mobile=mobile, **extra)


# --- test vectors ------------------------------------------------------------------------------

def test_sm3_matches_gb_t_32905_vectors():
    assert crypto.sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert crypto.sm3_hex(b"abcd" * 16) == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    inc = crypto.Sm3()
    for piece in (b"abcd" * 5, b"abcd" * 11):  # incremental hashing of a file gives the same
        inc.update(piece)
    assert inc.hexdigest() == crypto.sm3_hex(b"abcd" * 16)


def test_sm4_matches_gb_t_32907_example():
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    assert (enc.update(key) + enc.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"
    dec = Cipher(algorithms.SM4(key), modes.ECB()).decryptor()
    assert dec.update(bytes.fromhex("681edf34d206965e86b3e94f536e4246")) + dec.finalize() == key


def test_sm4_gcm_round_trip_and_tamper_detection():
    key = bytes(range(16))
    blob = crypto.sm4_gcm_encrypt(key, "身份证号 340104199001011234".encode(), aad=b"user:7")
    assert crypto.sm4_gcm_decrypt(key, blob, aad=b"user:7").decode() == "身份证号 340104199001011234"
    assert crypto.sm4_gcm_encrypt(key, b"same") != crypto.sm4_gcm_encrypt(key, b"same")  # fresh nonce
    for where in (0, 12, len(blob) // 2, len(blob) - 1):  # nonce, ciphertext, tag
        bad = bytearray(blob)
        bad[where] ^= 0x01
        with pytest.raises(DecryptionError):
            crypto.sm4_gcm_decrypt(key, bytes(bad), aad=b"user:7")
    with pytest.raises(DecryptionError):
        crypto.sm4_gcm_decrypt(key, blob, aad=b"user:8")  # moved to another record
    with pytest.raises(DecryptionError):
        crypto.sm4_gcm_decrypt(bytes(16), blob, aad=b"user:7")  # wrong key
    with pytest.raises(DecryptionError):
        crypto.sm4_gcm_decrypt(key, blob[:20])


def test_sm2_signatures_interoperate_with_gmssl_and_fail_on_change():
    from gmssl import sm2

    pair = crypto.Sm2KeyPair.generate()
    message = "关于印发《政府网站集约化平台管理办法》的通知".encode()
    signature = pair.sign(message)
    assert len(signature) == 64 and pair.verify(message, signature)

    # gmssl's own SM3-with-SM2 (Z computed with the default id 1234567812345678) accepts ours ...
    theirs = sm2.CryptSM2(private_key=pair.private, public_key="00")
    theirs.public_key = pair.public
    assert theirs.verify_with_sm3(signature.hex(), message)
    # ... and we accept a signature gmssl made
    assert crypto.sm2_verify(message, bytes.fromhex(theirs.sign_with_sm3(message)), pair.public)

    assert not pair.verify(message + b".", signature)
    assert not theirs.verify_with_sm3(signature.hex(), message + b".")
    other = crypto.Sm2KeyPair.generate()
    assert not crypto.sm2_verify(message, signature, other.public)
    assert not crypto.sm2_verify(message, crypto.sm2_sign(message, other.private, other.public), pair.public)
    bad = bytearray(signature)
    bad[40] ^= 0x80
    assert not pair.verify(message, bytes(bad))
    assert not pair.verify(message, signature[:63])


def test_platform_key_signs_by_default(ring):
    signature = crypto.sm2_sign(b"manifest")
    assert crypto.sm2_verify(b"manifest", signature)
    assert crypto.sm2_verify(b"manifest", signature, crypto.platform_public_key())
    assert not crypto.sm2_verify(b"manifest!", signature)


def test_blind_index_is_deterministic_and_keyed(ring, settings, tmp_path):
    a = fields.blind_index("mobile", "13800138000")
    assert a == fields.blind_index("mobile", "13800138000") and len(a) == 64
    assert a != fields.blind_index("mobile", "13800138001")
    assert a != fields.blind_index("id_number", "13800138000")  # purposes are separated
    assert fields.blind_index("mobile", "") == ""
    assert "13800138000" not in a
    settings.JIYUE_KEYRING = str(tmp_path / "other" / "keyring.json")  # another platform's key
    assert fields.blind_index("mobile", "13800138000") != a


# --- encrypted fields -------------------------------------------------------------------------

@pytest.mark.django_db
def test_personal_data_is_stored_encrypted_and_found_by_blind_index(ring):
    from jiyue.accounts.models import User, normalise_mobile

    user = citizen("zhang_san", "+86 138-0013-8000", id_number="34010419900101123X",
                   address="合肥市蜀山区中山路1号")
    for column, plain in (("mobile", "13800138000"), ("id_number", "34010419900101123X"),
                          ("address", "中山路")):
        stored = raw(user, column)
        assert stored.startswith("sm4:k1:") and plain not in stored and "0013" not in stored
    assert raw(user, "mobile_index") == fields.blind_index("mobile", "13800138000")

    found = User.objects.get(mobile_index=fields.blind_index("mobile", normalise_mobile("138 0013 8000")))
    assert found.pk == user.pk
    assert (found.mobile, found.id_number, found.address) == \
        ("+86 138-0013-8000", "34010419900101123X", "合肥市蜀山区中山路1号")
    # the ciphertext cannot be matched directly: only the blind index finds a number
    assert not User.objects.filter(mobile_index=fields.blind_index("mobile", "13800138001")).exists()


@pytest.mark.django_db
def test_rotation_new_values_use_the_new_key_old_ones_still_decrypt_and_retired_keys_are_refused(ring):
    from jiyue.accounts.models import User

    old = citizen("li_si", "13900139000")
    old_token = raw(old)
    assert crypto.key_id_of(old_token) == "k1"

    assert keyring.rotate() == "k2"
    new = citizen("wang_wu", "13700137000")
    assert crypto.key_id_of(raw(new)) == "k2"
    assert User.objects.get(pk=old.pk).mobile == "13900139000"  # still readable with k1
    assert fields.keys_in_use() == {"k1", "k2"}

    counts = fields.reencrypt()
    assert counts["accounts.User.mobile"] == 1
    assert crypto.key_id_of(raw(old)) == "k2" and raw(old) != old_token
    assert User.objects.get(pk=old.pk).mobile == "13900139000"
    assert fields.keys_in_use() == {"k2"}
    assert fields.reencrypt()["accounts.User.mobile"] == 0  # idempotent

    keyring.retire(["k1", "k2"])  # the active key is never retired
    assert set(keyring.get().data_keys) == {"k2"} and keyring.get().retired == ["k1"]
    with pytest.raises(DecryptionError, match="retired"):
        crypto.sm4_decrypt(old_token)
    User.objects.filter(pk=old.pk).update(address=old_token)  # a value left under k1
    with pytest.raises(DecryptionError):
        User.objects.get(pk=old.pk)
    assert keyring.rotate() == "k3"  # a retired id is never issued again


# --- jiyue keys -------------------------------------------------------------------------------

def run_keys(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("keys", *args, stdout=out, stderr=err)
    return out.getvalue()


@pytest.mark.django_db
def test_keys_rotate_reencrypts_everything_retires_old_keys_and_is_audited(ring):
    from jiyue.accounts.models import User
    from jiyue.audit.models import AuditEntry

    users = [citizen(f"c{i}", f"1380000{i:04d}", address=f"地址{i}") for i in range(7)]
    status = run_keys("status")
    assert "当前数据密钥：k1" in status and "accounts.User.mobile  k1: 7" in status

    out = run_keys("rotate", "--retire-old", "--no-progress", "--batch", "3")
    assert "当前数据密钥 k2" in out and "重新加密 14 条" in out and "已停用旧数据密钥：k1" in out
    assert {crypto.key_id_of(raw(u, c)) for u in users for c in ("mobile", "address")} == {"k2"}
    assert [User.objects.get(pk=u.pk).mobile for u in users] == [f"1380000{i:04d}" for i in range(7)]
    assert set(keyring.get().data_keys) == {"k2"} and keyring.get().rotating is None
    entry = AuditEntry.objects.get(action="keys.rotate")
    assert entry.outcome == "success" and entry.object_repr == "k2"
    assert entry.detail["retired"] == ["k1"]
    assert entry.detail["reencrypted"]["accounts.User.mobile"] == 7

    status = run_keys("status")
    assert "在用的数据密钥：k2" in status and "已停用的数据密钥：k1" in status
    assert "accounts.User.address  k2: 7" in status

    # without --retire-old the old key stays to decrypt anything not yet seen
    out = run_keys("rotate", "--no-progress")
    assert "当前数据密钥 k3" in out and "k2 仍保留" in out
    assert set(keyring.get().data_keys) == {"k2", "k3"}


@pytest.mark.django_db
def test_an_interrupted_rotation_resumes_without_another_key(ring, monkeypatch):
    from jiyue.accounts.models import User
    from jiyue.audit.models import AuditEntry

    users = [citizen(f"r{i}", f"1390000{i:04d}") for i in range(5)]
    real = crypto.sm4_encrypt
    calls = {"n": 0}

    def failing(value, aad=b""):
        calls["n"] += 1
        if calls["n"] > 2:
            raise OSError("disk full")
        return real(value, aad)

    monkeypatch.setattr(crypto, "sm4_encrypt", failing)
    with pytest.raises(CommandError, match="再次运行 jiyue keys rotate"):
        run_keys("rotate", "--retire-old", "--no-progress", "--batch", "2")
    monkeypatch.setattr(crypto, "sm4_encrypt", real)
    assert keyring.get().rotating == "k2" and set(keyring.get().data_keys) == {"k1", "k2"}
    assert {crypto.key_id_of(raw(u)) for u in users} == {"k1", "k2"}  # one batch committed
    assert [User.objects.get(pk=u.pk).mobile for u in users] == [f"1390000{i:04d}" for i in range(5)]
    assert AuditEntry.objects.filter(action="keys.rotate", outcome="failure").count() == 1
    assert "尚未完成" in run_keys("status")

    out = run_keys("rotate", "--retire-old", "--no-progress")
    assert "继续上次未完成的密钥轮换" in out and "当前数据密钥 k2" in out
    assert {crypto.key_id_of(raw(u)) for u in users} == {"k2"}
    assert set(keyring.get().data_keys) == {"k2"} and keyring.get().rotating is None
