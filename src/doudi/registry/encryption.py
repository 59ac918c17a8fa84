"""Rewriting encrypted columns in batches: the data migrations that encrypt existing rows (and
decrypt them on the way back), and `doudi keys rotate`, which re-encrypts every row under a
new key. Raw SQL on purpose: a million rows go through without model instances, signals or
the ORM decrypting on read, and a batch is at most `BATCH` rows in memory.

Each batch is one transaction and each row is rewritten only if it still holds the value read
(`… WHERE pk = %s AND column = %s`): a row an office changed meanwhile is left alone (a rerun
picks it up), and a job killed half-way leaves every row readable, under the old key or the new.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from doudi.core import crypto

BATCH = 5_000


@dataclass(frozen=True)
class Column:
    table: str
    column: str
    pk: str = "id"
    label: str = ""  # the model's label, for audit rows and reports


def _q(connection: Any, name: str) -> str:
    return connection.ops.quote_name(name)


def _batches(connection: Any, col: Column, where: str, params: list,
             batch: int) -> Iterator[list[tuple[Any, str]]]:
    """(pk, value) rows with a non-empty value matching `where`, by ascending pk; the next
    batch is read after the caller has written the previous one (keyset, not OFFSET)."""
    t, c, pk = _q(connection, col.table), _q(connection, col.column), _q(connection, col.pk)
    last: Any = None
    while True:
        after = f" AND {pk} > %s" if last is not None else ""
        sql = (f"SELECT {pk}, {c} FROM {t} WHERE {c} <> ''{where}{after} "
               f"ORDER BY {pk} LIMIT %s")
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *([last] if last is not None else []), batch])
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def rewrite(connection: Any, col: Column, convert: Callable[[str], str | None], *,
            where: str = "", params: list | None = None, batch: int = BATCH,
            after_batch: Callable[[int], None] | None = None) -> int:
    """Pass every non-empty value through `convert` (None: leave the row as it is), one
    transaction a batch; `after_batch(n)` runs inside that transaction (audit rows, progress).
    Returns how many rows were rewritten."""
    t, c, pk = _q(connection, col.table), _q(connection, col.column), _q(connection, col.pk)
    update = f"UPDATE {t} SET {c} = %s WHERE {pk} = %s AND {c} = %s"
    # PostgreSQL: one statement a batch (three arrays), 4× the rows/s of executemany
    unnest = (f"UPDATE {t} SET {c} = v.new FROM unnest(%s::bigint[], %s::text[], %s::text[]) "
              f"AS v(pk, old, new) WHERE {t}.{pk} = v.pk AND {t}.{c} = v.old")
    done = 0
    for rows in _batches(connection, col, where, params or [], batch):
        changes = [(new, key, old) for key, old in rows if (new := convert(old)) not in (None, old)]
        with transaction.atomic(using=connection.alias):
            if changes:
                with connection.cursor() as cursor:
                    if connection.vendor == "postgresql":
                        news, keys, olds = (list(x) for x in zip(*changes, strict=True))
                        cursor.execute(unnest, [keys, olds, news])
                    else:
                        cursor.executemany(update, changes)
            if after_batch:
                after_batch(len(changes))
        done += len(changes)
    return done


# --- the data migrations: plaintext ⇄ ciphertext ------------------------------------------

def encrypt_plaintext(ring: crypto.KeyRing) -> Callable[[str], str | None]:
    """Plaintext → token; a value already a token under a known key is left (a rerun)."""
    def convert(value: str) -> str | None:
        kid = crypto.key_id_of(value)
        return None if kid in ring.keys else ring.encrypt(value)
    return convert


def decrypt_token(ring: crypto.KeyRing) -> Callable[[str], str | None]:
    def convert(value: str) -> str | None:
        return ring.decrypt(value) if crypto.key_id_of(value) else None
    return convert


def migration(columns: list[tuple[str, str]], *, derived: dict | None = None
              ) -> tuple[Callable, Callable]:
    """The forward and backward functions of a RunPython that encrypts `(table, column)`s.
    `derived` {(table, column): (source column, function)} fills a new column from another
    before encryption (the ID's last four characters)."""

    def forward(apps: Any, schema_editor: Any) -> None:
        from doudi.registry.fields import STORE

        conn, ring = schema_editor.connection, STORE.ring()
        for table, column in columns:
            if derived and (table, column) in derived:
                source, fn = derived[(table, column)]
                _derive(conn, table, column, source, fn)
            rewrite(conn, Column(table, column), encrypt_plaintext(ring))

    def backward(apps: Any, schema_editor: Any) -> None:
        from doudi.registry.fields import STORE

        conn, ring = schema_editor.connection, STORE.ring()
        for table, column in columns:
            rewrite(conn, Column(table, column), decrypt_token(ring))

    return forward, backward


def _derive(conn: Any, table: str, column: str, source: str, fn: Callable[[str], str]) -> None:
    """Fill `column` from the plaintext in `source` (run before `source` is encrypted)."""
    t, c, pk = _q(conn, table), _q(conn, column), _q(conn, "id")
    update = f"UPDATE {t} SET {c} = %s WHERE {pk} = %s"
    for rows in _batches(conn, Column(table, source), "", [], BATCH):
        with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
            cursor.executemany(update, [(fn(v), k) for k, v in rows
                                        if crypto.key_id_of(v) is None])


# --- rotation and status ------------------------------------------------------------------

def columns() -> list[Column]:
    """Every encrypted column of the installed models."""
    from doudi.registry.fields import encrypted_columns

    return [Column(m._meta.db_table, f.column, m._meta.pk.column, m._meta.label_lower)
            for m, fields in encrypted_columns() for f in fields]


def not_under(kid: str, connection: Any, col: Column) -> tuple[str, list]:
    return f" AND {_q(connection, col.column)} NOT LIKE %s", [f"{kid}:%"]


def reencrypt(connection: Any, col: Column, ring: crypto.KeyRing, *, batch: int = BATCH,
              after_batch: Callable[[int], None] | None = None) -> int:
    """Every token of `col` not under the current key, decrypted and written under it."""
    where, params = not_under(ring.current, connection, col)

    def convert(value: str) -> str | None:
        return ring.encrypt(ring.decrypt(value))

    return rewrite(connection, col, convert, where=where, params=params, batch=batch,
                   after_batch=after_batch)


@dataclass
class ColumnStatus:
    column: Column
    by_key: dict[str, int] = field(default_factory=dict)
    empty: int = 0
    other: int = 0  # neither empty nor under a known key: plaintext or an unknown key

    @property
    def total(self) -> int:
        return self.empty + self.other + sum(self.by_key.values())


def status(connection: Any, ring: crypto.KeyRing) -> list[ColumnStatus]:
    """Rows per key id in every encrypted column (one scan a column)."""
    out = []
    kids = sorted(ring.keys)
    for col in columns():
        c = _q(connection, col.column)
        parts = [f"SUM(CASE WHEN {c} LIKE %s THEN 1 ELSE 0 END)" for _ in kids]
        sql = (f"SELECT COUNT(*), SUM(CASE WHEN {c} = '' THEN 1 ELSE 0 END)"
               f"{''.join(', ' + p for p in parts)} FROM {_q(connection, col.table)}")
        with connection.cursor() as cursor:
            cursor.execute(sql, [f"{k}:%" for k in kids])
            total, empty, *counts = (int(v or 0) for v in cursor.fetchone())
        by_key = dict(zip(kids, counts, strict=True))
        out.append(ColumnStatus(col, by_key=by_key, empty=empty,
                                other=total - empty - sum(counts)))
    return out
