"""Per-page figures of a load run from its request log (DOUDI_LOAD_LOG, bench/load/locustfile.py).

    python bench/load/window.py RUN.log                 # the whole run
    python bench/load/window.py RUN.log --from 120      # after the first two minutes

Prints a Markdown table: page, requests, failures, p50 / p95 / p99 / max in milliseconds
(nearest-rank percentiles of the logged response times, not locust's rounded buckets).
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("log")
    parser.add_argument("--from", dest="start", type=float, default=0.0)
    parser.add_argument("--to", dest="end", type=float, default=math.inf)
    args = parser.parse_args()
    times: dict[str, list[float]] = defaultdict(list)
    failed: dict[str, int] = defaultdict(int)
    with open(args.log) as f:
        for line in f:
            at, name, ms, ok = line.rstrip("\n").split("\t")
            if args.start <= float(at) < args.end:
                times[name].append(float(ms))
                failed[name] += ok == "0"
    print("| page | requests | failures | p50 ms | p95 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    every: list[float] = []
    for name in sorted(times):
        v = times[name]
        every += v
        print(f"| {name} | {len(v):,} | {failed[name]} | {percentile(v, 50):,.0f} | "
              f"{percentile(v, 95):,.0f} | {percentile(v, 99):,.0f} | {max(v):,.0f} |")
    if every:
        print(f"| **all** | {len(every):,} | {sum(failed.values())} | "
              f"{percentile(every, 50):,.0f} | {percentile(every, 95):,.0f} | "
              f"{percentile(every, 99):,.0f} | {max(every):,.0f} |")


if __name__ == "__main__":
    main()
