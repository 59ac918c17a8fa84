"""The monitoring run (监测预警): registry, enrollments and department feeds in, warnings out.

    warnings = run(Inputs(households, members, enrollments, feeds, parameters, today),
                   indicators)

Risk indicators read their feed: rows in the window that meet the conditions, matched to a
current member by resident ID, the member's conditions, then one warning per person or
household. Eligibility indicators evaluate every programme's rules on the registry with the
feeds laid over it (`overlay`) and compare with the enrollments. The output is sorted and
carries no clock or randomness, so the same inputs give the same warnings.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

from doudi.engine.monitoring.indicators import ELIGIBILITY_KINDS, Condition, Indicator
from doudi.engine.monitoring.overlay import overlay
from doudi.programmes import catalogue
from doudi.rules.engine import evaluate
from doudi.rules.frames import HOUSEHOLD_SCHEMA, MEMBER_SCHEMA
from doudi.rules.parameters import ParameterSet


def eligibility_columns() -> dict[str, tuple[str, str]]:
    """programme or part (as enrollments name it) → (level, the rules' eligibility column), for
    every programme the catalogue has monitoring compare with the rules."""
    return {u.code: (u.level, u.eligible) for u in catalogue.monitored_units()}


COVERED_STATUSES = ("active", "tapering", "suspended")
PRIVATE_COLUMNS = ("id_number", "name", "owner", "operator", "head_name")  # not in evidence
MAX_EVIDENCE_ROWS = 5
# a resident ID inside another value (残疾证号 = ID + 2 digits, 学籍号 = G + ID) is masked too
ID_PATTERN, ID_MASK = r"([1-9][0-9]{5})[0-9]{8}([0-9]{3}[0-9Xx])", "${1}********${2}"

WARNING_SCHEMA: dict[str, pl.DataType] = {
    "indicator": pl.String(), "kind": pl.String(), "level": pl.Int8(),
    "household_id": pl.Int64(), "member_id": pl.Int64(), "area_code": pl.String(),
    "programme": pl.String(), "event_date": pl.Date(), "source": pl.String(),
    "evidence": pl.String(), "fingerprint": pl.String(),
}
REVIEW_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.Int64(), "member_id": pl.Int64(), "programme": pl.String(),
    "due_on": pl.Date(),
}
ENROLLMENT_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.Int64(), "member_id": pl.Int64(), "programme": pl.String(),
    "status": pl.String(), "amount_fen": pl.Int64(),
}


@dataclass
class Inputs:
    households: pl.DataFrame  # the rules' household columns (+ annual_medical_expense)
    # the rules' member columns + id_number (+ wage). `id_number` is only ever compared with
    # the feeds' `id_number` (joins; never parsed, never shown): any form both sides share —
    # plaintext from a synthetic district, the registry's stored ciphertext from the database
    members: pl.DataFrame
    enrollments: pl.DataFrame  # ENROLLMENT_SCHEMA; programme as in eligibility_columns()
    feeds: dict[str, pl.DataFrame]  # feed key → typed rows with id_number
    parameters: ParameterSet
    today: dt.date
    # open periodic reviews (复核) with their due dates: REVIEW_SCHEMA
    reviews: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=REVIEW_SCHEMA))


@dataclass
class Output:
    warnings: pl.DataFrame
    counts: dict[str, int] = field(default_factory=dict)  # indicator → warnings
    skipped: dict[str, str] = field(default_factory=dict)  # indicator → why it did not run


def _ids(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    return frame.with_columns([pl.col(c).cast(pl.Int64) for c in columns if c in frame.columns])


def _condition(ind: Indicator, c: Condition) -> pl.Expr:
    col, value = pl.col(c.field), ind.value(c.value)
    match c.op:
        case "==":
            return col == value
        case "!=":
            return col != value
        case ">":
            return col > value
        case ">=":
            return col >= value
        case "<":
            return col < value
        case "<=":
            return col <= value
        case "in":
            return col.is_in(list(value))
        case _:
            return ~col.is_in(list(value))


def _all(ind: Indicator, conditions: Iterable[Condition]) -> pl.Expr:
    expr = pl.lit(True)
    for c in conditions:
        expr = expr & _condition(ind, c).fill_null(False)
    return expr


def _wrap(name: str, json: pl.Expr) -> pl.Expr:
    """{"name": <json>} around an expression that is already JSON text."""
    return pl.concat_str([pl.lit(f'{{"{name}":'), json, pl.lit("}")])


def _fingerprint(*parts: pl.Expr) -> pl.Expr:
    return pl.concat_str([p.cast(pl.String).fill_null("") for p in parts], separator="|")


def risk_warnings(ind: Indicator, feed: pl.DataFrame, members: pl.DataFrame,
                  households: pl.DataFrame, today: dt.date) -> pl.DataFrame:
    rows = feed
    if ind.window_date:
        days = int(ind.value(ind.window_days))
        rows = rows.filter(pl.col(ind.window_date).is_between(
            today - dt.timedelta(days=days - 1), today))
    rows = rows.filter(_all(ind, ind.where))
    evidence_cols = [c for c in feed.columns if c not in PRIVATE_COLUMNS]
    rows = rows.with_columns(pl.struct(evidence_cols).struct.json_encode()
                             .str.replace_all(ID_PATTERN, ID_MASK).alias("_json"))
    member_cols = [c for c in members.columns if c not in rows.columns or c == "id_number"]
    matched = rows.join(members.filter(pl.col("co_resident")).select(member_cols),
                        on="id_number", how="inner")
    extra = [c for c in households.columns if c not in matched.columns or c == "household_id"]
    matched = matched.join(households.select(extra), on="household_id", how="left")
    matched = matched.filter(_all(ind, ind.member))
    date = pl.col(ind.window_date) if ind.window_date else pl.lit(today, pl.Date)
    matched = matched.with_columns(date.cast(pl.Date).alias("_date"))
    subject = ["household_id"] if ind.per == "household" else ["household_id", "member_id"]
    agg = ind.aggregate
    # rows ordered by their date and content, never by their position in the feed: a bucket of
    # the Spark runner holds the same rows in another order and must give the same evidence
    grouped = matched.sort("_date", "_json").group_by(subject, maintain_order=True).agg(
        pl.col("_date").max().alias("event_date"),
        pl.col("_json").tail(MAX_EVIDENCE_ROWS).str.join(",").alias("_rows"),
        pl.col("area_code").first(),
        *([pl.col(agg["sum"]).sum().alias("_sum"),
           (pl.col(agg["minus"]).first() if agg.get("minus") else pl.lit(0, pl.Int64))
           .alias("_minus")] if agg else []),
    )
    if agg:
        grouped = grouped.with_columns((pl.col("_sum") - pl.col("_minus").fill_null(0))
                                       .alias("_measure")).filter(
            pl.col("_measure") >= int(ind.value(agg["at_least"])))
        measure = pl.concat_str([pl.lit(',"measure":'), pl.col("_measure").cast(pl.String),
                                 pl.lit(f',"threshold":{int(ind.value(agg["at_least"]))}')])
    else:
        measure = pl.lit("")
    if ind.per == "household":
        grouped = grouped.with_columns(pl.lit(None, pl.Int64).alias("member_id"))
    return grouped.select(
        pl.lit(ind.key).alias("indicator"), pl.lit(ind.kind).alias("kind"),
        pl.lit(ind.level, pl.Int8).alias("level"), "household_id", "member_id", "area_code",
        pl.lit(None, pl.String).alias("programme"), "event_date",
        pl.lit(ind.source).alias("source"),
        pl.concat_str([pl.lit('{"rows":['), pl.col("_rows"), pl.lit("]"), measure, pl.lit("}")])
        .alias("evidence"),
        _fingerprint(pl.lit(ind.source), pl.col("event_date"), pl.col("_sum") if agg
                     else pl.lit("")).alias("fingerprint"),
    )


def _covered(enrollments: pl.DataFrame) -> pl.DataFrame:
    return enrollments.filter(pl.col("status").is_in(COVERED_STATUSES))


def eligibility_warnings(inputs: Inputs, indicators: dict[str, Indicator]) -> pl.DataFrame:
    enrollments = _ids(inputs.enrollments, "household_id", "member_id")
    covered = _covered(enrollments)
    dibao = covered.filter(pl.col("programme") == catalogue.DIBAO).group_by("household_id").agg(
        pl.col("amount_fen").sum().alias("_amount"),
        (pl.col("status") == "tapering").any().alias("_tapering"))
    h = inputs.households.join(dibao, on="household_id", how="left").with_columns(
        pl.col("_amount").is_not_null().alias("dibao_enrolled"),
        pl.col("_amount").fill_null(0).alias("dibao_current_amount"))
    facts = overlay(h, inputs.members, inputs.feeds, inputs.today)
    result = evaluate(facts.households.select(list(HOUSEHOLD_SCHEMA)).cast(
        {"household_id": pl.Int64}), facts.members.select(list(MEMBER_SCHEMA)).cast(
        {"household_id": pl.Int64, "member_id": pl.Int64}), inputs.parameters, inputs.today)
    hh = _ids(result.households, "household_id").join(
        h.select("household_id", "_tapering"), on="household_id", how="left")
    mm = _ids(result.members, "household_id", "member_id")
    areas = inputs.households.select("household_id", "area_code")
    parts: list[pl.DataFrame] = []
    today = pl.lit(inputs.today, pl.Date)

    def emit(frame: pl.DataFrame, key: str, programme: str, evidence: pl.Expr) -> None:
        ind = indicators.get(key)
        if ind is None or frame.height == 0:
            return
        if "area_code" not in frame.columns:
            frame = frame.join(areas, on="household_id", how="left")
        if "member_id" not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.Int64).alias("member_id"))
        parts.append(frame.select(
            pl.lit(ind.key).alias("indicator"), pl.lit(ind.kind).alias("kind"),
            pl.lit(ind.level, pl.Int8).alias("level"), "household_id",
            pl.col("member_id").cast(pl.Int64), "area_code", pl.lit(programme).alias("programme"),
            today.alias("event_date"), pl.lit("rules").alias("source"),
            evidence.alias("evidence"),
            _fingerprint(pl.lit(programme)).alias("fingerprint")))

    # each part of a programme paid in parts (两项补贴) is compared on its own: enrolled in one
    # and eligible for the other is 应保未保 of the other, a part that no longer applies is
    # 不应保而保 of that part. An enrollment that does not say its part (enrolled before parts
    # were told apart and not split since) covers each part; it is 不应保而保 only when none
    # of them applies any more
    units, cover_groups = eligibility_columns(), catalogue.cover_groups()
    for programme, (level, flag) in units.items():
        prefix = flag.split(".")[0] + "."
        cov = covered.filter(pl.col("programme") == programme)
        groups = [g for g, members in cover_groups.items() if programme in members]
        if level == catalogue.HOUSEHOLD:
            frame = hh
            cols = [c for c in frame.columns if c.startswith(prefix)
                    and frame.schema[c] != pl.Object]
            key_cov = cov.select("household_id").unique().with_columns(
                pl.lit(True).alias("_cov"))
            grouped = covered.filter(pl.col("programme").is_in(groups)).select(
                "household_id").unique().with_columns(pl.lit(True).alias("_group"))
            frame = frame.join(key_cov, on="household_id", how="left").join(
                grouped, on="household_id", how="left").with_columns(
                pl.col("_cov").fill_null(False), pl.col("_group").fill_null(False))
            rules_json = pl.struct(cols).struct.json_encode()
            emit(frame.filter(pl.col(flag) & ~pl.col("_cov") & ~pl.col("_group")),
                 "uncovered_eligible", programme, _wrap("rules", rules_json))
            gone = frame.filter(pl.col("_cov") & ~pl.col(flag))
            if programme == catalogue.DIBAO:
                emit(gone.filter(pl.col("taper.eligible") & ~pl.col("_tapering")
                                 .fill_null(False)), "taper_due", programme,
                     _wrap("rules", rules_json))
                gone = gone.filter(~pl.col("taper.eligible"))
            emit(gone, "covered_ineligible", programme, _wrap("rules", rules_json))
            # a covered household the registry no longer has any member of
            missing = cov.join(hh.select("household_id"), on="household_id", how="anti")
            emit(missing.select("household_id").unique(), "covered_ineligible", programme,
                 pl.lit('{"left":"家庭成员均已死亡或迁出"}'))
        else:
            frame = mm
            cols = [c for c in frame.columns if c.startswith(prefix)]
            direct = cov.select("member_id").unique().with_columns(pl.lit(True).alias("_cov"))
            grouped = covered.filter(pl.col("programme").is_in(groups)).select(
                "member_id").unique().with_columns(pl.lit(True).alias("_group"))
            frame = frame.join(direct, on="member_id", how="left").join(
                grouped, on="member_id", how="left").with_columns(
                pl.col("_cov").fill_null(False), pl.col("_group").fill_null(False))
            rules_json = _wrap("rules", pl.struct(cols).struct.json_encode())
            emit(frame.filter(pl.col(flag) & ~pl.col("_cov") & ~pl.col("_group")),
                 "uncovered_eligible", programme, rules_json)
            emit(frame.filter(pl.col("_cov") & ~pl.col(flag)), "covered_ineligible",
                 programme, rules_json)
            # a covered person who has died or moved away (the overlay took them out)
            gone = cov.filter(pl.col("member_id").is_in(list(facts.left)))
            if gone.height:
                reason = gone.select("household_id", "member_id").with_columns(
                    pl.col("member_id").replace_strict(facts.left, return_dtype=pl.String)
                    .alias("_why"))
                emit(reason, "covered_ineligible", programme,
                     _wrap("left", pl.concat_str([pl.lit('"'), pl.col("_why"), pl.lit('"')])))
    for group, members in cover_groups.items():
        flags = [units[p][1] for p in members]
        key = "household_id" if units[members[0]][0] == catalogue.HOUSEHOLD else "member_id"
        frame = hh if key == "household_id" else mm
        cov = covered.filter(pl.col("programme") == group).select(key).unique()
        ended = frame.join(cov, on=key, how="semi").filter(
            ~pl.any_horizontal([pl.col(f) for f in flags]))
        prefix = flags[0].split(".")[0] + "."
        cols = [c for c in frame.columns if c.startswith(prefix)
                and frame.schema[c] != pl.Object]
        emit(ended, "covered_ineligible", group,
             _wrap("rules", pl.struct(cols).struct.json_encode()))
        if key == "household_id":
            continue  # a household nobody is left in: as its parts (above)
        gone = cov.filter(pl.col("member_id").is_in(list(facts.left))).join(
            covered.select("member_id", "household_id").unique(), on="member_id")
        if gone.height:
            emit(gone.with_columns(pl.col("member_id").replace_strict(
                facts.left, return_dtype=pl.String).alias("_why")), "covered_ineligible",
                group, _wrap("left", pl.concat_str([pl.lit('"'), pl.col("_why"), pl.lit('"')])))
    if not parts:
        return pl.DataFrame(schema=WARNING_SCHEMA)
    return pl.concat(parts, how="vertical_relaxed")


def review_warnings(ind: Indicator, reviews: pl.DataFrame, households: pl.DataFrame,
                    today: dt.date) -> pl.DataFrame:
    """Due actions: periodic reviews past their date (and the grace the district allows)."""
    grace = int(ind.value("$grace_days")) if "grace_days" in ind.params else 0
    late = _ids(reviews, "household_id", "member_id").filter(
        pl.col("due_on") < today - dt.timedelta(days=grace))
    late = late.join(households.select("household_id", "area_code"), on="household_id",
                     how="inner")
    return late.select(
        pl.lit(ind.key).alias("indicator"), pl.lit(ind.kind).alias("kind"),
        pl.lit(ind.level, pl.Int8).alias("level"), "household_id", "member_id", "area_code",
        "programme", pl.col("due_on").alias("event_date"), pl.lit("reviews").alias("source"),
        pl.concat_str([pl.lit('{"review_due":"'), pl.col("due_on").cast(pl.String),
                       pl.lit('"}')]).alias("evidence"),
        _fingerprint(pl.col("programme"), pl.col("due_on")).alias("fingerprint"))


def _supersede(warnings: pl.DataFrame, indicators: list[Indicator]) -> pl.DataFrame:
    """Drop a warning when the same subject has one of an indicator that supersedes it."""
    for ind in indicators:
        if not ind.supersedes:
            continue
        stronger = warnings.filter(pl.col("indicator") == ind.key).select(
            "household_id", "member_id").unique()
        weaker = pl.col("indicator").is_in(list(ind.supersedes))
        hit = warnings.filter(weaker).join(stronger, on=["household_id", "member_id"],
                                           how="semi", nulls_equal=True)
        warnings = warnings.join(hit, on=list(warnings.columns), how="anti", nulls_equal=True)
    return warnings


def run(inputs: Inputs, indicators: list[Indicator]) -> Output:
    inputs.households = _ids(inputs.households, "household_id")
    inputs.members = _ids(inputs.members, "household_id", "member_id")
    out = Output(pl.DataFrame(schema=WARNING_SCHEMA))
    parts: list[pl.DataFrame] = []
    for ind in indicators:
        if ind.kind != "risk":
            continue
        feed = inputs.feeds.get(ind.source or "")
        if feed is None:
            out.skipped[ind.key] = f"没有“{ind.source}”数据"
            continue
        if "id_number" not in feed.columns:
            out.skipped[ind.key] = f"“{ind.source}”数据没有身份证号"
            continue
        parts.append(risk_warnings(ind, feed, inputs.members, inputs.households, inputs.today))
    for ind in indicators:
        if ind.kind == "review_due":
            parts.append(review_warnings(ind, inputs.reviews, inputs.households, inputs.today))
    eligibility = {i.key: i for i in indicators if i.kind in ELIGIBILITY_KINDS}
    by_kind = {i.kind: i for i in eligibility.values()}
    if by_kind:
        parts.append(eligibility_warnings(inputs, by_kind))
    if parts:
        warnings = pl.concat([p.cast(WARNING_SCHEMA) for p in parts])  # type: ignore[arg-type]
        warnings = _supersede(warnings, indicators)
        out.warnings = warnings.sort("indicator", "household_id", "member_id", "programme",
                                     nulls_last=False)
    counts = out.warnings.group_by("indicator").len().sort("indicator")
    out.counts = dict(counts.iter_rows())
    return out


def digest(warnings: pl.DataFrame) -> str:
    """A SHA-256 of the warnings (for "same inputs, same warnings" and the engines' parity)."""
    text = warnings.sort(list(warnings.columns), nulls_last=False).write_csv()
    return hashlib.sha256(text.encode()).hexdigest()
