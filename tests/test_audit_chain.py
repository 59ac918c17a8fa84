"""The audit log's hash chain, sealed after commit: whole after the application's writes,
broken, and reported by `doudi audit verify`, after any change made behind its back; the
database refusing every change but the seal; and a long transaction holding audited writes
no longer holding up anyone else's."""

from __future__ import annotations

import datetime as dt
import importlib
import io
import itertools
import threading
import time
import zoneinfo
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from doudi.audit import chain, context, services
from doudi.audit.models import AuditEvent
from doudi.registry.models import Person
from tests.conftest import VILLAGE, make_household, set_audit_triggers


def verify(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("audit", "verify", *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


def raw(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def sealed_rows() -> list[dict]:
    return list(AuditEvent.objects.filter(chain_seq__isnull=False).order_by("chain_seq")
                .values("id", "chain_seq", "prev_hash", "row_hash"))


def unsealed() -> int:
    return AuditEvent.objects.filter(chain_seq__isnull=True).count()


def insert_raw(at: dt.datetime, label: str = "ghost", *, seq: int | None = None,
               prev: str = "", digest: str = "") -> int:
    """A row written around the application, as an intruder with database access would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditevent (at, actor_name, action, object_type, object_id, "
            "object_label, area_code, changes, request_id, job, ip, prev_hash, row_hash, "
            "chain_seq) VALUES (%s, 'ghost', 'view_full', '', '', %s, '', '{}', '', '', '', "
            "%s, %s, %s)", [at, label, prev, digest, seq])
    return AuditEvent.objects.get(object_label=label).pk


@pytest.fixture
def history(db, users, new_id) -> SimpleNamespace:
    """Some ordinary work through the application: households made, a person edited, sealed
    as the commit would have (the test's transaction never commits, so its on_commit hooks
    never run: the seal is called here)."""
    with context.job("chain test", user=users.village_assistant):
        hh = make_household(users.village_assistant, VILLAGE, new_id)
        person = Person.objects.get(pk=hh.head().pk)
        person.phone = "13900000000"
        person.save()
        make_household(users.village_assistant, VILLAGE, new_id)
    chain.seal_pending()
    rows = sealed_rows()
    assert len(rows) > 10 and unsealed() == 0
    return SimpleNamespace(ids=[r["id"] for r in rows], seqs=[r["chain_seq"] for r in rows],
                           person=person)


@pytest.fixture
def triggers_lifted(db):
    """The append-only triggers off for one test, as an intruder with database access would
    have them, and on again after it."""
    set_audit_triggers(False)
    yield
    set_audit_triggers(True)


@pytest.mark.django_db
def test_chain_is_whole_after_ordinary_writes(history):
    rows = sealed_rows()
    assert [r["chain_seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)  # one writer: id order
    assert rows[0]["prev_hash"] == chain.GENESIS
    assert all(len(r["row_hash"]) == 64 for r in rows)
    assert all(b["prev_hash"] == a["row_hash"] for a, b in itertools.pairwise(rows))
    code, out = verify()
    assert code == 0, out
    assert f"已核验审计记录 {len(rows)} 条" in out and "哈希链完整" in out


@pytest.mark.django_db
def test_rows_are_inserted_unsealed_without_a_lock(users):
    """Many rows in one transaction (an import, a job): plain INSERTs, no lock and no head
    read while it runs, and one seal hook for the whole transaction."""
    from django.test.utils import CaptureQueriesContext

    def hooks() -> int:
        return sum(isinstance(f, chain._SealHook) for _, f, _ in connection.run_on_commit)

    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        for n in range(10):
            services.record(AuditEvent.VIEW, object_label=f"bulk {n}")
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum("INSERT INTO" in s for s in sql) == 10
    assert all(s.startswith(("INSERT INTO", "SAVEPOINT", "RELEASE SAVEPOINT")) for s in sql), sql
    assert hooks() == 1  # the users fixture's writes registered it; nobody added another
    assert AuditEvent.objects.filter(object_label__startswith="bulk ",
                                     chain_seq__isnull=True).count() == 10
    waiting = unsealed()
    with CaptureQueriesContext(connection) as queries:
        assert chain.seal_pending() == waiting
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum("pg_advisory_xact_lock" in s for s in sql) == (connection.vendor == "postgresql")
    assert unsealed() == 0
    assert chain.seal_pending() == 0  # nothing left: no lock taken either
    assert verify()[0] == 0


@pytest.mark.django_db
def test_changed_content_is_found_and_named(history, triggers_lifted):
    n = len(history.ids) // 2
    raw("UPDATE audit_auditevent SET changes = %s WHERE id = %s",
        ['{"phone": ["138****5678", "137****0000"]}', history.ids[n]])
    code, out = verify()
    assert code == 1
    assert f"首个断点：链序第 {history.seqs[n]} 条（记录编号 {history.ids[n]}）：内容被改动" in out
    assert "发现断点 1 处" in out  # the rows after it still link to its recorded hash


@pytest.mark.django_db
def test_changed_actor_is_found(history, triggers_lifted):
    raw("UPDATE audit_auditevent SET actor_name = 'someone_else' WHERE id = %s", [history.ids[3]])
    code, out = verify()
    assert code == 1
    assert f"链序第 {history.seqs[3]} 条（记录编号 {history.ids[3]}）：内容被改动" in out


@pytest.mark.django_db
def test_deleted_row_leaves_a_gap(history, triggers_lifted):
    raw("DELETE FROM audit_auditevent WHERE id = %s", [history.ids[5]])
    code, out = verify()
    assert code == 1 and "发现断点 1 处" in out
    assert f"链序第 {history.seqs[6]} 条（记录编号 {history.ids[6]}）：记录被删除" in out
    assert f"链序第 {history.seqs[5]} 条不存在" in out
    # checking only from a later row does not see it
    assert verify("--from-seq", str(history.seqs[7]))[0] == 0


@pytest.mark.django_db
def test_deleted_and_renumbered_rows_break_the_link(history, triggers_lifted):
    """Closing the gap by renumbering the later rows: the next row still links past it."""
    raw("DELETE FROM audit_auditevent WHERE id = %s", [history.ids[5]])
    raw("UPDATE audit_auditevent SET chain_seq = chain_seq + 1000 WHERE chain_seq > %s",
        [history.seqs[5]])
    raw("UPDATE audit_auditevent SET chain_seq = chain_seq - 1001 WHERE chain_seq > 1000")
    code, out = verify()
    assert code == 1
    assert f"链序第 {history.seqs[5]} 条（记录编号 {history.ids[6]}）：记录被删除" in out


@pytest.mark.django_db
def test_deleting_the_oldest_rows_is_found(history, triggers_lifted):
    raw("DELETE FROM audit_auditevent WHERE chain_seq <= 2")
    code, out = verify()
    assert code == 1 and "链序第 1–2 条不存在" in out


@pytest.mark.django_db
def test_forged_rows_are_found(history, triggers_lifted):
    now = dt.datetime.now(dt.UTC)
    top = sealed_rows()[-1]
    # claims a place in the chain without knowing how to hash
    insert_raw(now, "forged sealed", seq=top["chain_seq"] + 1, prev=top["row_hash"],
               digest="f" * 64)
    # carries a hash but no place in the chain
    insert_raw(now, "forged loose", digest="e" * 64)
    # left unsealed since long ago: nothing the application writes stays unsealed that long
    old = insert_raw(now - dt.timedelta(hours=1), "forged old")
    code, out = verify()
    assert code == 1 and "发现断点 3 处" in out
    assert f"链序第 {top['chain_seq'] + 1} 条" in out and "内容被改动" in out
    assert "（未入链）：插入的记录" in out
    assert f"记录编号 {old}（未入链）：未封存" in out


@pytest.mark.django_db
def test_an_unsealed_row_within_the_grace_period_is_not_a_finding(history, triggers_lifted):
    """Between commit and seal a row is protected by the triggers alone: a row written
    around the application just now looks like one whose seal is still to come."""
    insert_raw(dt.datetime.now(dt.UTC), "just now")
    code, out = verify()
    assert code == 0 and "另有 1 条刚提交、尚未封存" in out
    code, out = verify("--grace", "0")
    assert code == 1 and "未封存" in out


@pytest.mark.django_db
def test_a_rewritten_chain_is_caught_by_the_anchor(history, triggers_lifted):
    """Whoever can write the database can rewrite a row and recompute every later hash; the
    anchor kept off the machine is what catches that."""
    out = io.StringIO()
    call_command("audit", "head", stdout=out)
    anchor = out.getvalue().split("锚点：")[1].strip()
    top = sealed_rows()[-1]
    assert anchor == f"{top['chain_seq']}:{top['row_hash']}"
    assert verify("--anchor", anchor)[0] == 0

    raw("UPDATE audit_auditevent SET actor_name = 'someone_else' WHERE id = %s", [history.ids[5]])
    prev = sealed_rows()[4]["row_hash"]
    for row in (AuditEvent.objects.filter(chain_seq__gte=history.seqs[5])
                .order_by("chain_seq").values()):
        digest = chain.row_hash(row, prev)
        raw("UPDATE audit_auditevent SET prev_hash = %s, row_hash = %s WHERE id = %s",
            [prev, digest, row["id"]])
        prev = digest
    assert verify()[0] == 0  # the chain itself is consistent again
    code, text = verify("--anchor", anchor)
    assert code == 1 and f"链序第 {top['chain_seq']} 条（记录编号 {top['id']}）：与锚点不符" in text


@pytest.mark.django_db
def test_deleting_the_newest_rows_is_caught_by_the_anchor(history, triggers_lifted):
    top = sealed_rows()[-1]
    raw("DELETE FROM audit_auditevent WHERE chain_seq >= %s", [top["chain_seq"] - 2])
    assert verify()[0] == 0  # a shorter chain is still a chain
    code, out = verify("--anchor", f"{top['chain_seq']}:{top['row_hash']}")
    assert code == 1 and "锚点所在的记录已不存在" in out


@pytest.mark.django_db
def test_bad_anchor_is_a_usage_error(history):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError) as exc:
        verify("--anchor", "12:abc")
    assert exc.value.returncode == 2


# --- what the database refuses --------------------------------------------------------------

def _seal_sql(seq: int, row_id: int, extra: str = "") -> str:
    return (f"UPDATE audit_auditevent SET chain_seq = {seq}, prev_hash = '{'0' * 64}', "
            f"row_hash = '{'a' * 64}'{extra} WHERE id = {row_id}")


@pytest.mark.django_db
@pytest.mark.parametrize("change", [
    "content of a sealed row",
    "content of an unsealed row",
    "re-sealing a sealed row",
    "sealing an unsealed row and changing its content",
    "sealing without a hash",
    "moving a sealed row in the chain",
    "deleting a sealed row",
    "deleting an unsealed row",
])
def test_database_refuses_every_change_but_the_seal(history, change):
    services.record(AuditEvent.VIEW, object_label="unsealed")
    fresh = AuditEvent.objects.get(object_label="unsealed").pk
    old, top = history.ids[3], len(history.ids) + 10
    sql = {
        "content of a sealed row": f"UPDATE audit_auditevent SET actor_name = 'x' WHERE id = {old}",
        "content of an unsealed row":
            f"UPDATE audit_auditevent SET object_label = 'x' WHERE id = {fresh}",
        "re-sealing a sealed row": _seal_sql(top, old),
        "sealing an unsealed row and changing its content":
            _seal_sql(top, fresh, ", object_label = 'x'"),
        "sealing without a hash":
            f"UPDATE audit_auditevent SET chain_seq = {top} WHERE id = {fresh}",
        "moving a sealed row in the chain":
            f"UPDATE audit_auditevent SET chain_seq = {top} WHERE id = {old}",
        "deleting a sealed row": f"DELETE FROM audit_auditevent WHERE id = {old}",
        "deleting an unsealed row": f"DELETE FROM audit_auditevent WHERE id = {fresh}",
    }[change]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw(sql)
    # the one update allowed: sealing, content untouched
    with transaction.atomic():
        raw(_seal_sql(top, fresh))
    assert AuditEvent.objects.get(pk=fresh).chain_seq == top


@pytest.mark.django_db
def test_the_orm_refuses_too(history):
    from doudi.audit.models import AuditImmutable

    event = AuditEvent.objects.get(pk=history.ids[0])
    with pytest.raises(AuditImmutable):
        event.save()
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.filter(pk=event.pk).update(chain_seq=None)


# --- sealing ----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_rows_of_a_process_killed_between_commit_and_seal_are_swept(history, monkeypatch):
    """Committed, then the process died before its on_commit seal ran: the rows are unsealed
    until the next seal, whoever's it is, chains them in id order with its own."""
    with monkeypatch.context() as m:
        m.setattr(chain, "schedule_seal", lambda using: None)  # the hook never runs
        for n in range(3):
            services.record(AuditEvent.VIEW, object_label=f"orphan {n}")
    orphans = list(AuditEvent.objects.filter(object_label__startswith="orphan ")
                   .order_by("id").values_list("id", flat=True))
    assert unsealed() == 3
    code, out = verify()
    assert code == 0 and "另有 3 条刚提交、尚未封存" in out
    result = chain.verify(AuditEvent, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10))
    assert [b.kind for b in result.breaks] == [chain.UNSEALED] * 3
    services.record(AuditEvent.VIEW, object_label="next writer")
    chain.seal_pending()  # what that writer's commit does
    rows = sealed_rows()
    assert [r["id"] for r in rows[-4:]] == [*orphans, rows[-1]["id"]]
    assert unsealed() == 0
    assert verify()[0] == 0


@pytest.mark.django_db
def test_seal_command(history, monkeypatch):
    monkeypatch.setattr(chain, "schedule_seal", lambda using: None)
    services.record(AuditEvent.VIEW, object_label="left over")
    out = io.StringIO()
    call_command("audit", "seal", stdout=out)
    assert "已封存 1 条" in out.getvalue()
    assert unsealed() == 0 and verify()[0] == 0


@pytest.mark.django_db
def test_rolled_back_writes_leave_nothing(history):
    with transaction.atomic():
        services.record(AuditEvent.VIEW_FULL, object_label="kept 1")
        with pytest.raises(RuntimeError), transaction.atomic():  # a savepoint
            services.record(AuditEvent.VIEW_FULL, object_label="rolled back")
            raise RuntimeError
        services.record(AuditEvent.VIEW_FULL, object_label="kept 2")
    assert not AuditEvent.objects.filter(object_label="rolled back").exists()
    assert unsealed() == 2
    chain.seal_pending()
    code, out = verify()
    assert code == 0, out
    assert [r["chain_seq"] for r in sealed_rows()] == list(range(1, len(history.ids) + 3))


@pytest.mark.django_db
def test_stored_values_hash_the_same_when_read_back(users):
    """Times in any zone or none, microseconds, JSON that the database normalises (key
    order, tuples, integer keys, big integral floats) all verify."""
    shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
    AuditEvent.objects.create(actor_name="t", action="view",
                              at=dt.datetime(2026, 7, 1, 0, 0, 0, 123456, tzinfo=shanghai),
                              changes={"z": 1, "a": (1, 2), 3: "int key", "big": 1e20,
                                       "small": 0.1, "n": None, "ok": True, "名": "值"})
    AuditEvent.objects.create(actor_name="t", action="view",
                              at=dt.datetime(2026, 7, 1, 8, 0, 0, 1), actor_id="7")
    AuditEvent.objects.bulk_create([AuditEvent(actor_name="b", action="view") for _ in range(3)])
    chain.seal_pending()
    assert verify()[0] == 0


@pytest.mark.django_db
def test_migrate_leaves_nothing_unsealed():
    """Rows the data migrations wrote after 0005 (historical models, no seal hook) were sealed
    when `migrate` ended."""
    assert unsealed() == 0
    assert verify("--grace", "0")[0] == 0


@pytest.mark.django_db
def test_migration_seals_rows_already_there(users):
    """Migration 0005 seals the rows written before it, in id order, and leaves the log
    append-only."""
    from django.apps import apps

    migration = importlib.import_module("doudi.audit.migrations.0005_hash_chain")
    set_audit_triggers(False)
    raw("UPDATE audit_auditevent SET prev_hash = '', row_hash = '', chain_seq = NULL")
    set_audit_triggers(True)
    assert verify("--grace", "0")[0] == 1
    editor = SimpleNamespace(connection=connection, execute=lambda sql: raw(sql))
    migration._install(apps, editor)
    assert verify("--grace", "0")[0] == 0
    rows = sealed_rows()
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    assert rows[0]["prev_hash"] == chain.GENESIS and rows[0]["chain_seq"] == 1
    with pytest.raises(DatabaseError), transaction.atomic():
        raw("UPDATE audit_auditevent SET actor_name = 'x'")


# Transactional from here on: the module-scoped fixture lifts the triggers until the module
# ends, so these tests come last. Here commits are real and the on_commit seal runs itself.

@pytest.mark.django_db(transaction=True)
def test_commits_seal_their_rows(flushable_audit_log, users, new_id):
    """Ordinary work sealed by its own commits, nothing called by hand: autocommit writes at
    once, a transaction when it commits, once, also after a savepoint that took the hook
    with it rolled back; a rolled-back transaction leaves no unsealed row and no gap."""
    assert unsealed() == 0
    services.record(AuditEvent.VIEW, object_label="autocommit")
    assert AuditEvent.objects.get(object_label="autocommit").chain_seq is not None
    with context.job("chain test", user=users.village_assistant):
        make_household(users.village_assistant, VILLAGE, new_id)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.record(AuditEvent.VIEW, object_label="rolled back")
        raise RuntimeError
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            services.record(AuditEvent.VIEW, object_label="rolled back")
            raise RuntimeError
        services.record(AuditEvent.VIEW, object_label="kept")
    assert not AuditEvent.objects.filter(object_label="rolled back").exists()
    assert unsealed() == 0
    rows = sealed_rows()
    assert [r["chain_seq"] for r in rows] == list(range(1, len(rows) + 1))
    code, out = verify("--grace", "0")
    assert code == 0, out


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_a_long_transaction_does_not_block_other_writers(flushable_audit_log, users):
    """A holds an audited write open for 2 s; B's audited transaction commits meanwhile, at
    once, and is chained first: the chain is in commit order."""
    from django.db import connections

    written, finished = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    took: list[float] = []

    def long_a() -> None:
        try:
            with transaction.atomic():
                services.record(AuditEvent.IMPORT, object_label="long A")
                written.set()
                time.sleep(2)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            finished.set()
            connections.close_all()

    def short_b() -> None:
        try:
            started = time.monotonic()
            with transaction.atomic():
                services.record(AuditEvent.VIEW, object_label="short B")
            took.append(time.monotonic() - started)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    a = threading.Thread(target=long_a)
    a.start()
    assert written.wait(10)
    b = threading.Thread(target=short_b)
    b.start()
    b.join(10)
    assert not finished.is_set(), "A ended before B: the test proves nothing"
    a.join(10)
    assert not errors, errors
    assert took and took[0] < 1.0, f"B took {took} s while A held its transaction"
    seq = dict(AuditEvent.objects.filter(object_label__in=["long A", "short B"])
               .values_list("object_label", "chain_seq"))
    assert seq["short B"] < seq["long A"]
    assert unsealed() == 0
    code, out = verify("--grace", "0")
    assert code == 0, out


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_do_not_fork_the_chain(flushable_audit_log, users):
    """Writers in threads, each with its own connection, some in long transactions, some
    rolling back: every row sealed once, the chain one line."""
    from django.db import connections

    threads_n, per = 6, 25
    errors: list[BaseException] = []
    start = threading.Barrier(threads_n)

    def work(n: int) -> None:
        try:
            start.wait()
            with context.job(f"writer {n}"):
                for i in range(per):
                    if i % 5 == 0:
                        with transaction.atomic():
                            services.record(AuditEvent.VIEW, object_label=f"w{n}-{i}")
                            time.sleep(0.05)  # others commit and seal meanwhile
                            services.record(AuditEvent.VIEW, object_label=f"w{n}-{i}b")
                    elif i % 7 == 0:
                        with pytest.raises(RuntimeError), transaction.atomic():
                            services.record(AuditEvent.VIEW, object_label="rolled back")
                            raise RuntimeError
                    else:
                        services.record(AuditEvent.VIEW, object_label=f"w{n}-{i}")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    before = AuditEvent.objects.count()
    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads_n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors
    written = threads_n * sum(2 if i % 5 == 0 else 0 if i % 7 == 0 else 1 for i in range(per))
    assert AuditEvent.objects.count() == before + written
    assert not AuditEvent.objects.filter(object_label="rolled back").exists()
    assert unsealed() == 0
    rows = sealed_rows()
    assert [r["chain_seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert len({r["prev_hash"] for r in rows}) == len(rows)  # no two rows on the same head
    code, out = verify("--grace", "0")
    assert code == 0, out
