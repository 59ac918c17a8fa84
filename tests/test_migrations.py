"""Every model change has its migration: a fresh database built from the migrations is the
database the code expects. Data migrations are run for real: the database is migrated back to
the state before one, given rows through that state's historical models, and migrated
forward again by `migrate` itself."""

from __future__ import annotations

import ast
import datetime as dt
import importlib
import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from doudi.audit import chain
from doudi.audit.models import AuditEvent
from doudi.benefits import status_reconcile, status_rules
from doudi.registry.models import CategoryAssignment
from tests.conftest import OTHER_TOWN_VILLAGE, VILLAGE, make_household

STATUS = ("benefits", "0014_programme_status_from_enrollments")
STATUS_MODULE = "doudi.benefits.migrations." + STATUS[1]


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration() -> None:
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:
        pytest.fail(f"models changed without a migration (exit {exc.code}):\n{out.getvalue()}")


# ---- benefits 0014: programme status from the enrollments --------------------------------

def test_status_migration_uses_no_current_model_code() -> None:
    """It must keep working after the code changes: Django, and the pure decision function
    (which itself imports nothing of Django), nothing else."""
    path = Path(importlib.import_module(STATUS_MODULE).__file__)
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            imported |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
    assert {m for m in imported if not m.startswith("django.")} == \
        {"doudi.benefits.status_rules"}, imported
    code = ("import sys; import doudi.benefits.status_rules; "
            "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]; "
            "assert not bad, bad[:5]")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr


def test_status_migration_froze_the_catalogue_of_its_day() -> None:
    """Its frozen table is what the catalogue said when it was written. Should the catalogue
    change later, change this expectation, never the migration."""
    frozen = importlib.import_module(STATUS_MODULE).PROGRAMMES
    assert frozen == status_reconcile.programmes()


def _state_before(target: tuple[str, str]) -> tuple[str, list[tuple[str, str]]]:
    """The benefits migration just before `target` (the merge may rechain it) and all of
    `target`'s parents."""
    loader = MigrationLoader(connection)
    parents = sorted(p.key for p in loader.graph.node_map[target].parents)
    benefits = [name for app, name in parents if app == target[0]]
    assert len(benefits) == 1, parents
    return benefits[0], parents


@pytest.mark.django_db(transaction=True)
def test_status_migration_maps_categories_onto_enrollments(
        flushable_audit_log, world, new_id, capsys) -> None:
    today = timezone.localdate()

    def ago(days: int) -> dt.date:
        return today - dt.timedelta(days=days)

    u = world.users
    hh = {n: make_household(u.district_approver, VILLAGE if n % 2 else OTHER_TOWN_VILLAGE,
                            new_id) for n in range(1, 12)}
    heads = {n: h.head() for n, h in hh.items()}
    spouse = {n: h.memberships.exclude(person=heads[n]).get().person for n, h in hh.items()}

    previous, parents = _state_before(STATUS)
    call_command("migrate", STATUS[0], previous, verbosity=0, stdout=io.StringIO())
    old = MigrationLoader(connection).project_state(parents).apps
    Enrollment = old.get_model("benefits", "Enrollment")
    Category = old.get_model("registry", "CategoryAssignment")

    def enrol(n: int, programme: str, start: dt.date, end: dt.date | None = None,
              person=None):
        return Enrollment.objects.create(
            household_id=hh[n].pk, person_id=person.pk if person else None,
            programme=programme, status="ended" if end and end <= today else "active",
            amount_fen=40_000, start_date=start, end_date=end, area_code=hh[n].area_code)

    def category(code: str, start: dt.date, end: dt.date | None = None, n: int | None = None,
                 person=None) -> int:
        owner = {"person_id": person.pk} if person else {"household_id": hh[n].pk}
        return Category.objects.create(category=code, start_date=start, end_date=end,
                                       note="手工录入", area_code=(person or hh[n]).area_code,
                                       **owner).pk

    # 1: 低保 category outliving its enrollment → ended when the enrollment ended
    ended_1 = category("dibao", ago(700), n=1)
    enrol(1, "dibao", ago(700), ago(60))
    # 2: 低保 in force without a category → one from the enrollment's start
    enrol(2, "dibao", ago(300))
    # 3: 低保 category without any enrollment → reported, unchanged
    unsettled_3 = category("dibao", ago(200), n=3)
    # 4: 特困 of one member in force without a category → the person's, not the household's
    enrol(4, "tekun", ago(100), person=spouse[4])
    # 5: 特困 category of a member whose enrollment ended → ended
    ended_5 = category("tekun", ago(400), person=heads[5])
    enrol(5, "tekun", ago(400), ago(30), person=heads[5])
    # 6: 单人保 counts as 低保: in force without a category → the household's 低保 opened
    enrol(6, "single_person", ago(90), person=heads[6])
    # 7: 低保 category with 单人保 in force → left alone
    kept_7 = category("dibao", ago(90), n=7)
    enrol(7, "single_person", ago(90), person=heads[7])
    # 8: several enrollments, one still in force → left alone
    kept_8 = category("dibao", ago(900), n=8)
    enrol(8, "dibao", ago(900), ago(500))
    enrol(8, "dibao", ago(480))
    # 9: several enrollments, all ended → ended with the last one
    ended_9 = category("dibao", ago(900), n=9)
    enrol(9, "dibao", ago(900), ago(600))
    enrol(9, "dibao", ago(550), ago(45))
    # 10: a category ended by hand while the enrollment runs on → reopened from its end
    category("dibao", ago(800), ago(200), n=10)
    enrol(10, "dibao", ago(800))
    # 11: what is not for this migration: a stop falling due later, a start next month,
    # a recognition without payment (低保边缘) and a fact (留守老人)
    kept_11 = category("dibao", ago(50), n=11)
    enrol(11, "dibao", ago(50), today + dt.timedelta(days=20))
    enrol(11, "tekun", today + dt.timedelta(days=30), person=spouse[11])
    edge_11 = category("edge", ago(10), n=11)
    fact_11 = category("left_behind_elderly", ago(10), person=heads[11])
    before_events = AuditEvent.objects.count()

    call_command("migrate", verbosity=0, stdout=io.StringIO())

    printed = capsys.readouterr().out
    assert "在保状态对账" in printed and "终止 3，补认定 4；待核实 1" in printed, printed
    rows = CategoryAssignment.objects.all()
    get = {pk: rows.get(pk=pk) for pk in (ended_1, ended_5, ended_9, unsettled_3, kept_7,
                                           kept_8, kept_11, edge_11, fact_11)}
    assert get[ended_1].end_date == ago(60) and "随停发终止" in get[ended_1].note
    assert get[ended_5].end_date == ago(30)
    assert get[ended_9].end_date == ago(45)
    for pk in (unsettled_3, kept_7, kept_8, kept_11, edge_11, fact_11):
        assert get[pk].end_date is None and get[pk].note == "手工录入", pk

    def opened(**owner: int) -> list[tuple[str, dt.date, str]]:
        return list(rows.filter(end_date__isnull=True, note__contains="随在保记录认定", **owner)
                    .values_list("category", "start_date", "area_code"))

    assert opened(household=hh[2].pk) == [("dibao", ago(300), hh[2].area_code)]
    assert opened(person=spouse[4].pk) == [("tekun", ago(100), spouse[4].area_code)]
    assert opened(household=hh[4].pk) == []
    assert opened(household=hh[6].pk) == [("dibao", ago(90), hh[6].area_code)]
    assert opened(household=hh[10].pk) == [("dibao", ago(200), hh[10].area_code)]
    assert opened(person=spouse[11].pk) == [] and rows.filter(note__contains="补正").count() == 7

    # the report in the audit log: a row per change, as the models would write it, and a
    # summary naming the category left to verify; sealed into the chain when migrate ended
    events = AuditEvent.objects.filter(job="migrate benefits 0014")
    assert AuditEvent.objects.count() == before_events + events.count()
    per_row = events.exclude(object_id="")
    assert sorted(int(e.object_id) for e in per_row.filter(action="update")) == \
        sorted([ended_1, ended_5, ended_9])
    assert per_row.filter(action="create").count() == 4
    assert per_row.get(object_id=str(ended_1)).changes["end_date"] == [None, str(ago(60))]
    assert per_row.get(object_id=str(ended_5)).area_code == heads[5].area_code
    summary = events.get(object_id="")
    assert (summary.changes["ended"], summary.changes["opened"],
            summary.changes["unsettled"]) == (3, 4, 1)
    assert summary.changes["unsettled_rows"] == [f"待核实（无在保记录）：低保 household#{hh[3].pk}"
                                                 f"（自 {ago(200)}）"]
    assert not AuditEvent.objects.filter(chain_seq__isnull=True).exists()
    assert chain.verify(AuditEvent, grace=dt.timedelta(0)).ok

    # the command decides alike: nothing left to change, the same category to verify
    again = status_reconcile.reconcile()
    assert (again.ended, again.opened) == ([], [])
    assert [x.category_id for x in again.unsettled] == [unsettled_3]


# ---- the decision itself, on plain rows --------------------------------------------------

D = dt.date
DIBAO = status_rules.StatusProgramme("dibao", "低保", status_rules.HOUSEHOLD,
                                     ("dibao", "single_person"))
TEKUN = status_rules.StatusProgramme("tekun", "特困", status_rules.MEMBER, ("tekun",))


def _e(programme: str, household: int, start: D, end: D | None = None,
       person: int | None = None) -> status_rules.EnrollmentRow:
    return status_rules.EnrollmentRow(programme, household, person, start, end)


def _c(pk: int, category: str, start: D, end: D | None = None, household: int | None = None,
       person: int | None = None) -> status_rules.CategoryRow:
    return status_rules.CategoryRow(pk, category, household, person, start, end)


def test_a_category_is_never_ended_before_it_began() -> None:
    """Typed after the last enrollment ended: ended on its own first day, not before it."""
    plan = status_rules.decide([DIBAO], [_e("dibao", 1, D(2024, 1, 1), D(2024, 6, 1))],
                               [_c(7, "dibao", D(2025, 1, 1), household=1)], D(2026, 1, 1))
    assert [(x.category_id, x.end_date) for x in plan.ended] == [(7, D(2025, 1, 1))]


def test_an_enrollment_ending_on_the_day_has_ended() -> None:
    """As coverage counts it: not in force on its end date."""
    day = D(2026, 3, 1)
    plan = status_rules.decide([DIBAO], [_e("dibao", 1, D(2025, 1, 1), day)],
                               [_c(1, "dibao", D(2025, 1, 1), household=1)], day)
    assert [x.end_date for x in plan.ended] == [day]
    later = status_rules.decide([DIBAO], [_e("dibao", 1, D(2025, 1, 1), day)],
                                [_c(1, "dibao", D(2025, 1, 1), household=1)],
                                day - dt.timedelta(days=1))
    assert not later


def test_member_programmes_belong_to_the_person() -> None:
    """特困 enrolled without a person owns no category; a household-level 特困 row is not the
    person's, so it is reported and the person still gets one."""
    day = D(2026, 1, 1)
    plan = status_rules.decide(
        [DIBAO, TEKUN],
        [_e("tekun", 1, D(2025, 1, 1)), _e("tekun", 2, D(2025, 2, 1), person=20),
         _e("dibao", 2, D(2025, 3, 1))],
        [_c(1, "tekun", D(2025, 2, 1), household=2), _c(2, "dibao", D(2025, 3, 1), household=2)],
        day)
    assert [(x.category, x.owner, x.start_date) for x in plan.opened] == \
        [("tekun", ("person", 20), D(2025, 2, 1))]
    assert [(x.category_id, x.owner) for x in plan.unsettled] == [(1, ("household", 2))]
    assert not plan.ended


def test_the_report_reads_as_the_command_prints_it() -> None:
    plan = status_rules.decide([DIBAO], [_e("single_person", 3, D(2025, 5, 1), person=30)], [],
                               D(2026, 1, 1))
    assert plan.lines() == ["补认定：低保 household#3 自 2025-05-01"]
    assert plan.counts() == {"ended": 0, "opened": 1, "unsettled": 0}


# ---- policy 0004: working-day limits say 工作日 ---------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_time_limits_move_to_working_days_and_references_to_words(
        flushable_audit_log, shipped_parameters) -> None:
    target = ("policy", "0004_workdays_unit")
    module = importlib.import_module("doudi.policy.migrations." + target[1])
    call_command("migrate", "policy", "0003_days_unit", verbosity=0, stdout=io.StringIO())
    old = MigrationLoader(connection).project_state([("policy", "0003_days_unit")]).apps
    Row = old.get_model("policy", "PolicyParameter")
    assert not Row.objects.filter(unit="workdays").exists()  # taken back by the reverse
    # a local row as an earlier release stored it, and a shipped reference with codes
    Row.objects.create(key="casework.deadline.decision", area_code="341002",
                       effective_from=dt.date(2030, 1, 1), value="8", unit="days",
                       reference="本地文件", source="local")
    old_reference, new_reference = next(iter(module.REFERENCES.items()))
    Row.objects.filter(key="dibao.rounding.mode", source="shipped").update(
        reference=old_reference)
    calendar = Row.objects.filter(key="casework.publicity_days").count()
    call_command("migrate", "policy", verbosity=0, stdout=io.StringIO())

    from doudi.policy.models import PolicyParameter

    deadlines = PolicyParameter.objects.filter(key__contains=".deadline.")
    assert deadlines.count() >= 10 and set(deadlines.values_list("unit", flat=True)) == \
        {"workdays"}
    assert PolicyParameter.objects.filter(key="casework.publicity_days", unit="days").count() \
        == calendar  # 公示 runs calendar days
    assert set(PolicyParameter.objects.filter(key="dibao.rounding.mode")
               .values_list("reference", flat=True)) == {new_reference}
    event = AuditEvent.objects.get(job="migrate policy 0004")
    assert event.changes["rows"] == deadlines.count() and event.changes["references"] >= 1


# ---- casework 0011: the 文号 of decisions made before it ------------------------------------

@pytest.mark.django_db(transaction=True)
def test_past_decisions_are_numbered_in_the_order_made_by_the_body_that_made_them(
        flushable_audit_log, world) -> None:
    from doudi.casework.models import DecisionDocument

    target = ("casework", "0011_decision_documents")
    call_command("migrate", "casework", "0010_consent_evidence", verbosity=0,
                 stdout=io.StringIO())
    loader = MigrationLoader(connection)
    old = loader.project_state(sorted(p.key for p in loader.graph.node_map[target].parents)).apps
    Application = old.get_model("casework", "Application")
    Event = old.get_model("casework", "ApplicationEvent")
    u = world.users

    def decided(n: int, household, day: dt.date, by=None, decision: str = "approved"):
        app = Application.objects.create(
            number=f"SQ2025MIGR{n:05d}", programme="dibao", channel="village", state="notice",
            household_id=household.pk, reason="迁移测试", submitted_on=day, step_started_on=day,
            decision=decision, decided_on=day, area_code=household.area_code)
        if by is not None:
            Event.objects.create(application=app, action="approve", from_state="decision",
                                 to_state="notice", actor_id=by.pk, actor_name=by.username,
                                 area_code=household.area_code)
        return app

    later = decided(1, world.village_hh, dt.date(2025, 9, 1), u.town_approver)
    earlier = decided(2, world.same_town_hh, dt.date(2025, 3, 1), u.town_approver, "refused")
    district = decided(3, world.village_hh, dt.date(2025, 5, 1), u.district_approver)
    unrecorded = decided(4, world.other_town_hh, dt.date(2025, 6, 1))
    undecided = Application.objects.create(
        number="SQ2025MIGR00005", programme="dibao", channel="village", state="accepted",
        household_id=world.village_hh.pk, reason="迁移测试", submitted_on=dt.date(2025, 6, 1),
        step_started_on=dt.date(2025, 6, 1), area_code=world.village_hh.area_code)
    call_command("migrate", verbosity=0, stdout=io.StringIO())
    numbers = dict(DecisionDocument.objects.values_list("application_id", "number"))
    assert numbers == {earlier.pk: "黎阳镇人民政府〔2025〕1号",
                       later.pk: "黎阳镇人民政府〔2025〕2号",
                       district.pk: "屯溪区民政局〔2025〕1号",
                       unrecorded.pk: "屯光镇人民政府〔2025〕1号"}
    assert undecided.pk not in numbers
