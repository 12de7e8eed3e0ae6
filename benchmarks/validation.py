"""Time of the full validation: findings (a), (b) and (c) at 100 runs per condition.

Runs ``analysis.validation.run_validation`` through ``mesa.batch_run`` on all cores (or
``--processes``), writes its figures and tables into a temporary folder, and prints the runs,
the rounds simulated, the seconds per part and the runs per second.

    .venv/bin/python benchmarks/validation.py [--runs 100] [--processes N] [--reading text]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--processes", type=int, default=None)
    ap.add_argument("--reading", choices=("text", "table"), default="text")
    args = ap.parse_args()

    from analysis.validation import A_ROUNDS, run_validation, write

    cores = args.processes or os.cpu_count()
    t0 = time.perf_counter()
    result = run_validation(args.runs, args.reading, processes=args.processes)
    t_run = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t1 = time.perf_counter()
        write(result, tmp)
        t_write = time.perf_counter() - t1
    total = sum(result.runs.values())
    bc = result.tables.get("b_runs"), result.tables.get("c_runs")
    rounds = sum(int(t["survival_time"].sum()) for t in bc if t is not None)
    rounds += result.runs.get("a", 0) * A_ROUNDS
    print(f"full validation, {args.runs} runs per condition, reading {args.reading!r}, "
          f"{cores} worker processes")
    for part, secs in result.timings.items():
        print(f"  {part:>2}: {result.runs[part]:5d} runs in {secs:6.1f} s "
              f"({result.runs[part] / secs:6.0f} runs/s)")
    print(f"  simulate + statistics + figures: {t_run:.1f} s; writing PNG/CSV: {t_write:.1f} s")
    print(f"total: {total} runs, {rounds:,} rounds, {t_run + t_write:.1f} s "
          f"= {total / (t_run + t_write):.0f} runs/s ({rounds / (t_run + t_write):,.0f} rounds/s)")
    for verdict in result.verdicts:
        print(verdict.line())


if __name__ == "__main__":
    main()
