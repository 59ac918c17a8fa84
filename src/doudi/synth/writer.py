"""Writing a synthetic population as Parquet: `households.parquet`, `persons.parquet` and a
`manifest.json`, byte-for-byte the same for the same population (no timestamps, fixed
compression and row-group size, sorted JSON keys)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from doudi.synth.population import Population

HOUSEHOLDS_FILE = "households.parquet"
PERSONS_FILE = "persons.parquet"
MANIFEST_FILE = "manifest.json"
ROW_GROUP_SIZE = 256 * 1024


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write(population: Population, out: str | Path) -> dict[str, Any]:
    """Write the two Parquet files and the manifest into `out` (created if missing); return
    the manifest."""
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    files = {HOUSEHOLDS_FILE: population.households, PERSONS_FILE: population.persons}
    for name, frame in files.items():
        frame.write_parquet(directory / name, compression="zstd", compression_level=3,
                            statistics=True, row_group_size=ROW_GROUP_SIZE)
    manifest: dict[str, Any] = {
        "area": population.area,
        "seed": population.seed,
        "today": population.today.isoformat(),
        "households": population.households.height,
        "persons": population.persons.height,
        "files": {name: {"rows": frame.height, "sha256": _sha256(directory / name)}
                  for name, frame in files.items()},
        "generator": "doudi.synth.population",
    }
    (directory / MANIFEST_FILE).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
        encoding="utf-8")
    return manifest
