"""How fast the rules engine evaluates a province-sized registry, against OpenFisca on 低保.

    .venv/bin/pip install -e '.[bench]'                 # OpenFisca and psutil
    python bench/rules_bench.py --households 1000000     # all figures
    taskset -c 0,1 python bench/rules_bench.py           # the 2-core figure on a bigger machine
    python bench/rules_bench.py --skip-openfisca         # Doudi only

Builds N synthetic households (about 2.8 members each) directly as the engine's frames, drawn
with numpy from the seed: four real county prefixes (广州越秀, 台山, 广宁, 屯溪) with hundreds of
village-like codes under each, urban and rural hukou, incomes with many zeros and a long tail,
disabled, elderly, students, orphans, and assets over the limits. Then, printing one line per
figure:

1. `evaluate` over every programme, twice (cold, then warm): wall time of the evaluation only
   and the process's peak RSS; then 低保 alone, which is what OpenFisca is compared with.
2. The same 低保 rule written as an OpenFisca tax-benefit system (person and household entities,
   one variable per step), the simulation built from numpy arrays with SimulationBuilder, the
   parameters Doudi resolved for each household given as household input arrays (so OpenFisca's
   timed part does no parameter lookup at all, which favours it). Only the calculation of the
   amount is timed. Every household's eligibility and amount is compared with Doudi's.
3. Latency for one household at the counter: `evaluate` + `explain`, p50 and p99.

Timings are never asserted; docs/benchmarks.md records what a run printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import sys
import time

import numpy as np
import polars as pl

from doudi.rules.engine import evaluate
from doudi.rules.explain import explain
from doudi.rules.frames import HOUSEHOLD_SCHEMA, MEMBER_SCHEMA
from doudi.rules.parameters import engine_value
from doudi.rules.shipped import shipped

DAY = dt.date(2026, 11, 23)
PERIOD = "2026-11"
# county prefix → (share of households, share urban hukou, towns, villages per town)
COUNTIES = {
    "440103": (0.35, 0.95, 12, 30),  # 广州市越秀区: 一类 plus 广州's own standard and add-ons
    "440781": (0.20, 0.40, 16, 25),  # 台山市: 四类
    "441223": (0.15, 0.25, 14, 20),  # 广宁县: 四类
    "341002": (0.30, 0.70, 9, 12),  # 黄山市屯溪区
}
DISABILITY_TYPES = ["physical", "intellectual", "mental", "visual", "hearing", "speech",
                    "multiple"]
LINSHI_TYPES = [None, "emergency", "advance", "expenditure"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-openfisca", action="store_true")
    parser.add_argument("--latency-calls", type=int, default=1000)
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} cores, {len(os.sched_getaffinity(0))} usable; "
          f"Python {sys.version.split()[0]}, polars {pl.__version__}, "
          f"POLARS_MAX_THREADS={pl.thread_pool_size()}", flush=True)
    params = shipped()
    t0 = time.perf_counter()
    households, members = synthesise(args.households, args.seed)
    print(f"data: {households.height:,} households, {members.height:,} persons, "
          f"{households['area_code'].n_unique():,} area codes, built in "
          f"{time.perf_counter() - t0:.1f} s; peak RSS {peak_rss_mib():,.0f} MiB", flush=True)

    result = None
    for label in ("cold", "warm"):
        t0 = time.perf_counter()
        result = evaluate(households, members, params, DAY)
        elapsed = time.perf_counter() - t0
        print(f"doudi all programmes ({label}): {elapsed:.2f} s; peak RSS "
              f"{peak_rss_mib():,.0f} MiB", flush=True)
    summary(result)
    dibao_times = []
    for _ in range(2):
        t0 = time.perf_counter()
        dibao = evaluate(households, members, params, DAY, programmes=["dibao"])
        dibao_times.append(time.perf_counter() - t0)
    print(f"doudi 低保 only (warm): {dibao_times[-1]:.2f} s", flush=True)

    if not args.skip_openfisca:
        openfisca_times, disagreements = compare_openfisca(households, members, params, dibao)
        print(f"openfisca 低保 calculate (cold): {openfisca_times[0]:.2f} s", flush=True)
        print(f"openfisca 低保 calculate (warm): {openfisca_times[-1]:.2f} s", flush=True)
        print(f"disagreements on 低保 eligibility or amount: {disagreements}", flush=True)
        print(f"ratio OpenFisca / Doudi, 低保 only: {openfisca_times[-1] / dibao_times[-1]:.1f}×; "
              f"OpenFisca 低保 / Doudi all programmes: {openfisca_times[-1] / elapsed:.1f}×",
              flush=True)
    del result, dibao

    latency(households, members, params, args.latency_calls)
    print(f"peak RSS (whole run): {peak_rss_mib():,.0f} MiB", flush=True)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ---------------------------------------------------------------------------------------------
# synthetic data


def synthesise(count: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    prefixes = list(COUNTIES)
    shares = np.array([COUNTIES[p][0] for p in prefixes])
    county = rng.choice(len(prefixes), size=count, p=shares / shares.sum())
    # village-like codes, 12 digits: county + town (3) + village or community (3)
    codes = np.zeros(count, dtype=np.int64)
    urban = np.zeros(count, dtype=bool)
    for i, prefix in enumerate(prefixes):
        _, urban_share, towns, villages = COUNTIES[prefix]
        where = np.flatnonzero(county == i)
        town = rng.integers(0, towns, size=where.size) + (1 if prefix == "440103" else 100)
        village = rng.integers(1, villages + 1, size=where.size) + np.where(
            rng.random(where.size) < 0.5, 0, 200)  # 0xx communities, 2xx villages
        codes[where] = int(prefix) * 1_000_000 + town * 1000 + village
        urban[where] = rng.random(where.size) < urban_share

    sizes = rng.choice(np.arange(1, 7), size=count, p=[0.20, 0.28, 0.22, 0.17, 0.09, 0.04])
    persons = int(sizes.sum())
    owner = np.repeat(np.arange(count), sizes)
    rank = np.arange(persons) - np.repeat(np.cumsum(sizes) - sizes, sizes)  # 0 = applicant

    # ---- members
    age = np.where(rank == 0, rng.integers(18, 96, size=persons), rng.integers(0, 96, size=persons))
    old, minor = age >= 60, age < 18
    working = ~old & ~minor
    student = (age >= 6) & (age <= 22) & (rng.random(persons) < 0.85)
    # income: about 45 % none; otherwise log-normal with a long tail (fen per month)
    has_income = (rng.random(persons) < np.where(minor & ~(age >= 16), 0.02, 0.6)) & ~(
        student & (rng.random(persons) < 0.8))
    income = np.where(has_income, np.minimum(rng.lognormal(np.log(1600), 0.9, persons), 60_000),
                      0.0)
    income = (np.round(income, 2) * 100).astype(np.int64)
    pension = old & (rng.random(persons) < 0.5)
    income = income + np.where(pension, rng.integers(150, 4000, size=persons) * 100, 0)
    earned = np.where(working & has_income,
                      np.where(rng.random(persons) < 0.7, income,
                               (income * rng.random(persons)).astype(np.int64)), 0)
    disabled = rng.random(persons) < np.where(old, 0.12, 0.04)
    grade = np.where(disabled, rng.integers(1, 5, size=persons), 0).astype(np.int8)
    dtype_idx = rng.integers(0, len(DISABILITY_TYPES), size=persons)
    disability_type = np.where(disabled, np.array(DISABILITY_TYPES, dtype=object)[dtype_idx],
                               "none")
    serious_illness = rng.random(persons) < np.where(old, 0.08, 0.02)
    labor_capacity = ~((grade >= 1) & (grade <= 2)) & ~old & (rng.random(persons) > 0.03)
    adl_failed = np.where(old & (rng.random(persons) < 0.3), rng.integers(0, 7, size=persons),
                          0).astype(np.int8)
    has_supporter = rng.random(persons) > np.where(old, 0.15, 0.03)
    orphan = minor & (rng.random(persons) < 0.01)
    de_facto = minor & ~orphan & (rng.random(persons) < 0.01)
    co_resident = (rank == 0) | (rng.random(persons) < 0.96)
    refused_work = working & ~student & (rng.random(persons) < 0.02)
    childless = old & (rng.random(persons) < 0.15)
    institutional = (orphan | de_facto) & (rng.random(persons) < 0.3)

    ids = pl.select(pl.format("H{}", pl.int_range(count).cast(pl.String).str.zfill(8)))
    ids = ids.to_series().alias("household_id")
    members = pl.DataFrame({
        "household_id": ids.gather(owner),
        "member_id": (rank + 1).astype(np.int64),
        "age": age.astype(np.int32),
        "income": income,
        "earned_income": earned.astype(np.int64),
        "disability_grade": grade,
        "disability_type": disability_type.astype(str),
        "serious_illness": serious_illness,
        "student": student,
        "labor_capacity": labor_capacity,
        "adl_failed": adl_failed,
        "has_supporter": has_supporter,
        "orphan": orphan,
        "de_facto_unsupported": de_facto,
        "co_resident": co_resident,
        "refused_work": refused_work,
        "childless": childless,
        "institutional": institutional,
    }).with_columns(pl.col("member_id").cast(pl.String)).cast(MEMBER_SCHEMA).select(
        list(MEMBER_SCHEMA))

    # ---- households
    rich = rng.random(count) < 0.12  # assets well over any limit
    assets = np.where(rng.random(count) < 0.5, 0.0, rng.lognormal(np.log(8_000), 1.3, count))
    assets = np.where(rich, rng.lognormal(np.log(300_000), 1.0, count), assets)
    assets = (np.minimum(assets, 5_000_000) * 100).astype(np.int64)  # fen, ≤ 5 M yuan
    vehicles = np.where(rng.random(count) < 0.12, rng.integers(1, 3, size=count), 0)
    houses = rng.choice([0, 1, 2, 3], size=count, p=[0.30, 0.62, 0.06, 0.02])
    non_res = np.where(rng.random(count) < 0.04, 1, 0)
    business = rng.random(count) < 0.05
    has_annual = rng.random(count) < 0.2
    rigid = np.where(rng.random(count) < 0.08, rng.integers(5_000, 200_000, size=count) * 100, 0)
    enrolled = rng.random(count) < 0.08
    current = np.where(enrolled, rng.integers(100, 3000, size=count) * 100, 0)
    linshi_kind = np.where(rng.random(count) < 0.04, rng.integers(1, 4, size=count), 0)
    need = np.where(linshi_kind > 0, rng.integers(500, 30_000, size=count) * 100, 0)
    received = np.where(linshi_kind > 0,
                        rng.choice([0, 0, 0, 1_000_000, 4_800_000], size=count), 0)
    monthly_total = np.bincount(owner, weights=income, minlength=count)
    annual = (monthly_total * 12 * rng.uniform(0.8, 1.3, size=count)).astype(np.int64)

    households = pl.DataFrame({
        "household_id": ids,
        "area_code": codes,
        "hukou": np.where(urban, "urban", "rural"),
        "financial_assets": assets,
        "vehicles": vehicles,
        "houses": houses,
        "non_residential_property": non_res,
        "business": business,
        "annual_income": annual,
        "annual_rigid_expenditure": rigid,
        "dibao_enrolled": enrolled,
        "dibao_current_amount": current,
        "linshi_type": linshi_kind,
        "linshi_need": need,
        "linshi_received_this_year": received,
    }).with_columns(
        pl.when(pl.lit(has_annual)).then(pl.col("annual_income")).alias("annual_income"),
        pl.col("linshi_type").replace_strict(dict(enumerate(LINSHI_TYPES)),
                                             return_dtype=pl.String),
    ).cast(HOUSEHOLD_SCHEMA).select(list(HOUSEHOLD_SCHEMA))
    return households, members


def latency(households, members, params, calls: int) -> None:
    """One household at a time, as the town office evaluates an applicant: `evaluate` on a
    one-household frame pair, then `explain`. Cycles through 200 households spread over the data
    (every area and size), after 20 warm-up calls."""
    step = max(households.height // 200, 1)
    sample_ids = households["household_id"].gather(range(0, households.height, step))[:200]
    cases = [(households.filter(household_id=hid), members.filter(household_id=hid), hid)
             for hid in sample_ids]
    timings = []
    for i in range(20 + calls):
        h1, m1, hid = cases[i % len(cases)]
        t0 = time.perf_counter()
        explain(evaluate(h1, m1, params, DAY), hid)
        if i >= 20:
            timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    print(f"one household evaluate + explain ({calls} calls): p50 "
          f"{statistics.median(timings):.1f} ms, p99 {p99:.1f} ms", flush=True)


def summary(result) -> None:
    h, m = result.households, result.members
    counts = {
        "低保": int(h["dibao.eligible"].sum()), "边缘": int(h["edge.eligible"].sum()),
        "单人保": int(h["single_person.eligible"].sum()),
        "支出型": int(h["hardship.eligible"].sum()), "渐退": int(h["taper.eligible"].sum()),
        "临时": int(h["linshi.eligible"].sum()), "特困(人)": int(m["tekun.eligible"].sum()),
        "两项补贴(人)": int(m["disability.eligible"].sum()),
        "孤儿(人)": int(m["child.eligible"].sum()),
    }
    print("eligible: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)


if __name__ == "__main__":
    main()
