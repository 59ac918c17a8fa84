"""benefits 0012: the 两项补贴 enrollments made before parts were told apart (one per person for
both subsidies) are split where their 认定依据 allows it, and kept and marked where it does not;
no amount is guessed and what each person is paid a month does not change.

The database is migrated back to before 0012, the old enrollments are written with the models
as they were there, then it is migrated forward again (transactional: migrations cannot run
inside the test's transaction on SQLite)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from doudi.audit.models import AuditEvent
from doudi.benefits import services as benefits
from doudi.benefits.models import Enrollment, EnrollmentEvent, PaymentLine, ReviewTask
from doudi.programmes import catalogue
from doudi.registry.models import Person
from tests.conftest import VILLAGE, make_household

MIGRATION = ("benefits", "0012_enrollment_part")
PROGRAMME = next(p for p in catalogue.programmes() if len(p.parts) == 2)
LIVING, CARE = PROGRAMME.parts
OCTOBER, NOVEMBER, DECEMBER = dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2026, 12, 1)


def _explained(living: int | None, care: int | None) -> dict:
    """An approval's 认定依据 as the rules wrote it: one line per subsidy (None: not applying)."""
    def line(part: catalogue.Part, fen: int | None) -> dict:
        amount = f"{(fen or 0) / 100:,.2f}"
        return {"label": f"{part.label}：……", "outcome": fen is not None,
                "detail": f"残疾 肢体 1 级；补贴 {amount} 元/月", "references": []}
    return {"decision": "同意", "amount_fen": (living or 0) + (care or 0),
            "rules": {"day": "2026-01-05", "lines": [line(LIVING, living), line(CARE, care)]}}


def _old_database():
    """Migrate back to just before 0012; returns the executor and the models as they were."""
    executor = MigrationExecutor(connection)
    before = next(p.key for p in executor.loader.graph.node_map[MIGRATION].parents
                  if p.key[0] == MIGRATION[0])
    executor.migrate([before])
    executor.loader.build_graph()
    return executor, executor.loader.project_state(before).apps


def _forward(executor: MigrationExecutor) -> None:
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_old_enrollments_are_split_where_their_records_allow(
        flushable_audit_log, users, new_id, shipped_parameters, capsys) -> None:
    hh = make_household(users.district_approver, VILLAGE, new_id, members=8)
    p = [m.person for m in hh.memberships.order_by("id")]
    executor, old = _old_database()
    try:
        OldEnrollment = old.get_model("benefits", "Enrollment")
        OldEvent = old.get_model("benefits", "EnrollmentEvent")

        def enrol(person: Person, fen: int, start: dt.date, explanation: dict,
                  programme: str = PROGRAMME.code, status: str = "active"):
            e = OldEnrollment.objects.create(
                household_id=hh.pk, person_id=person.pk if person else None,
                programme=programme, status=status, amount_fen=fen, start_date=start,
                explanation=explanation, payee_name="收款人", payee_account="6217000011112222",
                bank="徽商银行", area_code=hh.area_code)
            OldEvent.objects.create(enrollment=e, kind="start", effective_date=start,
                                    amount_fen=fen, reason="审批纳入", area_code=hh.area_code)
            return e

        living_only = enrol(p[0], 9_000, dt.date(2025, 3, 1), _explained(9_000, None))
        paid = enrol(p[1], 21_000, dt.date(2025, 3, 1), _explained(9_000, 12_000))
        recent = enrol(p[2], 21_000, dt.date(2026, 10, 15), _explained(9_000, 12_000))
        changed = enrol(p[3], 21_000, dt.date(2025, 3, 1), _explained(9_000, 12_000))
        OldEvent.objects.create(enrollment=changed, kind="increase",
                                effective_date=dt.date(2026, 1, 1), amount_fen=23_000,
                                previous_fen=21_000, reason="调整", area_code=hh.area_code)
        OldEnrollment.objects.filter(pk=changed.pk).update(amount_fen=23_000)
        unexplained = enrol(p[4], 18_000, dt.date(2025, 3, 1), {})
        ended = enrol(p[5], 0, dt.date(2024, 3, 1), _explained(9_000, 12_000), status="ended")
        household = enrol(None, 50_000, dt.date(2025, 3, 1), {}, programme=catalogue.DIBAO)
        # October is paid to the one split with a history; its review is open
        run = old.get_model("benefits", "PaymentRun").objects.create(
            month=OCTOBER, status="settled", area_code="341002000000", totals={})
        old.get_model("benefits", "PaymentLine").objects.create(
            run=run, enrollment=paid, month=OCTOBER, regular_fen=21_000, arrears_fen=0,
            recovery_fen=0, total_fen=21_000, status="paid", area_code=hh.area_code)
        old.get_model("benefits", "ReviewTask").objects.create(
            enrollment=paid, due_date=dt.date(2027, 3, 1), area_code=hh.area_code)
    finally:
        _forward(executor)
    printed = capsys.readouterr().out

    def parts(person: Person) -> dict[str, tuple]:
        return {e.part: (e.amount_fen, e.start_date, e.status) for e in
                Enrollment.objects.filter(person=person).exclude(pk__in=[paid.pk, recent.pk])}

    # one subsidy applied: the enrollment is that part, history and all
    assert parts(p[0]) == {LIVING.code: (9_000, dt.date(2025, 3, 1), "active")}
    assert Enrollment.objects.get(pk=living_only.pk).part == LIVING.code
    # both applied, no change since: ended where its payments stop, one enrollment per part
    for old_one, person, day in ((paid, p[1], NOVEMBER), (recent, p[2], DECEMBER)):
        e = Enrollment.objects.get(pk=old_one.pk)
        assert (e.status, e.end_date, e.amount_fen, e.part) == ("ended", day, 0, "")
        assert EnrollmentEvent.objects.filter(enrollment=e).latest("id").kind == "stop"
        assert parts(person) == {LIVING.code: (9_000, day, "active"),
                                 CARE.code: (12_000, day, "active")}
        for split in Enrollment.objects.filter(person=person).exclude(pk=e.pk):
            assert split.payee_account == "6217000011112222"  # copied as stored
            assert split.explanation["split_from"] == e.pk
            assert [(ev.kind, ev.effective_date, ev.amount_fen) for ev in split.events.all()] \
                == [("start", day, split.amount_fen)]
    reviews = ReviewTask.objects.filter(enrollment__person=p[1], status="open")
    assert sorted(reviews.values_list("enrollment__part", flat=True)) == [CARE.code, LIVING.code]
    # cannot be known: kept as it was and marked, with the reason
    for kept, amount in ((changed, 23_000), (unexplained, 18_000)):
        e = Enrollment.objects.get(pk=kept.pk)
        assert (e.part, e.status, e.amount_fen) == ("", "active", amount)
        assert e.part_unknown and e.explanation["part_unknown"]
        assert f"待核实 保障对象 {e.pk}" in printed
    client = Client()
    client.force_login(users.district_approver)
    page = client.get(f"/enrollments/{changed.pk}/").content.decode()
    assert 'id="part-unknown"' in page and "现月保障金与认定依据" not in page
    assert "审批后有过变更" in page
    assert Enrollment.objects.get(pk=ended.pk).explanation.get("part_unknown") is None
    assert Enrollment.objects.get(pk=household.pk).part == ""
    assert "认定为单项 1 个，拆分为两项 2 个，无法区分待核实 2 个，已停保未改 1 个" in printed
    assert AuditEvent.objects.filter(job="benefits 0012_enrollment_part").count() == 1 + 2 * 3 + 2

    # what each person is owed a month is what it was: November and December built after
    officer = users.district_officer
    for month in (NOVEMBER, DECEMBER):
        built = benefits.build_run(by=officer, month=month, area_code="341002")
        owed = {}
        for line in PaymentLine.objects.filter(run=built.run).select_related("enrollment"):
            who = line.enrollment.person_id
            owed[who] = owed.get(who, 0) + line.total_fen
        assert owed[p[1].pk] == 21_000 and owed[p[2].pk] == 21_000, (month, owed)
        # before the split day the old enrollment is paid, from it the parts, never both
        split_day = {p[1].pk: NOVEMBER, p[2].pk: DECEMBER}
        for line in PaymentLine.objects.filter(run=built.run, enrollment__person__in=p[1:3]):
            assert (line.enrollment.part != "") == (month >= split_day[line.enrollment.person_id])
