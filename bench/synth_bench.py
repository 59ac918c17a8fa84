"""How fast a whole synthetic district is built and written: population, rules and enrolments,
department feeds, planted cases, rendering with dirty rows, and the files.

    python bench/synth_bench.py --area 341002 --households 1000000 --seed 1
    taskset -c 0,1 python bench/synth_bench.py --households 1000000   # the 2-core figure
    python bench/synth_bench.py --households 20000 --xlsx              # Excel feeds too

Builds with doudi.synth.district.build (numpy + Polars + the rules engine, no Django), writes
with doudi.synth.writer.write_district into --out (a temporary directory by default), and prints
one line per figure: each step's time, counts, file sizes and the process's peak RSS. Timings
are never asserted; docs/benchmarks.md records what a run printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import tempfile
import time
from pathlib import Path

from doudi.synth import district, writer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--area", default="341002")
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", default="2026-11-23")
    parser.add_argument("--xlsx", action="store_true", help="write the feeds as Excel too")
    parser.add_argument("--out", default=None, help="output directory (default: a temp dir)")
    args = parser.parse_args(argv)
    today = dt.date.fromisoformat(args.today)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"area {args.area}  households {args.households:,}  seed {args.seed}  "
          f"today {today}  cpus {cpus}  xlsx {args.xlsx}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        start = time.perf_counter()
        built = district.build(args.area, args.households, args.seed, today)
        middle = time.perf_counter()
        manifest = writer.write_district(built, out, xlsx=args.xlsx)
        written = time.perf_counter()
        for step, seconds in built.timings.items():
            print(f"{step:<24} {seconds:8.2f} s")
        print(f"{'build':<24} {middle - start:8.2f} s")
        print(f"{'write':<24} {written - middle:8.2f} s")
        print(f"{'total':<24} {written - start:8.2f} s")
        print(f"{'households':<24} {manifest['households']:>12,}")
        print(f"{'persons':<24} {manifest['persons']:>12,}")
        feed_rows = sum(f.height for f in built.feeds.values())
        print(f"{'feed rows':<24} {feed_rows:>12,}")
        print(f"{'dirty cells/rows':<24} {built.dirt.height:>12,}")
        print(f"{'truth cases':<24} {built.truth.height:>12,}")
        print(f"{'enrolled (all programmes)':<24} {sum(manifest['enrolments'].values()):>12,}")
        total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
        print(f"{'files on disk':<24} {total:8.1f} MB")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak RSS':<24} {peak:8.0f} MB")


if __name__ == "__main__":
    main()
