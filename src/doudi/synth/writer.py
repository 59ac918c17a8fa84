"""Writing a synthetic population as Parquet: `households.parquet`, `persons.parquet` and a
`manifest.json`, byte-for-byte the same for the same population (no timestamps, fixed
compression and row-group size, sorted JSON keys). `write_district` adds the enrolments, the
truth of the planted cases and the department feeds (`feeds/`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from doudi.core.checksums import sha256_file
from doudi.synth.feeds.layouts import LAYOUTS
from doudi.synth.population import Population

if TYPE_CHECKING:
    from doudi.synth.district import District

HOUSEHOLDS_FILE = "households.parquet"
PERSONS_FILE = "persons.parquet"
MANIFEST_FILE = "manifest.json"
ENROLMENTS_FILE = "enrolments.parquet"
TRUTH_FILE = "truth.parquet"
FEEDS_DIR = "feeds"
DIRT_FILE = "dirty_rows.parquet"
ROW_GROUP_SIZE = 256 * 1024


def write_parquet(frame: pl.DataFrame, path: Path) -> dict[str, Any]:
    frame.write_parquet(path, compression="zstd", compression_level=3, statistics=True,
                        row_group_size=ROW_GROUP_SIZE)
    return {"rows": frame.height, "sha256": sha256_file(path)}


def write(population: Population, out: str | Path,
          extra: dict[str, pl.DataFrame] | None = None,
          more: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the two Parquet files (and any `extra` frames by file name) and the manifest into
    `out` (created if missing); return the manifest."""
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    files = {HOUSEHOLDS_FILE: population.households, PERSONS_FILE: population.persons,
             **(extra or {})}
    written = {name: write_parquet(frame, directory / name) for name, frame in files.items()}
    manifest: dict[str, Any] = {
        "area": population.area,
        "seed": population.seed,
        "today": population.today.isoformat(),
        "households": population.households.height,
        "persons": population.persons.height,
        "files": written,
        "generator": "doudi.synth.population",
        **(more or {}),
    }
    (directory / MANIFEST_FILE).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
        encoding="utf-8")
    return manifest


def _shown(path: Path, base: Path) -> str:
    """`path` relative to `base` when inside it (so manifests do not depend on the machine)."""
    return str(path.relative_to(base)) if path.is_relative_to(base) else str(path)


def write_district(district: District, out: str | Path, xlsx: bool = False,
                   feeds_dir: str | Path | None = None) -> dict[str, Any]:
    """The population files, `enrolments.parquet` (the enrolled), `truth.parquet` and, in
    `feeds_dir` (default `out/feeds`), each department's CSV and Parquet (and .xlsx with
    `xlsx`); `dirty_rows.parquet`, the truth about the feeds' defects, sits beside
    `truth.parquet`, not among the feeds an import screen lists. With dirt, two feeds'
    workbooks carry a wrong sheet name (Sheet1). The manifest names feed files relative to
    the feeds directory."""
    from doudi.synth.feeds import files  # it reads this module's Parquet settings

    directory = Path(out)
    feeds_path = Path(feeds_dir) if feeds_dir else directory / FEEDS_DIR
    feeds_path.mkdir(parents=True, exist_ok=True)
    wrong = set()
    if xlsx and district.dirty_share > 0:
        rng = np.random.default_rng([district.population.seed, 97])
        wrong = {LAYOUTS[i].key for i in rng.choice(len(LAYOUTS), 2, replace=False)}
    feed_files: dict[str, Any] = {}
    for layout in LAYOUTS:
        for name, info in files.write_feed(district.feeds[layout.key], layout, feeds_path,
                                           xlsx=xlsx, wrong_sheet=layout.key in wrong).items():
            feed_files[name] = {**info, "feed": layout.key, "department": layout.department}
    enrolled = district.enrolments.filter(pl.col("covered")).drop("covered")
    truth_counts = dict(district.truth.group_by("kind").len().sort("kind").iter_rows())
    return write(district.population, directory,
                 extra={ENROLMENTS_FILE: enrolled, TRUTH_FILE: district.truth,
                        DIRT_FILE: district.dirt},
                 more={"feeds": feed_files, "feeds_dir": _shown(feeds_path, directory),
                       "dirty_share": district.dirty_share,
                       "wrong_sheet_names": sorted(wrong), "truth": truth_counts,
                       "enrolments": dict(enrolled.group_by("programme").len()
                                          .sort("programme").iter_rows())})
