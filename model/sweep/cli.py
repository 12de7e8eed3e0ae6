"""``commons-lab sweep SWEEP.toml``: run or resume a sweep (the same command does both)."""

from __future__ import annotations

import argparse
import sys

HELP = "run a sweep (grid x seeds) from a TOML file; run it again to resume"

EXIT_FAILED_RUNS = 1
EXIT_INTERRUPTED = 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sweep", help="a sweep file, e.g. runs/sweep-demo.toml")
    parser.add_argument("--out", help="sweep folder (default: the file's `out`, else out/<name>); "
                        "the same folder is what a rerun resumes")
    parser.add_argument("--workers", type=int, help="parallel runs (default: all cores for "
                        "rule-based runs, one per host slot for LLM runs)")
    parser.add_argument("--engine", choices=["local", "dask"],
                        help="run here (local) or on Dask distributed (default: the file's, else local)")
    parser.add_argument("--scheduler", metavar="ADDR",
                        help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: a "
                        "LocalCluster of --workers processes)")
    parser.add_argument("--host", action="append", metavar="URL", dest="hosts",
                        help="an LLM server to spread runs over (repeatable; replaces the file's hosts)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override a value of the base run config, e.g. --set rounds=30 (repeatable)")
    parser.add_argument("--dry-run", action="store_true",
                        help="list the runs and their status, run nothing")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    from model.config import ConfigError, parse_override
    from model.sweep.config import load_sweep

    overrides = dict(parse_override(item) for item in args.set or [])
    settings = {"workers": args.workers, "engine": args.engine, "scheduler": args.scheduler,
                "hosts": args.hosts, "out": args.out}
    if args.scheduler and args.engine not in (None, "dask"):
        raise ConfigError("--scheduler needs --engine dask")
    if args.scheduler:
        settings["engine"] = "dask"
    sweep = load_sweep(args.sweep, overrides, settings)
    if args.dry_run:
        return _dry_run(sweep)

    from model.sweep.run import run_sweep
    from model.sweep.index import code_versions

    try:
        result = run_sweep(sweep, progress=not args.quiet)
    except KeyboardInterrupt:
        print("commons-lab: sweep interrupted; completed runs are kept, run the same command "
              "to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"sweep {sweep.name}: {result.completed} of {result.planned} runs completed "
          f"({result.ran} now, {result.before} before) in {result.seconds:.1f} s on {result.engine}")
    for run_id, error in sorted(result.failed.items()):
        print(f"  failed: {run_id}: {error}")
    if result.stopped:
        print(f"  stopped: {result.stopped}")
    print(f"index:  {result.root / 'index.parquet'} (and sweep.json)")
    versions = code_versions(result.index)
    if len(versions) > 1:
        print(f"note: the completed runs were made by {len(versions)} code versions "
              f"({', '.join(v[:12] for v in versions)}); see the index's git_commit column",
              file=sys.stderr)
    if not result.ok:
        print("some runs are not completed: run the same command again to retry them",
              file=sys.stderr)
        return EXIT_FAILED_RUNS
    return 0


def _dry_run(sweep) -> int:
    from model.run_folder import read_manifest
    from model.sweep.plan import make_plan

    plan = make_plan(sweep)
    statuses = {}
    for run in plan.runs:
        status = (read_manifest(plan.run_dir(run)) or {}).get("status", "pending")
        statuses[status] = statuses.get(status, 0) + 1
        kind = "llm " if run.llm else "rule"
        print(f"{status:<11} {kind} {run.run_id}")
    counts = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    print(f"sweep {sweep.name}: {len(plan.runs)} runs ({counts}) in {plan.root}")
    return 0
