"""Enrolments of a synthetic district into the registry (在保类别): the programme categories the
district's `enrolments` frame records (computed by the rules on the synthetic population, see
`doudi.synth.enrolments`), matched to the loaded households by 户编号 and to persons by ID.
One audit row for the whole load (bulk inserts bypass the per-row audit signals)."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl
from django.db import transaction

from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.programmes import catalogue
from doudi.registry.categories import CATEGORIES
from doudi.registry.models import CategoryAssignment, Household, Person


@dataclass
class EnrolReport:
    counts: dict[str, int] = field(default_factory=dict)
    enrollments: int = 0


def load_enrolments(enrolments: pl.DataFrame, households: pl.DataFrame,
                    persons: pl.DataFrame) -> EnrolReport:
    """Insert a category per covered (programme, household or person) of `enrolments`;
    `households` and `persons` are the synthetic frames the registry was loaded from."""
    setting = catalogue.category_setting()
    rows = enrolments.filter(pl.col("covered") & pl.col("programme").is_in(list(setting)))
    rows = rows.join(households.select("household_id", "number"), on="household_id",
                     how="left").join(persons.select("person_id", "id_number"), on="person_id",
                                      how="left")
    numbers = rows["number"].unique().to_list()
    ids = rows["id_number"].drop_nulls().unique().to_list()
    household_pk = dict(Household.objects.filter(number__in=numbers)
                        .values_list("number", "id"))
    person_pk = {}
    for start in range(0, len(ids), 5_000):
        person_pk.update(Person.objects.filter(id_number__in=ids[start:start + 5_000])
                         .values_list("id_number", "id"))
    report = EnrolReport()
    made = []
    for r in rows.iter_rows(named=True):
        category = setting[r["programme"]]
        person_level = CATEGORIES[category].level == "P"
        made.append(CategoryAssignment(
            household_id=None if person_level else household_pk[r["number"]],
            person_id=person_pk[r["id_number"]] if person_level else None,
            category=category, start_date=r["start_date"], area_code=r["area_code"]))
        report.counts[category] = report.counts.get(category, 0) + 1
    with transaction.atomic():
        CategoryAssignment.objects.bulk_create(made, batch_size=2_000)
        audit.record(AuditEvent.IMPORT, object_type="registry.categoryassignment",
                     object_label="按规则测算登记在保类别（合成数据）", changes=report.counts)
    report.enrollments = _enrollments(enrolments, households, persons)
    return report


def _enrollments(enrolments: pl.DataFrame, households: pl.DataFrame,
                 persons: pl.DataFrame) -> int:
    """Every covered programme with an amount as a benefits enrollment with its start event,
    payee the person (or the household head) and a synthetic 一卡通 account, set directly as
    data loading (`payees.loaded_payee`), not through a change request. A programme paid in
    parts (两项补贴) is enrolled part by part, each with its own amount."""
    from doudi.benefits import banks, payees
    from doudi.benefits.models import Enrollment, EnrollmentEvent

    # the frame names a part by its code (as monitoring does): the enrollment by programme+part
    parts = {part: code for code, group in catalogue.cover_groups().items() for part in group}
    rows = (enrolments.filter(pl.col("covered") & (pl.col("monthly_amount") > 0))
            .with_columns(pl.when(pl.col("programme").is_in(list(parts)))
                          .then(pl.col("programme")).otherwise(pl.lit("")).alias("part"),
                          pl.col("programme").replace(parts))
            .join(households.select("household_id", "number"), on="household_id", how="left")
            .join(persons.select("person_id", "id_number", pl.col("name").alias("own_name")),
                  on="person_id", how="left")
            .join(persons.filter(pl.col("relation") == "head").select(
                "household_id", pl.col("name").alias("head_name"),
                pl.col("id_number").alias("head_id")), on="household_id", how="left"))
    numbers = rows["number"].unique().to_list()
    household_pk = dict(Household.objects.filter(number__in=numbers).values_list("number", "id"))
    ids = pl.concat([rows["id_number"], rows["head_id"]]).drop_nulls().unique().to_list()
    person_pk: dict[str, int] = {}
    for start in range(0, len(ids), 5_000):
        person_pk.update(Person.objects.filter(id_number__in=ids[start:start + 5_000])
                         .values_list("id_number", "id"))
    made = []
    for r in rows.iter_rows(named=True):
        seed = (r["household_id"] * 7919 + (r["person_id"] or 0) * 104729) % 10**15
        holder = r["id_number"] if r["own_name"] else r["head_id"]
        # a synthetic 一卡通 account (a passbook account: no Luhn digit), loaded as approved
        payee = payees.loaded_payee(
            name=r["own_name"] or r["head_name"] or "", account=f"6217{seed:015d}",
            bank="徽商银行", account_kind=banks.PASSBOOK, person_id=person_pk.get(holder))
        made.append(Enrollment(
            household_id=household_pk[r["number"]],
            person_id=person_pk.get(r["id_number"]) if r["id_number"] else None,
            programme=r["programme"], part=r["part"],
            amount_fen=r["monthly_amount"], start_date=r["start_date"],
            area_code=r["area_code"], **payee))
    with transaction.atomic():
        Enrollment.objects.bulk_create(made, batch_size=2_000)
        created = Enrollment.objects.filter(household_id__in=list(household_pk.values()))
        EnrollmentEvent.objects.bulk_create([
            EnrollmentEvent(enrollment=e, kind="start", effective_date=e.start_date,
                            amount_fen=e.amount_fen, reason="按规则测算纳入（合成数据）",
                            area_code=e.area_code) for e in created], batch_size=2_000)
        audit.record(AuditEvent.IMPORT, object_type="benefits.enrollment",
                     object_label=f"登记保障对象 {len(made)} 个（合成数据）",
                     changes={"enrollments": len(made)})
    return len(made)
