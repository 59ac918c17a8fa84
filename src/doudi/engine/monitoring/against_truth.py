"""Monitoring scored against a synthetic district's truth (真值): recall per planted kind and
precision per indicator and overall.

A truth row is **found** when a warning of its kind (the indicator key, or for the eligibility
indicators their kind) names its household — and its programme, for 应保未保, and its person
where both name one. Truth rows of 应保未保 that a planted fact made moot (the person died or
moved; the household's `eligible_after` no longer has the programme) are left out of recall.
A warning is **right** when it finds a truth row, or when it is a consequence the truth itself
records: the planted fact changed what the household qualifies for (`eligible_after`), and the
warning says so — 应保未保 for a programme now qualified for, 不应保而保 for one no longer
qualified for, 渐退 where 渐退 now applies — or a member's own cover ends with their death or
move.
"""

from __future__ import annotations

import polars as pl

from doudi.programmes import catalogue

_SCORED_PROGRAMME = ("uncovered_eligible",)
LEAVING = ("death", "breadwinner_death", "moved_out")  # planted facts that end a member


def _warning_kinds(warnings: pl.DataFrame, truth_kinds: set[str]) -> pl.DataFrame:
    return warnings.with_columns(
        pl.when(pl.col("indicator").is_in(sorted(truth_kinds))).then(pl.col("indicator"))
        .otherwise(pl.col("kind")).alias("truth_kind"),
        pl.int_range(pl.len()).alias("_w"))


def _matches(w: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """(truth row, warning) pairs that match."""
    t = truth.select(pl.int_range(pl.len()).alias("_t"), pl.col("kind").alias("truth_kind"),
                     "household_id", pl.col("person_id").alias("_person"),
                     pl.col("programme").alias("_programme"))
    pairs = t.join(w.select("_w", "truth_kind", "household_id", "member_id", "programme"),
                   on=["truth_kind", "household_id"], how="inner")
    same_programme = (~pl.col("truth_kind").is_in(_SCORED_PROGRAMME)
                      | (pl.col("_programme") == pl.col("programme")))
    same_person = (pl.col("_person").is_null() | pl.col("member_id").is_null()
                   | (pl.col("_person") == pl.col("member_id")))
    return pairs.filter(same_programme & same_person)


def _consequences(w: pl.DataFrame, truth: pl.DataFrame) -> pl.Series:
    """Warnings explained by a planted fact's effect on eligibility, and the end of a
    person's own cover when the planted fact is their death or move."""
    after = truth.group_by("household_id").agg(
        pl.col("eligible_after").list.explode(keep_nulls=False, empty_as_null=False).unique()
        .alias("_after"))
    joined = w.join(after, on="household_id", how="inner")
    ok = (((pl.col("kind") == "uncovered_eligible")
           & pl.col("_after").list.contains(pl.col("programme")))
          | ((pl.col("kind") == "covered_ineligible")
             & ~pl.col("_after").list.contains(pl.col("programme")))
          | ((pl.col("kind") == "taper_due") & pl.col("_after").list.contains(catalogue.TAPER)))
    left = truth.filter(pl.col("kind").is_in(LEAVING)).select(
        pl.col("person_id").alias("member_id"))
    ended = w.filter(pl.col("kind") == "covered_ineligible").join(left, on="member_id",
                                                                   how="semi")
    return pl.concat([joined.filter(ok)["_w"], ended["_w"]])


def _moot(truth: pl.DataFrame) -> pl.Series:
    """Truth rows of 应保未保 that a planted fact in the same household made moot: the person
    died or moved away, or the fact changed what the household qualifies for."""
    t = truth.with_columns(pl.int_range(pl.len()).alias("_t"))
    gaps = t.filter(pl.col("kind") == "uncovered_eligible")
    events = t.filter(pl.col("kind") != "uncovered_eligible")
    left = events.filter(pl.col("kind").is_in(LEAVING)).select(
        pl.col("person_id").alias("_p"))
    gone = gaps.join(left, left_on="person_id", right_on="_p", how="semi")["_t"]
    after = events.select("household_id", pl.col("eligible_after").alias("_after"))
    changed = gaps.join(after, on="household_id", how="inner").filter(
        ~pl.col("_after").list.contains(pl.col("programme")))["_t"]
    return pl.concat([gone, changed]).unique()


def score(warnings: pl.DataFrame, truth: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, float]]:
    """Per kind: truth rows, found, recall, warnings, right, precision; and the overall
    figures."""
    truth = truth.with_row_index("_i").filter(
        ~pl.col("_i").is_in(_moot(truth).implode())).drop("_i")
    kinds = set(truth["kind"].unique().to_list())
    w = _warning_kinds(warnings, kinds)
    pairs = _matches(w, truth)
    found_t = set(pairs["_t"].to_list())
    right_w = set(pairs["_w"].to_list()) | set(_consequences(w, truth).to_list())
    t = truth.with_columns(pl.int_range(pl.len()).is_in(sorted(found_t)).alias("_found"))
    per_truth = t.group_by("kind").agg(pl.len().alias("truth"),
                                       pl.col("_found").sum().alias("found"))
    w = w.with_columns(pl.col("_w").is_in(sorted(right_w)).alias("_right"))
    per_warning = w.group_by(pl.col("truth_kind").alias("kind")).agg(
        pl.len().alias("warnings"), pl.col("_right").sum().alias("right"))
    table = per_truth.join(per_warning, on="kind", how="full", coalesce=True).with_columns(
        pl.col("truth", "found", "warnings", "right").fill_null(0).cast(pl.Int64)).with_columns(
        (pl.col("found") / pl.col("truth")).round(4).alias("recall"),
        (pl.col("right") / pl.col("warnings")).round(4).alias("precision"),
    ).sort("kind")
    total_w = w.height
    overall = {
        "truth": truth.height, "found": len(found_t), "warnings": total_w, "right": len(right_w),
        "recall": round(len(found_t) / truth.height, 4) if truth.height else 1.0,
        "precision": round(len(right_w) / total_w, 4) if total_w else 1.0,
        "min_recall": float(table["recall"].drop_nulls().min() or 0.0),
    }
    return table, overall
