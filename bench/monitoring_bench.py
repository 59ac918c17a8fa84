"""How long the monitoring run (`doudi.engine.monitoring.run`) takes on a district: every
indicator and every programme's rules for every household, against the department feeds.

    taskset -c 0,1 .venv/bin/python bench/monitoring_bench.py --households 1000000 --history 2
    taskset -c 0,1 .venv/bin/python bench/monitoring_bench.py --households 200000 --engine spark

Step 1 builds a synthetic district (`doudi.synth.district.build`) and writes its run inputs as
Parquet into --work (reused on the next run with the same arguments): the registry's frames,
the enrollments and the typed feed rows. `--history N` repeats every feed's rows N times with
their dates moved back a year each time (older deliveries of the same registers), to reach the
issue's 10M feed rows with 1M households. Step 2 runs the engine in a fresh process that reads
the Parquet, so its peak RSS (VmHWM) is the run's own, and prints the time of each part, the
warnings by indicator, the scores against the truth and the digest. Timings are never asserted;
docs/benchmarks.md records what a run printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import source_state  # noqa: E402


def prepare(args: argparse.Namespace, work: Path) -> None:
    import polars as pl

    from doudi.rules.shipped import shipped
    from doudi.synth import district
    from doudi.synth.monitoring_inputs import inputs

    today = dt.date.fromisoformat(args.today)
    start = time.perf_counter()
    params = shipped()
    built = district.build(args.area, args.households, args.seed, today, parameters=params)
    data = inputs(built, params)
    print(f"build district           {time.perf_counter() - start:8.2f} s", flush=True)
    (work / "feeds").mkdir(parents=True, exist_ok=True)
    data.households.write_parquet(work / "households.parquet")
    data.members.write_parquet(work / "members.parquet")
    data.enrollments.write_parquet(work / "enrollments.parquet")
    built.truth.write_parquet(work / "truth.parquet")
    rows = 0
    for key, frame in data.feeds.items():
        dates = [c for c, t in frame.schema.items() if t == pl.Date]
        copies = [frame]
        for n in range(1, args.history):
            copies.append(frame.with_columns([pl.col(c).dt.offset_by(f"-{n}y") for c in dates]))
        out = pl.concat(copies)
        rows += out.height
        out.write_parquet(work / "feeds" / f"{key}.parquet")
    (work / "parameters.pickle").write_bytes(pickle.dumps(list(params)))
    (work / "meta.json").write_text(json.dumps({"today": args.today, "feed_rows": rows,
                                                "households": data.households.height,
                                                "persons": data.members.height}))


def measure(work: Path, engine: str, buckets: int) -> None:
    """The run itself, in this (fresh) process."""
    import polars as pl

    from doudi.engine.monitoring import indicators
    from doudi.engine.monitoring.against_truth import score
    from doudi.engine.monitoring.run import Inputs, digest, run
    from doudi.rules.shipped import shipped

    meta = json.loads((work / "meta.json").read_text())
    if engine == "spark":
        measure_spark(work, meta, buckets)
        return
    start = time.perf_counter()
    feeds = {p.stem: pl.read_parquet(p) for p in sorted((work / "feeds").glob("*.parquet"))}
    data = Inputs(households=pl.read_parquet(work / "households.parquet"),
                  members=pl.read_parquet(work / "members.parquet"),
                  enrollments=pl.read_parquet(work / "enrollments.parquet"), feeds=feeds,
                  parameters=shipped(), today=dt.date.fromisoformat(meta["today"]))
    read = time.perf_counter()
    out = run(data, indicators.shipped())
    done = time.perf_counter()
    table, overall = score(out.warnings, pl.read_parquet(work / "truth.parquet"))
    print(f"households {meta['households']:,}  persons {meta['persons']:,}  "
          f"feed rows {sum(f.height for f in feeds.values()):,}")
    print(f"read inputs              {read - start:8.2f} s")
    print(f"monitoring run (local)   {done - read:8.2f} s")
    print(f"warnings                 {out.warnings.height:,}")
    for key, n in sorted(out.counts.items()):
        print(f"  {key:<22} {n:>10,}")
    print(f"recall {overall['recall']:.4f} (lowest kind {overall['min_recall']:.4f})  "
          f"precision {overall['precision']:.4f}")
    print(f"digest {digest(out.warnings)[:16]}")
    with open("/proc/self/status") as f:
        peak = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
    print(f"peak RSS (run process)   {peak / 1024 / 1024:8.2f} GB")
    del table


def measure_spark(work: Path, meta: dict, buckets: int) -> None:
    """The Spark runner reading the same Parquet with Spark (as on a cluster), local mode."""
    import polars as pl

    from doudi.engine.monitoring import indicators
    from doudi.engine.monitoring.against_truth import score
    from doudi.engine.monitoring.run import digest
    from doudi.engine.monitoring.spark import run_spark_dir, session

    start = time.perf_counter()
    spark = session()
    started = time.perf_counter()
    out = run_spark_dir(work, indicators.shipped(), spark=spark, buckets=buckets)
    done = time.perf_counter()
    _, overall = score(out.warnings, pl.read_parquet(work / "truth.parquet"))
    print(f"households {meta['households']:,}  persons {meta['persons']:,}  "
          f"feed rows {meta['feed_rows']:,}  buckets {buckets}  "
          f"master {spark.sparkContext.master}")
    print(f"spark session            {started - start:8.2f} s")
    print(f"monitoring run (spark)   {done - started:8.2f} s")
    print(f"warnings                 {out.warnings.height:,}")
    print(f"recall {overall['recall']:.4f} (lowest kind {overall['min_recall']:.4f})  "
          f"precision {overall['precision']:.4f}")
    print(f"digest {digest(out.warnings)[:16]}")
    spark.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--area", default="341002")
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", default="2026-11-23")
    parser.add_argument("--history", type=int, default=1,
                        help="deliveries of every feed (older ones a year apart)")
    parser.add_argument("--work", default="/tmp/doudi-monitoring-bench")
    parser.add_argument("--engine", choices=["local", "spark"], default="local")
    parser.add_argument("--buckets", type=int, default=8, help="Spark buckets (--engine spark)")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    work = Path(args.work) / f"{args.area}-{args.households}-{args.seed}-{args.history}"
    if args.measure_only:
        measure(work, args.engine, args.buckets)
        return
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{source_state()}  cpus {cpus}  households {args.households:,}  "
          f"history {args.history}  today {args.today}", flush=True)
    if not (work / "meta.json").exists():
        prepare(args, work)
    subprocess.run([sys.executable, __file__, "--measure-only", "--work", args.work,
                    "--area", args.area, "--households", str(args.households), "--seed",
                    str(args.seed), "--history", str(args.history), "--engine", args.engine,
                    "--buckets", str(args.buckets)], check=True)


if __name__ == "__main__":
    main()
