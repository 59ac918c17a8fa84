"""A synthetic population: households in the real villages of an area, and their members.

Pure and vectorised (numpy + Polars, no Django): `generate("341002", 1_000_000, seed=1,
today=...)` draws every attribute as whole arrays, so a million households (~2.8M persons)
take seconds. The same (area, households, seed, today) always gives the same frames.

Shapes and rates, with their sources and which of them are approximations, are documented in
docs/synthetic-data.md. Money is integer fen (Int64), monthly for income and expenses.

Besides the registry-like columns, households carry two generator columns that no registry
holds: `household_type` (the template the household was drawn from) and `economic_tier`
(normal | poor | edge | hardship: the band its counted income was drawn into), so later steps
(planted cases, ground truth) can find them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from doudi.core import idnumber
from doudi.synth.names import GIVEN_FEMALE, GIVEN_MALE, SURNAMES
from doudi.synth.villages import villages

# ---------------------------------------------------------------------------------------------
# household templates (see docs/synthetic-data.md for the shares and sources)
HOUSEHOLD_TYPES = (
    "single_elder",  # one person aged 60+ (独居老人)
    "single_adult",  # one person aged 18–59
    "elderly_couple",  # a couple, head 60+ (空巢老人)
    "couple",  # a couple under 60 without children at home
    "single_parent",  # one parent with children
    "nuclear",  # a couple with children
    "three_generation",  # a couple, children and one or two of the head's parents
    "left_behind",  # grandparent(s) and grandchildren; the children's parents work away
)
TYPE_SHARES = {
    "urban": (0.11, 0.16, 0.13, 0.11, 0.05, 0.32, 0.10, 0.02),
    "rural": (0.12, 0.10, 0.14, 0.07, 0.03, 0.27, 0.18, 0.09),
}
# of left-behind households: the children are orphans (no parent listed) / de facto unsupported
# (the one parent listed is missing, imprisoned or unable: not a migrant)
ORPHAN_SHARE, DEFACTO_SHARE = 0.006, 0.012
# of one-person elderly households / elderly couples: without children (无子女)
CHILDLESS_SHARE = (0.10, 0.05)
HEAD_MALE_P = np.array([0.38, 0.60, 0.80, 0.78, 0.35, 0.80, 0.75, 0.55])
(SINGLE_ELDER, SINGLE_ADULT, ELDERLY_COUPLE, COUPLE, SINGLE_PARENT, NUCLEAR, THREE_GEN,
 LEFT_BEHIND) = range(8)

RELATIONS = ("head", "spouse", "child", "child_in_law", "parent", "parent_in_law",
             "grandchild", "grandparent", "sibling", "other")
_REL = {name: i for i, name in enumerate(RELATIONS)}

# economic tiers: share of households (before weighting by risk), band of per-capita counted
# income as a multiple of the local 低保 standard
TIERS = ("normal", "poor", "edge", "hardship")
TIER_SHARES = {"poor": 0.040, "edge": 0.040, "hardship": 0.020}

# 低保 standard per person per month (fen) used to place the poor and edge bands; the rules
# engine's parameter files hold the authoritative values (屯溪 760 yuan, 广州 1,238 yuan; the
# rest of Guangdong is approximated by the province's 二类 minimum, 1,037 yuan).
STANDARD_FEN = (("4401", 123_800), ("44", 103_700), ("", 76_000))

DISABILITY_CATEGORIES = ("physical", "hearing", "multiple", "visual", "mental", "intellectual",
                         "speech")
# 第二次全国残疾人抽样调查 (2006): shares of the disabled population by category
DISABILITY_CATEGORY_SHARES = (0.2907, 0.2416, 0.1630, 0.1486, 0.0740, 0.0668, 0.0153)
DISABILITY_GRADE_SHARES = (0.12, 0.21, 0.27, 0.40)  # grades 1–4: about a third severe
DISABILITY_RATE = 0.0634  # 6.34 % of the population (2006 survey)
LABOUR = ("full", "partial", "none")
STUDENT = ("", "preschool", "primary", "junior", "senior", "vocational", "undergraduate",
           "postgraduate")

_EPOCH_ORD = dt.date(1970, 1, 1).toordinal()
_ID_WEIGHTS = np.array(idnumber.WEIGHTS, dtype=np.int64)
_CHECK_ASCII = np.frombuffer(idnumber.CHECK_CHARS.encode(), dtype=np.uint8)
_SEQ_STRIDE = 187  # coprime with 500: spreads sequence numbers, keeps them distinct per group


@dataclass(frozen=True)
class Population:
    """Two frames: `households` (one row per household) and `persons` (one row per member)."""

    households: pl.DataFrame
    persons: pl.DataFrame
    area: str
    seed: int
    today: dt.date


# ---------------------------------------------------------------------------------------------
def _standard_fen(county: str) -> int:
    for prefix, fen in STANDARD_FEN:
        if county.startswith(prefix):
            return fen
    raise AssertionError("unreachable: the last prefix is empty")


def _gap(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    """A parent's age at a child's birth: about 26–27 for mothers, two years more for fathers."""
    g = np.rint(rng.normal(26.5, 4.0, male.size)) + np.where(male, 2, 0)
    return np.clip(g, 20, 42).astype(np.int64)


def _spouse_age(rng: np.random.Generator, head_age: np.ndarray,
                head_male: np.ndarray) -> np.ndarray:
    d = np.rint(rng.normal(2.0, 3.0, head_age.size)).astype(np.int64)
    return np.maximum(np.where(head_male, head_age - d, head_age + d), 20)


def _elder_age(rng: np.random.Generator, n: int, scale: float = 10.0) -> np.ndarray:
    """Ages 60+: 60–69 ≈ 56 %, 70–79 ≈ 30 %, 80+ ≈ 14 % (2020 census shape)."""
    return 60 + np.minimum(rng.exponential(scale, n), 42).astype(np.int64)


def _choice(rng: np.random.Generator, n: int, probs: np.ndarray) -> np.ndarray:
    """Vectorised categorical draw; `probs` is (k,) or (n, k); returns indices."""
    cum = np.cumsum(probs, axis=-1)
    u = rng.random(n)
    if cum.ndim == 1:
        return np.minimum(np.searchsorted(cum / cum[-1], u, side="right"), cum.size - 1)
    cum = cum / cum[:, -1:]
    return np.minimum((u[:, None] >= cum).sum(axis=1), cum.shape[1] - 1)


def _lognormal_fen(rng: np.random.Generator, n: int, median_yuan: float,
                   sigma: float) -> np.ndarray:
    """Whole yuan, as fen."""
    return np.rint(median_yuan * rng.lognormal(0.0, sigma, n)).astype(np.int64) * 100


def _dates(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    return (y.astype(np.int64) + 1970, (m - y).astype(np.int64) + 1,
            (d - m).astype(np.int64) + 1)


def _exact_age(birth_days: np.ndarray, today: dt.date) -> np.ndarray:
    year, month, day = _dates(birth_days)
    before_birthday = month * 100 + day > today.month * 100 + today.day
    return (today.year - year - before_birthday).astype(np.int64)


def _labels(values: tuple[str, ...], idx: np.ndarray) -> pl.Series:
    """Strings from a small code list by index (far faster than numpy string arrays)."""
    return pl.Series(values, dtype=pl.String).gather(idx.astype(np.int64))


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n,) non-negative ints → (n, width) decimal digits."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers) % 10


# ---------------------------------------------------------------------------------------------
def generate(area_prefix: str, households: int, seed: int, today: dt.date) -> Population:
    """Draw `households` households in the villages under `area_prefix` (e.g. '341002', '44')."""
    if households < 1:
        raise ValueError("households must be at least 1")
    rng = np.random.default_rng(seed)
    vs = villages(area_prefix)
    n = households

    # -- villages: a simple size draw (communities in towns are larger) ----------------------
    v_urban = np.array([v.is_urban for v in vs])
    weights = rng.lognormal(0.0, 0.5, len(vs)) * np.where(v_urban, 1.5, 1.0)
    vidx = np.sort(_choice(rng, n, weights))
    urban = v_urban[vidx]

    # -- household type ---------------------------------------------------------------------
    shares = np.where(urban[:, None], np.array(TYPE_SHARES["urban"]),
                      np.array(TYPE_SHARES["rural"]))
    htype = _choice(rng, n, shares)
    is_t = [htype == k for k in range(len(HOUSEHOLD_TYPES))]
    head_male = rng.random(n) < HEAD_MALE_P[htype]

    # orphans / de facto unsupported children live with grandparents (rare)
    sub = rng.random(n)
    orphan_hh = is_t[LEFT_BEHIND] & (sub < ORPHAN_SHARE)
    defacto_hh = (is_t[LEFT_BEHIND] & (sub >= ORPHAN_SHARE)
                  & (sub < ORPHAN_SHARE + DEFACTO_SHARE))

    # -- children of the head (grandchildren in left-behind households) ----------------------
    kid_probs = np.where(urban[:, None], np.array([0.60, 0.35, 0.05]),
                         np.array([0.40, 0.45, 0.15]))
    kid_probs = np.where(is_t[SINGLE_PARENT][:, None], np.array([0.75, 0.25, 0.0]), kid_probs)
    kid_probs = np.where(is_t[LEFT_BEHIND][:, None], np.array([0.45, 0.45, 0.10]), kid_probs)
    n_kids = 1 + _choice(rng, n, kid_probs)
    has_kids = is_t[SINGLE_PARENT] | is_t[NUCLEAR] | is_t[THREE_GEN] | is_t[LEFT_BEHIND]
    n_kids = np.where(has_kids, n_kids, 0)
    c1 = np.where(rng.random(n) < 0.75, rng.integers(0, 18, n), rng.integers(18, 31, n))
    c1 = np.where(is_t[SINGLE_PARENT], rng.integers(0, 23, n), c1)
    c1 = np.where(is_t[THREE_GEN], rng.integers(0, 21, n), c1)
    c1 = np.where(is_t[LEFT_BEHIND], rng.integers(0, 16, n), c1)
    c2 = c1 - rng.integers(1, 7, n)
    c3 = c2 - rng.integers(1, 7, n)

    # -- migrant parents of left-behind children --------------------------------------------
    mig1_male = rng.random(n) < 0.6
    mig_age = c1 + _gap(rng, mig1_male)
    mig2_age = np.maximum(_spouse_age(rng, mig_age, mig1_male), c1 + 19)
    n_mig = np.where(rng.random(n) < 0.7, 2, 1)
    n_mig = np.where(orphan_hh, 0, np.where(defacto_hh, 1, n_mig))
    n_mig = np.where(is_t[LEFT_BEHIND], n_mig, 0)

    # -- head's age --------------------------------------------------------------------------
    head_age = c1 + _gap(rng, head_male)
    head_age = np.where(is_t[SINGLE_ELDER], _elder_age(rng, n), head_age)
    young = rng.random(n) < 0.6
    head_age = np.where(is_t[SINGLE_ADULT],
                        np.where(young, rng.integers(20, 36, n), rng.integers(36, 60, n)),
                        head_age)
    head_age = np.where(is_t[ELDERLY_COUPLE], _elder_age(rng, n, 9.0), head_age)
    head_age = np.where(is_t[COUPLE],
                        np.where(rng.random(n) < 0.5, rng.integers(22, 35, n),
                                 rng.integers(45, 60, n)), head_age)
    head_age = np.where(is_t[LEFT_BEHIND], np.minimum(mig_age + _gap(rng, head_male), 96),
                        np.maximum(head_age, 20))

    # -- spouse, head's parents --------------------------------------------------------------
    spouse_p = np.select([is_t[ELDERLY_COUPLE] | is_t[COUPLE] | is_t[NUCLEAR], is_t[THREE_GEN],
                          is_t[LEFT_BEHIND]], [1.0, 0.92, 0.65], 0.0)
    has_spouse = rng.random(n) < spouse_p
    spouse_age = _spouse_age(rng, head_age, head_male)
    # a parent is at least 18 years older than each child (19 in whole years drawn: a birthday
    # can fall between the two birth dates)
    spouse_age = np.where(is_t[LEFT_BEHIND], np.maximum(spouse_age, mig_age + 19),
                          np.where(n_kids > 0, np.maximum(spouse_age, c1 + 19), spouse_age))
    n_par = np.where(is_t[THREE_GEN], np.where(rng.random(n) < 0.55, 1, 2), 0)
    father_age = head_age + _gap(rng, np.ones(n, dtype=bool))
    mother_age = np.maximum(_spouse_age(rng, father_age, np.ones(n, dtype=bool)),
                            head_age + 19)
    lone_parent_male = rng.random(n) < 0.35
    par_in_law = rng.random(n) < 0.15
    p2_male = (n_par == 1) & lone_parent_male  # the second parent slot: mother, or a lone father
    p2_age = np.where(p2_male, father_age, mother_age)

    # -- slots → persons ---------------------------------------------------------------------
    hh_all = np.arange(n, dtype=np.int64)
    kid_rel = np.where(is_t[LEFT_BEHIND], _REL["grandchild"], _REL["child"])
    par_rel = np.where(par_in_law, _REL["parent_in_law"], _REL["parent"])
    one = np.ones(n, dtype=bool)
    # (present, age, male, relation, shares the head's surname, migrant slot)
    slots = [
        (one, head_age, head_male, np.full(n, _REL["head"]), one, ~one),
        (has_spouse, spouse_age, ~head_male, np.full(n, _REL["spouse"]), ~one, ~one),
        (n_kids >= 1, c1, rng.random(n) < 0.52, kid_rel, one, ~one),
        ((n_kids >= 2) & (c2 >= 0), c2, rng.random(n) < 0.52, kid_rel, one, ~one),
        ((n_kids >= 3) & (c3 >= 0), c3, rng.random(n) < 0.52, kid_rel, one, ~one),
        ((n_par == 2) & (father_age <= 100), father_age, one,
         par_rel, ~par_in_law, ~one),
        ((n_par >= 1) & (p2_age <= 100), p2_age, p2_male, par_rel, p2_male & ~par_in_law,
         ~one),
        (n_mig >= 1, mig_age, mig1_male, np.full(n, _REL["child"]), one, one),
        (n_mig >= 2, mig2_age, ~mig1_male, np.full(n, _REL["child_in_law"]), ~one, one),
    ]
    parts = [(hh_all[s[0]], *(a[s[0]] for a in s[1:]), np.full(int(s[0].sum()), k))
             for k, s in enumerate(slots)]
    hh = np.concatenate([p[0] for p in parts])
    age = np.concatenate([p[1] for p in parts]).astype(np.int64)
    male = np.concatenate([p[2] for p in parts])
    rel = np.concatenate([p[3] for p in parts]).astype(np.int64)
    same_surname = np.concatenate([p[4] for p in parts])
    away_slot = np.concatenate([p[5] for p in parts])
    slot = np.concatenate([p[6] for p in parts])
    order = np.argsort(hh * 16 + slot, kind="stable")
    hh, age, male, rel, same_surname, away_slot = (
        hh[order], age[order], male[order], rel[order], same_surname[order], away_slot[order])
    age = np.minimum(age, 100)
    m = hh.size
    p_urban = urban[hh]
    p_type = htype[hh]

    # -- birth dates and IDs -----------------------------------------------------------------
    today_ord = today.toordinal()
    birth_days = (today_ord - _EPOCH_ORD
                  - np.floor((age + rng.random(m)) * 365.2425).astype(np.int64))
    birth_days = np.minimum(birth_days, today_ord - _EPOCH_ORD - 1)
    counties = sorted({v.county_code for v in vs})
    county_of_village = np.array([counties.index(v.county_code) for v in vs], dtype=np.int64)
    p_county = county_of_village[vidx][hh]
    id_numbers = _id_numbers(counties, p_county, birth_days, male)
    age = _exact_age(birth_days, today)  # from here on, the age the birth date gives

    # -- names -------------------------------------------------------------------------------
    names = _names(rng, hh, n, same_surname, male)

    # -- health, capacity, school ------------------------------------------------------------
    dis_grade, dis_cat = _disability(rng, age)
    ill_base = np.select([age < 18, age < 40, age < 60, age < 75], [0.002, 0.005, 0.015, 0.035],
                         0.05)
    serious_ill = rng.random(m) < ill_base
    labour = _labour(rng, age, dis_grade, serious_ill)
    student = _students(rng, age, p_urban)
    adl = _adl(rng, age, dis_grade)

    # adults away: left-behind children's parents, and some grown-up children of rural
    # families who work in the cities (not students)
    grown_away = ((rel == _REL["child"]) & (age >= 18) & (student == 0)
                  & ((p_type == NUCLEAR) | (p_type == THREE_GEN))
                  & (rng.random(m) < np.where(p_urban, 0.12, 0.45)))
    co_resident = ~(away_slot | grown_away)
    migrant = (away_slot & ~defacto_hh[hh]) | grown_away
    minor = age < 18
    orphan = orphan_hh[hh] & (rel == _REL["grandchild"]) & minor
    de_facto = defacto_hh[hh] & (rel == _REL["grandchild"]) & minor
    # old people living alone or as a couple without children (无子女): no one bound to support
    childless_hh = rng.random(n) < np.select([is_t[SINGLE_ELDER], is_t[ELDERLY_COUPLE]],
                                             [CHILDLESS_SHARE[0], CHILDLESS_SHARE[1]], 0.0)
    childless = childless_hh[hh] & ((rel == _REL["head"]) | (rel == _REL["spouse"]))

    # -- income by source --------------------------------------------------------------------
    income = _incomes(rng, age, male, p_urban, labour, student, migrant, rel, p_type,
                      orphan_hh[hh] | defacto_hh[hh])
    nonfarm_business = income.pop("_nonfarm")

    # -- economic tier: the poor are more often disabled, ill, old and alone, rural -------------
    def any_by_hh(flag: np.ndarray) -> np.ndarray:
        return np.bincount(hh, weights=flag.astype(np.float64), minlength=n) > 0

    severe_hh = any_by_hh(co_resident & (dis_grade >= 1) & (dis_grade <= 2))
    ill_hh = any_by_hh(co_resident & serious_ill)
    risk = (1.0 + 2.0 * severe_hh + 1.5 * ill_hh + 1.0 * is_t[SINGLE_ELDER]
            + 0.5 * ~urban + 1.0 * (orphan_hh | defacto_hh))
    risk = risk / risk.mean()
    u = rng.random(n)
    p_poor = np.minimum(TIER_SHARES["poor"] * risk, 0.5)
    p_edge = np.minimum(TIER_SHARES["edge"] * risk, 0.25)
    p_hard = np.minimum(TIER_SHARES["hardship"] * np.where(ill_hh, 6.0, 0.6), 0.2)
    tier = np.select([u < p_poor, u < p_poor + p_edge, u < p_poor + p_edge + p_hard],
                     [1, 2, 3], 0)

    standard = np.array([_standard_fen(c) for c in counties], dtype=np.int64)[
        county_of_village[vidx]]
    n_co = np.bincount(hh, weights=co_resident, minlength=n).astype(np.int64)
    sources = ("income_wage", "income_business", "income_pension", "income_transfer",
               "income_property")
    counted = np.zeros(n, dtype=np.int64)
    for s in sources:
        counted += np.bincount(hh, weights=np.where(co_resident, income[s], 0),
                               minlength=n).astype(np.int64)
    lo = np.select([tier == 1, tier == 2, tier == 3], [0.10, 1.02, 1.2], 0.0)
    hi = np.select([tier == 1, tier == 2, tier == 3], [0.95, 1.48, 2.5], 0.0)
    target_pc = standard * (lo + (hi - lo) * rng.random(n))
    target_pc = np.where((tier == 1) & (rng.random(n) < 0.2), 0.0, target_pc)
    target = np.floor(target_pc * n_co).astype(np.int64)
    # rescale the counted members' incomes to the target; zero income → a transfer to the head
    factor = np.where(counted > 0, target / np.maximum(counted, 1), 0.0)
    rescale = (tier > 0)[hh] & co_resident
    for s in sources:
        income[s] = np.where(rescale, np.floor(income[s] * factor[hh]).astype(np.int64),
                             income[s])
    no_income = (tier > 0) & (counted == 0)
    head_row = rel == _REL["head"]
    give = no_income[hh] & head_row
    income["income_transfer"] = np.where(give, (target[hh] // 100) * 100,
                                         income["income_transfer"])
    # households outside the drawn bands live above them: a household whose drawn incomes fall
    # short of 1.5–4 × the standard per head gets the rest through its head — support from
    # children elsewhere (赡养费) for the old or those unable to work, odd jobs (灵活就业) otherwise
    floor = np.floor(standard * (1.5 + 2.5 * rng.random(n)) * n_co / 100).astype(np.int64) * 100
    short = np.where(tier == 0, np.maximum(floor - counted, 0), 0)[hh] * head_row
    via_wage = income["income_wage"] > 0
    via_transfer = ~via_wage & ((age >= 60) | (labour == 2))
    income["income_wage"] += np.where(via_wage, short, 0)
    income["income_transfer"] += np.where(via_transfer, short, 0)
    income["income_business"] += np.where(~via_wage & ~via_transfer, short, 0)
    monthly = np.zeros(n, dtype=np.int64)
    for s in sources:
        monthly += np.bincount(hh, weights=np.where(co_resident, income[s], 0),
                               minlength=n).astype(np.int64)

    # -- households' property and expenses --------------------------------------------------
    hh_frame_cols = _property(rng, n, urban, tier, standard, n_co, monthly,
                              any_by_hh(nonfarm_business), hh, student, serious_ill,
                              co_resident)

    # -- frames ------------------------------------------------------------------------------
    village_codes = tuple(v.code for v in vs)
    seq_in_village = np.arange(n) - np.searchsorted(vidx, vidx, side="left") + 1
    households_df = pl.DataFrame({
        "household_id": pl.Series(np.arange(1, n + 1, dtype=np.int64)),
        "area_code": _labels(village_codes, vidx),
        "seq": pl.Series(seq_in_village.astype(np.int64)),
        "hukou": _labels(("rural", "urban"), urban),
        "house_no": pl.Series(rng.integers(1, 200, n).astype(np.int64)),
        "room": pl.Series(rng.integers(1, 7, n) * 100 + rng.integers(1, 5, n)),
        "village_idx": pl.Series(vidx.astype(np.int64)),
        **{k: pl.Series(v) for k, v in hh_frame_cols.items()},
        "household_type": _labels(HOUSEHOLD_TYPES, htype),
        "economic_tier": _labels(TIERS, tier),
    })
    places = pl.Series([v.town_name + v.place for v in vs], dtype=pl.String)
    place_col = places.gather(households_df["village_idx"].cast(pl.UInt32))
    households_df = households_df.with_columns(
        (pl.col("area_code") + pl.col("seq").cast(pl.String).str.zfill(5)).alias("number"),
        (place_col + pl.when(pl.col("hukou") == "urban")
         .then(pl.format("{}栋{}室", pl.col("house_no") % 40 + 1, pl.col("room")))
         .otherwise(pl.format("{}号", pl.col("house_no")))).alias("address"),
    ).select(
        "household_id", "number", "area_code", "hukou", "address", "financial_assets",
        "houses", "non_residential_property", "vehicles", "business",
        "monthly_medical_expense", "monthly_education_expense", "household_type",
        "economic_tier",
    )

    persons_df = pl.DataFrame({
        "person_id": pl.Series(np.arange(1, m + 1, dtype=np.int64)),
        "household_id": pl.Series(hh + 1),
        "id_number": id_numbers,
        "name": names,
        "sex": _labels(("F", "M"), male),
        "birth_date": pl.Series(birth_days.astype(np.int32)).cast(pl.Date),
        "relation": _labels(RELATIONS, rel),
        "co_resident": pl.Series(co_resident),
        "migrant": pl.Series(migrant),
        "disability_category": _labels(("", *DISABILITY_CATEGORIES),
                                       np.where(dis_grade > 0, dis_cat + 1, 0)),
        "disability_grade": pl.Series(dis_grade.astype(np.int8)),
        "serious_illness": pl.Series(serious_ill),
        "labour_capacity": _labels(LABOUR, labour),
        "student_status": _labels(STUDENT, student),
        "adl_failed": pl.Series(adl.astype(np.int8)),
        "orphan": pl.Series(orphan),
        "de_facto_unsupported": pl.Series(de_facto),
        "childless": pl.Series(childless),
        **{s: pl.Series(income[s].astype(np.int64)) for s in sources},
    })
    return Population(households=households_df, persons=persons_df, area=area_prefix,
                      seed=seed, today=today)


# ---------------------------------------------------------------------------------------------
def _id_numbers(counties: list[str], county_idx: np.ndarray, birth_days: np.ndarray,
                male: np.ndarray) -> pl.Series:
    """GB 11643 IDs: county code, birth date, a sequence distinct within (county, date, sex)
    whose parity gives the sex, and the MOD 11-2 check character."""
    m = county_idx.size
    # one int64 key per (county, birth date, sex); a stable sort keeps person order in a group
    key = (county_idx << 40) + ((birth_days + 200_000) << 1) + male.astype(np.int64)
    order = np.argsort(key, kind="stable")
    ks = key[order]
    new_group = np.ones(m, dtype=bool)
    new_group[1:] = ks[1:] != ks[:-1]
    starts = np.flatnonzero(new_group)
    rank = np.empty(m, dtype=np.int64)
    rank[order] = np.arange(m) - starts[np.cumsum(new_group) - 1]
    if m and int(rank.max()) >= 500:
        raise ValueError("同一县同一出生日期同一性别超过500人：请减少户数或扩大区划")
    seq = (rank * _SEQ_STRIDE + birth_days % 500) % 500
    seq3 = seq * 2 + male.astype(np.int64)
    year, month, day = _dates(birth_days)
    region = np.array([[int(c) for c in code] for code in counties], dtype=np.int64)
    digits = np.concatenate([region[county_idx], _digits(year, 4), _digits(month, 2),
                             _digits(day, 2), _digits(seq3, 3)], axis=1)
    chars = np.empty((m, 18), dtype=np.uint8)
    chars[:, :17] = digits + 48
    chars[:, 17] = _CHECK_ASCII[(digits @ _ID_WEIGHTS) % 11]
    return pl.Series("id_number", chars.view("S18").ravel()).cast(pl.String)


def _names(rng: np.random.Generator, hh: np.ndarray, n: int, same_surname: np.ndarray,
           male: np.ndarray) -> pl.Series:
    """Surnames by a rank-size law over the common surnames (王李张 first); family members
    share the head's surname except spouses and in-laws; one or two given characters."""
    surnames = list(SURNAMES)
    w = 1.0 / (np.arange(len(surnames)) + 4.0)
    head_surname = _choice(rng, n, w)
    m = hh.size
    own = _choice(rng, m, w)
    sidx = np.where(same_surname, head_surname[hh], own)
    pool = [*GIVEN_MALE, *GIVEN_FEMALE, ""]
    nm, nf = len(GIVEN_MALE), len(GIVEN_FEMALE)

    def given() -> np.ndarray:
        return np.where(male, rng.integers(0, nm, m), nm + rng.integers(0, nf, m))

    first = given()
    second = np.where(rng.random(m) < 0.7, given(), len(pool) - 1)
    pool_s = pl.Series(pool, dtype=pl.String)
    return (pl.Series(surnames, dtype=pl.String).gather(sidx) + pool_s.gather(first)
            + pool_s.gather(second)).alias("name")


def _disability(rng: np.random.Generator, age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grade 0–4 and category index; prevalence rises with age, scaled so the whole population
    averages DISABILITY_RATE whatever its age structure."""
    base = np.select([age < 15, age < 30, age < 45, age < 60, age < 70, age < 80],
                     [0.012, 0.022, 0.035, 0.06, 0.12, 0.20], 0.32)
    p = np.minimum(base * DISABILITY_RATE / base.mean(), 1.0)
    m = age.size
    has = rng.random(m) < p
    grade = np.where(has, 1 + _choice(rng, m, np.array(DISABILITY_GRADE_SHARES)), 0)
    category = _choice(rng, m, np.array(DISABILITY_CATEGORY_SHARES))
    return grade.astype(np.int64), category.astype(np.int64)


def _labour(rng: np.random.Generator, age: np.ndarray, grade: np.ndarray,
            ill: np.ndarray) -> np.ndarray:
    """0 full, 1 partial, 2 none (index into LABOUR)."""
    m = age.size
    u, v, w = rng.random(m), rng.random(m), rng.random(m)
    lab = np.select([grade == 1, grade == 2, grade == 3, grade == 4],
                    [np.full(m, 2), np.where(u < 0.8, 2, 1), np.where(u < 0.6, 1, 0),
                     np.where(u < 0.3, 1, 0)], 0)
    lab = np.where(ill, np.maximum(lab, np.where(v < 0.5, 2, 1)), lab)
    by_age = np.select([age < 16, age < 60, age < 70],
                       [np.full(m, 2), np.zeros(m, dtype=np.int64),
                        np.where(w < 0.15, 0, np.where(w < 0.75, 1, 2))],
                       np.where(w < 0.85, 2, 1))
    return np.maximum(lab, by_age)


def _students(rng: np.random.Generator, age: np.ndarray, urban: np.ndarray) -> np.ndarray:
    """Index into STUDENT by age: preschool 3–5, primary 6–11, junior 12–14, senior or
    vocational 15–17, some undergraduates 18–22 and a few postgraduates 23–25."""
    u = rng.random(age.size)
    return np.select(
        [(age >= 3) & (age <= 5) & (u < 0.88),
         (age >= 6) & (age <= 11) & (u < 0.995),
         (age >= 12) & (age <= 14) & (u < 0.99),
         (age >= 15) & (age <= 17) & (u < 0.55),
         (age >= 15) & (age <= 17) & (u < 0.90),
         (age >= 18) & (age <= 22) & (u < np.where(urban, 0.65, 0.45)),
         (age >= 23) & (age <= 25) & (u < 0.04)],
        [1, 2, 3, 4, 5, 6, 7], 0)


def _adl(rng: np.random.Generator, age: np.ndarray, grade: np.ndarray) -> np.ndarray:
    """Daily-living items failed (of six): rising with age from 60, and for the severely
    disabled at any age from 6."""
    p = np.select([age < 60, age < 70, age < 80, age < 90], [0.0, 0.03, 0.08, 0.22], 0.45)
    p = p + np.select([grade == 1, grade == 2], [0.5, 0.25], 0.0) * (age >= 6)
    m = age.size
    has = rng.random(m) < p
    count = 1 + _choice(rng, m, np.array([0.35, 0.20, 0.15, 0.12, 0.10, 0.08]))
    return np.where(has, count, 0)


def _uniform_yuan(rng: np.random.Generator, n: int, lo: float | np.ndarray,
                  hi: float | np.ndarray) -> np.ndarray:
    return np.rint(lo + (hi - lo) * rng.random(n)).astype(np.int64) * 100


def _incomes(rng: np.random.Generator, age: np.ndarray, male: np.ndarray, urban: np.ndarray,
             labour: np.ndarray, student: np.ndarray, migrant: np.ndarray, rel: np.ndarray,
             ptype: np.ndarray, child_welfare: np.ndarray) -> dict[str, np.ndarray]:
    """Monthly income by source (fen); most people have one source or none."""
    m = age.size
    retire = np.where(urban & ~male, 55, 60)
    work_age = (age >= 18) & (age < retire) & (student == 0) & (labour != 2)
    employed_p = (np.where(migrant, 0.95, np.where(urban, 0.78, 0.55))
                  * np.where(labour == 1, 0.45, 1.0))
    employed = work_age & (rng.random(m) < employed_p)
    wage_median = np.where(migrant, 5000.0, np.where(urban, 5200.0, 3600.0))
    wage = np.where(employed, _lognormal_fen(
        rng, m, wage_median * np.where(labour == 1, 0.5, 1.0), 0.55), 0)
    u = rng.random(m)
    nonfarm = work_age & ~migrant & np.where(urban, u < 0.09, ~employed & (u < 0.10))
    business = np.where(nonfarm, _lognormal_fen(rng, m, np.where(urban, 6000.0, 4000.0), 0.9),
                        0)
    farm = (~urban & ~migrant & ~nonfarm & (rng.random(m) < 0.8)
            & ((work_age & ~employed) | ((age >= 60) & (age < 75) & (labour != 2))))
    business += np.where(farm, _lognormal_fen(rng, m, np.where(age >= 60, 500.0, 1200.0), 0.6),
                         0)
    u = rng.random(m)
    employee = np.where(urban, u < 0.80, u < 0.06)
    resident = ~employee & (u < 0.98)
    pension_age = age >= retire
    pension = np.select(
        [pension_age & employee, pension_age & resident],
        [_lognormal_fen(rng, m, np.where(urban, 3200.0, 2200.0), 0.35),
         _uniform_yuan(rng, m, np.where(urban, 150.0, 140.0), np.where(urban, 400.0, 320.0))],
        0)
    head = rel == _REL["head"]
    elder_head = head & ((ptype == SINGLE_ELDER) | (ptype == ELDERLY_COUPLE))
    u = rng.random(m)
    transfer = np.select(
        [head & (ptype == LEFT_BEHIND) & ~child_welfare,
         elder_head & (u < np.where(urban, 0.2, 0.4)),
         (age >= 18) & (u > 0.97)],
        [_uniform_yuan(rng, m, 600.0, 2500.0), _uniform_yuan(rng, m, 200.0, 1200.0),
         _uniform_yuan(rng, m, 100.0, 800.0)], 0)
    prop = np.where((age >= 18) & (rng.random(m) < np.where(urban, 0.04, 0.015)),
                    _lognormal_fen(rng, m, 1500.0, 0.8), 0)
    away = migrant
    zero = np.zeros(m, dtype=np.int64)
    return {
        "income_wage": wage.astype(np.int64),
        "income_business": np.where(away, zero, business).astype(np.int64),
        "income_pension": np.where(away, zero, pension).astype(np.int64),
        "income_transfer": np.where(away, zero, transfer).astype(np.int64),
        "income_property": np.where(away, zero, prop).astype(np.int64),
        "_nonfarm": nonfarm,
    }


def _property(rng: np.random.Generator, n: int, urban: np.ndarray, tier: np.ndarray,
              standard: np.ndarray, n_co: np.ndarray, monthly: np.ndarray,
              nonfarm_hh: np.ndarray, hh: np.ndarray, student: np.ndarray,
              serious_ill: np.ndarray, co_resident: np.ndarray) -> dict[str, np.ndarray]:
    """Household assets, housing, vehicles, business and rigid monthly expenses (fen)."""
    normal = tier == 0
    fin_normal = np.where(rng.random(n) < 0.08, 0,
                          _lognormal_fen(rng, n, np.where(urban, 120_000.0, 50_000.0), 1.1))
    limit = 24 * standard * n_co  # 低保 asset limit: 24 months of the standard per member
    low = (np.floor(rng.random(n) * 0.9 * limit / 100) * 100).astype(np.int64)
    poor = np.where(rng.random(n) < 0.5, rng.integers(0, 5001, n) * 100, low)
    financial = np.select([normal, tier == 1], [fin_normal, poor], low)
    houses_normal = _choice(rng, n, np.where(urban[:, None], np.array([0.12, 0.62, 0.21, 0.05]),
                                             np.array([0.04, 0.82, 0.12, 0.02])))
    houses_low = np.where(rng.random(n) < np.where(urban, 0.25, 0.03), 0, 1)
    vehicles_normal = _choice(rng, n, np.where(urban[:, None], np.array([0.55, 0.37, 0.08]),
                                               np.array([0.65, 0.30, 0.05])))
    nonres = np.where(normal & (rng.random(n) < np.where(urban, 0.04, 0.02)),
                      1 + (rng.random(n) < 0.15), 0)
    business = normal & nonfarm_hh & (rng.random(n) < np.where(urban, 0.7, 0.5))

    ill_hh = np.bincount(hh, weights=serious_ill & co_resident, minlength=n) > 0
    med = np.where(rng.random(n) < 0.3, _lognormal_fen(rng, n, 200.0, 1.0), 0)
    med = np.where(ill_hh, _lognormal_fen(rng, n, 2500.0, 0.7), med)
    hard_med = ((monthly * (0.7 + 0.9 * rng.random(n))) // 100).astype(np.int64) * 100 \
        + _uniform_yuan(rng, n, 500.0, 3000.0)
    med = np.where(tier == 3, np.maximum(med, hard_med), med)
    cost = np.array([0.0, 600.0, 150.0, 200.0, 600.0, 500.0, 1500.0, 1500.0])[student]
    person_edu = np.rint(cost * rng.lognormal(0.0, 0.3, student.size)) * co_resident
    education = np.bincount(hh, weights=person_edu, minlength=n).astype(np.int64) * 100
    return {
        "financial_assets": financial.astype(np.int64),
        "houses": np.where(normal, houses_normal, houses_low).astype(np.int32),
        "non_residential_property": nonres.astype(np.int32),
        "vehicles": np.where(normal, vehicles_normal, 0).astype(np.int32),
        "business": business,
        "monthly_medical_expense": med.astype(np.int64),
        "monthly_education_expense": education,
    }
