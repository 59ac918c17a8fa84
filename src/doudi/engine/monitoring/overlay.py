"""What the departments know that the registry does not yet (部门数据比对): their feeds laid
over the registry's household and member frames before the rules are evaluated, so that 应保未保
and 不应保而保 are judged on today's facts. Only news is applied — a feed that agrees with the
registry changes nothing:

| feed | fact laid over |
|---|---|
| death_record | the member leaves the family (死亡) |
| hukou_move (迁出) | the member leaves the family |
| contribution (社保缴费基数) | a base above the declared earned income becomes the earned income |
| unemployment (registered within UNEMPLOYED_DAYS) | the declared wage stops; 失业保险金 counts |
| vehicle / property | more cars / non-residential properties than declared |
| business | a 个体工商户 registration |
| disability_certificate (有效) | a more severe grade and its category |
| school_enrolment (辍学) | no longer a student |
| medical_settlement | 12 months' out-of-pocket above the declared medical spending: 刚性支出 |

Frames carry the rules' columns (`doudi.rules.frames`) with Int64 ids, members an `id_number`
(matched to the feeds' by equality only, whatever its form: `run.Inputs`), and optionally
`wage` (the declared wage within earned income) and, on households, `annual_medical_expense`
(declared medical spending, fen per year).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

UNEMPLOYED_DAYS = 90
MEDICAL_DAYS = 365
SEVERITY = {"一级": 1, "二级": 2, "三级": 3, "四级": 4}
CATEGORIES = {"视力": "visual", "听力": "hearing", "言语": "speech", "肢体": "physical",
              "智力": "intellectual", "精神": "mental", "多重": "multiple"}
NON_RESIDENTIAL = ("商业", "办公", "工业", "仓储", "商服")
# The fields of each feed the overlay reads (field key → type), beside the resident ID: a feed
# type of that key must declare them, else its news would be skipped without a word (checked
# when feed types load, `exchange.feed_types`).
READS: dict[str, dict[str, str]] = {
    "death_record": {},
    "hukou_move": {"direction": "text"},
    "unemployment": {"registered_on": "date", "monthly_benefit": "money"},
    "contribution": {"base": "money"},
    "disability_certificate": {"grade": "text", "category": "text", "status": "text"},
    "school_enrolment": {"status": "text"},
    "vehicle": {},
    "property": {"use": "text"},
    "business": {"status": "text"},
    "medical_settlement": {"out_of_pocket": "money", "settled_on": "date"},
}


@dataclass
class Overlaid:
    households: pl.DataFrame
    members: pl.DataFrame
    # member_id → why they left the family (死亡 / 迁出), for the evidence of a warning
    left: dict[int, str] = field(default_factory=dict)


def _feed(feeds: dict[str, pl.DataFrame], key: str, *columns: str) -> pl.DataFrame | None:
    frame = feeds.get(key)
    if frame is None or frame.height == 0 or not {"id_number", *columns} <= set(frame.columns):
        return None
    return frame


def _recent(column: str, today: dt.date, days: int) -> pl.Expr:
    return pl.col(column).is_between(today - dt.timedelta(days=days - 1), today)


def overlay(households: pl.DataFrame, members: pl.DataFrame, feeds: dict[str, pl.DataFrame],
            today: dt.date) -> Overlaid:
    h, m = households, members
    if "wage" not in m.columns:
        m = m.with_columns(pl.col("earned_income").alias("wage"))
    ids = m.select("id_number", "member_id", "household_id")

    def by_person(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.join(ids, on="id_number", how="inner")

    left: dict[int, str] = {}
    deaths = _feed(feeds, "death_record")
    if deaths is not None:
        left.update(dict.fromkeys(by_person(deaths)["member_id"].to_list(), "死亡"))
    moves = _feed(feeds, "hukou_move", "direction")
    if moves is not None:
        out = by_person(moves.filter(pl.col("direction") == "迁出"))["member_id"].to_list()
        left.update({k: "迁出" for k in out if k not in left})

    # work: a contribution base above the declared earned income is the member's earned income
    # now; a recent unemployment registration stops the declared wage (失业保险金 counts)
    m = m.with_columns(pl.lit(0, pl.Int64).alias("_raise"), pl.lit(0, pl.Int64).alias("_lost"),
                       pl.lit(0, pl.Int64).alias("_benefit"))
    unemployed = _feed(feeds, "unemployment", "registered_on")
    if unemployed is not None:
        recent = by_person(unemployed.filter(_recent("registered_on", today, UNEMPLOYED_DAYS)))
        amount = (pl.col("monthly_benefit").fill_null(0) if "monthly_benefit" in recent.columns
                  else pl.lit(0, pl.Int64))
        benefit = recent.group_by("member_id").agg(amount.max().alias("_b"))
        m = m.join(benefit, on="member_id", how="left").with_columns(
            pl.when(pl.col("_b").is_not_null()).then(pl.col("wage")).otherwise(0)
            .alias("_lost"), pl.col("_b").fill_null(0).alias("_benefit")).drop("_b")
    contributions = _feed(feeds, "contribution", "base")
    if contributions is not None:
        bases = by_person(contributions).group_by("member_id").agg(pl.col("base").max()
                                                                   .alias("_base"))
        m = m.join(bases, on="member_id", how="left").with_columns(
            pl.when(pl.col("_lost") > 0).then(0)
            .otherwise((pl.col("_base").fill_null(0) - pl.col("earned_income"))
                       .clip(lower_bound=0)).alias("_raise")).drop("_base")
    m = m.with_columns(
        (pl.col("income") + pl.col("_raise") - pl.col("_lost") + pl.col("_benefit"))
        .alias("income"),
        (pl.col("earned_income") + pl.col("_raise") - pl.col("_lost")).clip(lower_bound=0)
        .alias("earned_income"),
        (pl.col("wage") - pl.col("_lost")).alias("wage"),
    ).drop("_raise", "_lost", "_benefit")

    certificates = _feed(feeds, "disability_certificate", "grade")
    if certificates is not None:
        valid = certificates.filter(pl.col("status").fill_null("有效") == "有效") \
            if "status" in certificates.columns else certificates
        graded = by_person(valid.with_columns(
            pl.col("grade").replace_strict(SEVERITY, default=None, return_dtype=pl.Int8)
            .alias("_grade"),
            pl.col("category").replace_strict(CATEGORIES, default="multiple",
                                              return_dtype=pl.String).alias("_type")
            if "category" in valid.columns else pl.lit("multiple").alias("_type"),
        ).filter(pl.col("_grade").is_not_null())).sort("_grade", "_type").unique(
            "member_id", keep="first").select("member_id", "_grade", "_type")
        m = m.join(graded, on="member_id", how="left").with_columns(
            pl.when(pl.col("_grade").is_not_null() & ((pl.col("disability_grade") == 0)
                                                       | (pl.col("_grade")
                                                          < pl.col("disability_grade"))))
            .then(pl.col("_grade")).otherwise(pl.col("disability_grade"))
            .cast(pl.Int8).alias("disability_grade"),
            pl.when(pl.col("_grade").is_not_null() & ((pl.col("disability_grade") == 0)
                                                       | (pl.col("_grade")
                                                          < pl.col("disability_grade"))))
            .then(pl.col("_type")).otherwise(pl.col("disability_type")).alias("disability_type"),
        ).drop("_grade", "_type")

    schools = _feed(feeds, "school_enrolment", "status")
    if schools is not None:
        dropped = by_person(schools.filter(pl.col("status") == "辍学"))["member_id"]
        m = m.with_columns(pl.when(pl.col("member_id").is_in(dropped.implode())).then(False)
                           .otherwise(pl.col("student")).alias("student"))

    # household facts, counted per household from its members' records
    counts: list[pl.DataFrame] = []
    vehicles = _feed(feeds, "vehicle")
    if vehicles is not None:
        counts.append(by_person(vehicles).group_by("household_id").agg(
            pl.len().cast(pl.Int32).alias("_vehicles")))
    properties = _feed(feeds, "property", "use")
    if properties is not None:
        counts.append(by_person(properties.filter(pl.col("use").is_in(NON_RESIDENTIAL)))
                      .group_by("household_id").agg(pl.len().cast(pl.Int32).alias("_nonres")))
    businesses = _feed(feeds, "business")
    if businesses is not None:
        active = businesses.filter(pl.col("status").fill_null("存续") != "注销") \
            if "status" in businesses.columns else businesses
        counts.append(by_person(active).select("household_id").unique().with_columns(
            pl.lit(True).alias("_business")))
    medical = _feed(feeds, "medical_settlement", "out_of_pocket", "settled_on")
    if medical is not None:
        counts.append(by_person(medical.filter(_recent("settled_on", today, MEDICAL_DAYS)))
                      .group_by("household_id").agg(pl.col("out_of_pocket").sum()
                                                    .alias("_oop")))
    for extra in counts:
        h = h.join(extra, on="household_id", how="left")
    declared = (pl.col("annual_medical_expense").fill_null(0)
                if "annual_medical_expense" in h.columns else pl.lit(0, pl.Int64))
    updates = []
    if "_vehicles" in h.columns:
        updates.append(pl.max_horizontal("vehicles", pl.col("_vehicles").fill_null(0))
                       .cast(pl.Int32).alias("vehicles"))
    if "_nonres" in h.columns:
        updates.append(pl.max_horizontal("non_residential_property",
                                         pl.col("_nonres").fill_null(0))
                       .cast(pl.Int32).alias("non_residential_property"))
    if "_business" in h.columns:
        updates.append((pl.col("business") | pl.col("_business").fill_null(False))
                       .alias("business"))
    if "_oop" in h.columns:
        updates.append((pl.col("annual_rigid_expenditure")
                        + (pl.col("_oop").fill_null(0) - declared).clip(lower_bound=0))
                       .alias("annual_rigid_expenditure"))
    if updates:
        h = h.with_columns(updates)
    h = h.drop([c for c in ("_vehicles", "_nonres", "_business", "_oop") if c in h.columns])
    if left:
        m = m.filter(~pl.col("member_id").is_in(list(left)))
    return Overlaid(h, m, left)
