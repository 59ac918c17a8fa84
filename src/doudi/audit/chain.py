"""The audit log's hash chain (审计日志防篡改链), sealed after commit.

Every sealed row stores `chain_seq`, its place in the chain (1, 2, 3, … without gaps),
`prev_hash`, the `row_hash` of the row at the place before, and `row_hash`, SHA-256 over a
canonical serialisation of its content and `prev_hash`. Changing a row's content breaks its
own hash; deleting a row leaves a gap in `chain_seq` and breaks the link of the row after it;
rewriting a row together with every later hash is caught by an anchor (`doudi audit head`)
kept off the machine. The hash is not keyed: whoever can write the database can recompute
it, which is why anchors matter.

Writing and sealing are two steps:
1. A row is INSERTed unsealed (`chain_seq` null, hashes empty) inside the business
   transaction, without any lock: the work and its audit rows still commit or roll back
   together, and a long transaction (an import, a monitoring run, building a payment run)
   no longer holds up anyone else's audited writes.
2. After the commit (`transaction.on_commit`, registered once per transaction that wrote an
   audit row; at once in autocommit mode) a short transaction of its own seals: it takes the
   chain lock (PostgreSQL: `pg_advisory_xact_lock`; SQLite: the database's single write lock,
   held from BEGIN because the project opens transactions IMMEDIATE), reads the head (highest
   `chain_seq`), and chains every committed unsealed row in id order, not only its own: that
   sweeps rows left by a process that died between commit and seal, and rows whose own
   sealer lost the race. Under READ COMMITTED each statement after the lock sees every row
   committed before it, including the previous holder's seals, so two sealers never chain
   onto the same head; the unique `chain_seq` would refuse a fork anyway.
   Rolled-back rows were never visible, so they leave no gap. Chain order is commit order,
   not id order: a long transaction's rows are chained when it commits, after rows of
   shorter transactions that began later.

The window: between its commit and its seal (normally milliseconds; until the next audited
commit or `doudi audit seal` if the process died in between) a row is protected only by the
append-only triggers (doudi/audit/triggers.py), which refuse every change but the sealing
update itself. Someone who can lift the triggers could alter or delete an unsealed row
unseen. The triggers do not guard INSERT: anyone who can write the table can add a forged
unsealed row, and the next seal chains it in like any other. `verify` reports rows unsealed
for longer than a grace period (未封存, by their `at`): nothing the application writes stays
unsealed that long while it runs, so a forged row with a back-dated time is found, one with
the current time is not. Rows written by data migrations (historical models, no hook) are
sealed when `migrate` ends (apps.py).

On SQLite a long transaction still keeps every other writer waiting, audited or not: the
database has one writer at a time. What this design removes is PostgreSQL's serialisation.

A seal failing after the commit (the database gone at that moment) does not fail the
business request: the error is logged, the rows stay unsealed and are swept by the next seal.

The price: every transaction that wrote audit rows is followed by a second, short one (a
handful of statements, about a millisecond; one per transaction, however many rows it wrote).
For a transaction that does nothing but write one audit row that roughly halves the rate
(bench/audit_chain_bench.py); the lock is held only for the seal itself, never for the
business work, so audited transactions of different users no longer wait for each other.

Isolation: READ COMMITTED (Django's default on PostgreSQL) is assumed for the sealer. Called
inside a transaction the caller keeps open, the sealer holds the lock until that commits:
keep it to its own transaction (on_commit, the `seal` command).

The canonical form must not change once rows exist: old rows would no longer verify. A new
form would need a version marker in the row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
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


SEAL_BATCH = 2000


def _unsealed_reader(model: Any, connection: Any) -> Callable[[Any, int], list[dict]]:
    """Reads a batch of unsealed rows with raw SQL and converts each value with the same
    converters the ORM applies (backend's, then the field's), so the seal hashes exactly
    what `verify`, reading through the ORM, will hash. A seal follows every audited commit;
    building the equivalent ORM query each time was most of its cost."""
    names = ("id", *CONTENT_FIELDS)
    cols = [model._meta.get_field(name).get_col(TABLE) for name in names]
    converters = [connection.ops.get_db_converters(col) + col.get_db_converters(connection)
                  for col in cols]
    sql = (f"SELECT {', '.join(connection.ops.quote_name(c.target.column) for c in cols)} "
           f"FROM {TABLE} WHERE chain_seq IS NULL AND id > %s ORDER BY id LIMIT {SEAL_BATCH}")

    def read(cursor: Any, after_id: int) -> list[dict]:
        cursor.execute(sql, [after_id])
        rows = []
        for raw in cursor.fetchall():
            values = list(raw)
            for i, (col, convs) in enumerate(zip(cols, converters, strict=True)):
                for convert in convs:
                    values[i] = convert(values[i], col, connection)
            rows.append(dict(zip(names, values, strict=True)))
        return rows

    return read


def seal_pending(using: str = "default", *, model: Any = None) -> int:
    """Seal every committed unsealed row, in id order, onto the head; returns how many.
    `model` may be a migration's historical model (migration 0005 seals with it)."""
    if model is None:
        from doudi.audit.models import AuditEvent as model
    connection = connections[using]
    with connection.cursor() as cursor:
        # Without the lock first: most often another sealer has already taken our rows along.
        cursor.execute(f"SELECT 1 FROM {TABLE} WHERE chain_seq IS NULL LIMIT 1")
        if cursor.fetchone() is None:
            return 0
    read = _unsealed_reader(model, connection)
    sealed = 0
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        # a new statement after the lock: its snapshot includes the previous holder's seals
        cursor.execute(f"SELECT chain_seq, row_hash FROM {TABLE} WHERE chain_seq IS NOT NULL "
                       "ORDER BY chain_seq DESC LIMIT 1")
        top = cursor.fetchone()
        seq, prev = (int(top[0]), top[1]) if top else (0, GENESIS)
        last_id = 0
        while rows := read(cursor, last_id):
            updates = []
            for row in rows:
                seq += 1
                digest = row_hash(row, prev)
                updates.append((seq, prev, digest, row["id"]))
                prev = digest
            # Raw SQL: the model refuses every update; the triggers allow exactly this one.
            cursor.executemany(f"UPDATE {TABLE} SET chain_seq = %s, prev_hash = %s, "
                               "row_hash = %s WHERE id = %s AND chain_seq IS NULL", updates)
            sealed += len(rows)
            last_id = rows[-1]["id"]
            if len(rows) < SEAL_BATCH:
                break  # the last batch: no query just to find nothing more
    return sealed


class _SealHook:
    """The on_commit callback of one transaction that wrote audit rows."""

    def __init__(self, using: str) -> None:
        self.using = using

    def __call__(self) -> None:
        seal_pending(self.using)


def schedule_seal(using: str) -> None:
    """After an audit row's INSERT: seal once the transaction commits (at once in autocommit
    mode, where the row is committed already). Registered once per transaction: a job writing
    100k rows seals once, at its end. Django drops the hook with the savepoint it was
    registered in if that rolls back; the check below then sees it gone and registers again.
    robust: a failed seal is logged, not raised into a request whose work has committed."""
    connection = connections[using]
    if connection.in_atomic_block:
        memo = getattr(connection, "_audit_seal_hook", None)
        pending = connection.run_on_commit
        if memo is not None:
            index, hook = memo
            if index < len(pending) and pending[index][1] is hook:
                return
        hook = _SealHook(using)
        transaction.on_commit(hook, using=using, robust=True)
        connection._audit_seal_hook = (len(connection.run_on_commit) - 1, hook)
        return
    transaction.on_commit(_SealHook(using), using=using, robust=True)


def normalise(event: Any) -> None:
    """Content in the form it is stored in (the seal hashes what it reads back, so this is
    for the columns' sake: NOT NULL text columns get "" for None)."""
    if isinstance(event.at, dt.datetime) and settings.USE_TZ and timezone.is_naive(event.at):
        # what the DateTimeField would do on save, without its naive-datetime warning
        event.at = timezone.make_aware(event.at, timezone.get_default_timezone())
    if event.actor_id is not None:
        event.actor_id = int(event.actor_id)
    event.changes = stored_json(event.changes)
    for name in ("actor_name", "action", "object_type", "object_id", "object_label",
                 "area_code", "request_id", "job", "ip"):
        value = getattr(event, name)
        setattr(event, name, "" if value is None else str(value))


# --- verification --------------------------------------------------------------------------

CHANGED, DELETED, INSERTED, UNSEALED, ANCHOR = (
    "changed", "deleted", "inserted", "unsealed", "anchor")
KIND_LABELS = {
    CHANGED: "内容被改动",
    DELETED: "记录被删除（链条断开）",
    INSERTED: "插入的记录",
    UNSEALED: "未封存",
    ANCHOR: "与锚点不符",
}
# A row is sealed milliseconds after its commit; one unsealed for longer was left by a
# process that died (and no audited commit has swept it since) or was written around the
# application. Long transactions are no exception: their rows are sealed when they commit.
GRACE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Break:
    seq: int | None
    row_id: int
    kind: str
    detail: str

    def __str__(self) -> str:
        where = (f"链序第 {self.seq} 条（记录编号 {self.row_id}）" if self.seq is not None
                 else f"记录编号 {self.row_id}（未入链）")
        return f"{where}：{KIND_LABELS[self.kind]}。{self.detail}"


@dataclass
class Result:
    checked: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str = ""
    anchor_checked: bool = False
    unsealed_recent: int = 0  # unsealed, within the grace period: not a finding

    def __post_init__(self) -> None:
        self.breaks: list[Break] = []

    @property
    def ok(self) -> bool:
        return not self.breaks


NAMES = ("id", "chain_seq", *CONTENT_FIELDS, "prev_hash", "row_hash")


def _sealed_rows(model: Any, after_seq: int, batch: int) -> Iterator[dict[str, Any]]:
    """Sealed rows in chain order, a batch at a time: memory stays flat on millions of rows."""
    sealed = model.objects.filter(chain_seq__isnull=False)
    while True:
        chunk = list(sealed.filter(chain_seq__gt=after_seq).order_by("chain_seq")
                     .values(*NAMES)[:batch])
        if not chunk:
            return
        yield from chunk
        after_seq = chunk[-1]["chain_seq"]


def verify(model: Any, *, from_seq: int = 0, anchor: tuple[int, str] | None = None,
           batch: int = 5000, window: int = 1000, grace: dt.timedelta = GRACE,
           now: dt.datetime | None = None) -> Result:
    """Walk the chain by `chain_seq` from `from_seq` (the link into that row from the one
    before it is checked too) and collect every break, then look at the unsealed rows. After
    a break the walk re-anchors on the row it found, so one deleted row is reported once, not
    as every row after it. Reads only: sealing is `seal_pending`'s job."""
    result = Result()
    start = max(from_seq, 1)
    before = (model.objects.filter(chain_seq__lt=start).order_by("-chain_seq")
              .values_list("chain_seq", "row_hash").first())
    next_seq, expected = (before[0] + 1, before[1]) if before else (1, GENESIS)
    if start > 1 and before is None:
        next_seq = start
        expected = ""  # unknown: the rows before were asked to be skipped, or are gone
    # recent hashes → seq: tells a row inserted into the chain from a deleted one
    recent: dict[str, int] = {}
    anchor_seq, anchor_hash = anchor if anchor else (None, "")
    for row in _sealed_rows(model, start - 1, batch):
        seq, rid, stored = row["chain_seq"], row["id"], row["row_hash"]
        result.checked += 1
        if result.first_seq is None:
            result.first_seq = seq
        if not stored or row_hash(row, row["prev_hash"]) != stored:
            result.breaks.append(Break(seq, rid, CHANGED, "按现有内容重算的哈希与记录的哈希不一致"))
        elif seq != next_seq:
            first_gone = next_seq
            result.breaks.append(Break(seq, rid, DELETED,
                                       f"链序第 {first_gone}–{seq - 1} 条不存在：被删除"
                                       if seq - 1 > first_gone else
                                       f"链序第 {first_gone} 条不存在：被删除"))
        elif expected and row["prev_hash"] != expected:
            result.breaks.append(_link_break(seq, rid, row["prev_hash"], recent))
        if anchor_seq == seq:
            result.anchor_checked = True
            if stored != anchor_hash:
                result.breaks.append(Break(seq, rid, ANCHOR,
                                           f"锚点哈希 {anchor_hash}，现为 {stored}"))
        if stored:
            recent[stored] = seq
            if len(recent) > window:
                del recent[next(iter(recent))]
        next_seq, expected = seq + 1, stored
        result.last_seq, result.last_hash = seq, stored
    if anchor_seq is not None and not result.anchor_checked:
        gone = anchor_seq >= start  # beyond the head too: the newest rows were deleted
        result.breaks.append(Break(anchor_seq, 0, ANCHOR, "锚点所在的记录已不存在（被删除）"
                                   if gone else "锚点在核验范围之前（--from-seq）"))
    _unsealed(model, result, grace, now or timezone.now())
    return result


def _unsealed(model: Any, result: Result, grace: dt.timedelta, now: dt.datetime) -> None:
    cutoff = now - grace
    rows = (model.objects.filter(chain_seq__isnull=True).order_by("id")
            .values_list("id", "at", "row_hash"))
    for rid, at, stored in rows.iterator(chunk_size=2000):
        if stored:
            result.breaks.append(Break(None, rid, INSERTED, "该条有哈希却没有链序号，不在链中"))
        elif at < cutoff:
            result.breaks.append(Break(None, rid, UNSEALED,
                                       f"记录时间 {timezone.localtime(at):%Y-%m-%d %H:%M:%S}，"
                                       f"超过 {int(grace.total_seconds() // 60)} 分钟仍未入链："
                                       "写入进程中断后未再封存，或是绕过系统写入的记录"
                                       "（可运行 doudi audit seal 封存）"))
        else:
            result.unsealed_recent += 1


def _link_break(seq: int, rid: int, linked: str, recent: dict[str, int]) -> Break:
    if linked in recent:
        return Break(seq, rid, INSERTED,
                     f"该条链接的是链序第 {recent[linked]} 条，"
                     f"其间第 {recent[linked] + 1}–{seq - 1} 条是后来插入或调换的")
    if linked == GENESIS:
        return Break(seq, rid, INSERTED, "该条自称链首，但此前已有记录")
    return Break(seq, rid, DELETED,
                 f"该条链接的上一条不是链序第 {seq - 1} 条：其间的记录被删除并重新编号，"
                 f"或第 {seq - 1} 条被改写并重算了哈希")


def head(model: Any) -> tuple[int, int, str, dt.datetime] | None:
    """(chain_seq, id, row_hash, at) of the last sealed row: what an anchor needs."""
    return (model.objects.filter(chain_seq__isnull=False).order_by("-chain_seq")
            .values_list("chain_seq", "id", "row_hash", "at").first())
