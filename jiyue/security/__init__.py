"""Security primitives shared by every capability (商用密码: SM2/SM3/SM4), the platform's key
ring, encrypted model fields with blind indexes, and rate limits.

Public interface (import from here or from the named modules):
- `jiyue.security.crypto`: sm3(), sm3_hex(), hmac_sm3(), sm4_encrypt()/sm4_decrypt() (with the
  key ring), sm2_sign()/sm2_verify(), Sm2KeyPair.
- `jiyue.security.keyring`: the key ring (data keys with rotation, the blind-index key, the
  platform's SM2 key pair) kept in $JIYUE_HOME/keys/keyring.json or $JIYUE_KEYRING.
- `jiyue.security.fields`: EncryptedCharField / EncryptedTextField, blind_index(), reencrypt(),
  keys_in_use(), key_usage(); `jiyue keys status|rotate` re-encrypts after a rotation.
- `jiyue.security.ratelimit`: hit() / limited() — fixed-window limits in the cache.
"""
