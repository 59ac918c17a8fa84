"""How fast the synthetic population generator builds and writes a district.

    python bench/synth_bench.py --area 341002 --households 1000000 --seed 1
    taskset -c 0,1 python bench/synth_bench.py --households 1000000   # the 2-core figure

Generates the population with doudi.synth.population.generate (numpy + Polars, no Django),
writes it with doudi.synth.writer.write into --out (a temporary directory by default), and
prints one line per figure: generation time, Parquet-writing time, counts, file sizes and the
process's peak RSS. Timings are never asserted; docs/benchmarks.md records what a run printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import tempfile
import time
from pathlib import Path

from doudi.synth import population, writer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--area", default="341002")
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", default="2026-11-23")
    parser.add_argument("--out", default=None, help="output directory (default: a temp dir)")
    args = parser.parse_args(argv)
    today = dt.date.fromisoformat(args.today)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"area {args.area}  households {args.households:,}  seed {args.seed}  "
          f"today {today}  cpus {cpus}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        start = time.perf_counter()
        pop = population.generate(args.area, args.households, args.seed, today)
        generated = time.perf_counter()
        manifest = writer.write(pop, out)
        written = time.perf_counter()
        print(f"generate           {generated - start:8.2f} s")
        print(f"write parquet      {written - generated:8.2f} s")
        print(f"total              {written - start:8.2f} s")
        print(f"households         {manifest['households']:>12,}")
        print(f"persons            {manifest['persons']:>12,}")
        print(f"villages used      {pop.households['area_code'].n_unique():>12,}")
        for name in (writer.HOUSEHOLDS_FILE, writer.PERSONS_FILE):
            size = (out / name).stat().st_size / 1e6
            print(f"{name:<18} {size:8.1f} MB")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS           {peak:8.0f} MB")


if __name__ == "__main__":
    main()
