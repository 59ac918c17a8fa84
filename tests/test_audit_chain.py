"""The audit log's hash chain: whole after the application's writes, broken, and reported by
`doudi audit verify`, after any change made behind its back."""

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


@pytest.fixture
def history(db, users, new_id) -> SimpleNamespace:
    """Some ordinary work through the application: households made, a person edited."""
    with context.job("chain test", user=users.village_assistant):
        hh = make_household(users.village_assistant, VILLAGE, new_id)
        person = Person.objects.get(pk=hh.head().pk)
        person.phone = "13900000000"
        person.save()
        make_household(users.village_assistant, VILLAGE, new_id)
    ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    assert len(ids) > 10
    return SimpleNamespace(ids=ids, person=person)


@pytest.fixture
def triggers_lifted(db):
    """The append-only triggers off for one test, as an intruder with database access would
    have them, and on again after it."""
    set_audit_triggers(False)
    yield
    set_audit_triggers(True)


@pytest.mark.django_db
def test_chain_is_whole_after_ordinary_writes(history):
    rows = list(AuditEvent.objects.order_by("id").values("prev_hash", "row_hash"))
    assert all(len(r["row_hash"]) == 64 for r in rows)
    assert all(b["prev_hash"] == a["row_hash"] for a, b in itertools.pairwise(rows))
    code, out = verify()
    assert code == 0, out
    assert f"已核验审计记录 {len(rows)} 条" in out and "哈希链完整" in out


@pytest.mark.django_db
def test_changed_content_is_found_and_named(history, triggers_lifted):
    target = history.ids[len(history.ids) // 2]
    raw("UPDATE audit_auditevent SET changes = %s WHERE id = %s",
        ['{"phone": ["138****5678", "137****0000"]}', target])
    code, out = verify()
    assert code == 1
    assert f"首个断点：第 {target} 条：内容被改动" in out
    assert "发现断点 1 处" in out  # the rows after it still link to its recorded hash


@pytest.mark.django_db
def test_changed_actor_is_found(history, triggers_lifted):
    target = history.ids[3]
    raw("UPDATE audit_auditevent SET actor_name = 'someone_else' WHERE id = %s", [target])
    code, out = verify()
    assert code == 1 and f"第 {target} 条：内容被改动" in out


@pytest.mark.django_db
def test_deleted_row_breaks_the_link_of_the_next(history, triggers_lifted):
    before, gone, after = history.ids[4:7]
    raw("DELETE FROM audit_auditevent WHERE id = %s", [gone])
    code, out = verify()
    assert code == 1
    assert f"第 {after} 条：记录被删除" in out and f"第 {before} 条与第 {after} 条之间" in out
    # checking only from a later row does not see it
    assert verify("--from-id", str(after + 1))[0] == 0


@pytest.mark.django_db
def test_deleting_the_oldest_rows_is_found(history, triggers_lifted):
    first = history.ids[0]
    raw("DELETE FROM audit_auditevent WHERE id <= %s", [first + 1])
    code, out = verify()
    assert code == 1 and "之前的记录被删除" in out


@pytest.mark.django_db
def test_rows_written_around_the_application_are_found(history, triggers_lifted):
    raw("INSERT INTO audit_auditevent (at, actor_name, action, object_type, object_id, "
        "object_label, area_code, changes, request_id, job, ip, prev_hash, row_hash) "
        "VALUES (%s, 'ghost', 'view_full', '', '', '', '', '{}', '', '', '', '', '')",
        [dt.datetime.now(dt.UTC)])
    code, out = verify()
    assert code == 1 and "未入链的记录" in out


@pytest.mark.django_db
def test_a_rewritten_chain_is_caught_by_the_anchor(history, triggers_lifted):
    """Whoever can write the database can rewrite a row and recompute every later hash; the
    anchor kept off the machine is what catches that."""
    out = io.StringIO()
    call_command("audit", "head", stdout=out)
    anchor = out.getvalue().split("锚点：")[1].strip()
    assert anchor == f"{history.ids[-1]}:{AuditEvent.objects.get(pk=history.ids[-1]).row_hash}"
    assert verify("--anchor", anchor)[0] == 0

    target = history.ids[5]
    raw("UPDATE audit_auditevent SET actor_name = 'someone_else' WHERE id = %s", [target])
    prev = AuditEvent.objects.get(pk=history.ids[4]).row_hash
    for row in AuditEvent.objects.filter(id__gte=target).order_by("id").values():
        digest = chain.row_hash(row, prev)
        raw("UPDATE audit_auditevent SET prev_hash = %s, row_hash = %s WHERE id = %s",
            [prev, digest, row["id"]])
        prev = digest
    assert verify()[0] == 0  # the chain itself is consistent again
    code, text = verify("--anchor", anchor)
    assert code == 1 and f"第 {history.ids[-1]} 条：与锚点不符" in text


@pytest.mark.django_db
def test_rolled_back_writes_leave_the_chain_whole(history):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.record(AuditEvent.VIEW_FULL, object_label="rolled back")
        raise RuntimeError
    with transaction.atomic():
        services.record(AuditEvent.VIEW_FULL, object_label="kept 1")
        with pytest.raises(RuntimeError), transaction.atomic():  # a savepoint
            services.record(AuditEvent.VIEW_FULL, object_label="rolled back 2")
            raise RuntimeError
        services.record(AuditEvent.VIEW_FULL, object_label="kept 2")
    assert not AuditEvent.objects.filter(object_label__startswith="rolled back").exists()
    code, out = verify()
    assert code == 0, out


@pytest.mark.django_db
def test_a_transaction_reads_the_head_once(users):
    """Many rows in one transaction (an import, a job): the lock and the head are read for
    the first row only; the chain is still whole."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        for n in range(10):
            services.record(AuditEvent.VIEW, object_label=f"bulk {n}")
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum("INSERT INTO" in s for s in sql) == 10
    assert sum("SELECT row_hash" in s for s in sql) == 1
    assert sum("pg_advisory_xact_lock" in s for s in sql) == (connection.vendor == "postgresql")
    code, out = verify()
    assert code == 0, out


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
    assert verify()[0] == 0


@pytest.mark.django_db
def test_migration_chains_rows_already_there(users):
    """Migration 0005 chains the rows written before it, in id order, and leaves the log
    append-only."""
    migration = importlib.import_module("doudi.audit.migrations.0005_hash_chain")
    set_audit_triggers(False)
    raw("UPDATE audit_auditevent SET prev_hash = '', row_hash = ''")
    set_audit_triggers(True)
    assert verify()[0] == 1
    editor = SimpleNamespace(connection=connection, execute=lambda sql: raw(sql))
    from django.apps import apps

    migration.chain_existing(apps, editor)
    assert verify()[0] == 0
    assert AuditEvent.objects.order_by("id").first().prev_hash == chain.GENESIS
    with pytest.raises(DatabaseError), transaction.atomic():
        raw("UPDATE audit_auditevent SET actor_name = 'x'")


# Transactional from here on: the module-scoped fixture lifts the triggers until the module
# ends, so these tests come last.

@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_do_not_fork_the_chain(flushable_audit_log, users):
    """Writers in threads, each with its own connection, some in long transactions, some
    rolling back: the chain stays one line."""
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
                            time.sleep(0.002)  # hold the lock while others queue
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
    hashes = list(AuditEvent.objects.values_list("prev_hash", flat=True))
    assert len(hashes) == len(set(hashes))  # no two rows chained onto the same head
    code, out = verify()
    assert code == 0, out
