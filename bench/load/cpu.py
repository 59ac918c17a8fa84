"""CPU of the load run's processes, sampled while locust runs (bench/load/locustfile.py).

    python bench/load/cpu.py --serve-pid PID --seconds 630 --out cpu.csv

Every --interval seconds: the CPU used since the last sample (in % of one core) by the
`doudi serve` process, its job worker (its child), every PostgreSQL backend, the locust
process(es) and the whole machine, plus the serve process's resident memory. At the end prints
the mean and the peak of each column. Needs psutil.
"""

from __future__ import annotations

import argparse
import csv
import time

import psutil


def _groups(serve: psutil.Process) -> dict[str, list[psutil.Process]]:
    children = serve.children(recursive=True)
    out: dict[str, list[psutil.Process]] = {"serve": [serve], "worker": children,
                                             "postgres": [], "locust": []}
    for p in psutil.process_iter(["name", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if (p.info["name"] or "").startswith("postgres"):
            out["postgres"].append(p)
        elif "locust" in cmd and "cpu.py" not in cmd:
            out["locust"].append(p)
    return out


def _cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve-pid", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=630)
    parser.add_argument("--interval", type=float, default=5)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    serve = psutil.Process(args.serve_pid)
    keys = ("serve", "worker", "postgres", "locust")
    rows = []
    # processes come and go (PostgreSQL backends, the worker's job): keep their last totals
    seen = {p.pid: _cpu([p]) for procs in _groups(serve).values() for p in procs}
    machine = psutil.cpu_times()
    last = time.monotonic()
    end = last + args.seconds
    while time.monotonic() < end:
        time.sleep(args.interval)
        now = time.monotonic()
        used = dict.fromkeys(keys, 0.0)
        for key, procs in _groups(serve).items():
            for p in procs:
                total = _cpu([p])
                used[key] += max(0.0, total - seen.get(p.pid, 0.0))  # new: all of it
                seen[p.pid] = total
        m = psutil.cpu_times()
        busy = (m.user + m.system + m.nice + m.irq + m.softirq) - (
            machine.user + machine.system + machine.nice + machine.irq + machine.softirq)
        machine = m
        span = now - last
        last = now
        try:
            rss = serve.memory_info().rss / 2**20
        except psutil.Error:
            break
        rows.append({"t": round(now - end + args.seconds, 1),
                     **{k: round(100 * used[k] / span, 1) for k in keys},
                     "machine": round(100 * busy / span, 1), "serve_rss_mb": round(rss)})
    with open(args.out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["t"])
        writer.writeheader()
        writer.writerows(rows)
    for k in (*keys, "machine", "serve_rss_mb"):
        values = [r[k] for r in rows]
        if values:
            print(f"{k}: mean {sum(values) / len(values):.1f}, peak {max(values):.1f}")


if __name__ == "__main__":
    main()
