"""Twelve months of payments for three households across a July standard rise, a death in
May, a taper from September and a payment the bank returned in March."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from doudi.benefits import bank_files, services
from doudi.benefits.models import PaymentLine, PaymentRun
from doudi.engine.payments.roster import months_between
from tests.payees import card, give_payee

pytestmark = pytest.mark.django_db
D = dt.date
MONTHS = months_between(D(2026, 1, 1), D(2026, 12, 1))
DISTRICT = "341002000000"


def _settle(run: PaymentRun, fail: set[int], world) -> None:
    u = world.users
    services.approve_run(by=u.district_approver, run=run, opinion="经审核，同意")
    data = bank_files.bank_file(by=u.district_officer, run=run)[0].decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(data)))
    assert len(rows) == run.lines.count()
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["流水号", "结果", "失败原因"])
    for r in rows:
        line = PaymentLine.objects.get(pk=int(r["流水号"]))
        failed = line.enrollment_id in fail
        w.writerow([r["流水号"], "失败" if failed else "成功", "账户已销户" if failed else ""])
    bank_files.bank_result(by=u.district_officer, run=run, data=out.getvalue().encode("gb18030"))


def test_a_year_of_payments(world, shipped_parameters) -> None:
    u = world.users
    a = services.enroll(by=u.district_approver, household=world.village_hh, programme="dibao",
                        amount_fen=50_000, start_date=D(2026, 1, 1))
    b = services.enroll(by=u.district_approver, household=world.same_town_hh,
                        programme="dibao", amount_fen=40_000, start_date=D(2026, 1, 1))
    c = services.enroll(by=u.district_approver, household=world.other_town_hh,
                        programme="dibao", amount_fen=60_000, start_date=D(2026, 1, 1))
    for n, e in enumerate((a, b, c)):  # a line without a payee account would be held back
        give_payee(u, e, card(f"62170000000000{n}"), agent=f"收款人{n}")
    services.change(by=u.district_approver, enrollment=a, kind="increase",
                    effective_date=D(2026, 7, 1), amount_fen=55_000, reason="低保标准提高")
    services.change(by=u.district_approver, enrollment=b, kind="stop",
                    effective_date=D(2026, 5, 12), reason="死亡")
    for month, share in zip(months_between(D(2026, 9, 1), D(2027, 2, 1)),
                            (1, 1, 0.8, 0.8, 0.6, 0.6), strict=True):
        services.change(by=u.district_approver, enrollment=c, kind="taper",
                        effective_date=month, amount_fen=int(60_000 * share),
                        reason="务工收入超过标准，渐退")
    services.change(by=u.district_approver, enrollment=c, kind="stop",
                    effective_date=D(2027, 3, 1), reason="渐退期满")

    def due(e, m: dt.date) -> int:
        if e == a:
            return 55_000 if m >= D(2026, 7, 1) else 50_000
        if e == b:
            return 40_000 if m <= D(2026, 5, 1) else 0
        return {D(2026, 9, 1): 60_000, D(2026, 10, 1): 60_000, D(2026, 11, 1): 48_000,
                D(2026, 12, 1): 48_000}.get(m, 60_000)

    for month in MONTHS:
        built = services.build_run(by=u.district_officer, month=month, area_code=DISTRICT)
        lines = {ln.enrollment_id: ln for ln in built.run.lines.all()}
        expected = {e.pk: due(e, month) for e in (a, b, c) if due(e, month)}
        if month == D(2026, 4, 1):
            expected[a.pk] += 50_000  # March came back from the bank: paid again in April
            assert lines[a.pk].arrears_fen == 50_000
        assert {k: v.total_fen for k, v in lines.items()} == expected, month
        assert built.total_fen == sum(expected.values()) == built.run.totals["total_fen"]
        _settle(built.run, {a.pk} if month == D(2026, 3, 1) else set(), world)
        # building the month again pays nobody twice
        again = services.build_run(by=u.district_officer, month=month, area_code=DISTRICT)
        assert again.lines == 0 and again.total_fen == 0
        again.run.delete()

    paid = {e.pk: sum(PaymentLine.objects.filter(enrollment=e, status="paid")
                      .values_list("total_fen", flat=True)) for e in (a, b, c)}
    assert paid == {a.pk: 6 * 50_000 + 6 * 55_000, b.pk: 5 * 40_000,
                    c.pk: 8 * 60_000 + 2 * 60_000 + 2 * 48_000}
    with transaction.atomic(), pytest.raises(IntegrityError):  # the database refuses too
        PaymentLine.objects.create(run=PaymentRun.objects.first(), enrollment=a,
                                   month=D(2026, 6, 1), regular_fen=1, arrears_fen=0,
                                   recovery_fen=0, total_fen=1, area_code=a.area_code)


def test_maker_cannot_approve_and_bank_file_needs_approval(world, shipped_parameters) -> None:
    u = world.users
    services.enroll(by=u.district_approver, household=world.village_hh, programme="dibao",
                    amount_fen=50_000, start_date=D(2026, 1, 1))
    built = services.build_run(by=u.district_approver, month=D(2026, 1, 1), area_code=DISTRICT)
    with pytest.raises(services.BenefitsError):
        bank_files.bank_file(by=u.district_approver, run=built.run)
    with pytest.raises(PermissionDenied, match="双人复核"):
        services.approve_run(by=u.district_approver, run=built.run, opinion="经审核，同意")
    with pytest.raises(PermissionDenied):
        services.build_run(by=u.town_approver, month=D(2026, 1, 1), area_code="341002102000")
