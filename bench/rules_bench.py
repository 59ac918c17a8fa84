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
   (not the data generation) and the process's peak RSS so far (the input frames included);
   then 低保 alone, which is what OpenFisca is compared with.
2. The same 低保 rule as an OpenFisca tax-benefit system (person and household entities with
   roles, one variable per step: employment deduction, counted income, household sums, the four
   asset tests, eligibility, the 差额 amount rounded to the step, the 分类施保 add-on). The
   parameters are resolved with ParameterSet.resolve once per area signature and given to
   OpenFisca as household input arrays, and the simulation is built from numpy arrays with
   SimulationBuilder. Timed: the calculation of the amount alone (as asked: OpenFisca's timed
   part then does no parameter lookup and no key matching, both of which Doudi's `evaluate`
   includes), and end to end (input arrays from the same frames, build, calculate). Every
   household's eligibility and amount is compared with Doudi's; the count of disagreements is
   printed and must be 0.
3. Latency for one household at the counter: `evaluate` on a one-household frame pair, then
   `explain`, p50 and p99 over --latency-calls calls after 20 warm-up calls.

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

    for label in ("cold", "warm"):
        result = None  # the previous run's frames are released first
        t0 = time.perf_counter()
        result = evaluate(households, members, params, DAY)
        elapsed = time.perf_counter() - t0
        print(f"doudi all programmes ({label}): {elapsed:.2f} s; peak RSS "
              f"{peak_rss_mib():,.0f} MiB", flush=True)
    summary(result)
    alone_vs_batch(households, members, params, result)
    result = None
    dibao_times = []
    for _ in range(2):
        dibao = None
        t0 = time.perf_counter()
        dibao = evaluate(households, members, params, DAY, programmes=["dibao"])
        dibao_times.append(time.perf_counter() - t0)
    print(f"doudi 低保 only (cold, warm): {dibao_times[0]:.2f} s, {dibao_times[1]:.2f} s",
          flush=True)

    if not args.skip_openfisca:
        openfisca = compare_openfisca(households, members, params, dibao)
        print(f"disagreements on 低保 eligibility or amount: {openfisca['disagreements']}",
              flush=True)
        calculate = openfisca["calculate"][1]
        whole = openfisca["inputs"] + openfisca["build"] + calculate
        print(f"openfisca 低保 calculate (cold, warm): {openfisca['calculate'][0]:.2f} s, "
              f"{calculate:.2f} s", flush=True)
        print(f"openfisca 低保 end to end: {whole:.2f} s (inputs from the frames and parameters "
              f"resolved per area code {openfisca['inputs']:.2f} s, SimulationBuilder + "
              f"set_input {openfisca['build']:.2f} s, calculate {calculate:.2f} s)", flush=True)
        print(f"ratio OpenFisca / Doudi, 低保 only (warm; above 1 means Doudi is faster): "
              f"calculate {calculate / dibao_times[1]:.2f}, end to end "
              f"{whole / dibao_times[1]:.2f}", flush=True)
    del dibao

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
    # male / female; 1 % not recorded (the rules then read the general elderly age)
    sex = np.where(rng.random(persons) < 0.5, "female", "male").astype(object)
    sex[rng.random(persons) < 0.01] = None
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
        "sex": sex,
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
        "relation": np.where(rank == 0, "head", "child").astype(str),
        "employed": working & (earned > 0),
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


# ---------------------------------------------------------------------------------------------
# OpenFisca: the same 低保 rule

# Doudi parameter → household input variable of the OpenFisca system (engine units: fen, basis
# points, counts). The add-on groups list becomes one boolean per group; the rounding mode an int.
OF_PARAMETERS = {
    "dibao.standard.urban": "p_standard_urban",
    "dibao.standard.rural": "p_standard_rural",
    "dibao.asset_limit_months": "p_asset_limit_months",
    "dibao.asset.max_houses": "p_max_houses",
    "dibao.asset.max_vehicles": "p_max_vehicles",
    "dibao.asset.max_non_residential": "p_max_non_residential",
    "dibao.asset.business_allowed": "p_business_allowed",
    "dibao.employment_deduction.rate": "p_deduction_rate",
    "dibao.employment_deduction.cap": "p_deduction_cap",
    "dibao.employment_deduction.allow_negative": "p_deduction_allow_negative",
    "dibao.refused_work.imputed_income": "p_imputed_income",
    "dibao.addon.rate": "p_addon_rate",
    "dibao.addon.elderly_age": "p_elderly_age",
    "dibao.min_amount": "p_min_amount",
    "dibao.rounding": "p_rounding",
}
ADDON_GROUPS = ("student", "minor", "elderly", "elderly_childless", "severe_disability",
                "disability", "serious_illness")
ROUNDING_MODES = {"half_up": 0, "up": 1, "down": 2}
BASIS = 10_000


def round_fraction(numer, denom, step, mode):
    """numer / denom rounded to a multiple of `step` (half up, up or down); negative → 0."""
    numer = np.maximum(numer.astype(np.int64), 0)
    unit = step.astype(np.int64) * denom
    return np.select(
        [mode == 1, mode == 2],
        [(numer + unit - 1) // unit, numer // unit],
        (2 * numer + unit) // (2 * unit),
    ) * step


def openfisca_system():
    """A tax-benefit system with the 低保 rule, one variable per step, the way a country package
    writes it. Money is int (fen; OpenFisca stores int32, formulas compute in int64)."""
    from openfisca_core.entities import build_entity
    from openfisca_core.model_api import MONTH, Variable, max_, min_, where
    from openfisca_core.taxbenefitsystems import TaxBenefitSystem

    person = build_entity("person", "persons", "家庭成员", is_person=True)
    household = build_entity("household", "households", "家庭", roles=[
        {"key": "applicant", "max": 1, "label": "申请人"},
        {"key": "member", "plural": "members", "label": "其他成员"},
    ])
    system = TaxBenefitSystem([person, household])

    def add_input(name, entity, value_type):
        system.add_variable(type(name, (Variable,), {
            "value_type": value_type, "entity": entity, "definition_period": MONTH,
            "label": name}))

    for name, kind in (("income", int), ("earned_income", int), ("age", int), ("female", bool),
                       ("disability_grade", int), ("co_resident", bool), ("refused_work", bool),
                       ("student", bool), ("childless", bool), ("serious_illness", bool)):
        add_input(name, person, kind)
    for name, kind in (("urban", bool), ("financial_assets", int), ("houses", int),
                       ("vehicles", int), ("non_residential_property", int), ("business", bool),
                       ("p_rounding_mode", int), ("p_elderly_age_female", int),
                       *((f"p_addon_{g}", bool) for g in ADDON_GROUPS),
                       *((v, bool if v.endswith(("allowed", "negative")) else int)
                         for v in OF_PARAMETERS.values())):
        add_input(name, household, kind)

    class dibao_standard(Variable):
        value_type, entity, definition_period, label = int, household, MONTH, "低保标准"

        def formula(household, period, parameters):
            return where(household("urban", period), household("p_standard_urban", period),
                         household("p_standard_rural", period))

    class dibao_refused(Variable):
        value_type, entity, definition_period, label = bool, person, MONTH, "无正当理由拒绝就业"

        def formula(person, period, parameters):
            return (person("co_resident", period) & person("refused_work", period)
                    & ~person("student", period))

    class dibao_deduction(Variable):
        value_type, entity, definition_period, label = int, person, MONTH, "就业成本扣减"

        def formula(person, period, parameters):
            standard = person.household("dibao_standard", period).astype(np.int64)
            rate_part = standard * person.household("p_deduction_rate", period) // BASIS
            cap = person.household("p_deduction_cap", period)
            allowance = where(cap > 0, min_(rate_part, cap), rate_part)
            earned = person("earned_income", period)
            deduction = where(
                earned <= 0, 0,
                where(person.household("p_deduction_allow_negative", period), allowance,
                      min_(allowance, earned)))
            return where(person("co_resident", period), deduction, 0)

    class dibao_counted_income(Variable):
        value_type, entity, definition_period, label = int, person, MONTH, "计入收入"

        def formula(person, period, parameters):
            income = person("income", period)
            imputed = person.household("p_imputed_income", period)
            base = where(person("dibao_refused", period), max_(income, imputed), income)
            return where(person("co_resident", period),
                         base - person("dibao_deduction", period), 0)

    class dibao_covered_member(Variable):
        value_type, entity, definition_period, label = bool, person, MONTH, "保障对象"

        def formula(person, period, parameters):
            return person("co_resident", period) & ~person("dibao_refused", period)

    class dibao_addon_member(Variable):
        value_type, entity, definition_period, label = bool, person, MONTH, "分类施保对象"

        def formula(person, period, parameters):
            age, grade = person("age", period), person("disability_grade", period)
            elderly = age >= where(person("female", period),
                                   person.household("p_elderly_age_female", period),
                                   person.household("p_elderly_age", period))
            flags = {
                "student": person("student", period), "minor": age < 18, "elderly": elderly,
                "elderly_childless": elderly & person("childless", period),
                "severe_disability": (grade >= 1) & (grade <= 2), "disability": grade >= 1,
                "serious_illness": person("serious_illness", period),
            }
            in_group = np.zeros(age.shape, dtype=bool)
            for group, flag in flags.items():
                in_group |= flag & person.household(f"p_addon_{group}", period)
            return person("dibao_covered_member", period) & in_group

    def household_sum(name):
        def formula(household, period, parameters):
            return household.sum(household.members(name, period))
        return formula

    class dibao_members(Variable):
        value_type, entity, definition_period, label = int, household, MONTH, "共同生活成员数"
        formula = household_sum("co_resident")

    class dibao_covered(Variable):
        value_type, entity, definition_period, label = int, household, MONTH, "保障人数"
        formula = household_sum("dibao_covered_member")

    class dibao_addon_members(Variable):
        value_type, entity, definition_period, label = int, household, MONTH, "分类施保人数"
        formula = household_sum("dibao_addon_member")

    class dibao_family_income(Variable):
        value_type, entity, definition_period, label = int, household, MONTH, "家庭月收入"

        def formula(household, period, parameters):
            total = household.sum(household.members("dibao_counted_income", period))
            return max_(total, 0)

    class dibao_threshold(Variable):
        value_type, entity, definition_period, label = int, household, MONTH, "标准合计"

        def formula(household, period, parameters):
            return household("dibao_standard", period) * household("dibao_members", period)

    class dibao_income_ok(Variable):
        value_type, entity, definition_period, label = bool, household, MONTH, "收入条件"

        def formula(household, period, parameters):
            return ((household("dibao_members", period) > 0)
                    & (household("dibao_family_income", period)
                       < household("dibao_threshold", period)))

    class dibao_asset_limit(Variable):
        value_type, entity, definition_period, label = int, household, MONTH, "金融资产限额"

        def formula(household, period, parameters):
            return (household("p_asset_limit_months", period).astype(np.int64)
                    * household("dibao_standard", period) * household("dibao_members", period))

    class dibao_financial_ok(Variable):
        value_type, entity, definition_period, label = bool, household, MONTH, "金融资产"

        def formula(household, period, parameters):
            return (household("financial_assets", period)
                    <= household("dibao_asset_limit", period))

    def within(name, limit):
        def formula(household, period, parameters):
            return household(name, period) <= household(limit, period)
        return formula

    class dibao_houses_ok(Variable):
        value_type, entity, definition_period, label = bool, household, MONTH, "住房"
        formula = within("houses", "p_max_houses")

    class dibao_vehicles_ok(Variable):
        value_type, entity, definition_period, label = bool, household, MONTH, "机动车"
        formula = within("vehicles", "p_max_vehicles")

    class dibao_non_residential_ok(Variable):
        value_type, entity, definition_period, label = bool, household, MONTH, "非居住类房屋"
        formula = within("non_residential_property", "p_max_non_residential")

    class dibao_business_ok(Variable):
        value_type, entity, definition_period, label = bool, household, MONTH, "商事登记"

        def formula(household, period, parameters):
            return ~household("business", period) | household("p_business_allowed", period)

    class dibao_assets_ok(Variable):
        value_type, entity, definition_period, label = bool, household, MONTH, "财产条件"

        def formula(household, period, parameters):
            return (household("dibao_financial_ok", period) & household("dibao_houses_ok", period)
                    & household("dibao_vehicles_ok", period)
                    & household("dibao_non_residential_ok", period)
                    & household("dibao_business_ok", period))

    class dibao_eligible(Variable):
        value_type, entity, definition_period, label = bool, household, MONTH, "符合低保"

        def formula(household, period, parameters):
            return (household("dibao_income_ok", period) & household("dibao_assets_ok", period)
                    & (household("dibao_covered", period) > 0))

    class dibao_gap_amount(Variable):
        value_type, entity, definition_period, label = int, household, MONTH, "差额低保金"

        def formula(household, period, parameters):
            n = household("dibao_members", period).astype(np.int64)
            covered = household("dibao_covered", period)
            gap = (household("dibao_threshold", period).astype(np.int64)
                   - household("dibao_family_income", period)) * covered
            amount = round_fraction(gap, max_(n, 1), household("p_rounding", period),
                                    household("p_rounding_mode", period))
            return where(household("dibao_eligible", period), amount, 0)

    class dibao_base(Variable):
        value_type, entity, definition_period, label = int, household, MONTH, "月低保金（差额）"

        def formula(household, period, parameters):
            floor = household("p_min_amount", period) * household("dibao_covered", period)
            return where(household("dibao_eligible", period),
                         max_(household("dibao_gap_amount", period), floor), 0)

    class dibao_addon(Variable):
        value_type, entity, definition_period, label = int, household, MONTH, "分类施保金"

        def formula(household, period, parameters):
            numer = (household("dibao_addon_members", period).astype(np.int64)
                     * household("p_addon_rate", period) * household("dibao_standard", period))
            addon = round_fraction(numer, BASIS, household("p_rounding", period),
                                   household("p_rounding_mode", period))
            return where(household("dibao_eligible", period), addon, 0)

    class dibao_amount(Variable):
        value_type, entity, definition_period, label = int, household, MONTH, "月低保金"

        def formula(household, period, parameters):
            return household("dibao_base", period) + household("dibao_addon", period)

    for cls in (dibao_standard, dibao_refused, dibao_deduction, dibao_counted_income,
                dibao_covered_member, dibao_addon_member, dibao_members, dibao_covered,
                dibao_addon_members, dibao_family_income, dibao_threshold, dibao_income_ok,
                dibao_asset_limit, dibao_financial_ok, dibao_houses_ok, dibao_vehicles_ok,
                dibao_non_residential_ok, dibao_business_ok, dibao_assets_ok, dibao_eligible,
                dibao_gap_amount, dibao_base, dibao_addon, dibao_amount):
        system.add_variable(cls)
    return system


def openfisca_inputs(households, members, params):
    """Numpy input arrays: persons, households, and the Doudi parameters resolved once per
    distinct area code (ParameterSet.resolve, not the engine's join) spread to households."""
    codes = households["area_code"].unique().sort()
    where_code = households["area_code"].cast(pl.Enum(codes)).to_physical().to_numpy()
    names = [*OF_PARAMETERS.values(), "p_rounding_mode", "p_elderly_age_female",
             *(f"p_addon_{g}" for g in ADDON_GROUPS)]
    per_code = {name: [] for name in names}
    by_signature = {}  # areas defined by the same prefixes resolve alike
    for code in codes:
        signature = params.signature(code)
        if signature not in by_signature:
            values = {name: engine_value(params.resolve(key, code, DAY))
                      for key, name in OF_PARAMETERS.items()}
            values["p_rounding_mode"] = ROUNDING_MODES[
                engine_value(params.resolve("dibao.rounding.mode", code, DAY))]
            # optional: where an area sets no female age, women are held to the general one
            female = params.find("dibao.addon.elderly_age.female", code, DAY)
            values["p_elderly_age_female"] = (values["p_elderly_age"] if female is None
                                              else engine_value(female))
            groups = set(engine_value(params.resolve("dibao.addon.groups", code, DAY)))
            values.update({f"p_addon_{g}": g in groups for g in ADDON_GROUPS})
            by_signature[signature] = values
        for name in names:
            per_code[name].append(by_signature[signature][name])
    household_inputs = {name: np.array(values)[where_code] for name, values in per_code.items()}
    household_inputs.update({
        "urban": (households["hukou"] == "urban").to_numpy(),
        **{c: households[c].to_numpy() for c in ("financial_assets", "houses", "vehicles",
                                                 "non_residential_property", "business")},
    })
    person_inputs = {c: members[c].to_numpy() for c in (
        "income", "earned_income", "age", "disability_grade", "co_resident", "refused_work",
        "student", "childless", "serious_illness")}
    person_inputs["female"] = (members["sex"] == "female").fill_null(False).to_numpy()
    for name, array in [*household_inputs.items(), *person_inputs.items()]:
        if array.dtype.kind == "i" and np.abs(array).max(initial=0) >= 2**31:
            raise SystemExit(f"{name} does not fit OpenFisca's int32")
    owner = households.select("household_id").with_row_index("i").join(
        members.select("household_id"), on="household_id", how="right", maintain_order="right",
    )["i"].to_numpy()
    return household_inputs, person_inputs, owner


def openfisca_simulation(system, household_inputs, person_inputs, owner):
    from openfisca_core.simulations import SimulationBuilder

    builder = SimulationBuilder()
    builder.create_entities(system)
    builder.declare_person_entity("person", np.arange(owner.size))
    group = builder.declare_entity("household", np.arange(len(household_inputs["urban"])))
    first = np.ones(owner.size, dtype=bool)
    first[1:] = owner[1:] != owner[:-1]
    builder.join_with_persons(group, owner, np.where(first, 0, 1))  # 0 applicant, 1 member
    simulation = builder.build(system)
    for name, array in [*household_inputs.items(), *person_inputs.items()]:
        simulation.set_input(name, PERIOD, array)
    return simulation


def compare_openfisca(households, members, params, dibao):
    system = openfisca_system()
    t0 = time.perf_counter()
    household_inputs, person_inputs, owner = openfisca_inputs(households, members, params)
    figures = {"inputs": time.perf_counter() - t0, "calculate": []}
    for _ in range(2):  # a fresh simulation each time (OpenFisca caches what it computed)
        simulation = None
        t0 = time.perf_counter()
        simulation = openfisca_simulation(system, household_inputs, person_inputs, owner)
        figures["build"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        amount = simulation.calculate("dibao_amount", PERIOD)
        figures["calculate"].append(time.perf_counter() - t0)
    eligible = simulation.calculate("dibao_eligible", PERIOD)  # computed above, cached
    h = dibao.households
    if not (h["household_id"] == households["household_id"]).all():
        raise SystemExit("Doudi changed the household order")
    doudi_eligible = h["dibao.eligible"].to_numpy()
    doudi_amount = h["dibao.amount"].to_numpy()
    wrong = (eligible != doudi_eligible) | (amount != doudi_amount)
    for i in np.flatnonzero(wrong)[:5]:
        print(f"  disagreement {h['household_id'][int(i)]}: doudi {doudi_eligible[i]} "
              f"{doudi_amount[i]} fen, openfisca {eligible[i]} {amount[i]} fen", flush=True)
    print(f"低保 households eligible / monthly total: openfisca {int(eligible.sum()):,} / "
          f"{int(amount.astype(np.int64).sum()) / 100:,.2f} yuan, doudi "
          f"{int(doudi_eligible.sum()):,} / {int(doudi_amount.sum()) / 100:,.2f} yuan", flush=True)
    figures["disagreements"] = int(wrong.sum())
    return figures


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


def alone_vs_batch(households, members, params, result, sample: int = 200) -> None:
    """Every output of households spread over the batch, evaluated alone, must equal the same
    household's outputs inside the million-household batch."""
    from doudi.rules.scenarios import outputs

    step = max(households.height // sample, 1)
    differing = 0
    for hid in households["household_id"].gather(range(0, households.height, step))[:sample]:
        alone = evaluate(households.filter(household_id=hid), members.filter(household_id=hid),
                         params, DAY)
        if outputs(alone, hid) != outputs(result, hid):
            differing += 1
    print(f"households evaluated alone and inside the batch with different outputs: "
          f"{differing} of {sample}", flush=True)


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
