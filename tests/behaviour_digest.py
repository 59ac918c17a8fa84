"""Behaviour digests: one synthetic district run through the delivery chain, each result
reduced to a SHA-256 over its rows keyed by natural keys (户编号, 身份证号, 救助项目, dates),
so a refactor can show that it changed no rules result, warning, roster or statistic.

The scenario, on a fresh test database holding the areas, the shipped parameters, feed types
and bank layouts and two district users (a maker and a checker):

1. `doudi synth --into-db` builds a small district with a fixed seed and day and loads it
   (registry, 在保类别, enrollments); its department files are imported as the CLI would;
2. the rules evaluate every programme for every household on the day (registry frames);
3. reviews (复核) are scheduled and a monitoring run (监测比对) raises warnings;
4. October's payment run is built, approved, written in the Excel bank layout and settled
   with a bank answer failing some lines; some enrollments are then changed (backdated rises
   and cuts, a stop), and November's run is built (arrears, recoveries, failed lines owed);
5. the monthly statistics of the district for October and November.

The clock (`django.utils.timezone.now`, so `localdate()`, `auto_now_add` too) is frozen on the
day; every API that takes a date is given one. No database key, timestamp or insertion order
enters a digest: rows are serialized as sorted-key JSON with natural keys and sorted as text,
so SQLite and PostgreSQL give the same digests.

    PYTHONPATH=src python -m tests.behaviour_digest            # compare (runs the test)
    PYTHONPATH=src python -m tests.behaviour_digest --write    # regenerate the expected file
    PYTHONPATH=src python -m tests.behaviour_digest --dump DIR # also write each section's rows

Regenerate only on code whose behaviour is meant to change, and say why in the commit.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import hashlib
import io
import itertools
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # the models are imported where used: Django is set up by then
    from doudi.accounts.models import User
    from doudi.benefits.models import PaymentRun

EXPECTED_FILE = Path(__file__).parent / "data" / "behaviour_digests.json"
WRITE_ENV = "DOUDI_BEHAVIOUR_DIGEST_WRITE"  # set: the test writes EXPECTED_FILE
DUMP_ENV = "DOUDI_BEHAVIOUR_DIGEST_DUMP"  # a directory: the test writes each section's rows

# a district of 400 households whose seed enrols someone in each of the seven programmes
AREA = "341002"
HOUSEHOLDS = 400
SEED = 9
PLANT_PER_10K = 250  # planted cases per 10,000 households and kind: ~10 of each kind here
TODAY = dt.date(2026, 11, 2)
WALL_DAY = dt.date(2026, 12, 7)  # the calendar day `clock.today()` reads inside the scenario
NOW = dt.datetime(2026, 11, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
FIRST_MONTH = dt.date(2026, 10, 1)
SECOND_MONTH = dt.date(2026, 11, 1)
FAIL_ONE_IN = 7  # the bank fails the lines whose natural key hashes to 0 modulo this
SCENARIO = {"area": AREA, "households": HOUSEHOLDS, "seed": SEED, "plant": PLANT_PER_10K,
            "today": TODAY.isoformat(), "now": NOW.isoformat(),
            "months": [FIRST_MONTH.isoformat(), SECOND_MONTH.isoformat()]}


# -- canonical rows and digests -------------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        raise TypeError("a timestamp has no place in a behaviour digest")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):  # a backend may give an integral sum as a Decimal
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot put {type(value).__name__} in a behaviour digest")


def canonical(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=_plain)


@dataclass
class Section:
    """The rows of one result as canonical text lines, sorted."""

    lines: list[str]

    @classmethod
    def of(cls, rows: Iterable[dict[str, Any]]) -> Section:
        return cls(sorted(canonical(r) for r in rows))

    @property
    def rows(self) -> int:
        return len(self.lines)

    @property
    def sha256(self) -> str:
        return hashlib.sha256("\n".join(self.lines).encode()).hexdigest()

    def summary(self) -> dict[str, Any]:
        return {"rows": self.rows, "sha256": self.sha256}


@dataclass
class Digests:
    sections: dict[str, Section] = field(default_factory=dict)
    # what the scenario produced, for the test's checks that no digest is vacuous
    facts: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, dict[str, Any]]:
        return {name: s.summary() for name, s in sorted(self.sections.items())}

    def dump(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name, s in self.sections.items():
            (directory / f"{name}.jsonl").write_text("".join(f"{line}\n" for line in s.lines),
                                                     encoding="utf-8")


def differences(expected: dict[str, dict[str, Any]],
                actual: dict[str, dict[str, Any]]) -> list[str]:
    """The sections whose rows or digest differ (or that one side lacks), with the counts."""
    out = []
    for name in sorted(set(expected) | set(actual)):
        e, a = expected.get(name), actual.get(name)
        if e != a:
            out.append(f"{name}: expected {e and e['rows']} rows {e and e['sha256'][:12]}, "
                       f"got {a and a['rows']} rows {a and a['sha256'][:12]}")
    return out


# -- a fixed clock ----------------------------------------------------------------------------

@contextlib.contextmanager
def frozen_now(at: dt.datetime = NOW) -> Iterator[None]:
    """`django.utils.timezone.now` (hence `localdate`, `auto_now`) at `at`, a microsecond later
    at each call so stored times still increase; `clock.today()` on `at`'s day."""
    from django.utils import timezone

    from doudi.core import clock

    real, real_day = timezone.now, clock.real_today
    ticks = itertools.count()
    utc = at.astimezone(dt.UTC)
    timezone.now = lambda: utc + dt.timedelta(microseconds=next(ticks))
    # the bureau's calendar day too: `clock.today()` reads the wall clock in Asia/Shanghai, so
    # without this the digest changed when Beijing's date did (16:00 UTC), not the code. The
    # recorded digests were taken on WALL_DAY, weeks after the scenario's month, so its
    # warnings are overdue.
    clock.real_today = lambda: WALL_DAY
    try:
        yield
    finally:
        timezone.now, clock.real_today = real, real_day


# -- the scenario -----------------------------------------------------------------------------

def build_district(out: Path) -> dict[str, Any]:
    """The synthetic district in the registry with its department files imported; returns the
    import outcome of each feed."""
    from django.core.management import call_command

    from doudi.exchange.imports import import_file
    from doudi.exchange.models import FeedType
    from doudi.synth.feeds.layouts import LAYOUTS

    call_command("synth", "--area", AREA, "--households", str(HOUSEHOLDS), "--seed", str(SEED),
                 "--plant", str(PLANT_PER_10K), "--into-db", "--out", str(out),
                 "--today", TODAY.isoformat(), stdout=StringIO())
    imported = {}
    for layout in sorted(LAYOUTS, key=lambda x: x.key):
        outcome = import_file(FeedType.objects.get(key=layout.key),
                              out / "feeds" / f"{layout.file_stem}.csv", user=None,
                              channel="cli")
        imported[layout.key] = dict(outcome.counts)
    return imported


def _natural_line_key(number: str, id_number: str | None, programme: str) -> int:
    text = f"{number}|{id_number or ''}|{programme}"
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def _line_keys(run: PaymentRun) -> dict[str, tuple[str, str | None, str, str]]:
    """Payment line id (the bank file's 流水号) → (户编号, 身份证号, 项目, 组成部分)."""
    return {str(pk): (number, id_number, programme, part)
            for pk, number, id_number, programme, part in run.lines.values_list(
                "pk", "enrollment__household__number", "enrollment__person__id_number",
                "enrollment__programme", "enrollment__part")}


def pay_first_month(maker: User, checker: User) -> tuple[PaymentRun, list[dict[str, str]]]:
    """October's run built, approved, exported (Excel layout) and settled; returns the run and
    the bank file's rows with the 流水号 replaced by the line's natural key."""
    from doudi.benefits import bank_files, bank_layouts
    from doudi.benefits import services as benefits

    built = benefits.build_run(by=maker, month=FIRST_MONTH, area_code=AREA)
    benefits.approve_run(by=checker, run=built.run, opinion="经审核，同意")
    data, _, _ = bank_files.bank_file(by=maker, run=built.run, layout="excel")
    rows = bank_layouts.result_rows(data)
    keys = _line_keys(built.run)
    answer = io.StringIO()
    writer = csv.writer(answer)
    writer.writerow(["流水号", "结果", "失败原因"])
    shown = []
    for r in rows:
        number, id_number, programme, part = keys[r["流水号"]]
        # the parts of one person's programme share their fate: a frozen account fails both
        failed = _natural_line_key(number, id_number, programme) % FAIL_ONE_IN == 0
        writer.writerow([r["流水号"], "失败" if failed else "成功", "账户冻结" if failed else ""])
        shown.append({**{k: v for k, v in r.items() if k != "流水号"}, "household": number,
                      "person": id_number, "programme": programme, "part": part})
    bank_files.bank_result(by=maker, run=built.run, data=answer.getvalue().encode("utf-8"))
    return built.run, shown


def change_enrollments() -> list[dict[str, Any]]:
    """Dated changes after October was paid, on the subjects (household or person) chosen by
    natural key: backdated rises and cuts (arrears and recoveries in November) and a stop. A
    rise or cut changes a subject's first part (两项补贴's living subsidy where it has one); a
    stop ends every part, as a death or a move away does."""
    from doudi.benefits import services as benefits
    from doudi.benefits.models import Enrollment
    from doudi.programmes import catalogue

    order = {u.code: n for p in catalogue.programmes() for n, u in enumerate(p.parts)}

    def subject(e: Enrollment) -> tuple[str, str, str]:
        return (e.programme, e.household.number, e.person.id_number if e.person else "")

    paid = sorted(Enrollment.objects.filter(amount_fen__gt=0, start_date__lt=FIRST_MONTH)
                  .select_related("household", "person"),
                  key=lambda e: (*subject(e), order.get(e.part, 0)))
    plan = [("increase", FIRST_MONTH, 5_000), ("decrease", FIRST_MONTH, -3_000),
            ("stop", dt.date(2026, 11, 15), 0)]
    done = []
    # one change of each kind in each programme that pays, the first subjects by key
    for programme, group in itertools.groupby(paid, key=lambda e: e.programme):
        subjects = [list(parts) for _, parts in itertools.groupby(group, key=subject)]
        for parts, (kind, day, delta) in zip(subjects, plan, strict=False):
            for e in parts if kind == "stop" else parts[:1]:
                amount = max(e.amount_fen + delta, 100) if kind != "stop" else None
                benefits.change(by=None, enrollment=e, kind=kind, effective_date=day,
                                amount_fen=amount, reason="行为摘要场景")
                done.append({"programme": programme, "household": e.household.number,
                             "kind": kind, "person": e.person.id_number if e.person else None,
                             "part": e.part})
    return done


def run_monitoring() -> None:
    from django.core.management import call_command

    call_command("monitor", "--area", AREA, "--as-of", TODAY.isoformat(), stdout=StringIO())


def schedule_reviews() -> int:
    from doudi.benefits.reviews import schedule

    return schedule(TODAY)


# -- the sections -----------------------------------------------------------------------------

def _is_result(column: str) -> bool:
    """A programme's eligibility or amount column (`dibao.eligible`, `disability.care_amount`,
    `taper.amounts`): the rest of a programme's columns are its criteria and steps."""
    name = column.split(".", 1)[1]
    return "eligible" in name or "amount" in name


def _json_value(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value


def rules_sections(day: dt.date) -> dict[str, Section]:
    """Every programme for every registered household on `day`, with the database's
    parameters: eligibility and amounts, and the other programme columns (criteria)."""
    from doudi.policy.services import parameter_set
    from doudi.registry.models import Household, Person
    from doudi.registry.rules_input import build_frames
    from doudi.rules.engine import evaluate

    h, m = build_frames(Household.objects.all(), day)
    result = evaluate(h, m, parameter_set(), day)
    numbers = {str(k): v for k, v in Household.objects.values_list("id", "number")}
    ids = {str(k): v for k, v in Person.objects.values_list("id", "id_number")}
    out: dict[str, list[dict]] = {"rules_results": [], "rules_criteria": []}
    for level, frame in (("household", result.households), ("member", result.members)):
        programme_cols = [c for c in frame.columns if "." in c]
        for row in frame.iter_rows(named=True):
            key = {"level": level, "household": numbers[str(row["household_id"])]}
            if level == "member":
                key["person"] = ids[str(row["member_id"])]
            for section, cols in (("rules_results", [c for c in programme_cols if _is_result(c)]),
                                  ("rules_criteria",
                                   [c for c in programme_cols if not _is_result(c)])):
                out[section].append({**key, "values": {c: _json_value(row[c]) for c in cols}})
    return {name: Section.of(rows) for name, rows in out.items()}


def warning_sections() -> dict[str, Section]:
    from doudi.monitoring.models import Warning

    rows, evidence = [], []
    for w in Warning.objects.select_related("household", "person"):
        key = {"indicator": w.indicator, "kind": w.kind, "level": w.level,
               "household": w.household.number if w.household else None,
               "person": w.person.id_number if w.person else None,
               "programme": w.programme, "event_date": w.event_date}
        rows.append({**key, "channel": w.channel, "source": w.source, "summary": w.summary,
                     "fingerprint": w.fingerprint, "status": w.status,
                     "handler_level": w.handler_level, "owner_code": w.owner_code,
                     "area_code": w.area_code, "due_on": w.due_on,
                     "due_provisional": w.due_provisional})
        evidence.append({**key, "evidence": w.evidence})
    return {"warnings": Section.of(rows), "warning_evidence": Section.of(evidence)}


def roster_section(month: dt.date) -> Section:
    from doudi.benefits.models import PaymentLine

    lines = PaymentLine.objects.filter(month=month).values_list(
        "enrollment__household__number", "enrollment__person__id_number",
        "enrollment__programme", "enrollment__part", "enrollment__payee_name",
        "enrollment__bank", "area_code", "regular_fen", "arrears_fen", "recovery_fen",
        "total_fen", "status", "failure", "run__status", "enrollment__id")
    accounts = _accounts()
    return Section.of(
        {"household": number, "person": id_number, "programme": programme, "part": part,
         "payee": payee, "bank": bank, "account": accounts[eid], "area_code": area,
         "regular_fen": regular, "arrears_fen": arrears, "recovery_fen": recovery,
         "total_fen": total, "status": status, "failure": failure, "run_status": run_status}
        for number, id_number, programme, part, payee, bank, area, regular, arrears, recovery,
        total, status, failure, run_status, eid in lines)


def _accounts() -> dict[int, str]:
    """Enrollment id → 收款账号 (an encrypted column: read through the model)."""
    from doudi.benefits.models import Enrollment

    return {e.pk: e.payee_account for e in Enrollment.objects.only("id", "payee_account")}


def enrolment_sections(out: Path) -> dict[str, Section]:
    """The enrolments `doudi synth` wrote (enrolments.parquet: every covered programme and
    unit with its amount), and what the registry holds after the load: 在保类别 and
    enrollments with their events (before the scenario's changes)."""
    import polars as pl

    from doudi.benefits.models import Enrollment, EnrollmentEvent
    from doudi.registry.models import CategoryAssignment

    households = pl.read_parquet(out / "households.parquet").select("household_id", "number")
    persons = pl.read_parquet(out / "persons.parquet").select("person_id", "id_number")
    synthetic = (pl.read_parquet(out / "enrolments.parquet")
                 .join(households, on="household_id", how="left")
                 .join(persons, on="person_id", how="left")
                 .drop("household_id", "person_id"))
    categories = CategoryAssignment.objects.values_list(
        "category", "household__number", "person__id_number", "start_date", "end_date",
        "area_code")
    accounts = _accounts()
    enrollments = Enrollment.objects.values_list(
        "id", "programme", "part", "household__number", "person__id_number", "status",
        "amount_fen", "start_date", "end_date", "payee_name", "bank", "area_code")
    events = EnrollmentEvent.objects.values_list(
        "enrollment__programme", "enrollment__part", "enrollment__household__number",
        "enrollment__person__id_number", "kind", "effective_date", "amount_fen",
        "previous_fen")
    return {
        "synth_enrolments": Section.of(synthetic.to_dicts()),
        "registry_categories": Section.of(
            {"category": c, "household": h, "person": p, "start_date": s, "end_date": e,
             "area_code": a} for c, h, p, s, e, a in categories),
        "registry_enrollments": Section.of(
            {"programme": prog, "part": part, "household": h, "person": p, "status": st,
             "amount_fen": amt, "start_date": s, "end_date": e, "payee": payee, "bank": bank,
             "account": accounts[eid], "area_code": a}
            for eid, prog, part, h, p, st, amt, s, e, payee, bank, a in enrollments),
        "registry_enrollment_events": Section.of(
            {"programme": prog, "part": part, "household": h, "person": p, "kind": k,
             "effective_date": d, "amount_fen": amt, "previous_fen": prev}
            for prog, part, h, p, k, d, amt, prev in events),
    }


def review_section() -> Section:
    from doudi.benefits.models import ReviewTask

    return Section.of(
        {"programme": prog, "part": part, "household": h, "person": p, "due_date": due,
         "status": st, "area_code": a}
        for prog, part, h, p, due, st, a in ReviewTask.objects.values_list(
            "enrollment__programme", "enrollment__part", "enrollment__household__number",
            "enrollment__person__id_number", "due_date", "status", "area_code"))


def statistics_section(months: Iterable[dt.date]) -> Section:
    from doudi.reports.statistics import month_table

    rows = []
    for month in months:
        table = month_table(AREA, month)
        for child, figures in [*table.rows.items(), ("*", table.total)]:
            for figure, value in figures.items():
                rows.append({"area": AREA, "month": month, "child": child, "figure": figure,
                             "value": value})
    return Section.of(rows)


def input_sections(out: Path) -> dict[str, Section]:
    """What the scenario starts from: the synthetic population and the department files as
    `doudi synth` wrote them (a difference here explains differences further on)."""
    import polars as pl

    population = [
        {"table": name, **row}
        for name in ("households", "persons")
        for row in pl.read_parquet(out / f"{name}.parquet").drop(
            "household_id", "person_id", strict=False).to_dicts()]
    feeds = [{"file": p.relative_to(out).as_posix(),
              "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
             for p in sorted((out / "feeds").glob("*.csv"))]
    return {"synth_population": Section.of(population), "synth_feed_files": Section.of(feeds)}


def compute(out: Path, maker: User, checker: User) -> Digests:
    """Run the scenario on the current (fresh) test database, writing the synthetic district
    into `out`; `maker` builds payment runs, `checker` approves them."""
    from doudi.audit import context
    from doudi.benefits import services as benefits
    from doudi.benefits.models import PaymentLine
    from doudi.monitoring.models import Warning

    digests = Digests()
    s = digests.sections
    with frozen_now(), context.job("behaviour digest"):
        imported = build_district(out)
        s["feed_imports"] = Section.of({"feed": k, **v} for k, v in imported.items())
        s.update(input_sections(out))
        s.update(enrolment_sections(out))
        s.update(rules_sections(TODAY))
        digests.facts["reviews_scheduled"] = schedule_reviews()
        s["reviews"] = review_section()
        run_monitoring()
        s.update(warning_sections())
        _, bank_rows = pay_first_month(maker, checker)
        s["bank_file"] = Section.of(bank_rows)
        s["roster_" + FIRST_MONTH.strftime("%Y_%m")] = roster_section(FIRST_MONTH)
        changes = change_enrollments()
        s["enrollment_changes"] = Section.of(changes)
        benefits.build_run(by=maker, month=SECOND_MONTH, area_code=AREA)
        s["roster_" + SECOND_MONTH.strftime("%Y_%m")] = roster_section(SECOND_MONTH)
        s["statistics"] = statistics_section((FIRST_MONTH, SECOND_MONTH))
    digests.facts.update(
        warning_kinds=sorted(set(Warning.objects.values_list("kind", flat=True))),
        warning_indicators=sorted(set(Warning.objects.values_list("indicator", flat=True))),
        failed_lines=PaymentLine.objects.filter(status=PaymentLine.FAILED).count(),
        arrears_lines=PaymentLine.objects.filter(month=SECOND_MONTH, arrears_fen__gt=0).count(),
        recovery_lines=PaymentLine.objects.filter(month=SECOND_MONTH,
                                                  recovery_fen__gt=0).count(),
        changes=changes)
    return digests


def expected() -> dict[str, Any]:
    return json.loads(EXPECTED_FILE.read_text(encoding="utf-8"))


def write_expected(digests: Digests) -> None:
    EXPECTED_FILE.write_text(json.dumps({
        "note": ("SHA-256 per section of the behaviour digest scenario (tests/behaviour_digest"
                 ".py), generated on the code before the refactor of issue #20. Regenerate with "
                 "`PYTHONPATH=src python -m tests.behaviour_digest --write` (runs "
                 "tests/test_behaviour_digest.py on SQLite) only when behaviour is meant to "
                 "change."),
        "scenario": SCENARIO,
        "sections": digests.summary(),
    }, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the digest test (pytest, SQLite test database), writing or comparing."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="regenerate " + EXPECTED_FILE.name)
    parser.add_argument("--dump", type=Path, help="write each section's rows (.jsonl) here")
    args = parser.parse_args(argv)
    import pytest

    if args.write:
        os.environ[WRITE_ENV] = "1"
    if args.dump:
        os.environ[DUMP_ENV] = str(args.dump.resolve())
    return int(pytest.main([str(Path(__file__).parent / "test_behaviour_digest.py"), "-q",
                            "-p", "no:cacheprovider"]))


if __name__ == "__main__":
    sys.exit(main())
