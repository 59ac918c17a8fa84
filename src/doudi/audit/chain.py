"""The audit log's hash chain (审计日志防篡改链).

Every row stores `prev_hash`, the `row_hash` of the row appended before it, and `row_hash`,
SHA-256 over a canonical serialisation of its content and `prev_hash`. Changing a row's
content breaks its own hash; deleting a row breaks the link of the row after it; rewriting a
row together with every later hash is caught by an anchor (`doudi audit head`) kept off the
machine. The hash is not keyed: whoever can write the database can recompute it, which is why
anchors matter.

Appending is serialised so two writers never chain onto the same head:
- PostgreSQL: `pg_advisory_xact_lock`, held until the writer's transaction ends. The head is
  read after the lock is granted, in a new statement, so under READ COMMITTED it sees every
  row committed by the writer that held the lock before. A rolled-back transaction takes its
  rows with it and the next writer chains onto the last committed row: the chain stays whole.
  Ids may have gaps there (sequences do not roll back); only the hash links matter.
- SQLite: a transaction holds the database's single write lock from its first write; the
  project opens transactions IMMEDIATE (settings), so the head read is already under it.
  (Opened DEFERRED, a second writer would fail with "database is locked", never fork.)

Isolation: READ COMMITTED (Django's default on PostgreSQL) is assumed. Under REPEATABLE READ
a transaction's snapshot may predate the lock and its head would be stale; `verify` would
then report the fork.

The price: a transaction that wrote an audit row holds the chain lock until it commits, so
audited writes of different transactions run one after another on PostgreSQL.

The canonical form must not change once rows exist: old rows would no longer verify. A new
form would need a version marker in the row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

GENESIS = "0" * 64
CONTENT_FIELDS = ("at", "actor_id", "actor_name", "action", "object_type", "object_id",
                  "object_label", "area_code", "changes", "request_id", "job", "ip")
TABLE = "audit_auditevent"
# Advisory locks of every application on the database share one key space: "doudi" in
# ASCII and two more bytes, unlikely to be anyone else's.
LOCK_KEY = 0x646F756469_0A0D


def _plain(value: Any) -> Any:
    """JSON as the database gives it back. jsonb keeps numbers as numeric, so 1e20 comes
    back as 100000000000000000000: integral floats are written as integers on both sides."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def stored_json(value: Any) -> Any:
    """`value` as it will read back from the JSON column (tuples become lists, keys strings)."""
    return json.loads(json.dumps(value if value is not None else {}))


def canonical_time(value: dt.datetime) -> str:
    """UTC with microseconds: what both databases keep and give back."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(sep="T", timespec="microseconds") + "Z"


def canonical(fields: Mapping[str, Any], prev_hash: str) -> bytes:
    content = {name: fields[name] for name in CONTENT_FIELDS}
    content["at"] = canonical_time(content["at"])
    content["changes"] = _plain(content["changes"])
    content["prev_hash"] = prev_hash
    return json.dumps(content, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def row_hash(fields: Mapping[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(canonical(fields, prev_hash)).hexdigest()


def lock_head(using: str) -> str:
    """Take the chain lock (inside the caller's transaction) and return the head's hash."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        # a new statement after the lock: its snapshot includes the previous holder's rows
        cursor.execute(f"SELECT row_hash FROM {TABLE} ORDER BY id DESC LIMIT 1")
        row = cursor.fetchone()
    return row[0] if row else GENESIS


# A transaction writing many rows (an import, a job) needs the lock and the head only once:
# after its first row it already holds the lock and knows the head, its own last row. The
# remembered head is trusted only while nothing can have undone that row: the same
# transaction (a no-op on_commit callback of ours is still pending: Django drops it on commit,
# on rollback and when the savepoint it was registered in rolls back) at the same savepoint.
# Savepoints taken by hand (transaction.savepoint(), unused in this project) are invisible
# here: rolling one back after an audit row would make the next row fork, which `verify`
# reports. Use atomic() blocks.

class _Pending:
    def __call__(self) -> None:
        """Nothing to do: only its presence in the pending list matters."""


def _remembered(connection: Any) -> tuple[int, _Pending, tuple, str] | None:
    memo = getattr(connection, "_audit_chain_head", None)
    if memo is None or not connection.in_atomic_block:
        return None
    index, marker, savepoints, _digest = memo
    pending = connection.run_on_commit
    if (savepoints == tuple(connection.savepoint_ids) and index < len(pending)
            and pending[index][1] is marker):
        return memo
    return None


def seal(instance: Any, using: str, *, reuse: bool = False) -> None:
    """Fill `prev_hash`/`row_hash` of an unsaved event. Call inside a transaction on `using`
    and insert the row in that same transaction. `reuse`: the caller's transaction was open
    before (not one opened just for this row), so a head remembered in it may be used."""
    memo = _remembered(connections[using]) if reuse else None
    instance.prev_hash = memo[3] if memo else lock_head(using)
    instance.row_hash = row_hash(vars(instance), instance.prev_hash)


def remember(instance: Any, using: str) -> None:
    """After the insert, inside a transaction opened before it: the row is the new head."""
    connection = connections[using]
    memo = _remembered(connection)
    if memo is None:
        marker = _Pending()
        transaction.on_commit(marker, using=using)
        memo = (len(connection.run_on_commit) - 1, marker, tuple(connection.savepoint_ids), "")
    connection._audit_chain_head = (*memo[:3], instance.row_hash)


def append(model: Any, using: str = "default", **fields: Any) -> Any:
    """Append one event through `model`, which may be a migration's historical model:
    a data migration that writes audit rows must come here, or its rows break the chain."""
    event = model(**fields)
    normalise(event)
    with transaction.atomic(using=using, savepoint=False):
        seal(event, using)
        event.save(using=using)
    return event


def normalise(event: Any) -> None:
    """Content exactly as it will be read back, so the hash computed now verifies later."""
    if isinstance(event.at, dt.datetime) and settings.USE_TZ and timezone.is_naive(event.at):
        # what the DateTimeField would do on save, done first so the hash sees it
        event.at = timezone.make_aware(event.at, timezone.get_default_timezone())
    if event.actor_id is not None:
        event.actor_id = int(event.actor_id)
    event.changes = stored_json(event.changes)
    for name in ("actor_name", "action", "object_type", "object_id", "object_label",
                 "area_code", "request_id", "job", "ip"):
        value = getattr(event, name)
        setattr(event, name, "" if value is None else str(value))


# --- verification --------------------------------------------------------------------------

CHANGED, DELETED, INSERTED, UNCHAINED, ANCHOR = (
    "changed", "deleted", "inserted", "unchained", "anchor")
KIND_LABELS = {
    CHANGED: "内容被改动",
    DELETED: "记录被删除（链条断开）",
    INSERTED: "插入的记录",
    UNCHAINED: "未入链的记录",
    ANCHOR: "与锚点不符",
}


@dataclass(frozen=True)
class Break:
    row_id: int
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"第 {self.row_id} 条：{KIND_LABELS[self.kind]}。{self.detail}"


@dataclass
class Result:
    checked: int = 0
    first_id: int | None = None
    last_id: int | None = None
    last_hash: str = ""
    anchor_checked: bool = False

    def __post_init__(self) -> None:
        self.breaks: list[Break] = []

    @property
    def ok(self) -> bool:
        return not self.breaks


def _rows(model: Any, after_id: int, batch: int) -> Iterator[dict[str, Any]]:
    """Rows in id order, a batch at a time: memory stays flat on millions of rows."""
    names = ("id", *CONTENT_FIELDS, "prev_hash", "row_hash")
    while True:
        chunk = list(model.objects.filter(id__gt=after_id).order_by("id").values(*names)[:batch])
        if not chunk:
            return
        yield from chunk
        after_id = chunk[-1]["id"]


def verify(model: Any, *, from_id: int = 0, anchor: tuple[int, str] | None = None,
           batch: int = 5000, window: int = 1000) -> Result:
    """Walk the chain from `from_id` (the link into that row from the row before it is
    checked too) and collect every break. After a break the walk re-anchors on the row it
    found, so one deleted row is reported once, not as every row after it."""
    result = Result()
    start = max(from_id, 1)
    before = (model.objects.filter(id__lt=start).order_by("-id")
              .values_list("id", "row_hash").first())
    prev_id, expected = before if before else (None, GENESIS)
    # recent hashes → row id: tells an inserted row (the next row links past it) from a gap
    recent: dict[str, int] = {}
    anchor_id, anchor_hash = anchor if anchor else (None, "")
    for row in _rows(model, start - 1, batch):
        result.checked += 1
        rid = row["id"]
        if result.first_id is None:
            result.first_id = rid
        stored = row["row_hash"]
        if not stored:
            result.breaks.append(Break(rid, UNCHAINED, "该条没有哈希，不是经审计服务写入的"))
        elif row_hash(row, row["prev_hash"]) != stored:
            result.breaks.append(Break(rid, CHANGED, "按现有内容重算的哈希与记录的哈希不一致"))
        elif row["prev_hash"] != expected:
            result.breaks.append(_link_break(rid, prev_id, row["prev_hash"], recent))
        if anchor_id == rid:
            result.anchor_checked = True
            if stored != anchor_hash:
                result.breaks.append(Break(rid, ANCHOR, f"锚点哈希 {anchor_hash}，现为 {stored}"))
        if stored:
            recent[stored] = rid
            if len(recent) > window:
                del recent[next(iter(recent))]
        prev_id, expected = rid, stored
        result.last_id, result.last_hash = rid, stored
    if anchor_id is not None and not result.anchor_checked:
        result.breaks.append(Break(anchor_id, ANCHOR, "锚点所在的记录已不存在（被删除）"))
    return result


def _link_break(rid: int, prev_id: int | None, linked: str, recent: dict[str, int]) -> Break:
    if prev_id is None:
        if linked == GENESIS:
            return Break(rid, INSERTED, "该条自称链首，但此前已有记录")
        return Break(rid, DELETED, "这是现存的第一条，但它链接的上一条已不存在：之前的记录被删除")
    if linked in recent and recent[linked] != prev_id:
        return Break(prev_id, INSERTED,
                     f"第 {rid} 条链接的是第 {recent[linked]} 条，"
                     f"其间第 {recent[linked] + 1}–{prev_id} 条中有后来插入的记录")
    if linked == GENESIS:
        return Break(rid, INSERTED, "该条自称链首，但此前已有记录")
    return Break(rid, DELETED,
                 f"该条链接的上一条不是第 {prev_id} 条：第 {prev_id} 条与第 {rid} 条之间的记录"
                 f"被删除，或第 {prev_id} 条被改写并重算了哈希")


def head(model: Any) -> tuple[int, str, dt.datetime] | None:
    return model.objects.order_by("-id").values_list("id", "row_hash", "at").first()
