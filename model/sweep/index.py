"""The sweep index: one row per planned run, rebuilt from the run folders every time.

It is never appended to: whatever happened before (an interrupted command, a crash, a run
finished by an orphaned worker) the index says what the folders hold, once per run. Written as
``index.parquet`` (a table for analysis) and ``sweep.json`` (the sweep's definition, counts and
the same rows), both atomically.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd

from model.run_folder import COMPLETED, atomic_write_bytes, atomic_write_json, now, read_manifest
from model.sweep.hosts import display_host
from model.sweep.plan import INDEX, SWEEP_JSON, RunSpec, SweepPlan

PENDING = "pending"
# Fixed columns before the grid keys and the run summary's fields.
_HEAD = ["run_id", "variant"]
_TAIL = ["seed", "status", "folder", "host", "started", "finished", "error", "git_commit"]


def _cell(value):
    return "+".join(map(str, value)) if isinstance(value, (tuple, list)) else value


def run_row(plan: SweepPlan, run: RunSpec) -> dict:
    manifest = read_manifest(plan.run_dir(run)) or {}
    status = manifest.get("status", PENDING)
    summary = (manifest.get("summary") or {}) if status == COMPLETED else {}
    config = manifest.get("config") or {}
    host = None
    if run.llm:
        llm = config.get("llm") or {}
        host = llm.get("base_url") if llm.get("backend") == "openai" else llm.get("host")
    row = {"run_id": run.run_id, "variant": run.condition.variant}
    row.update({key: _cell(value) for key, value in run.condition.params})
    row.update(seed=run.seed, status=status, folder=f"runs/{run.run_id}", host=display_host(host),
               started=manifest.get("started"), finished=manifest.get("finished"),
               error=manifest.get("error"), git_commit=manifest.get("git_commit"))
    for key, value in summary.items():
        row.setdefault(key, value)
    return row


def rebuild_index(plan: SweepPlan) -> pd.DataFrame:
    """Read every planned run's manifest and write index.parquet and sweep.json."""
    rows = [run_row(plan, run) for run in plan.runs]
    columns = _HEAD + list(plan.sweep.grid_keys) + _TAIL
    index = pd.DataFrame(rows)
    if index.empty:
        index = pd.DataFrame(columns=columns)
    extra = [c for c in index.columns if c not in columns]
    index = index[columns + extra]
    if not plan.sweep.variants:
        index = index.drop(columns="variant")
    plan.root.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(plan.root / INDEX, index.to_parquet(index=False))
    counts = Counter(r["status"] for r in rows)
    atomic_write_json(plan.root / SWEEP_JSON, {
        "name": plan.sweep.name,
        "source": str(plan.sweep.source) if plan.sweep.source else None,
        "updated": now(),
        "runs_planned": len(rows),
        "counts": dict(sorted(counts.items())),
        "grid": {k: list(v) for k, v in plan.sweep.grid},
        "seeds": list(plan.sweep.seeds),
        "definition": {**plan.sweep.definition,
                       "hosts": [display_host(h) for h in plan.sweep.settings.hosts]},
        "runs": [{**r, "params": dict(run.condition.params)} for r, run in zip(rows, plan.runs)],
    })
    return index


def code_versions(index: pd.DataFrame) -> list[str]:
    """The code versions (git commits) the completed runs were made with; more than one means
    the sweep mixes runs of different code, which a resume cannot tell from the config."""
    done = index[index["status"] == COMPLETED]
    return sorted(done["git_commit"].dropna().unique())


def read_index(out: str | Path) -> pd.DataFrame:
    return pd.read_parquet(Path(out) / INDEX)


def sweep_tables(out: str | Path, table: str = "rounds", *, status: str = COMPLETED) -> pd.DataFrame:
    """One run table (rounds, agents, events, ...) of every run with ``status``, stacked, with
    the run id, the grid values and the seed in front."""
    out = Path(out)
    index = read_index(out)
    sweep = json.loads((out / SWEEP_JSON).read_text(encoding="utf-8"))
    keys = [c for c in ["run_id", "variant", *sweep["grid"], "seed"] if c in index.columns]
    frames = []
    for row in index[index["status"] == status].to_dict("records"):
        folder = out / row["folder"]
        path = folder / f"{table}.parquet"
        df = pd.read_parquet(path) if path.exists() else pd.read_csv(folder / f"{table}.csv")
        df = df.reset_index(drop=True)
        for position, key in enumerate(keys):
            df.insert(position, key, [row[key]] * len(df))
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=keys)
    return pd.concat(frames, ignore_index=True)
