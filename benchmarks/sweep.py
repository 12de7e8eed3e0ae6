"""Sweep throughput (runs per second) of one rule-based sweep on each engine.

    .venv/bin/python benchmarks/sweep.py [--seeds 10] [--rounds 100] [--workers 2]

Runs the 2 x 3 grid of runs/sweep-demo.toml x N seeds three times into fresh folders: batch_run
in one process, batch_run on all workers, and a Dask LocalCluster of the same size. Wall time
includes starting the worker processes (and the cluster), as a user would see it; the time per
run also includes writing its folder (tables, summary, manifest).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()

    from model.sweep.config import load_sweep
    from model.sweep.run import run_sweep

    engines = [("local, 1 process", {"workers": 1}),
               (f"local, batch_run x {args.workers}", {"workers": args.workers}),
               (f"dask LocalCluster x {args.workers}", {"engine": "dask", "workers": args.workers})]
    scratch = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    print(f"{'engine':<26} {'runs':>5} {'wall s':>8} {'runs/s':>8}")
    try:
        for label, settings in engines:
            sweep = load_sweep(ROOT / "runs/sweep-demo.toml", {"rounds": args.rounds},
                               settings)
            sweep = _with_seeds(sweep, args.seeds)
            out = scratch / label.split(",")[0].replace(" ", "-") / str(len(os.listdir(scratch)))
            start = time.perf_counter()
            result = run_sweep(sweep, out, progress=False)
            wall = time.perf_counter() - start
            assert result.ok, result.failed
            print(f"{label:<26} {result.planned:>5} {wall:>8.1f} {result.planned / wall:>8.2f}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


def _with_seeds(sweep, n: int):
    import dataclasses

    return dataclasses.replace(sweep, seeds=tuple(range(1, n + 1)))


if __name__ == "__main__":
    main()
