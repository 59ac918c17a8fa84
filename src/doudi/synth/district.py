"""A whole synthetic district in one call: population, enrolments, department feeds with dirty
rows, and the ground truth of planted cases. Pure (numpy + Polars + the rules engine).

    district = build("341002", 20_000, seed=1, today=dt.date(2026, 11, 23))

Steps: generate the population; evaluate every programme on it (the registry's view); enrol
most of the eligible; draw each department's background rows; plant the cases (adding and
replacing feed rows); mix the planted rows in; render every feed as the department's text;
spoil a share of the rows that are not planted. `writer.write_district` puts it on disk.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from doudi.rules.engine import evaluate
from doudi.rules.parameters import ParameterSet
from doudi.rules.shipped import shipped
from doudi.synth import enrolments
from doudi.synth import planted as planting
from doudi.synth.feeds import build as feeds
from doudi.synth.feeds import dirty, render
from doudi.synth.feeds.layouts import LAYOUTS
from doudi.synth.population import Population, generate
from doudi.synth.rules_frames import engine_frames

DEFAULT_DIRTY_SHARE = 0.02


@dataclass
class District:
    population: Population
    enrolments: pl.DataFrame  # every eligible (programme, unit); `covered` marks the enrolled
    typed_feeds: dict[str, pl.DataFrame]  # clean typed rows, planted ones included
    feeds: dict[str, pl.DataFrame]  # the text each department sends, dirt included
    dirt: pl.DataFrame  # one row per spoiled cell or duplicated row
    truth: pl.DataFrame
    dirty_share: float
    timings: dict[str, float] = field(default_factory=dict)


def mix(background: pl.DataFrame, added: list[pl.DataFrame], drop: set[str],
        rng: np.random.Generator) -> tuple[pl.DataFrame, pl.Series]:
    """Background rows without the dropped IDs, plus the planted rows, in a shuffled order;
    returns the frame and the mask of planted rows."""
    kept = background.filter(~pl.col("id_number").is_in(sorted(drop))) if drop else background
    frame = pl.concat([kept, *added]) if added else kept
    planted = np.zeros(frame.height, dtype=bool)
    planted[kept.height:] = True
    order = rng.permutation(frame.height)
    return (frame.select(pl.all().gather(order)),
            pl.Series("planted", planted[order]))


def build(area: str, households: int, seed: int, today: dt.date,
          dirty_share: float = DEFAULT_DIRTY_SHARE, per_10k: int = planting.DEFAULT_PER_10K,
          coverage_bp: int = enrolments.DEFAULT_COVERAGE_BP,
          parameters: ParameterSet | None = None) -> District:
    if not 0 <= dirty_share < 0.5:
        raise ValueError("脏数据比例应在 0 与 0.5 之间")
    params = parameters or shipped()
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    population = generate(area, households, seed, today)
    lap("population")
    h, m = engine_frames(population)
    result = evaluate(h, m, params, today)
    enrolled = enrolments.enrolments(result, seed, coverage_bp)
    lap("rules")
    ctx = feeds.Context(population, seed, today)
    background = feeds.background(ctx)
    lap("feeds")
    planted = planting.plant(ctx, h, m, result, enrolled, params, per_10k)
    lap("planted")
    known = population.persons.get_column("id_number")
    typed, rendered, issues = {}, {}, []
    for number, layout in enumerate(LAYOUTS):
        rng = np.random.default_rng([seed, 31, number])
        frame, mask = mix(background[layout.key], planted.rows.get(layout.key, []),
                          planted.drop.get(layout.key, set()), rng)
        typed[layout.key] = frame
        text, spoiled = dirty.apply(render.render(frame, layout), layout, dirty_share,
                                    seed * 1_000 + number, known, protected=mask)
        rendered[layout.key] = text
        issues.append(spoiled)
    lap("render")
    dirt = pl.concat(issues, how="vertical_relaxed") if issues else pl.DataFrame()
    return District(population=population, enrolments=enrolled, typed_feeds=typed,
                    feeds=rendered, dirt=dirt, truth=planted.truth, dirty_share=dirty_share,
                    timings=timings)
