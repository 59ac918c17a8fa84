"""加密字段: the Django field that keeps 身份证号, 电话 and 账号 encrypted in the database
(`doudi.core.crypto`) while every model, form, template and service keeps seeing plaintext.

Saving encrypts with the current key; reading decrypts with the key the stored token names.
Lookups: `exact` and `in` match the value's token under every known key (during a rotation a
row may still be under the previous key), `isnull` works; anything that looks inside the
value (startswith, contains, ranges, case-insensitive) cannot work on ciphertext and raises
instead of silently matching nothing. Ordering by such a column orders by ciphertext: don't.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.core.exceptions import FieldError
from django.db import connection as default_connection
from django.db import models
from django.db.models import lookups

from doudi.core import crypto

STORE = crypto.KeyStore()
ALLOWED_LOOKUPS = frozenset({"exact", "in", "isnull"})


def encrypted_columns() -> list[tuple[type[models.Model], list[EncryptedCharField]]]:
    """Every model with encrypted columns, and those columns."""
    from django.apps import apps

    out = []
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedCharField)]
        if fields and not model._meta.proxy:
            out.append((model, fields))
    return out


def _refuse_new_key_over_encrypted_data(path: Path) -> None:
    """A missing key file is created on first use (a fresh checkout, the demo) — unless the
    database already holds ciphertext: then the key was lost or is misplaced, and a new one
    would only make more data nobody can read together with the old."""
    conn = default_connection
    with conn.cursor() as cursor:
        tables = set(conn.introspection.table_names(cursor))
        for model, fields in encrypted_columns():
            table = model._meta.db_table
            if table not in tables:
                continue
            present = {c.name for c in conn.introspection.get_table_description(cursor, table)}
            for f in fields:
                if f.column not in present:
                    continue
                cursor.execute(f"SELECT 1 FROM {conn.ops.quote_name(table)} "
                               f"WHERE {conn.ops.quote_name(f.column)} LIKE %s LIMIT 1", ["k%:%"])
                if cursor.fetchone():
                    raise crypto.KeyFileError(
                        f"密钥文件 {path} 不存在，但数据库中已有加密数据（{table}.{f.column}）。"
                        "请从密钥备份恢复该文件，或用 DOUDI_KEY_FILE 指向它；切勿新建密钥。"
                        f" / Key file {path} is missing but the database already holds "
                        "encrypted data: restore the key file from its backup or point "
                        "DOUDI_KEY_FILE at it. See docs/key-management.md.")


STORE.add_missing_check(_refuse_new_key_over_encrypted_data)


def tokens_of(values: Iterable[str | None]) -> dict[str, str]:
    """Each distinct non-empty value's token under every known key → the value: how a batch
    compares plaintext (a department file's IDs) with a stored column without decrypting it
    (during a rotation a row may still be under the previous key). A key another process has
    just added counts."""
    ring = STORE.refresh()
    return {token: value for value in set(values) if value
            for token in ring.encrypt_all(value)}


class EncryptedCharField(models.CharField):
    """A CharField stored encrypted. `max_length` is the plaintext's (forms and validation
    use it); the column is as wide as the longest token."""

    description = "加密存储的文本 (AES-SIV)"

    def db_type_parameters(self, connection: Any) -> Any:
        params = super().db_type_parameters(connection)  # a copy: the field keeps its own
        params["max_length"] = crypto.ciphertext_length(self.max_length or 0)
        return params

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or hasattr(value, "resolve_expression"):
            return value
        return STORE.ring().encrypt(str(value))

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return value if value is None else STORE.decrypt(value)

    def get_lookup(self, lookup_name: str) -> type[lookups.Lookup] | None:
        if lookup_name not in ALLOWED_LOOKUPS:
            raise FieldError(f"加密字段 {self.name} 只能按完整值查询，不支持 {lookup_name} / "
                             f"encrypted field {self.name} supports only exact, in and isnull")
        return super().get_lookup(lookup_name)

    def get_transform(self, lookup_name: str) -> Any:
        raise FieldError(f"加密字段 {self.name} 不支持 {lookup_name} / "
                         f"encrypted field {self.name} has no transforms")


class IdTailField(EncryptedCharField):
    """身份证号后4位, derived from `source` on every save and stored encrypted like the ID:
    the search by an ID's last four characters (shown on every masked page) needs an exact
    match, which deterministic encryption of the whole ID cannot give for a suffix."""

    def __init__(self, *args: Any, source: str = "id_number", **kwargs: Any) -> None:
        self.source = source
        kwargs.setdefault("max_length", 4)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        for key, default in (("max_length", 4), ("editable", False), ("blank", True)):
            if kwargs.get(key, default) == default:
                kwargs.pop(key, None)
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        # save() and bulk_create() both ask pre_save, so every insert carries the tail
        value = (getattr(model_instance, self.source) or "")[-4:]
        setattr(model_instance, self.attname, value)
        return value


@EncryptedCharField.register_lookup
class EncryptedExact(lookups.Exact):
    """`= value` becomes `IN (token under k1, token under k2 …)`."""

    def get_prep_lookup(self) -> Any:
        if hasattr(self.rhs, "resolve_expression"):
            return super().get_prep_lookup()
        return str(self.rhs)  # encrypted in as_sql, under every key

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple]:
        if not self.rhs_is_direct_value():
            return super().as_sql(compiler, connection)
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        tokens = STORE.ring().encrypt_all(self.rhs)
        if len(tokens) == 1:
            return f"{lhs_sql} = %s", (*lhs_params, tokens[0])
        return f"{lhs_sql} IN ({', '.join(['%s'] * len(tokens))})", (*lhs_params, *tokens)


@EncryptedCharField.register_lookup
class EncryptedIn(lookups.In):
    """`IN (values)` becomes `IN (each value's token under every key)`."""

    def get_prep_lookup(self) -> Any:
        if hasattr(self.rhs, "resolve_expression"):
            return super().get_prep_lookup()
        ring = STORE.ring()
        return [t for v in self.rhs if v is not None for t in ring.encrypt_all(str(v))]
