"""The plain function behind `doudi synth` and the demo: build a synthetic district and write
it (population, enrolments, truth, department feeds)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from doudi.rules.parameters import ParameterSet
from doudi.synth import district as districts
from doudi.synth import writer
from doudi.synth.planted import DEFAULT_PER_10K


@dataclass
class Run:
    district: districts.District
    manifest: dict[str, Any]
    summary: dict[str, Any]


def run(area: str, households: int, seed: int, out: str | Path,
        today: dt.date | None = None, xlsx: bool = False,
        dirty_share: float = districts.DEFAULT_DIRTY_SHARE, per_10k: int = DEFAULT_PER_10K,
        parameters: ParameterSet | None = None, feeds_dir: str | Path | None = None) -> Run:
    """Build `households` households under `area` with `seed` as of `today` (default: the
    current date) and write them into `out`. The summary holds counts and timings (seconds)."""
    day = today or dt.date.today()
    start = time.perf_counter()
    district = districts.build(area, households, seed, day, dirty_share=dirty_share,
                               per_10k=per_10k, parameters=parameters)
    built = time.perf_counter()
    manifest = writer.write_district(district, out, xlsx=xlsx, feeds_dir=feeds_dir)
    written = time.perf_counter()
    summary = {
        "area": area, "seed": seed, "today": day.isoformat(), "out": str(out),
        "households": manifest["households"], "persons": manifest["persons"],
        "feed_rows": sum(f.height for f in district.feeds.values()),
        "dirty_rows": district.dirt.height, "truth": manifest["truth"],
        "enrolments": manifest["enrolments"],
        "build_seconds": round(built - start, 3), "steps": district.timings,
        "write_seconds": round(written - built, 3),
        "total_seconds": round(written - start, 3),
    }
    return Run(district, manifest, summary)
