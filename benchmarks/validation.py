"""Time of the validation of one profile: findings (a), (b), (c) on the three validation seed
blocks at 100 runs per condition and block (21,900 runs).

Runs ``analysis.validation.run_validation`` through ``mesa.batch_run`` on all cores (or
``--processes``), writes its figures and tables into a temporary folder, and prints the runs,
the rounds simulated, the seconds per part and the runs per second. Then, side by side in the
same process, the survival conditions of one block (a sample of ``--sample`` runs each) with the
engine recording every round (the plain NormsModel) and only the last (``collect="last"``, what
the validation uses), and their ratio.

    .venv/bin/python benchmarks/validation.py [--profile paper] [--runs 100] [--processes N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def collection_ratio(profile: str, sample: int, processes: int | None) -> tuple[float, float]:
    """Seconds for the (b) and (c) conditions on ``sample`` seeds: every round vs last."""
    from analysis import validation as v
    from analysis.seed_blocks import VALIDATION
    from model.norms.model import NormsModel

    base = v.base_config(profile=profile)
    configs = v.b_configs(base) + v.c_configs(base)
    seeds = VALIDATION[0].seeds(sample)
    times = []
    for cls in (NormsModel, v.LeanModel):
        t0 = time.perf_counter()
        v.batch(configs, seeds, model_cls=cls, processes=processes)
        times.append(time.perf_counter() - t0)
    return times[0], times[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", choices=("paper", "extended"), default="paper")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--processes", type=int, default=None)
    ap.add_argument("--sample", type=int, default=10,
                    help="seeds per condition of the side-by-side collection check")
    args = ap.parse_args()

    from analysis.validation import A_ROUNDS, run_validation, write

    cores = args.processes or os.cpu_count()
    t0 = time.perf_counter()
    result = run_validation(args.runs, profile=args.profile, processes=args.processes)
    t_run = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t1 = time.perf_counter()
        write(result, tmp)
        t_write = time.perf_counter() - t1
    total = sum(result.runs.values())
    bc = result.tables.get("b_runs"), result.tables.get("c_runs")
    rounds = sum(int(t["survival_time"].sum()) for t in bc if t is not None)
    rounds += result.runs.get("a", 0) * A_ROUNDS
    print(f"validation of the {args.profile!r} profile, {args.runs} runs per condition in each "
          f"of {len(result.blocks)} seed blocks, {cores} worker processes")
    for part, secs in result.timings.items():
        print(f"  {part:>2}: {result.runs[part]:5d} runs in {secs:6.1f} s "
              f"({result.runs[part] / secs:6.0f} runs/s)")
    print(f"  simulate + statistics + figures: {t_run:.1f} s; writing PNG/CSV: {t_write:.1f} s")
    print(f"total: {total} runs, {rounds:,} rounds, {t_run + t_write:.1f} s "
          f"= {total / (t_run + t_write):.0f} runs/s ({rounds / (t_run + t_write):,.0f} rounds/s)")
    for finding in result.findings:
        print(finding.line())
    every, last = collection_ratio(args.profile, args.sample, args.processes)
    print(f"side by side, (b)+(c) conditions x {args.sample} seeds: recording every round "
          f"{every:.1f} s, only the last {last:.1f} s: {every / last:.2f}x")


if __name__ == "__main__":
    main()
