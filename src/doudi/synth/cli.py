"""The plain function behind `doudi synth`: generate a population and write it as Parquet."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from doudi.synth import population, writer


def run(area: str, households: int, seed: int, out: str | Path,
        today: dt.date | None = None) -> dict[str, Any]:
    """Generate `households` households under `area` with `seed` as of `today` (default: the
    current date) and write them into `out`. Returns counts and timings in seconds."""
    day = today or dt.date.today()
    start = time.perf_counter()
    pop = population.generate(area, households, seed, day)
    generated = time.perf_counter()
    manifest = writer.write(pop, out)
    written = time.perf_counter()
    return {
        "area": area, "seed": seed, "today": day.isoformat(), "out": str(out),
        "households": manifest["households"], "persons": manifest["persons"],
        "generate_seconds": round(generated - start, 3),
        "write_seconds": round(written - generated, 3),
        "total_seconds": round(written - start, 3),
    }
