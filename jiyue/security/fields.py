"""Personal data encrypted at rest with SM4 (GCM), and blind indexes (HMAC-SM3) for the
fields that must be looked up (login by mobile number).

    mobile = EncryptedCharField(_("手机号"), max_length=20, blank=True)
    mobile_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    ...
    self.mobile_index = blind_index("mobile", normalise_mobile(self.mobile))

Values are decrypted when loaded and encrypted with the key ring's active key when saved, so a
lookup by value must use the blind index; `filter(mobile=...)` cannot match. Every field
registers itself so that `jiyue keys rotate` can re-encrypt all of them.
"""

from __future__ import annotations

from django.db import models

from . import crypto

REGISTRY: list[tuple[type, str]] = []


def blind_index(purpose: str, value: str) -> str:
    """Deterministic keyed digest of a normalised value; '' for an empty value."""
    from . import keyring

    if not value:
        return ""
    return crypto.hmac_sm3(keyring.get().index_key, f"{purpose}\x00{value}".encode()).hex()


class _Encrypted:
    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        from django.apps import apps

        # Only the application's own models: migrations build historical models (and SQLite
        # table rebuilds temporary "new__" models) in registries of their own.
        if not cls._meta.abstract and cls._meta.apps is apps:
            REGISTRY.append((cls, name))

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        if not value.startswith(crypto.PREFIX):
            return value  # written before encryption was switched on; re-encrypted on save
        return crypto.sm4_decrypt(value).decode()

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        if isinstance(value, str) and value.startswith(crypto.PREFIX):
            return value
        return crypto.sm4_encrypt(str(value))

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("max_length", None) if isinstance(self, models.TextField) else None
        return name, path, args, kwargs


class EncryptedTextField(_Encrypted, models.TextField):
    description = "Text encrypted at rest with SM4"


class EncryptedCharField(_Encrypted, models.TextField):
    """A short encrypted value. Stored as text (the ciphertext is longer than the value);
    max_length is validated on the plaintext by forms and full_clean()."""

    description = "Short text encrypted at rest with SM4"

    def __init__(self, *args, max_length=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.plain_max_length = max_length
        if max_length:
            from django.core.validators import MaxLengthValidator

            self.validators.append(MaxLengthValidator(max_length))

    def formfield(self, **kwargs):
        from django import forms

        return super().formfield(**{"form_class": forms.CharField, "max_length": self.plain_max_length,
                                    "widget": forms.TextInput, **kwargs})

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.plain_max_length:
            kwargs["max_length"] = self.plain_max_length
        return name, path, args, kwargs


def reencrypt(progress=None, batch: int = 500) -> dict[str, int]:
    """Re-encrypt every encrypted value not under the active key. Idempotent; safe to rerun
    after an interruption. Returns counts per field; calls progress(done, total)."""
    from django.db import transaction

    from . import keyring

    active = keyring.get().active
    prefix = f"{crypto.PREFIX}{active}:"
    todo = []
    for model, name in REGISTRY:
        qs = model._base_manager.exclude(**{f"{name}__startswith": prefix}).exclude(**{name: ""}) \
            .exclude(**{f"{name}__isnull": True})
        todo.append((model, name, qs))
    total = sum(qs.count() for _, _, qs in todo)
    done = 0
    counts = {}
    for model, name, qs in todo:
        n = 0
        while True:
            with transaction.atomic():
                rows = list(qs.only("pk", name)[:batch])
                if not rows:
                    break
                for row in rows:
                    # Loading decrypted the value; saving encrypts it under the active key.
                    model._base_manager.filter(pk=row.pk).update(**{name: crypto.sm4_encrypt(getattr(row, name))})
            n += len(rows)
            done += len(rows)
            if progress:
                progress(done, total)
        counts[f"{model._meta.label}.{name}"] = n
    return counts


def keys_in_use() -> set[str]:
    used = set()
    for model, name in REGISTRY:
        # Read the raw key-id prefixes: loading values would decrypt them.
        from django.db import connection

        table = model._meta.db_table
        column = model._meta.get_field(name).column
        with connection.cursor() as cur:
            qn = connection.ops.quote_name
            cur.execute(f"SELECT DISTINCT substr({qn(column)}, 1, 12) FROM {qn(table)} "
                        f"WHERE {qn(column)} LIKE %s", [crypto.PREFIX + "%"])
            for (head,) in cur.fetchall():
                kid = crypto.key_id_of(head + ":")
                if kid:
                    used.add(kid.split(":")[0])
    return used


def key_usage() -> dict[str, dict[str, int]]:
    """How many stored values each data key encrypts, per field: {"accounts.User.mobile":
    {"k1": 3, "k2": 10}}. Values stored before encryption was switched on count as "plain"."""
    from . import keyring

    ring = keyring.get()
    ids = sorted({*ring.data_keys, *ring.retired, *keys_in_use()}, key=lambda k: (len(k), k))
    usage = {}
    for model, name in REGISTRY:
        qs = model._base_manager.exclude(**{name: ""}).exclude(**{f"{name}__isnull": True})
        counts = {kid: qs.filter(**{f"{name}__startswith": f"{crypto.PREFIX}{kid}:"}).count()
                  for kid in ids}
        counts = {kid: n for kid, n in counts.items() if n}
        plain = qs.exclude(**{f"{name}__startswith": crypto.PREFIX}).count()
        if plain:
            counts["plain"] = plain
        usage[f"{model._meta.label}.{name}"] = counts
    return usage
