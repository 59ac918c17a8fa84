"""Load a synthetic population into the registry (`doudi synth --into-db`, the demo, the load
benches).

Households, persons, memberships, the month's economic observations and the categories the
population states are built as whole Polars frames, then written in batches of households,
each batch in one transaction with one audit row (bulk writes do not pass through the per-row
audit signals). On PostgreSQL a batch goes in by COPY, with ids taken from the tables'
sequences beforehand so that persons can name their household; elsewhere by `bulk_create`.
Either way the rows are the same: encrypted columns encrypted as the field encrypts them,
defaults as the fields give them. Names' pinyin initials are computed here, once per
distinct name, as the registry service would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl
from django.db import connection, models, transaction
from django.utils import timezone

from doudi.areas.models import Area
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.core.ages import years_before
from doudi.registry.fields import EncryptedCharField, IdTailField
from doudi.registry.models import CategoryAssignment, Household, Membership, Observation, Person
from doudi.registry.services import name_initials

INCOME_ITEMS = {"income_wage": "wage", "income_business": "business",
                "income_pension": "pension", "income_transfer": "transfer",
                "income_property": "property"}
EXPENSE_ITEMS = {"monthly_medical_expense": "medical", "monthly_education_expense": "education"}
# household columns → (kind, item, the column is an amount (else a quantity or a flag))
HOUSEHOLD_ITEMS = {"financial_assets": ("asset", "deposit", "amount"),
                   "houses": ("housing", "residential", "quantity"),
                   "non_residential_property": ("housing", "non_residential", "quantity"),
                   "vehicles": ("vehicle", "car", "quantity"),
                   "business": ("business", "registration", "flag"),
                   **{c: ("expense", item, "amount") for c, item in EXPENSE_ITEMS.items()}}
SEVERE = (1, 2)
# person flags → the category the population states outright (孤儿, 事实无人抚养, 重度残疾, 重病)
CATEGORY_FLAGS = {"orphan": pl.col("orphan"),
                  "de_facto_unsupported": pl.col("de_facto_unsupported"),
                  "severe_disability": pl.col("disability_grade").is_in(SEVERE),
                  "serious_illness": pl.col("serious_illness")}


@dataclass
class LoadReport:
    households: int = 0
    persons: int = 0
    observations: int = 0
    categories: int = 0


def _batches(frame: pl.DataFrame, size: int) -> Iterator[pl.DataFrame]:
    for start in range(0, frame.height, size):
        yield frame.slice(start, size)


def load(households: pl.DataFrame, persons: pl.DataFrame, today: dt.date,
         batch: int = 20_000, since_years: int = 3) -> LoadReport:
    """Insert the population; `households.household_id` / `persons.household_id` link them.
    Memberships start `since_years` before today (or at birth, if later)."""
    codes = households.get_column("area_code").unique().to_list()
    known = set(Area.objects.filter(code__in=codes).values_list("code", flat=True))
    if missing := sorted(set(codes) - known):
        raise ValueError(f"区划 {', '.join(missing[:5])} 不存在：请先导入行政区划")
    since = years_before(today, since_years)
    month = today.replace(day=1)
    names = persons.get_column("name").unique()
    initials = pl.DataFrame({"name": names,
                             "name_initials": [name_initials(n) for n in names.to_list()]})
    people = persons.join(initials, on="name", how="left", maintain_order="left")
    report = LoadReport()
    for chunk in _batches(households, batch):
        members = people.join(chunk.select("household_id"), on="household_id", how="semi",
                              maintain_order="left")
        with transaction.atomic():
            homes = _insert(Household, chunk.select(
                "household_id", "number", pl.col("area_code").alias("area_id"), "area_code",
                "address", pl.col("hukou").alias("hukou_type")))
            members = members.join(homes.select(
                "household_id", pl.col("id").alias("household_pk"), "area_code",
                pl.col("hukou_type").alias("household_hukou")), on="household_id",
                maintain_order="left")
            members = members.with_columns(_insert(Person, _persons(members))
                                           .get_column("id").alias("person_pk"))
            _insert(Membership, members.select(
                pl.col("household_pk").alias("household_id"),
                pl.col("person_pk").alias("person_id"), "relation", "co_resident", "area_code",
                pl.max_horizontal("birth_date", pl.lit(since)).alias("start_date")))
            observations = _observations(members, chunk.join(homes.select(
                "household_id", pl.col("id").alias("household_pk"), "area_code"),
                on="household_id", maintain_order="left"), month)
            _insert(Observation, observations)
            categories = _categories(members, month)
            _insert(CategoryAssignment, categories)
            audit.record(AuditEvent.IMPORT, object_type="registry.household",
                         object_label="合成人口导入",
                         changes={"households": homes.height, "persons": members.height,
                                  "observations": observations.height,
                                  "categories": categories.height})
        report.households += homes.height
        report.persons += members.height
        report.observations += observations.height
        report.categories += categories.height
    return report


def _persons(members: pl.DataFrame) -> pl.DataFrame:
    """Person rows (the model's attribute names) of the synthetic members."""
    grade = pl.when(pl.col("disability_grade") > 0).then(pl.col("disability_grade"))
    return members.select(
        "id_number", "name", "name_initials", "sex", "birth_date",
        pl.col("household_hukou").alias("hukou_type"), "area_code",
        pl.when(grade.is_not_null()).then(pl.col("disability_category")).otherwise(pl.lit(""))
        .alias("disability_category"),
        grade.cast(pl.Int64).alias("disability_grade"),
        pl.when(pl.col("serious_illness")).then(pl.lit("重病")).otherwise(pl.lit(""))
        .alias("serious_illness"),
        "labour_capacity", pl.col("student_status").fill_null(""),
        (~(pl.col("childless") | pl.col("orphan") | pl.col("de_facto_unsupported")))
        .alias("has_supporter"),
        pl.col("adl_failed").cast(pl.Int64))


def _observations(members: pl.DataFrame, homes: pl.DataFrame, month: dt.date) -> pl.DataFrame:
    """The month's declared facts: each member's incomes by source, then the household's
    assets, housing, vehicles, business and rigid expenses (those it has)."""
    rows = [members.filter(pl.col(column).fill_null(0) != 0).select(
        pl.col("household_pk").alias("household_id"), pl.col("person_pk").alias("person_id"),
        pl.lit("income").alias("kind"), pl.lit(item).alias("item"),
        pl.col(column).cast(pl.Int64).alias("amount_fen"),
        pl.lit(None, pl.Int64).alias("quantity"), "area_code")
        for column, item in INCOME_ITEMS.items()]
    for column, (kind, item, value) in HOUSEHOLD_ITEMS.items():
        present = pl.col(column) if value == "flag" else pl.col(column).fill_null(0) != 0
        rows.append(homes.filter(present).select(
            pl.col("household_pk").alias("household_id"),
            pl.lit(None, pl.Int64).alias("person_id"), pl.lit(kind).alias("kind"),
            pl.lit(item).alias("item"),
            (pl.col(column).cast(pl.Int64) if value == "amount" else pl.lit(None, pl.Int64))
            .alias("amount_fen"),
            (pl.col(column).cast(pl.Int64) if value == "quantity" else pl.lit(None, pl.Int64))
            .alias("quantity"), "area_code"))
    return pl.concat(rows).with_columns(pl.lit(month).alias("observed_on"),
                                        pl.lit("declared").alias("source"))


def _categories(members: pl.DataFrame, month: dt.date) -> pl.DataFrame:
    """Person categories the population states outright; programme enrolments come from the
    rules, not from here."""
    return pl.concat([members.filter(flag).select(
        pl.col("person_pk").alias("person_id"), pl.lit(code).alias("category"),
        pl.lit(month).alias("start_date"), "area_code") for code, flag in CATEGORY_FLAGS.items()]
    ).sort("person_id", maintain_order=True)


def _insert(model: type[models.Model], frame: pl.DataFrame) -> pl.DataFrame:
    """Insert `frame` (columns: the model's attribute names, plus any others, ignored) and
    return it with the new rows' `id`. Fields it does not give take their defaults."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    given = [f.attname for f in fields if f.attname in frame.columns]
    if connection.vendor != "postgresql":
        made = model.objects.bulk_create(
            [model(**row) for row in frame.select(given).iter_rows(named=True)],
            batch_size=2_000)
        return frame.with_columns(pl.Series("id", [m.pk for m in made], dtype=pl.Int64))
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                       "FROM generate_series(1, %s)", [table, frame.height])
        ids = pl.Series("id", [r[0] for r in cursor.fetchall()], dtype=pl.Int64)
    frame = frame.with_columns(ids)
    now = timezone.now()
    columns = [pl.col("id")]
    for f in fields:
        if isinstance(f, IdTailField):  # as its pre_save derives it
            value = pl.col(f.source).str.slice(-4)
        elif f.attname in frame.columns:
            value = pl.col(f.attname)
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = pl.lit(now.isoformat())
        else:
            value = pl.lit(f.get_default())
        if isinstance(f, EncryptedCharField):  # deterministic: each distinct value once
            value = value.replace_strict(*_encrypted(frame.select(value).to_series(), f))
        columns.append(value.alias(f.column))
    rows = frame.select(columns)
    sql = f"COPY {table} ({', '.join(rows.columns)}) FROM STDIN (FORMAT csv)"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for start in range(0, rows.height, 100_000):
            copy.write(rows.slice(start, 100_000).write_csv(include_header=False,
                                                            null_value=""))
    return frame


def _encrypted(values: pl.Series, field: EncryptedCharField) -> tuple[list, list]:
    """(plaintexts, their tokens) of the distinct values, as the field stores them."""
    plain = values.unique().to_list()
    return plain, [field.get_prep_value(v) for v in plain]
