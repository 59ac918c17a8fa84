"""The registry as the rules engine reads it (规则测算输入): household and member frames as of a
day, built from current memberships, person facts, open categories, the enrollments in force
and the latest economic observation of each item.

Income and expenses are monthly observations; the facts that count on the day are those
`registry.facts.current` names (the latest of each member's item, neither superseded by a
correction nor ended). Household-level income (no person) is counted with the head. Earned
income is wages (工资性收入) and business income (经营净收入).

Read for a whole district at once: one query per table, each restricted to the households
asked for by a subquery, read on the database cursor into Polars (`cursor_frames`) and put
together there. No resident ID is decrypted, except a person's whose sex is not recorded
(the rules then take it from the ID).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl
from django.db.models import Q, QuerySet

from doudi.core.ages import age_on
from doudi.programmes import catalogue
from doudi.registry import facts
from doudi.registry.cursor_frames import as_text, read_frame
from doudi.registry.fields import STORE
from doudi.registry.models import CategoryAssignment, Household, Membership, Observation
from doudi.rules.frames import HOUSEHOLD_SCHEMA, MEMBER_SCHEMA, STUDENT_LEVELS, InputError, sex_of

ENGINE_HOUSEHOLD_SCHEMA = {**HOUSEHOLD_SCHEMA, "household_id": pl.Int64()}
ENGINE_MEMBER_SCHEMA = {**MEMBER_SCHEMA, "household_id": pl.Int64()}
EARNED_ITEMS = {"wage", "business"}
COUNTED_VEHICLES = {"car"}  # 残疾人代步车、燃油摩托车、电动车 are not counted in 广东


def member_sex(sex: str | None, id_number: str | None) -> str | None:
    """male / female for the rules: the person's recorded sex, else the resident ID's (an ID
    that does not validate says nothing)."""
    try:
        return sex_of(sex or None, id_number)
    except InputError:
        return None


def _current(day: dt.date) -> Q:
    return Q(start_date__lte=day) & (Q(end_date__isnull=True) | Q(end_date__gt=day))


def _each_value(column: pl.Series, fn: Callable[[Any], Any], dtype: pl.DataType) -> pl.Series:
    """`fn` of every value, called once per distinct value (a district's million birth dates
    are a few tens of thousands of days), so the one Python definition is the one applied."""
    return column.replace_strict({v: fn(v) for v in column.unique().to_list()},
                                 return_dtype=dtype)


def _blank_null(column: str) -> pl.Expr:
    return pl.when(pl.col(column) != "").then(pl.col(column))


def _persons(query: QuerySet[Any]) -> pl.Series:
    return read_frame(query, {"person_id": pl.Int64()}).get_column("person_id")


MEMBERSHIP_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.Int64(), "person_id": pl.Int64(), "relation": pl.String(),
    "co_resident": pl.Boolean(), "birth_date": pl.Date(), "disability_category": pl.String(),
    "disability_grade": pl.Int64(), "serious_illness": pl.String(),
    "labour_capacity": pl.String(), "student_status": pl.String(),
    "has_supporter": pl.Boolean(), "adl_failed": pl.Int64(), "id_token": pl.String(),
    "sex": pl.String(),
}


def build_frames(
    households: QuerySet[Household], day: dt.date, extras: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Frames for `households` as of `day` (households by id, members by household and the
    start of their membership): household ids are the registry's, member ids are person ids
    as text. `has_supporter` (有法定义务人且有履行能力) and `adl_failed` (生活不能自理项数) are
    the person's registry facts; a person enrolled in 特困 counts as having no supporter
    whatever the fact says, since the recognition established it.
    `extras` adds what the monitoring run reads too: declared medical spending per year, and
    each member's wage and resident ID — as stored, its ciphertext (`id_number`: compared
    with the department rows' IDs encrypted alike, never decrypted)."""
    chosen = Household.objects.filter(id__in=households.values("id"))
    ids = chosen.values("id")
    hh = read_frame(chosen.order_by("id").values_list("id", "area_code", "hukou_type"),
                    {"household_id": pl.Int64(), "area_code": pl.String(),
                     "hukou": pl.String()})
    alive = Q(person__death_date__isnull=True) | Q(person__death_date__gt=day)
    memberships = Membership.objects.filter(_current(day), alive, household_id__in=ids)
    m = read_frame(
        memberships.order_by("household_id", "start_date", "id")
        .annotate(_birth=as_text("person__birth_date"))
        .values_list("household_id", "person_id", "relation", "co_resident", "_birth",
                     "person__disability_category", "person__disability_grade",
                     "person__serious_illness", "person__labour_capacity",
                     "person__student_status", "person__has_supporter", "person__adl_failed",
                     "person__id_number", "person__sex"),
        MEMBERSHIP_SCHEMA)
    # whom the person-level facts below are read for (the dead too: simpler to select, and
    # only the members above are looked up in them)
    person_ids = Membership.objects.filter(_current(day), household_id__in=ids).values(
        "person_id")
    # the facts the rules read from persons' categories in force (孤儿, 事实无人抚养, 重病)
    categories = read_frame(
        CategoryAssignment.objects.filter(
            _current(day), person_id__in=person_ids,
            category__in=("orphan", "de_facto_unsupported", "serious_illness"))
        .order_by().values_list("person_id", "category"),
        {"person_id": pl.Int64(), "category": pl.String()})

    def with_category(name: str) -> pl.Expr:
        return pl.col("person_id").is_in(
            categories.filter(pl.col("category") == name).get_column("person_id").implode())

    # households in 低保 (渐退, 单人保) and persons in 特困 (no supporter) on the day: whoever is
    # enrolled in force, as `benefits.coverage` counts 在保 — never a category alone
    from doudi.benefits import coverage
    from doudi.care.models import InstitutionResident

    force = coverage.records("covered_households", "", day)
    in_dibao = _persons(force.filter(programme=catalogue.DIBAO, household_id__in=ids)
                        .order_by().values_list("household_id"))
    in_tekun = _persons(force.filter(programme=catalogue.TEKUN, person_id__in=person_ids)
                        .order_by().values_list("person_id"))
    # persons living in an institution on the day (集中供养 / 集中养育): a residency admitted
    # on or before it and not left by it — the care register's record
    in_institution = _persons(InstitutionResident.objects.filter(
        Q(left_on__isnull=True) | Q(left_on__gt=day), person_id__in=person_ids,
        admitted_on__lte=day).order_by().values_list("person_id"))

    # household-level income is counted with the head (or the first member when there is none)
    heads = m.group_by("household_id").agg(pl.coalesce(
        pl.col("person_id").filter(pl.col("relation") == "head").last(),
        pl.col("person_id").first()).alias("_head"))
    found = facts.current_frame(Observation.objects.filter(household_id__in=ids), day)
    amount, item = pl.col("amount_fen").fill_null(0), pl.col("item")
    count = pl.col("quantity").fill_null(1)
    kind = pl.col("kind")
    income = (found.filter(kind == "income").join(heads, on="household_id", how="left")
              .with_columns(pl.coalesce("person_id", "_head").alias("person_id"))
              .filter(pl.col("person_id").is_not_null())  # nobody left in the household
              .group_by("household_id", "person_id").agg(
                  amount.sum().alias("income"),
                  amount.filter(item.is_in(list(EARNED_ITEMS))).sum().alias("earned_income"),
                  amount.filter(item == "wage").sum().alias("wage")))
    totals = found.group_by("household_id").agg(
        amount.filter(kind == "asset").sum().alias("financial_assets"),
        count.filter((kind == "housing") & (item == "residential")).sum().alias("houses"),
        count.filter((kind == "housing") & (item != "residential")).sum()
        .alias("non_residential_property"),
        count.filter((kind == "vehicle") & item.is_in(list(COUNTED_VEHICLES))).sum()
        .alias("vehicles"),
        (kind == "business").any().alias("business"),
        amount.filter(kind == "expense").sum().alias("_expense"),
        amount.filter((kind == "expense") & (item == "medical")).sum().alias("_medical"))

    hh_schema, member_schema = ENGINE_HOUSEHOLD_SCHEMA, ENGINE_MEMBER_SCHEMA
    if extras:  # what the monitoring run reads besides the rules' inputs
        hh_schema = {**hh_schema, "annual_medical_expense": pl.Int64()}
        member_schema = {**member_schema, "wage": pl.Int64(), "id_number": pl.String()}
    zero = ("financial_assets", "houses", "non_residential_property", "vehicles", "_expense",
            "_medical")
    hh = hh.join(totals, on="household_id", how="left").with_columns(
        *[pl.col(c).fill_null(0) for c in zero], pl.col("business").fill_null(False)
    ).with_columns(  # a household without any fact has zeros
        pl.lit(None).alias("annual_income"),
        (pl.col("_expense") * 12).alias("annual_rigid_expenditure"),
        pl.col("household_id").is_in(in_dibao.implode()).alias("dibao_enrolled"),
        pl.lit(0).alias("dibao_current_amount"), pl.lit(None).alias("linshi_type"),
        pl.lit(0).alias("linshi_need"), pl.lit(0).alias("linshi_received_this_year"),
        (pl.col("_medical") * 12).alias("annual_medical_expense"))
    grade = pl.col("disability_grade").fill_null(0)
    members = m.with_columns(
        pl.col("person_id").cast(pl.String).alias("member_id"),
        _each_value(m.get_column("birth_date"), lambda born: age_on(born, day), pl.Int32())
        .alias("age"),
        _sexes(m).alias("sex"),
        grade.alias("disability_grade"),
        pl.when(grade != 0).then(_blank_null("disability_category").fill_null("none"))
        .otherwise(pl.lit("none")).alias("disability_type"),
        ((pl.col("serious_illness").fill_null("") != "") | with_category("serious_illness"))
        .alias("serious_illness"),
        pl.col("student_status").is_in(list(STUDENT_LEVELS)).fill_null(False).alias("student"),
        (pl.col("labour_capacity") != "none").fill_null(True).alias("labor_capacity"),
        (pl.col("has_supporter") & ~pl.col("person_id").is_in(in_tekun.implode()))
        .alias("has_supporter"),
        with_category("orphan").alias("orphan"),
        with_category("de_facto_unsupported").alias("de_facto_unsupported"),
        pl.lit(False).alias("refused_work"), pl.lit(False).alias("childless"),
        pl.col("person_id").is_in(in_institution.implode()).alias("institutional"),
        _blank_null("relation").alias("relation"),
        # the registry records no job as such: work shows as wage or business income
        pl.lit(False).alias("employed"),
        pl.col("id_token").alias("id_number"),
    ).with_row_index("_order").join(income, on=["household_id", "person_id"], how="left") \
        .sort("_order").with_columns(
            *[pl.col(c).fill_null(0) for c in ("income", "earned_income", "wage")])
    return (hh.sort("household_id").select([pl.col(c).cast(t) for c, t in hh_schema.items()]),
            members.select([pl.col(c).cast(t) for c, t in member_schema.items()]))


def _sexes(m: pl.DataFrame) -> pl.Series:
    """Each member's `member_sex`: from the recorded sex, and only where none is recorded from
    the resident ID, decrypted for those persons alone."""
    recorded = _each_value(m.get_column("sex").fill_null(""),
                           lambda sex: member_sex(sex, None), pl.String())
    unknown = (m.get_column("sex").fill_null("").str.strip_chars() == "") \
        & (m.get_column("id_token").fill_null("") != "")
    if not unknown.any():
        return recorded
    rows = unknown.arg_true().to_list()
    tokens, sexes = m.get_column("id_token"), m.get_column("sex")
    values = recorded.to_list()
    for i in rows:
        values[i] = member_sex(sexes[i], STORE.decrypt(tokens[i]))
    return pl.Series("sex", values, dtype=pl.String)
