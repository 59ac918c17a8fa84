"""Planted cases with ground truth (真值): events and coverage gaps hidden in a synthetic district
so that monitoring can be scored by precision and recall.

The registry (households.parquet, persons.parquet) is what the bureau was told; the department
feeds are what the departments know. A planted case is a fact in a feed that the registry does
not have — a death, a large medical bill, a new severe disability certificate, an unemployment
registration, disaster damage, a new 防返贫 entry, a school drop-out, a move away, a car, shop,
business or wage that an enrolled family did not declare — or a household the rules find
eligible that is not enrolled (应保未保, from `enrolments`).

Every truth row says where the evidence is (`source`: a feed key, or `registry`), when it
happened, what monitoring is expected to raise (`expected`), and which programmes the household
qualifies for before and after the new fact (both computed by the rules engine on a copy of the
household with the fact applied). Cases that change eligibility (不应保而保, 渐退) are kept only
when the engine confirms the change, so the truth never claims what the rules do not say.
Each household carries at most one planted event; deaths of the old are drawn for every
household at realistic monthly rates and listed too, so the truth is complete for its kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from doudi.programmes import catalogue
from doudi.rules.engine import Result, evaluate
from doudi.rules.parameters import ParameterSet
from doudi.synth.feeds import build
from doudi.synth.feeds.build import Context, as_dates, take

KINDS = {
    "uncovered_eligible": "应保未保",
    "covered_ineligible": "不应保而保",
    "taper_due": "渐退到期",
    "breadwinner_death": "主要劳动力死亡",
    "death": "人员死亡",
    "medical_bill": "大额医疗费用",
    "severe_disability": "新增重度残疾",
    "unemployment": "失业",
    "disaster": "受灾",
    "relapse_watch_entry": "新纳入防返贫监测",
    "school_dropout": "辍学",
    "moved_out": "户籍迁出",
}
EXPECTED = {"uncovered_eligible": "uncovered_eligible", "covered_ineligible": "covered_ineligible",
            "taper_due": "taper_due"}  # every other kind: "risk"
DEFAULT_PER_10K = 10  # planted cases of each kind per 10,000 households (at least one)
# monthly probability of death by age band (about the 2020 life table's annual rates / 12)
MORTALITY = ((70, 0.0020), (80, 0.0055), (90, 0.0140), (200, 0.0250))

TRUTH_SCHEMA = {
    "case_id": pl.String(), "kind": pl.String(), "label": pl.String(),
    "programme": pl.String(), "household_id": pl.Int64(), "household_number": pl.String(),
    "person_id": pl.Int64(), "id_number": pl.String(), "area_code": pl.String(),
    "event_date": pl.Date(), "source": pl.String(), "expected": pl.String(),
    "detail": pl.String(), "eligible_before": pl.List(pl.String()),
    "eligible_after": pl.List(pl.String()),
}


@dataclass
class Planted:
    truth: pl.DataFrame
    rows: dict[str, list[pl.DataFrame]] = field(default_factory=dict)  # feed → rows to add
    drop: dict[str, set[str]] = field(default_factory=dict)  # feed → ids whose rows go

    def add_rows(self, feed: str, rows: pl.DataFrame) -> None:
        self.rows.setdefault(feed, []).append(rows)

    def drop_ids(self, feed: str, ids: list[str]) -> None:
        self.drop.setdefault(feed, set()).update(ids)


@dataclass
class Change:
    """What a case does to the household as the rules engine sees it (applied to a copy)."""

    household: dict[str, pl.Expr] = field(default_factory=dict)
    member: dict[str, pl.Expr] = field(default_factory=dict)
    remove_member: bool = False


@dataclass
class Case:
    kind: str
    people: pl.DataFrame  # one row per case: person and household columns of Context.people
    event: np.ndarray  # day numbers
    source: str
    detail: pl.Series
    programme: str | None = None
    change: Change | None = None
    person_level: bool = True


class Planter:
    def __init__(self, ctx: Context, households: pl.DataFrame, members: pl.DataFrame,
                 result: Result, enrolled: pl.DataFrame, parameters: ParameterSet,
                 per_10k: int) -> None:
        self.ctx = ctx
        self.h, self.m, self.result = households, members, result
        self.parameters = parameters
        self.count = max(1, ctx.population.households.height * per_10k // 10_000)
        self.rng = np.random.default_rng([ctx.seed, 104_729])
        self.used: set[int] = set()
        self.cases: list[Case] = []
        self.planted = Planted(truth=pl.DataFrame(schema=TRUTH_SCHEMA))
        dibao = enrolled.filter((pl.col("programme") == catalogue.DIBAO) & pl.col("covered"))
        self.dibao_amount = dict(zip(dibao["household_id"].to_list(),
                                     dibao["monthly_amount"].to_list(), strict=True))
        self.enrolled = enrolled

    # -- helpers ---------------------------------------------------------------------------
    def days_ago(self, lo: int, hi: int, n: int) -> np.ndarray:
        return self.ctx.today_days - self.rng.integers(lo, hi + 1, n)

    def free(self, people: pl.DataFrame) -> pl.DataFrame:
        return people.filter(~pl.col("household_id").is_in(list(self.used)))

    def sample(self, people: pl.DataFrame, n: int, one_per_household: bool = True
               ) -> pl.DataFrame:
        """Up to `n` rows, a random choice, one per household, from households not yet used."""
        pool = self.free(people)
        if one_per_household:
            pool = pool.unique("household_id", keep="first", maintain_order=True)
        if pool.height == 0:
            return pool
        order = self.rng.permutation(pool.height)[:n]
        chosen = take(pool, np.sort(order))
        self.used.update(chosen["household_id"].to_list())
        return chosen

    def household_context(self, ids: list[int]) -> pl.DataFrame:
        return self.ctx.heads().filter(pl.col("household_id").is_in(ids))

    # -- engine on changed copies -----------------------------------------------------------
    def evaluate_changed(self, cases: pl.DataFrame, change: Change) -> Result:
        """Evaluate the households of `cases` with `change` applied to a copy; enrolled 低保
        households are marked enrolled with their current amount (for 渐退). `change` may read
        the cases' own columns whose names start with "_" (per-case values)."""
        ids = cases["household_id"].unique().to_list()
        own = [c for c in cases.columns if c.startswith("_")]
        h = self.h.filter(pl.col("household_id").is_in(ids)).with_columns(
            pl.col("household_id").is_in(list(self.dibao_amount)).alias("dibao_enrolled"),
            pl.col("household_id").replace_strict(self.dibao_amount, default=0,
                                                  return_dtype=pl.Int64)
            .alias("dibao_current_amount"),
        )
        if change.household:
            per_household = cases.select("household_id", *own).unique("household_id")
            h = h.join(per_household, on="household_id", how="left").with_columns(
                [expr.alias(col) for col, expr in change.household.items()])
        target = cases.select(pl.col("person_id").cast(pl.String).alias("member_id"), *own,
                              pl.lit(True).alias("_target"))
        m = self.m.filter(pl.col("household_id").is_in(ids)).join(
            target, on="member_id", how="left").with_columns(pl.col("_target").fill_null(False))
        if change.member:
            m = m.with_columns([pl.when(pl.col("_target")).then(expr).otherwise(pl.col(col))
                                .alias(col) for col, expr in change.member.items()])
        if change.remove_member:
            m = m.filter(~pl.col("_target"))
        return evaluate(h.select(self.h.columns).cast(dict(self.h.schema)),  # type: ignore[arg-type]
                        m.select(self.m.columns).cast(dict(self.m.schema)),  # type: ignore[arg-type]
                        self.parameters, self.ctx.today)

    def add(self, case: Case) -> None:
        if case.people.height:
            self.cases.append(case)

    # -- the kinds -------------------------------------------------------------------------
    def uncovered(self) -> None:
        """应保未保: everyone the rules find eligible whom the enrolment left out."""
        gaps = self.enrolled.filter(~pl.col("covered"))
        people = self.ctx.people.select("person_id", "household_id", "id_number", "number",
                                        "area_code")
        heads = self.ctx.heads().select("household_id", "number", "area_code")
        labels = {u.code: u.label for u in catalogue.monitored_units()}
        for programme in gaps["programme"].unique(maintain_order=True).to_list():
            part = gaps.filter(pl.col("programme") == programme).select(
                "household_id", "person_id")
            person_level = part["person_id"].is_not_null().any()
            rows = (part.join(people, on=["person_id", "household_id"], how="left")
                    if person_level else part.drop("person_id").join(heads, on="household_id",
                                                                     how="left"))
            text = f"规则测算符合{labels[programme]}条件，未纳入保障"
            self.add(Case("uncovered_eligible", rows,
                          np.full(rows.height, self.ctx.today_days), "registry",
                          pl.Series([text] * rows.height, dtype=pl.String),
                          programme=programme, person_level=bool(person_level)))

    def _enrolled_people(self) -> pl.DataFrame:
        """Working-age members able to work in enrolled 低保 households."""
        return self.ctx.people.filter(
            pl.col("household_id").is_in(list(self.dibao_amount)) & pl.col("co_resident")
            & (pl.col("age") >= 18) & (pl.col("age") < 60) & (pl.col("labour_capacity") != "none")
            & (pl.col("student_status") == ""))

    def covered_ineligible(self) -> None:
        """An enrolled 低保 family whose car, shop, business or wage only a department knows."""
        heads = self.ctx.heads().filter(pl.col("household_id").is_in(list(self.dibao_amount)))
        per_method = -(-self.count // 4)
        methods: list[tuple[str, pl.DataFrame, Change, str]] = []
        pool = self.free(heads)
        order = self.rng.permutation(pool.height)
        pool = take(pool, order)
        chunks = [pool.slice(i * per_method * 3, per_method * 3) for i in range(3)]
        methods.append(("vehicle", chunks[0], Change(household={
            "vehicles": pl.col("vehicles") + 1}), "车管：新登记小型普通客车一辆"))
        methods.append(("property", chunks[1], Change(household={
            "non_residential_property": pl.col("non_residential_property") + 1}),
            "不动产：新登记商业用房一处"))
        methods.append(("business", chunks[2], Change(household={"business": pl.lit(True)}),
                        "市场监管：新登记个体工商户"))
        for feed, candidates, change, text in methods:
            if candidates.height == 0:
                continue
            after = self.evaluate_changed(candidates, change).households
            ok = after.filter(~pl.col("dibao.eligible") & ~pl.col("taper.eligible"))
            chosen = candidates.filter(pl.col("household_id").is_in(ok["household_id"]
                                                                    .implode())).head(per_method)
            chosen = chosen.filter(~pl.col("household_id").is_in(list(self.used)))
            self.used.update(chosen["household_id"].to_list())
            event = self.days_ago(10, 120, chosen.height)
            self._feed_fact(feed, chosen, event)
            self.add(Case("covered_ineligible", chosen, event, feed,
                          pl.Series([text] * chosen.height, dtype=pl.String),
                          programme=catalogue.DIBAO, change=change, person_level=False))
        self._wage_rise("covered_ineligible", per_method, (2.6, 3.5))

    def taper_due(self) -> None:
        self._wage_rise("taper_due", self.count, (1.05, 1.35))

    def _wage_rise(self, kind: str, n: int, band: tuple[float, float]) -> None:
        """A member of an enrolled 低保 family found working (人社 contribution): family income
        moved to `band` × the household's 低保 threshold. Kept when the engine agrees."""
        workers = self.free(self._enrolled_people()).unique("household_id", keep="first",
                                                            maintain_order=True)
        workers = take(workers, self.rng.permutation(workers.height))[: n * 3]
        if workers.height == 0:
            return
        threshold = self.result.households.select("household_id", "dibao.threshold",
                                                  "dibao.family_income")
        workers = workers.join(threshold, on="household_id", how="left")
        factor = band[0] + (band[1] - band[0]) * self.rng.random(workers.height)
        raise_by = np.maximum(
            (workers["dibao.threshold"].to_numpy() * factor
             - workers["dibao.family_income"].to_numpy()) * 1.3, 100_000)
        new_wage = (workers["income_wage"].to_numpy() + raise_by) // 100 * 100
        workers = workers.with_columns(pl.Series("_wage", new_wage.astype(np.int64)))
        change = Change(member={
            "income": pl.col("income") - pl.col("earned_income") + pl.col("_wage"),
            "earned_income": pl.col("_wage")})
        after = self.evaluate_changed(workers, change).households
        want = (after["taper.eligible"] if kind == "taper_due"
                else ~after["dibao.eligible"] & ~after["taper.eligible"])
        ok = after.filter(want)["household_id"]
        chosen = workers.filter(pl.col("household_id").is_in(ok.implode())).head(n)
        chosen = chosen.filter(~pl.col("household_id").is_in(list(self.used)))
        self.used.update(chosen["household_id"].to_list())
        event = self.days_ago(20, 150, chosen.height)
        rows = build.contribution_rows(self.ctx, chosen, pl.col("_wage"), event, self.rng)
        self.planted.add_rows("contribution", rows)
        self.planted.drop_ids("contribution", chosen["id_number"].to_list())
        detail = chosen.select(pl.format("人社：{} 起参保缴费，缴费基数 {} 元/月",
                                         as_dates(event), pl.col("_wage") // 100)).to_series()
        self.add(Case(kind, chosen, event, "contribution", detail,
                      programme=catalogue.TAPER if kind == "taper_due" else catalogue.DIBAO,
                      change=change))

    def _feed_fact(self, feed: str, heads: pl.DataFrame, event: np.ndarray) -> None:
        if feed == "vehicle":
            rows = build.vehicle_rows(self.ctx, heads, event, self.rng)
        elif feed == "property":
            rows = build.property_rows(self.ctx, heads, np.full(heads.height, 1), event,
                                       self.rng, 9_000_000)
        else:
            rows = build.business_rows(self.ctx, heads, event, self.rng)
        self.planted.add_rows(feed, rows)

    def breadwinner_death(self) -> None:
        p = self.ctx.people
        earned = (pl.col("income_wage") + pl.col("income_business"))
        totals = p.filter(pl.col("co_resident")).group_by("household_id").agg(
            pl.len().alias("_n"),
            pl.sum_horizontal(build_income_columns()).sum().alias("_total"))
        cand = p.join(totals, on="household_id").filter(
            pl.col("co_resident") & (pl.col("_n") >= 2) & (pl.col("age") >= 25)
            & (pl.col("age") < 60) & (earned > 0) & (earned * 10 >= pl.col("_total") * 6))
        chosen = self.sample(cand, self.count)
        died = self.days_ago(5, 60, chosen.height)
        self._deaths("breadwinner_death", chosen, died)

    def elderly_deaths(self) -> None:
        rng = np.random.default_rng([self.ctx.seed, 15_485_863])
        p = self.free(self.ctx.people.filter(pl.col("co_resident") & (pl.col("age") >= 60)))
        age = p["age"].to_numpy()
        rate = np.select([age < lim for lim, _ in MORTALITY], [r for _, r in MORTALITY])
        chosen = p.filter(pl.Series(rng.random(p.height) < rate))
        chosen = chosen.unique("household_id", keep="first", maintain_order=True)
        self.used.update(chosen["household_id"].to_list())
        died = self.ctx.today_days - rng.integers(3, 31, chosen.height)
        self._deaths("death", chosen, died)

    def _deaths(self, kind: str, chosen: pl.DataFrame, died: np.ndarray) -> None:
        cancelled = np.minimum(died + self.rng.integers(3, 21, chosen.height),
                               self.ctx.today_days - 1)
        rows = build.typed("death_record", chosen.select(
            "id_number", "name", as_dates(died).alias("died_on"),
            as_dates(cancelled).alias("cancelled_on"),
            (pl.col("town_name").str.replace("街道|镇|乡", "") + "派出所").alias("police_station")))
        self.planted.add_rows("death_record", rows)
        detail = chosen.select(pl.format("公安：{} 死亡，户口已注销（{} 岁）", as_dates(died),
                                         pl.col("age"))).to_series()
        self.add(Case(kind, chosen, died, "death_record", detail,
                      change=Change(remove_member=True)))

    def medical_bill(self) -> None:
        p = self.ctx.people.filter(
            pl.col("co_resident") & ~pl.col("serious_illness")
            & (pl.col("monthly_medical_expense") < 50_000))
        chosen = self.sample(p, self.count)
        n = chosen.height
        total = (self.rng.integers(1_500, 6_000, n) * 10_000).astype(np.int64)
        oop = (total * (30 + self.rng.integers(0, 16, n)) // 10_000) * 100
        serious = (total - oop) * 3 // 1000 * 100
        settled = self.days_ago(5, 80, n)
        admitted = settled - self.rng.integers(7, 40, n)
        rows = build.typed("medical_settlement", chosen.select(
            build.serial_numbers(f"JS{self.ctx.today.year % 100:02d}", 90_000_001, n)
            .alias("settlement_no"),
            "id_number", "name", pl.lit("城乡居民基本医疗保险").alias("insurance_type"),
            (pl.col("city_name") + "人民医院").alias("hospital"),
            pl.lit("住院").alias("visit_type"), as_dates(admitted).alias("admitted_on"),
            as_dates(settled).alias("settled_on"), pl.Series(total).alias("total"),
            pl.Series(total - oop - serious).alias("fund_paid"),
            pl.Series(serious).alias("serious_illness_paid"),
            pl.lit(0, pl.Int64).alias("assistance_paid"), pl.Series(oop).alias("out_of_pocket")))
        self.planted.add_rows("medical_settlement", rows)
        chosen = chosen.with_columns(pl.Series("_h_oop", oop))
        detail = chosen.select(pl.format("医保：{} 住院结算，个人自付 {} 元", as_dates(settled),
                                         pl.col("_h_oop") // 100)).to_series()
        self.add(Case("medical_bill", chosen, settled, "medical_settlement", detail,
                      change=Change(household={"annual_rigid_expenditure":
                                               pl.col("annual_rigid_expenditure")
                                               + pl.col("_h_oop")},
                                    member={"serious_illness": pl.lit(True)})))

    def severe_disability(self) -> None:
        p = self.ctx.people.filter(pl.col("co_resident") & (pl.col("disability_grade") == 0)
                                   & (pl.col("age") >= 3))
        chosen = self.sample(p, self.count)
        n = chosen.height
        grade = self.rng.integers(1, 3, n)
        category = pl.Series(list(build.CATEGORY_LABELS), dtype=pl.String).gather(
            self.rng.integers(0, 7, n))
        chosen = chosen.with_columns(category.alias("disability_category"),
                                     pl.Series("disability_grade", grade.astype(np.int8)))
        issued = self.days_ago(5, 60, n)
        self.planted.add_rows("disability_certificate", build.typed(
            "disability_certificate", chosen.select(
                (pl.col("id_number") + pl.col("disability_category")
                 .replace_strict(build.CATEGORY_DIGITS)
                 + pl.col("disability_grade").cast(pl.String)).alias("certificate_no"),
                "name", "id_number",
                pl.col("disability_category").replace_strict(build.CATEGORY_LABELS)
                .alias("category"),
                pl.col("disability_grade").cast(pl.Int64).replace_strict(
                    dict(enumerate(build.GRADE_LABELS)), return_dtype=pl.String).alias("grade"),
                as_dates(issued).alias("issued_on"), pl.lit("有效").alias("status"))))
        detail = chosen.select(pl.format("残联：{} 新办残疾人证，{}残疾{}级", as_dates(issued),
                                         pl.col("disability_category")
                                         .replace_strict(build.CATEGORY_LABELS),
                                         pl.col("disability_grade"))).to_series()
        self.add(Case("severe_disability", chosen.with_columns(
            pl.col("disability_grade").alias("_grade"),
            pl.col("disability_category").alias("_category")), issued,
            "disability_certificate", detail,
            change=Change(member={"disability_grade": pl.col("_grade"),
                                  "disability_type": pl.col("_category")})))

    def unemployment(self) -> None:
        p = build.wage_earners(self.ctx).filter(pl.col("co_resident")
                                                & (pl.col("economic_tier") != "normal"))
        extra = build.wage_earners(self.ctx).filter(pl.col("co_resident"))
        chosen = self.sample(p, self.count)
        if chosen.height < self.count:
            chosen = pl.concat([chosen, self.sample(extra, self.count - chosen.height)])
        n = chosen.height
        registered = self.days_ago(5, 60, n)
        benefit = self.rng.random(n) < 0.7
        self.planted.add_rows("unemployment", build.unemployment_rows(
            self.ctx, chosen, registered,
            build.pick(self.rng, ("单位裁员", "合同期满", "单位破产"), n), benefit))
        self.planted.drop_ids("contribution", chosen["id_number"].to_list())
        self.planted.drop_ids("housing_fund", chosen["id_number"].to_list())
        chosen = chosen.with_columns(pl.Series("_benefit", np.where(benefit, 162_000, 0)))
        detail = chosen.select(pl.format("人社：{} 失业登记，原工资 {} 元/月", as_dates(registered),
                                         pl.col("income_wage") // 100)).to_series()
        self.add(Case("unemployment", chosen, registered, "unemployment", detail,
                      change=Change(member={
                          "income": pl.col("income") - pl.col("_wage_before") + pl.col("_benefit"),
                          "earned_income": pl.col("earned_income") - pl.col("_wage_before")})))

    def disaster(self) -> None:
        heads = self.ctx.heads()
        rural = heads.filter(pl.col("hukou") == "rural")
        chosen = self.sample(rural if rural.height >= self.count else heads, self.count)
        n = chosen.height
        occurred = self.days_ago(3, 45, n)
        damage = build.pick(self.rng, ("倒塌", "严重损坏"), n)
        loss = (self.rng.integers(300, 2_000, n) * 10_000).astype(np.int64)
        self.planted.add_rows("disaster_damage", build.typed("disaster_damage", chosen.select(
            pl.col("name").alias("head_name"), "id_number", "address",
            build.pick(self.rng, ("洪涝", "风雹", "地质灾害", "台风"), n).alias("disaster"),
            as_dates(occurred).alias("occurred_on"), damage.alias("house_damage"),
            pl.Series(loss).alias("loss"))))
        detail = pl.DataFrame({"d": as_dates(occurred), "g": damage, "l": loss // 100}).select(
            pl.format("应急：{} 受灾，房屋{}，直接经济损失 {} 元", "d", "g", "l")).to_series()
        self.add(Case("disaster", chosen, occurred, "disaster_damage", detail,
                      person_level=False))

    def relapse_watch_entry(self) -> None:
        heads = self.ctx.heads().filter(pl.col("hukou") == "rural")
        chosen = self.sample(heads, self.count)
        chosen = chosen.join(build.household_sizes(self.ctx), on="household_id", how="left")
        n = chosen.height
        entered = self.days_ago(5, 90, n)
        risk = build.pick(self.rng, ("因病", "因残", "因意外事故", "因务工就业不稳"), n)
        self.planted.add_rows("relapse_watch", build.relapse_watch_rows(
            self.ctx, chosen, chosen["members"].fill_null(1).cast(pl.Int64),
            pl.Series(["突发严重困难户"] * n, dtype=pl.String), risk, entered, removed=False))
        detail = pl.DataFrame({"d": as_dates(entered), "r": risk}).select(
            pl.format("乡村振兴：{} 纳入防返贫监测（突发严重困难户，{}）", "d", "r")).to_series()
        self.add(Case("relapse_watch_entry", chosen, entered, "relapse_watch", detail,
                      person_level=False))

    def school_dropout(self) -> None:
        p = self.ctx.people.filter(pl.col("student_status").is_in(["primary", "junior",
                                                                   "senior", "vocational"])
                                   & (pl.col("age") >= 12))
        chosen = self.sample(p, self.count)
        n = chosen.height
        rows = build.school_enrolment(_Only(self.ctx, chosen)).with_columns(
            pl.lit("辍学").alias("status"))
        self.planted.drop_ids("school_enrolment", chosen["id_number"].to_list())
        self.planted.add_rows("school_enrolment", rows)
        left = self.days_ago(10, 90, n)
        detail = chosen.select(pl.format("教育：学籍状态为辍学（{}）", pl.col("student_status")
                                         .replace_strict(build.STAGE_LABELS))).to_series()
        self.add(Case("school_dropout", chosen, left, "school_enrolment", detail,
                      change=Change(member={"student": pl.lit(False)})))

    def moved_out(self) -> None:
        p = self.ctx.people.filter(pl.col("co_resident") & (pl.col("relation") != "head")
                                   & (pl.col("age") >= 18) & (pl.col("age") < 40))
        chosen = self.sample(p, self.count)
        n = chosen.height
        moved = self.days_ago(5, 60, n)
        to = build.pick(self.rng, ("浙江省杭州市西湖区", "江苏省苏州市工业园区", "上海市浦东新区",
                                    "安徽省合肥市蜀山区", "广东省深圳市宝安区"), n)
        self.planted.add_rows("hukou_move", build.typed("hukou_move", chosen.select(
            "id_number", "name", pl.lit("迁出").alias("direction"),
            as_dates(moved).alias("moved_on"),
            (pl.col("city_name") + pl.col("county_name") + pl.col("town_name")
             + pl.col("place")).alias("from_address"), to.alias("to_address"))))
        detail = pl.DataFrame({"d": as_dates(moved), "t": to}).select(
            pl.format("公安：{} 户口迁出至{}", "d", "t")).to_series()
        self.add(Case("moved_out", chosen, moved, "hukou_move", detail,
                      change=Change(remove_member=True)))

    # -- the truth -------------------------------------------------------------------------
    def truth(self) -> pl.DataFrame:
        frames = []
        before = programmes_by_household(self.result)
        for case in self.cases:
            people = case.people
            after_ids = people["household_id"]
            if case.change is not None:
                prepared = people.with_columns(pl.col("income_wage").alias("_wage_before"))
                after = programmes_by_household(self.evaluate_changed(prepared, case.change))
            else:
                after = before.filter(pl.col("household_id").is_in(after_ids.implode()))
            frames.append(people.select(
                pl.lit(case.kind).alias("kind"),
                pl.lit(case.programme, pl.String).alias("programme"),
                pl.col("household_id").cast(pl.Int64),
                pl.col("number").alias("household_number"),
                (pl.col("person_id").cast(pl.Int64) if case.person_level
                 else pl.lit(None, pl.Int64)).alias("person_id"),
                (pl.col("id_number") if case.person_level else pl.lit(None, pl.String))
                .alias("id_number"),
                "area_code",
                as_dates(case.event).alias("event_date"),
                pl.lit(case.source).alias("source"),
                pl.lit(EXPECTED.get(case.kind, "risk")).alias("expected"),
                case.detail.alias("detail"),
            ).join(before.rename({"programmes": "eligible_before"}), on="household_id",
                   how="left").join(after.rename({"programmes": "eligible_after"}),
                                    on="household_id", how="left"))
        if not frames:
            return pl.DataFrame(schema=TRUTH_SCHEMA)
        truth = pl.concat(frames, how="vertical_relaxed").with_columns(
            pl.col("eligible_before").fill_null(pl.lit([], pl.List(pl.String))),
            pl.col("eligible_after").fill_null(pl.lit([], pl.List(pl.String))),
            pl.col("kind").replace_strict(KINDS).alias("label"),
        ).sort("kind", "household_id", "person_id", nulls_last=False)
        truth = truth.with_columns(build.serial_numbers("T", 1, truth.height, 6).alias("case_id"))
        return truth.select(list(TRUTH_SCHEMA)).cast(TRUTH_SCHEMA)  # type: ignore[arg-type]


class _Only(Context):
    """A Context whose people are the given rows (to reuse a builder on a few persons)."""

    def __init__(self, ctx: Context, people: pl.DataFrame) -> None:
        self.population, self.seed, self.today = ctx.population, ctx.seed, ctx.today
        self.people = people




def build_income_columns() -> list[str]:
    return ["income_wage", "income_business", "income_pension", "income_transfer",
            "income_property"]


def programmes_by_household(result: Result) -> pl.DataFrame:
    """household_id → sorted list of the programmes someone in it qualifies for."""
    parts = []
    units = [(u.code, u.level, u.eligible) for u in catalogue.monitored_units()]
    taper = catalogue.entry(catalogue.TAPER)
    units.append((taper.code, taper.level, taper.units[0].eligible))
    for programme, level, flag in units:
        frame = result.households if level == catalogue.HOUSEHOLD else result.members
        parts.append(frame.filter(pl.col(flag)).select(
            pl.col("household_id").cast(pl.Int64), pl.lit(programme).alias("programme")))
    ids = result.households.select(pl.col("household_id").cast(pl.Int64))
    found = pl.concat(parts).unique().sort("household_id", "programme").group_by(
        "household_id", maintain_order=True).agg(pl.col("programme").alias("programmes"))
    return ids.join(found, on="household_id", how="left").with_columns(
        pl.col("programmes").fill_null(pl.lit([], pl.List(pl.String))))


STEPS: tuple[Callable[[Planter], None], ...] = (
    Planter.uncovered, Planter.covered_ineligible, Planter.taper_due,
    Planter.breadwinner_death, Planter.medical_bill, Planter.severe_disability,
    Planter.unemployment, Planter.disaster, Planter.relapse_watch_entry,
    Planter.school_dropout, Planter.moved_out, Planter.elderly_deaths,
)


def plant(ctx: Context, households: pl.DataFrame, members: pl.DataFrame, result: Result,
          enrolled: pl.DataFrame, parameters: ParameterSet,
          per_10k: int = DEFAULT_PER_10K) -> Planted:
    """Plant every kind; return the truth and the feed rows to add and to drop."""
    planter = Planter(ctx, households, members, result, enrolled, parameters, per_10k)
    for step in STEPS:
        step(planter)
    planter.planted.truth = planter.truth()
    return planter.planted

