"""Time to analyse 1,000 runs: load + statistics + figures + report.

The run folders are made once and kept (default ``out/bench-analysis/``):

- norms runs are real rule-based runs of ``model.runner.run`` (50-round cap, like LLM runs):
  four "models" x two environments x three populations with the full social channels, plus the
  three ablations on the mixed population. A rule-based society has no LLM, so each "model"
  is an ``llm.model`` label paired with a different penalty (beta = 2, 6, 10, 14), which gives
  the models really different survival times;
- GovSim runs (about a tenth) are made without an LLM: villagers with a model-specific greed
  ask for integer amounts around the per-villager threshold, and the project's own pool,
  seeded allocation and metric code (``model.govsim``) turn them into the summary a GovSim run
  writes. Four models x (fishery, pasture, pollution, fishery with universalization).

Then ``analysis.report.build_report`` runs over the folder (``--model-key config.llm.model``)
and the time of each stage is printed; so is the wall time of the whole
``commons-lab analyze`` command, which includes starting Python and importing the libraries.

    .venv/bin/python benchmarks/analysis.py [--runs 1000] [--cache out/bench-analysis]
        [--workers 2] [--no-cli]
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from model.config import RunConfig  # noqa: E402

MODELS = {"sim-a": 2.0, "sim-b": 6.0, "sim-c": 10.0, "sim-d": 14.0}  # label -> penalty beta
GREED = {"sim-a": 1.6, "sim-b": 1.15, "sim-c": 0.95, "sim-d": 0.75}  # GovSim request factor
GOVSIM_PANELS = [("fishery", False), ("pasture", False), ("pollution", False), ("fishery", True)]
VARIANT_HARDNESS = {"fishery": 1.0, "pasture": 1.15, "pollution": 1.08}


def norms_specs() -> list[dict]:
    """Seed-major, so truncating the list keeps every cell of the design."""
    specs = []
    for seed in itertools.count():
        for model, env, pop in itertools.product(MODELS, ("harsh", "rich"),
                                                 ("selfish", "mixed", "altruistic")):
            specs.append({"kind": "norms", "seed": seed, "model": model, "env": env, "pop": pop,
                          "ablation": "full"})
        if seed % 4 == 0:  # ablations: a quarter of the seeds, mixed population
            for model, env, abl in itertools.product(
                    MODELS, ("harsh", "rich"),
                    ("social_learning_only", "group_decision_only", "neither")):
                specs.append({"kind": "norms", "seed": seed, "model": model, "env": env,
                              "pop": "mixed", "ablation": abl})
        if len(specs) > 5000:
            return specs


def govsim_specs() -> list[dict]:
    specs = []
    for seed in itertools.count():
        for model, (variant, univ) in itertools.product(MODELS, GOVSIM_PANELS):
            specs.append({"kind": "govsim", "seed": seed, "model": model, "variant": variant,
                          "universalization": univ})
        if len(specs) > 1000:
            return specs


def folder_of(cache: Path, spec: dict) -> Path:
    if spec["kind"] == "norms":
        return (cache / "norms" / spec["ablation"] / spec["model"] / spec["env"] / spec["pop"]
                / f"seed-{spec['seed']}")
    tag = spec["variant"] + ("-univ" if spec["universalization"] else "")
    return cache / "govsim" / tag / spec["model"] / f"seed-{spec['seed']}"


def make_norms_run(args: tuple[Path, dict]) -> None:
    from model.runner import run

    path, spec = args
    config = RunConfig().replace(**{
        "name": "bench", "seed": spec["seed"], "rounds": 50, "policy": "rule",
        "llm.model": spec["model"], "norms.penalty": MODELS[spec["model"]],
        "norms.environment": spec["env"], "norms.population": spec["pop"],
        "modules.ablation": spec["ablation"]})
    run(config, path, progress=False, overwrite=True)


def make_govsim_run(args: tuple[Path, dict]) -> None:
    """A GovSim run folder from villagers without an LLM (see the module docstring)."""
    from model.govsim.allocation import allocate_stochastic
    from model.govsim.metrics import HarvestRow, Trajectory, run_metrics
    from model.govsim.pool import CommonPool
    from model.run_folder import RunFolder, atomic_write_json, new_manifest, now

    path, spec = args
    config = RunConfig().replace(**{
        "scenario": "govsim", "name": "bench-govsim", "seed": spec["seed"], "policy": "llm",
        "llm.model": spec["model"], "govsim.variant": spec["variant"],
        "govsim.universalization": spec["universalization"]})
    g = config.govsim
    rng = np.random.default_rng([spec["seed"], list(MODELS).index(spec["model"]),
                                 len(spec["variant"]), int(spec["universalization"])])
    greed = GREED[spec["model"]] * VARIANT_HARDNESS[spec["variant"]]
    greed *= 0.8 if spec["universalization"] else 1.0
    pool = CommonPool(g.initial_stock, g.capacity, g.collapse_below)
    rows, talk, stock_rows = [], {}, []
    for month in range(1, g.months + 1):
        before = pool.stock
        fair = pool.villager_threshold(g.n_agents, before)
        asks = [max(0, int(round(greed * fair + rng.normal(0, 2)))) for _ in range(g.n_agents)]
        got = allocate_stochastic(asks, before, rng)
        after = pool.take(got)
        rows += [HarvestRow(month, i, before, after, c) for i, c in enumerate(got)]
        talk[month] = int(rng.integers(3, 10))
        stock_rows.append({"Round": month, "Stock": before, "Harvest": sum(got),
                           "StockAfterHarvest": after})
        if pool.is_collapse(after):
            break
        pool.end_month()
    metrics = run_metrics(Trajectory(rows, talk, months=g.months))
    summary = {"scenario": "govsim", **metrics}
    folder = RunFolder(path, overwrite=True)
    folder.create()
    manifest = new_manifest(config, ["benchmarks/analysis.py"])
    folder.write_tables({"rounds": pd.DataFrame(stock_rows)}, "parquet")
    atomic_write_json(folder.file("summary.json"), summary)
    manifest.update(status="completed", finished=now(), summary=summary)
    folder.write_manifest(manifest)


def ensure_runs(cache: Path, total: int, workers: int) -> tuple[int, int, float]:
    n_gov = total // 10
    specs = norms_specs()[: total - n_gov] + govsim_specs()[:n_gov]
    todo = [(folder_of(cache, s), s) for s in specs
            if not (folder_of(cache, s) / "summary.json").is_file()]
    t0 = time.perf_counter()
    if todo:
        print(f"making {len(todo)} run folders in {cache} ({workers} processes) ...", flush=True)
        norms = [t for t in todo if t[1]["kind"] == "norms"]
        gov = [t for t in todo if t[1]["kind"] == "govsim"]
        with Pool(workers) as pool:
            for i, _ in enumerate(pool.imap_unordered(make_norms_run, norms, chunksize=8), 1):
                if i % 100 == 0:
                    print(f"  {i}/{len(norms)} norms runs", flush=True)
            list(pool.imap_unordered(make_govsim_run, gov, chunksize=8))
    return total - n_gov, n_gov, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--cache", default=str(ROOT / "out" / "bench-analysis"))
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--no-cli", action="store_true", help="skip the timing of the CLI command")
    args = ap.parse_args()
    cache = Path(args.cache) / f"runs-{args.runs}"
    n_norms, n_gov, made_s = ensure_runs(cache, args.runs, args.workers)
    if made_s > 1:
        print(f"made the missing run folders in {made_s:.0f} s")
    sel = cache

    from analysis.report import build_report

    out = cache.parent / f"report-{args.runs}"
    t0 = time.perf_counter()
    report = build_report([sel], out, model_key="config.llm.model")
    wall = time.perf_counter() - t0
    runs = report.runs.runs
    print(f"\nanalysed {len(runs)} runs ({n_norms} norms incl. ablations, {n_gov} GovSim; "
          f"{len(report.runs.rounds):,} round rows) -> {report.html}")
    for stage, seconds in report.timings.items():
        print(f"  {stage:<18} {seconds:7.2f} s")
    print(f"  figures: {len(report.figures)}, tables: {len(report.tables)}, "
          f"HTML {report.html.stat().st_size / 1e6:.1f} MB")
    print(f"in-process analysis of {len(runs)} runs: {wall:.1f} s "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    if not args.no_cli:
        t0 = time.perf_counter()
        subprocess.run([str(ROOT / ".venv" / "bin" / "commons-lab"), "analyze", str(sel), "--out",
                        str(out), "--model-key", "config.llm.model"], check=True,
                       stdout=subprocess.DEVNULL)
        print(f"`commons-lab analyze` of {len(runs)} runs, end to end (Python start-up and "
              f"imports included): {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
