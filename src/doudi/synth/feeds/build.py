"""The rows each department holds about a synthetic population, before any dirt: typed frames
whose columns are the layout's keys (`layouts.py`).

Background rows agree with what the registry was told: every disabled person has a certificate
of the registered category and grade, every pension and wage of enough size shows in 人社's
files, each registered house, car and business exists at 不动产, 车管 and 市场监管, every pupil is
enrolled, and medical settlements add up to the household's declared medical spending. So any
row that contradicts the registry is a planted case (`planted.py`) or an old, settled fact (an
unemployment registration long ago, a 防返贫 entry whose risk was removed). Deaths and moves are
drawn at realistic monthly rates and are events in their own right (the truth file lists them).

Each feed draws from its own random stream (seed, feed number), so adding a feed or a column
leaves the others unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from doudi.synth.feeds.layouts import BY_KEY, LAYOUTS
from doudi.synth.population import Population
from doudi.synth.rules_frames import age_expr
from doudi.synth.villages import city_names, county_names, villages

EPOCH = dt.date(1970, 1, 1)
CATEGORY_LABELS = {"visual": "视力", "hearing": "听力", "speech": "言语", "physical": "肢体",
                   "intellectual": "智力", "mental": "精神", "multiple": "多重"}
CATEGORY_DIGITS = {"visual": "1", "hearing": "2", "speech": "3", "physical": "4",
                   "intellectual": "5", "mental": "6", "multiple": "7"}
GRADE_LABELS = ("", "一级", "二级", "三级", "四级")
STAGE_LABELS = {"preschool": "学前", "primary": "小学", "junior": "初中", "senior": "普通高中",
                "vocational": "中职", "undergraduate": "本科", "postgraduate": "研究生"}
STAGE_START_AGE = {"preschool": 3, "primary": 6, "junior": 12, "senior": 15, "vocational": 15,
                   "undergraduate": 18, "postgraduate": 22}
EMPLOYERS = ("有限公司", "商贸有限公司", "建筑工程有限公司", "物业服务有限公司", "食品有限公司",
             "电子科技有限公司", "茶业有限公司", "旅游开发有限公司", "医院", "中心小学",
             "物流有限公司", "酒店管理有限公司")
BRANDS = ("大众", "丰田", "本田", "比亚迪", "吉利", "长安", "五菱", "日产", "别克", "奇瑞")
CONTRIBUTION_FLOOR_FEN = 350_000  # wages below this are informal: no 社保 row (approximation)
PROVINCE_SHORT = {"34": "皖", "44": "粤"}
# city → plate letter (公安部 号牌代码); cities not listed use "X"
PLATE_LETTER = {"3410": "J", "4401": "A", "4403": "B", "4404": "C", "4406": "E", "4407": "J",
                "4419": "S", "4420": "T", "4413": "L"}
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28],
                        dtype=np.int64)


def days(day: dt.date) -> int:
    return (day - EPOCH).days


def as_dates(values: np.ndarray) -> pl.Series:
    return pl.Series(values.astype(np.int32)).cast(pl.Date)


@dataclass
class Context:
    """What every builder needs: the population, its date and the persons with their household's
    place, in one frame."""

    population: Population
    seed: int
    today: dt.date
    people: pl.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        pop = self.population
        counties, cities = county_names(), city_names()
        hh = pop.households.select(
            "household_id", "number", "area_code", "address", "hukou", "houses",
            "non_residential_property", "vehicles", "business", "monthly_medical_expense",
            "economic_tier",
        ).with_columns(
            pl.col("area_code").str.slice(0, 6).replace_strict(counties, default="")
            .alias("county_name"),
            pl.col("area_code").str.slice(0, 4).replace_strict(cities, default="")
            .alias("city_name"),
            pl.col("area_code").replace_strict(
                {v.code: v.town_name for v in villages(pop.area)}, default="")
            .alias("town_name"),
            pl.col("area_code").replace_strict(
                {v.code: v.place for v in villages(pop.area)}, default="").alias("place"),
        )
        self.people = pop.persons.join(hh, on="household_id", how="left").with_columns(
            age=age_expr(pl.col("birth_date"), self.today),
        )

    def rng(self, key: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, 7919, _FEED_NUMBER[key]])

    @property
    def today_days(self) -> int:
        return days(self.today)

    def heads(self) -> pl.DataFrame:
        return self.people.filter(pl.col("relation") == "head")


_FEED_NUMBER = {layout.key: i for i, layout in enumerate(LAYOUTS)}


def pick(rng: np.random.Generator, values: tuple[str, ...], n: int) -> pl.Series:
    """`n` of `values`, drawn uniformly with replacement."""
    return pl.Series(values, dtype=pl.String).gather(rng.integers(0, len(values), n))


def typed(key: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The layout's columns, in order, with their canonical dtypes."""
    dtypes = {"id_number": pl.String, "text": pl.String, "date": pl.Date, "money": pl.Int64,
              "number": pl.Int64, "decimal1": pl.Int64}
    layout = BY_KEY[key]
    return frame.select([pl.col(c.key).cast(dtypes[c.kind]) for c in layout.columns])


def serial_numbers(prefix: str, start: int, n: int, width: int = 10) -> pl.Series:
    """`prefix` + a zero-padded running number from `start`."""
    return pl.DataFrame({"n": np.arange(start, start + n, dtype=np.int64)}).select(
        pl.lit(prefix) + pl.col("n").cast(pl.String).str.zfill(width)).to_series()


def take(frame: pl.DataFrame, rows: np.ndarray) -> pl.DataFrame:
    return frame.select(pl.all().gather(rows.astype(np.int64)))


# ---------------------------------------------------------------------------------------------
def medical_settlement(ctx: Context) -> pl.DataFrame:
    """医保: settlements over the last twelve months whose out-of-pocket parts add up to twelve
    months of the household's declared medical spending; the patient is a seriously ill member
    if there is one, else the oldest."""
    rng = ctx.rng("medical_settlement")
    p = ctx.people.filter(pl.col("co_resident") & (pl.col("monthly_medical_expense") > 0))
    p = p.sort(["household_id", "serious_illness", "age"], descending=[False, True, True]) \
        .unique("household_id", keep="first", maintain_order=True)
    n = p.height
    ill = p["serious_illness"].to_numpy()
    k = np.where(ill, rng.integers(4, 13, n), rng.integers(1, 5, n))
    annual = p["monthly_medical_expense"].to_numpy() * 12
    rows = np.repeat(np.arange(n), k)
    per = annual // k
    oop = per[rows].copy()
    first = np.ones(rows.size, dtype=bool)
    first[1:] = rows[1:] != rows[:-1]
    oop[first] += (annual - per * k)  # the remainder on the first settlement: totals are exact
    m = rows.size
    inpatient = ill[rows] & (rng.random(m) < 0.6)
    visit = np.where(inpatient, 2, np.where(ill[rows] & (rng.random(m) < 0.5), 1, 0))
    personal = np.where(inpatient, 0.25 + 0.2 * rng.random(m), 0.4 + 0.3 * rng.random(m))
    total = np.maximum(np.floor(oop / personal / 100).astype(np.int64) * 100, oop)
    serious_paid = np.where(inpatient & (total > 3_000_000), (total - oop) * 3 // 1000 * 100, 0)
    settled = ctx.today_days - rng.integers(1, 366, m)
    admitted = settled - rng.integers(2, 21, m)
    township = rng.random(m) < 0.5
    picked = take(p, rows)
    clinic = pl.when(pl.col("town_name").str.ends_with("街道")).then(pl.lit("社区卫生服务中心")) \
        .otherwise(pl.lit("卫生院"))
    frame = picked.select(
        "id_number", "name",
        pl.when((pl.col("income_wage") > 0) & (pl.col("hukou") == "urban"))
        .then(pl.lit("职工基本医疗保险")).otherwise(pl.lit("城乡居民基本医疗保险"))
        .alias("insurance_type"),
        pl.when(pl.Series(inpatient)).then(pl.col("county_name") + "人民医院")
        .when(pl.Series(township)).then(pl.col("town_name") + clinic)
        .otherwise(pl.col("county_name") + "中医医院").alias("hospital"),
        pl.Series(("门诊", "门诊慢特病", "住院"), dtype=pl.String).gather(visit)
        .alias("visit_type"),
        pl.when(pl.Series(inpatient)).then(as_dates(admitted)).alias("admitted_on"),
        as_dates(settled).alias("settled_on"),
        pl.Series(total, dtype=pl.Int64).alias("total"),
        pl.Series(total - oop - serious_paid, dtype=pl.Int64).alias("fund_paid"),
        pl.Series(serious_paid, dtype=pl.Int64).alias("serious_illness_paid"),
        pl.lit(0, pl.Int64).alias("assistance_paid"),
        pl.Series(oop, dtype=pl.Int64).alias("out_of_pocket"),
    ).sort("settled_on", "id_number", maintain_order=True)
    frame = frame.with_columns(
        serial_numbers(f"JS{ctx.today.year % 100:02d}", 1, frame.height).alias("settlement_no"))
    return typed("medical_settlement", frame)


def disability_certificate(ctx: Context) -> pl.DataFrame:
    """残联: one certificate (第二代残疾人证: ID + category digit + grade digit) per disabled
    person, issued between two months and ten years ago (not before the age of one)."""
    rng = ctx.rng("disability_certificate")
    p = ctx.people.filter(pl.col("disability_grade") > 0)
    n = p.height
    birth = p["birth_date"].cast(pl.Int32).to_numpy()
    issued = np.maximum(ctx.today_days - rng.integers(60, 3650, n), birth + 366)
    issued = np.minimum(issued, ctx.today_days - 1)
    frame = p.select(
        (pl.col("id_number") + pl.col("disability_category").replace_strict(CATEGORY_DIGITS)
         + pl.col("disability_grade").cast(pl.String)).alias("certificate_no"),
        "name", "id_number",
        pl.col("disability_category").replace_strict(CATEGORY_LABELS).alias("category"),
        pl.col("disability_grade").cast(pl.Int64)
        .replace_strict(dict(enumerate(GRADE_LABELS)), return_dtype=pl.String).alias("grade"),
        as_dates(issued).alias("issued_on"),
        pl.lit("有效").alias("status"),
    )
    return typed("disability_certificate", frame)


def pension(ctx: Context) -> pl.DataFrame:
    """人社: last month's pension payment to everyone the registry says draws one."""
    month = (ctx.today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y%m")
    frame = ctx.people.filter(pl.col("income_pension") > 0).select(
        "id_number", "name",
        pl.when(pl.col("income_pension") >= 100_000).then(pl.lit("企业职工基本养老保险"))
        .otherwise(pl.lit("城乡居民基本养老保险")).alias("scheme"),
        pl.lit(month).alias("month"),
        pl.col("income_pension").alias("amount"),
    )
    return typed("pension", frame)


def contribution_rows(ctx: Context, people: pl.DataFrame, base: pl.Expr, started: np.ndarray,
                      rng: np.random.Generator) -> pl.DataFrame:
    """人社 缴费 rows for `people` with the given contribution base (fen)."""
    month = (ctx.today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y%m")
    return typed("contribution", people.select(
        "id_number", "name",
        (pl.col("county_name").str.slice(0, 2)
         + pick(rng, EMPLOYERS, people.height)).alias("employer"),
        pl.lit(month).alias("month"),
        base.alias("base"),
        as_dates(started).alias("started_on"),
    ))


def wage_earners(ctx: Context) -> pl.DataFrame:
    """Those whose wage is formal enough for 社保 and 公积金: working at home (not away), at least
    the contribution floor."""
    return ctx.people.filter(~pl.col("migrant")
                             & (pl.col("income_wage") >= CONTRIBUTION_FLOOR_FEN))


def contribution(ctx: Context) -> pl.DataFrame:
    rng = ctx.rng("contribution")
    p = wage_earners(ctx)
    birth = p["birth_date"].cast(pl.Int32).to_numpy()
    started = np.maximum(ctx.today_days - rng.integers(90, 7300, p.height), birth + 18 * 366)
    return contribution_rows(ctx, p, pl.col("income_wage"), started, rng)


def housing_fund(ctx: Context) -> pl.DataFrame:
    """公积金: most urban wage earners deposit 12 % + 12 % of their wage."""
    rng = ctx.rng("housing_fund")
    p = wage_earners(ctx).filter(pl.col("hukou") == "urban")
    p = p.filter(pl.Series(rng.random(p.height) < 0.7))
    n = p.height
    deposit = (p["income_wage"].to_numpy() * 24 // 10_000) * 100
    months = rng.integers(6, 180, n)
    return typed("housing_fund", p.select(
        serial_numbers("GJJ", 1, n, 9).alias("account_no"),
        "name", "id_number",
        (pl.col("county_name").str.slice(0, 2) + pick(rng, EMPLOYERS, n)).alias("employer"),
        pl.col("income_wage").alias("base"),
        pl.Series(deposit, dtype=pl.Int64).alias("monthly_deposit"),
        pl.Series(deposit * months * 6 // 10, dtype=pl.Int64).alias("balance"),
        pl.lit("正常").alias("status"),
    ))


def property_rows(ctx: Context, owners: pl.DataFrame, use: np.ndarray, registered: np.ndarray,
                  rng: np.random.Generator, start: int) -> pl.DataFrame:
    """不动产 rows: one per property, owned by `owners` (one row per property)."""
    n = owners.height
    urban = (owners["hukou"] == "urban").to_numpy()
    area = np.where(use == 0, np.where(urban, rng.integers(550, 1400, n),
                                       rng.integers(900, 2600, n)), rng.integers(200, 1500, n))
    year = (registered.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970)
    province = owners["area_code"].str.slice(0, 2).replace_strict(PROVINCE_SHORT, default="")
    number = pl.Series(np.arange(start, start + n)).cast(pl.String).str.zfill(7)
    return typed("property", owners.select(
        (province + "(" + pl.Series(year).cast(pl.String) + ")" + pl.col("county_name")
         + "不动产权第" + number + "号").alias("certificate_no"),
        pl.col("name").alias("owner"), "id_number",
        pl.col("address").alias("location"),
        pl.Series(("住宅", "商业", "办公"), dtype=pl.String).gather(use).alias("use"),
        pl.Series(area, dtype=pl.Int64).alias("area"),
        as_dates(registered).alias("registered_on"),
    ))


def property_(ctx: Context) -> pl.DataFrame:
    """不动产: each registered house and non-residential property, in the head's name."""
    rng = ctx.rng("property")
    heads = ctx.heads()
    houses = heads["houses"].to_numpy().astype(np.int64)
    nonres = heads["non_residential_property"].to_numpy().astype(np.int64)
    rows = np.concatenate([np.repeat(np.arange(heads.height), houses),
                           np.repeat(np.arange(heads.height), nonres)])
    use = np.concatenate([np.zeros(int(houses.sum()), dtype=np.int64),
                          1 + (rng.random(int(nonres.sum())) < 0.3)])
    registered = ctx.today_days - rng.integers(180, 9000, rows.size)
    return property_rows(ctx, take(heads, rows), use, registered, rng, 1)


def plates(area_codes: pl.Series, rng: np.random.Generator) -> pl.Series:
    n = area_codes.len()
    province = area_codes.str.slice(0, 2).replace_strict(PROVINCE_SHORT, default="")
    letter = area_codes.str.slice(0, 4).replace_strict(PLATE_LETTER, default="X")
    tail = pl.Series(list("ABCDEFGHJKLMNPQRSTUVWXYZ"), dtype=pl.String) \
        .gather(rng.integers(0, 24, n))
    digits = pl.Series(rng.integers(0, 10_000, n)).cast(pl.String).str.zfill(4)
    return province + letter + "·" + tail + digits


def vehicle_rows(ctx: Context, owners: pl.DataFrame, registered: np.ndarray,
                 rng: np.random.Generator) -> pl.DataFrame:
    n = owners.height
    return typed("vehicle", owners.select(
        plates(owners["area_code"], rng).alias("plate"),
        pl.lit("小型普通客车").alias("vehicle_type"),
        pl.col("name").alias("owner"), "id_number",
        pick(rng, BRANDS, n).alias("brand"),
        as_dates(registered).alias("registered_on"),
        pl.lit("正常").alias("status"),
    ))


def vehicle(ctx: Context) -> pl.DataFrame:
    """车管: each registered car, in the head's name."""
    rng = ctx.rng("vehicle")
    heads = ctx.heads()
    counts = heads["vehicles"].to_numpy().astype(np.int64)
    owners = take(heads, np.repeat(np.arange(heads.height), counts))
    return vehicle_rows(ctx, owners, ctx.today_days - rng.integers(120, 5000, owners.height),
                        rng)


def credit_codes(county_codes: pl.Series, rng: np.random.Generator) -> pl.Series:
    """统一社会信用代码 (GB 32100) of 个体工商户: 92 + county + 9 characters + check."""
    n = county_codes.len()
    body = rng.integers(0, 31, (n, 9))
    region = np.array([[int(ch) for ch in code] for code in county_codes.to_list()],
                      dtype=np.int64).reshape(n, 6)
    values = np.concatenate([np.tile([9, 2], (n, 1)), region, body], axis=1)
    check = (31 - (values @ USCC_WEIGHTS) % 31) % 31
    chars = np.array(list(USCC_CHARS))
    text = ["".join(row) for row in chars[np.concatenate([values, check[:, None]], axis=1)]]
    return pl.Series(text, dtype=pl.String)


def business_rows(ctx: Context, operators: pl.DataFrame, established: np.ndarray,
                  rng: np.random.Generator) -> pl.DataFrame:
    n = operators.height
    trade = pick(rng, ("便利店", "餐馆", "农家乐", "茶叶店", "五金店", "理发店", "小吃店",
                        "服装店", "水果店", "装修部"), n)
    return typed("business", operators.select(
        credit_codes(operators["area_code"].str.slice(0, 6), rng).alias("credit_code"),
        (pl.col("county_name").str.slice(0, 2) + pl.col("place") + trade)
        .alias("entity_name"),
        pl.lit("个体工商户").alias("entity_type"),
        pl.col("name").alias("operator"), "id_number",
        pl.Series(rng.integers(1, 50, n) * 1_000_000, dtype=pl.Int64).alias("registered_capital"),
        as_dates(established).alias("established_on"),
        pl.lit("存续").alias("status"),
    ))


def business(ctx: Context) -> pl.DataFrame:
    """市场监管: one 个体工商户 per household with a registration, run by the member with business
    income (else the head)."""
    rng = ctx.rng("business")
    p = ctx.people.filter(pl.col("business") & pl.col("co_resident"))
    p = p.sort(["household_id", "income_business"], descending=[False, True]) \
        .unique("household_id", keep="first", maintain_order=True)
    return business_rows(ctx, p, ctx.today_days - rng.integers(200, 6000, p.height), rng)


def school_enrolment(ctx: Context) -> pl.DataFrame:
    """教育: every pupil and student the registry lists, 在读."""
    p = ctx.people.filter(pl.col("student_status") != "")
    stage = pl.col("student_status")
    year = (pl.col("age") - stage.replace_strict(STAGE_START_AGE, return_dtype=pl.Int32) + 1) \
        .clip(1, 6)
    town = pl.col("town_name")
    school = (pl.when(stage == "preschool").then(town + "中心幼儿园")
              .when(stage == "primary").then(town + "中心小学")
              .when(stage == "junior").then(town + "初级中学")
              .when(stage == "senior").then(pl.col("county_name").str.slice(0, 2) + "第一中学")
              .when(stage == "vocational").then(pl.col("city_name").str.slice(0, 2)
                                                 + "职业技术学校")
              .otherwise(pl.lit("安徽大学")))
    return typed("school_enrolment", p.select(
        ("G" + pl.col("id_number")).alias("student_no"),
        "name", "id_number",
        school.alias("school"),
        stage.replace_strict(STAGE_LABELS).alias("stage"),
        (year.cast(pl.String) + "年级").alias("grade_year"),
        pl.lit("在读").alias("status"),
    ))


def unemployment_rows(ctx: Context, people: pl.DataFrame, registered: np.ndarray,
                      reasons: pl.Series, benefit: np.ndarray) -> pl.DataFrame:
    return typed("unemployment", people.select(
        "id_number", "name",
        as_dates(registered).alias("registered_on"),
        reasons.alias("reason"),
        pl.Series(np.where(benefit, "是", "否"), dtype=pl.String).alias("benefit"),
        pl.when(pl.Series(benefit)).then(pl.lit(162_000, pl.Int64)).alias("monthly_benefit"),
    ))


def unemployment(ctx: Context) -> pl.DataFrame:
    """人社: old registrations (six months to two years ago) of people of working age who are
    without a wage today; recent registrations are planted events."""
    rng = ctx.rng("unemployment")
    p = ctx.people.filter(pl.col("co_resident") & (pl.col("age") >= 18) & (pl.col("age") < 55)
                          & (pl.col("income_wage") == 0) & (pl.col("student_status") == "")
                          & (pl.col("labour_capacity") == "full"))
    p = p.filter(pl.Series(rng.random(p.height) < 0.05))
    n = p.height
    return unemployment_rows(
        ctx, p, ctx.today_days - rng.integers(183, 730, n),
        pick(rng, ("合同期满", "单位裁员", "个人辞职", "单位破产"), n),
        np.zeros(n, dtype=bool))


def relapse_watch_rows(ctx: Context, heads: pl.DataFrame, members: pl.Series,
                       watch_type: pl.Series, risk: pl.Series, entered: np.ndarray,
                       removed: bool) -> pl.DataFrame:
    return typed("relapse_watch", heads.select(
        pl.col("name").alias("head_name"), "id_number",
        (pl.col("town_name") + pl.col("place")).alias("village"),
        members.alias("members"),
        watch_type.alias("watch_type"),
        risk.alias("risk"),
        as_dates(entered).alias("entered_on"),
        pl.lit("是" if removed else "否").alias("risk_removed"),
    ))


def household_sizes(ctx: Context) -> pl.DataFrame:
    return ctx.people.filter(pl.col("co_resident")).group_by("household_id").len("members")


def relapse_watch(ctx: Context) -> pl.DataFrame:
    """乡村振兴: rural households watched since one to three years ago whose risk has been
    removed; entries with a live risk are planted events."""
    rng = ctx.rng("relapse_watch")
    heads = ctx.heads().filter((pl.col("hukou") == "rural")
                               & pl.col("economic_tier").is_in(["poor", "edge"]))
    heads = heads.filter(pl.Series(rng.random(heads.height) < 0.3))
    heads = heads.join(household_sizes(ctx), on="household_id", how="left")
    n = heads.height
    return relapse_watch_rows(
        ctx, heads, heads["members"].fill_null(1).cast(pl.Int64),
        pick(rng, ("脱贫不稳定户", "边缘易致贫户"), n),
        pick(rng, ("因病", "因残", "因学", "因务工就业不稳", "因自然灾害"), n),
        ctx.today_days - rng.integers(365, 1100, n), removed=True)


def lifted_from_poverty(ctx: Context) -> pl.DataFrame:
    """乡村振兴: rural households lifted out of poverty (建档立卡脱贫户) between 2014 and 2020 —
    most of the poorer rural households and a few others whose means have since risen."""
    rng = ctx.rng("lifted_from_poverty")
    heads = ctx.heads().filter(pl.col("hukou") == "rural")
    poorer = heads["economic_tier"].is_in(["poor", "edge"]).to_numpy()
    heads = heads.filter(pl.Series(rng.random(heads.height) < np.where(poorer, 0.5, 0.03)))
    heads = heads.join(household_sizes(ctx), on="household_id", how="left")
    return typed("lifted_from_poverty", heads.select(
        pl.col("name").alias("head_name"), "id_number",
        (pl.col("town_name") + pl.col("place")).alias("village"),
        pl.col("members").fill_null(1).cast(pl.Int64).alias("members"),
        pl.Series(rng.integers(2014, 2021, heads.height)).cast(pl.Int64).alias("lifted_year"),
    ))


def empty(key: str) -> pl.DataFrame:
    dtypes = {"id_number": pl.String, "text": pl.String, "date": pl.Date, "money": pl.Int64,
              "number": pl.Int64, "decimal1": pl.Int64}
    return pl.DataFrame(schema={c.key: dtypes[c.kind] for c in BY_KEY[key].columns})


BUILDERS: dict[str, Callable[[Context], pl.DataFrame]] = {
    "medical_settlement": medical_settlement,
    "disability_certificate": disability_certificate,
    "death_record": lambda ctx: empty("death_record"),
    "hukou_move": lambda ctx: empty("hukou_move"),
    "unemployment": unemployment,
    "pension": pension,
    "contribution": contribution,
    "property": property_,
    "vehicle": vehicle,
    "business": business,
    "school_enrolment": school_enrolment,
    "disaster_damage": lambda ctx: empty("disaster_damage"),
    "relapse_watch": relapse_watch,
    "lifted_from_poverty": lifted_from_poverty,
    "housing_fund": housing_fund,
}


def background(ctx: Context) -> dict[str, pl.DataFrame]:
    """Every feed's background rows, keyed by layout key, in layout order."""
    return {layout.key: BUILDERS[layout.key](ctx) for layout in LAYOUTS}
