"""花名册明细按月分区 (PostgreSQL): each month's lines live in their own partition, made by the
roster before its lines are written; lines of a month without one wait in the default
partition and stay readable, and the migration keeps every row and id both ways."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from doudi.benefits import partitions, services
from doudi.benefits.models import PaymentLine, PaymentRun
from tests.payees import card, give_payee

D = dt.date
DISTRICT = "341002000000"
PARTITIONS = ("benefits", "0015_payment_lines_by_month")

def _postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("partitions are PostgreSQL's")


def _partition_of(line_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM benefits_paymentline WHERE id = %s",
                       [line_id])
        return cursor.fetchone()[0]


def _enroll(world, household, start: dt.date, amount: int):
    u = world.users
    e = services.enroll(by=u.district_approver, household=household, programme="dibao",
                        amount_fen=amount, start_date=start)
    give_payee(u, e, card("621700001111222"))
    return e


@pytest.mark.django_db
def test_a_roster_writes_its_month_into_its_own_partition(world, shipped_parameters) -> None:
    _postgres()
    u = world.users
    e = _enroll(world, world.village_hh, D(2026, 1, 1), 41_000)
    months = [D(2026, 3, 1), D(2026, 4, 1)]
    for month in months:
        run = services.build_run(by=u.district_officer, month=month, area_code=DISTRICT).run
        services.approve_run(by=u.district_approver, run=run, opinion="经审核，同意")
    lines = list(PaymentLine.objects.filter(enrollment=e).order_by("month"))
    # payments start in this system with March's run: each month pays its own
    assert [(x.month, x.total_fen) for x in lines] == [(months[0], 41_000),
                                                       (months[1], 41_000)]
    assert [_partition_of(x.pk) for x in lines] == [partitions.name(m) for m in months]
    assert lines[0].pk < lines[1].pk
    # found by id alone, by enrollment across months, and by run
    assert PaymentLine.objects.get(pk=lines[1].pk).month == months[1]
    assert PaymentRun.objects.get(month=months[0]).lines.count() == 1
    # the month already partitioned: asked again, nothing new
    assert partitions.ensure_month(D(2026, 4, 15)) is True


@pytest.mark.django_db
def test_a_month_written_without_a_partition_stays_in_the_default(world,
                                                                  shipped_parameters) -> None:
    _postgres()
    u = world.users
    e = _enroll(world, world.village_hh, D(2026, 1, 1), 30_000)
    month = D(2027, 2, 1)
    other = PaymentRun.objects.create(month=month, area_code=DISTRICT, status="settled")
    written = PaymentLine.objects.create(  # as an import or an older path would
        run=other, enrollment=e, month=month, regular_fen=1, arrears_fen=0, recovery_fen=0,
        total_fen=1, status=PaymentLine.PAID, area_code=e.area_code)
    assert _partition_of(written.pk) == partitions.DEFAULT
    assert partitions.ensure_month(month) is False
    # the roster of a later month is unaffected; February's line counts as paid (payments
    # in this system start with February's run)
    run = services.build_run(by=u.district_officer, month=D(2027, 3, 1),
                             area_code=DISTRICT).run
    line = run.lines.get()
    assert _partition_of(line.pk) == partitions.name(D(2027, 3, 1))
    assert line.total_fen == 2 * 30_000 - 1


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_every_row_and_id_both_ways(world, shipped_parameters,
                                                        flushable_audit_log) -> None:
    _postgres()
    u = world.users
    e = _enroll(world, world.village_hh, D(2026, 1, 1), 20_000)
    for month in (D(2026, 5, 1), D(2026, 6, 1)):
        services.build_run(by=u.district_officer, month=month, area_code=DISTRICT)

    def rows() -> list[tuple]:
        return list(PaymentLine.objects.order_by("id").values_list(
            "id", "enrollment_id", "month", "total_fen", "run_id"))

    before = rows()
    loader = MigrationLoader(connection)
    previous = [n for a, n in loader.graph.node_map[PARTITIONS].parents if a == "benefits"]
    call_command("migrate", "benefits", previous[0], verbosity=0, stdout=io.StringIO())
    try:
        assert not partitions.is_partitioned()
        assert rows() == before
        # a line written on the plain table takes the next id from its identity (the run
        # read by its id only: later migrations add columns this schema does not have yet)
        run_id = PaymentRun.objects.filter(month=D(2026, 6, 1)).values_list("id", flat=True).get()
        PaymentLine.objects.filter(run_id=run_id).delete()
    finally:
        call_command("migrate", verbosity=0, stdout=io.StringIO())
    assert partitions.is_partitioned()
    assert rows() == before[:1]
    assert _partition_of(before[0][0]) == partitions.name(D(2026, 5, 1))
    # ids go on after the highest one copied, never reusing one
    again = services.build_run(by=u.district_officer, month=D(2026, 6, 1),
                               area_code=DISTRICT).run
    assert again.lines.get(enrollment=e).pk > before[-1][0]
