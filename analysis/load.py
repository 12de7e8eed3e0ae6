"""Find run folders under one or more directories and load them into tidy DataFrames.

A run folder is any folder holding a ``manifest.json`` written by ``model.runner.run`` (it has a
``config``). Sweeps, hand-made collections and single runs are all found the same way, however
deeply they are nested. Each run gets the factors the papers' figures are drawn over: model,
environment, population (altruistic ratio), ablation, and for GovSim the variant and setting.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from model.run_folder import MANIFEST, read_manifest

# Fixed orders, so colours, bars and table rows are the same in every report.
POPULATION_ORDER = ["selfish", "mixed", "altruistic"]
ALTRUIST_SHARE = {"selfish": 0.0, "mixed": 0.5, "altruistic": 1.0}
ENVIRONMENT_ORDER = ["harsh", "rich"]
ABLATION_ORDER = ["full", "social_learning_only", "group_decision_only", "neither"]
# The paper's names for the ablation conditions (Gupta et al., Fig. 7).
ABLATION_LABEL = {"full": "All", "social_learning_only": "OSL",
                  "group_decision_only": "OGD", "neither": "Neither"}
GOVSIM_VARIANT_ORDER = ["fishery", "pasture", "pollution", "trash"]

# Round-table columns the figures use; others are kept when ``all_columns`` is asked for.
ROUND_COLUMNS = ["Round", "Stock", "StockAfterHarvest", "Harvest", "Efficiency", "Alive", "Gini",
                 "MeanEffort", "Compliance", "Punishments", "SurvivalTime", "SInd", "SAlign",
                 "Norm"]
# Per-run columns carried onto every row of the long tables, so they can be grouped directly.
FACTOR_COLUMNS = ["scenario", "model", "environment", "population", "altruist_share", "ablation",
                  "variant", "setting"]


@dataclass
class RunSet:
    """Everything loaded from a set of run folders.

    ``runs`` has one row per run (factors, config values, the run's summary); ``rounds`` one row
    per run and round; ``agents`` one row per run, round and villager (only when asked for).
    ``skipped`` lists folders that were found but not used, with the reason; ``varying`` names
    config values that differ between runs without being a factor of the analysis (the reader
    should know that such runs were pooled).
    """

    runs: pd.DataFrame
    rounds: pd.DataFrame
    agents: pd.DataFrame | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    varying: dict[str, list] = field(default_factory=dict)
    model_key: str = "auto"

    def norms(self) -> RunSet:
        return self._subset(self.runs["scenario"] == "norms")

    def govsim(self) -> RunSet:
        return self._subset(self.runs["scenario"] == "govsim")

    def _subset(self, mask: pd.Series) -> RunSet:
        ids = set(self.runs.loc[mask, "run_id"])
        pick = lambda df: None if df is None else df[df["run_id"].isin(ids)].reset_index(drop=True)
        return RunSet(self.runs[mask].reset_index(drop=True), pick(self.rounds), pick(self.agents),
                      list(self.skipped), dict(self.varying), self.model_key)


# ---------------------------------------------------------------------------------------------
# Finding run folders


def find_run_folders(dirs: Iterable[str | Path]) -> list[Path]:
    """Every folder under ``dirs`` (or equal to one) that holds a run's manifest.json.

    The walk follows symbolic links (a collection may link runs from elsewhere), does not
    descend into a run folder, skips hidden folders, and returns each folder once (resolved),
    sorted, however the given directories overlap.
    """
    found: set[Path] = set()
    seen: set[Path] = set()  # resolved folders already walked: symlink loops end here
    for top in dirs:
        top = Path(top)
        if not top.is_dir():
            raise FileNotFoundError(f"not a directory: {top}")
        for root, subdirs, files in os.walk(top, followlinks=True):
            real = Path(root).resolve()
            if real in seen:
                subdirs[:] = []
                continue
            seen.add(real)
            if MANIFEST in files and _is_run_manifest(Path(root) / MANIFEST):
                found.add(real)
                subdirs[:] = []  # a run folder holds no further runs
                continue
            subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
    return sorted(found)


def _is_run_manifest(path: Path) -> bool:
    # A sweep may keep its own manifest-like file; only a run's manifest carries its config.
    # One that cannot be read at all (a torn write) is kept, so the loader can report it.
    data = read_manifest(path.parent)
    return data is None or isinstance(data.get("config"), dict)


# ---------------------------------------------------------------------------------------------
# Factors of one run


def dig(data: dict, dotted: str, default: Any = None) -> Any:
    """``data["a"]["b"]`` for ``"a.b"``; ``default`` when any step is missing."""
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def model_label(manifest: dict, model_key: str = "auto") -> str:
    """The run's value of the "model" factor.

    ``auto``: an explicit ``labels.model`` in the manifest, else the LLM model(s) of an LLM run
    (a heterogeneous society is named by its models joined with "+"), else "rule-based".
    Any other ``model_key`` is a dotted manifest path (e.g. ``config.norms.penalty``), so that any
    swept value can play the model's part in the figures and the ANOVA.
    """
    if model_key != "auto":
        value = dig(manifest, model_key)
        return "none" if value is None else _text(value)
    label = dig(manifest, "labels.model")
    if label is not None:
        return _text(label)
    cfg = manifest.get("config", {})
    uses_llm = cfg.get("scenario") == "govsim" or cfg.get("policy") == "llm"
    if not uses_llm:
        return "rule-based"
    models = [m for m in (dig(cfg, "llm.models") or []) if m]
    if models:
        return "+".join(dict.fromkeys(models))
    return _text(dig(cfg, "llm.model", "unknown"))


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return "+".join(_text(v) for v in value)
    return str(value)


def govsim_setting(cfg: dict) -> str:
    """A short name for the GovSim experiment a run belongs to (default, universalization, ...)."""
    g = cfg.get("govsim", {}) or {}
    parts = []
    if g.get("universalization"):
        parts.append("universalization")
    if g.get("communication") is False:
        parts.append("no communication")
    if g.get("newcomer_month"):
        parts.append("newcomer")
    if len(set(dig(cfg, "llm.models") or [])) > 1:
        parts.append("heterogeneous")
    if g.get("language", "en") != "en":
        parts.append(f"lang={g['language']}")
    return ", ".join(parts) or "default"


def run_factors(manifest: dict, model_key: str = "auto") -> dict[str, Any]:
    cfg = manifest.get("config", {})
    scenario = cfg.get("scenario", manifest.get("scenario", "norms"))
    row: dict[str, Any] = {
        "scenario": scenario,
        "name": manifest.get("name", cfg.get("name")),
        "seed": cfg.get("seed", manifest.get("seed")),
        "status": manifest.get("status", "unknown"),
        "policy": cfg.get("policy"),
        "model": model_label(manifest, model_key),
        "round_cap": cfg.get("rounds"),
    }
    if scenario == "govsim":
        g = cfg.get("govsim", {}) or {}
        row.update(variant=g.get("variant", "fishery"), setting=govsim_setting(cfg),
                   n_agents=g.get("n_agents"), months=g.get("months"),
                   environment=None, population=None, altruist_share=np.nan, ablation=None)
    else:
        n = cfg.get("norms", {}) or {}
        growth = n.get("growth_rate")
        env = n.get("environment", "rich")
        population = n.get("population", "mixed")
        row.update(
            # A growth rate set by hand is not one of the two named worlds: name it by r.
            environment=env if growth is None else f"r={growth:g}",
            population=population,
            altruist_share=ALTRUIST_SHARE.get(population, np.nan),
            ablation=dig(cfg, "modules.ablation", "full"),
            n_agents=n.get("n_agents"),
            variant=None, setting=None,
        )
    return row


# ---------------------------------------------------------------------------------------------
# Loading


def read_arrow(folder: Path, name: str, columns: list[str] | None = None):
    """Table ``name`` of a run as a pyarrow Table (Parquet, else CSV); None if it has neither.

    Reading one small Parquet file through ``ParquetFile`` costs about a third of
    ``pandas.read_parquet``; the tables of all runs become one DataFrame at the end.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = folder / f"{name}.parquet"
    if parquet.is_file():
        pf = pq.ParquetFile(parquet)
        names = pf.schema_arrow.names
        wanted = None if columns is None else [c for c in columns if c in names]
        return pf.read(columns=wanted, use_threads=False)
    csv = folder / f"{name}.csv"
    if csv.is_file():
        df = pd.read_csv(csv)
        if columns is not None:
            df = df[[c for c in columns if c in df.columns]]
        return pa.Table.from_pandas(df, preserve_index=False)
    return None


def read_table(folder: Path, name: str, columns: list[str] | None = None) -> pd.DataFrame | None:
    """Table ``name`` of one run as a DataFrame (Parquet, else CSV); None if it has neither."""
    table = read_arrow(folder, name, columns)
    return None if table is None else table.to_pandas()


def _summary(folder: Path, manifest: dict) -> dict:
    try:
        data = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        if isinstance(data, dict):
            return data
    except (OSError, ValueError):
        pass
    return manifest.get("summary") or {}


@dataclass
class _Loaded:
    row: dict
    manifest: dict
    rounds: Any = None  # pyarrow Table
    agents: Any = None


def _load_one(folder: Path, base: Path | None, model_key: str, with_agents: bool,
              all_columns: bool, include_incomplete: bool) -> _Loaded | tuple[str, str]:
    """One run folder, or (run id, why it is not used)."""
    try:
        run_id = str(folder.relative_to(base)) if base else str(folder)
    except ValueError:
        run_id = str(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        return run_id, "manifest.json unreadable"
    row = run_factors(manifest, model_key)
    if row["status"] != "completed" and not include_incomplete:
        return run_id, f"status {row['status']}"
    row["run_id"] = run_id
    row["path"] = str(folder)
    for key, value in _summary(folder, manifest).items():
        # Lists and tables in a summary (villagers, per-phase counters) are not run factors.
        if isinstance(value, (int, float, str, bool)) or value is None:
            row.setdefault(key, value)
    try:
        rounds = read_arrow(folder, "rounds", None if all_columns else ROUND_COLUMNS)
        agents = read_arrow(folder, "agents") if with_agents else None
    except (OSError, ValueError) as err:  # a truncated or foreign file
        return run_id, f"unreadable table ({type(err).__name__})"
    if rounds is None and row["scenario"] == "norms":
        return run_id, "no rounds table"
    return _Loaded(row, manifest, rounds, agents)


def _concat(tables: list, run_ids: list[str]) -> pd.DataFrame:
    """One DataFrame from per-run Arrow tables, with a leading run_id column."""
    import pyarrow as pa

    if not tables:
        return pd.DataFrame(columns=["run_id", "Round"])
    # Runs of different scenarios or versions may differ in columns and integer/float types.
    table = pa.concat_tables(tables, promote_options="permissive")
    df = table.to_pandas()
    df.insert(0, "run_id", np.repeat(run_ids, [t.num_rows for t in tables]))
    return df


def _last_valid(rounds: pd.DataFrame, col: str) -> pd.Series:
    if col not in rounds:
        return pd.Series(dtype=float)
    return rounds.dropna(subset=[col]).groupby("run_id")[col].last()


def _common_base(folders: list[Path]) -> Path | None:
    if not folders:
        return None
    try:
        base = Path(os.path.commonpath([str(f) for f in folders]))
    except ValueError:
        return None
    # A single run is named after its own folder, not "."
    return base.parent if len(folders) == 1 else base


def load_runs(dirs: Iterable[str | Path], *, model_key: str = "auto", agents: bool = False,
              include_incomplete: bool = False, all_columns: bool = False,
              workers: int = 4) -> RunSet:
    """Load every run folder found under ``dirs``.

    Only runs whose manifest says ``completed`` are used unless ``include_incomplete``; the
    others are listed in ``skipped``. Files are read on a few threads (Parquet decoding
    releases the GIL).
    """
    folders = find_run_folders(dirs)
    base = _common_base(folders)
    load = lambda f: _load_one(f, base, model_key, agents, all_columns, include_incomplete)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(load, folders))
    loaded = [r for r in results if isinstance(r, _Loaded)]
    skipped = [r for r in results if not isinstance(r, _Loaded)]

    runs = pd.DataFrame([r.row for r in loaded])
    if runs.empty:
        runs = pd.DataFrame(columns=["run_id", "path", *FACTOR_COLUMNS, "seed", "status"])
    with_rounds = [r for r in loaded if r.rounds is not None]
    rounds = _concat([r.rounds for r in with_rounds], [r.row["run_id"] for r in with_rounds])
    # The last measured norm similarity of each run (the paper's end-of-run scatter).
    for col, out in (("SInd", "final_s_ind"), ("SAlign", "final_s_align")):
        runs[out] = runs["run_id"].map(_last_valid(rounds, col)).astype(float)
    runs = _order_factors(runs)
    factors = runs[["run_id", *[c for c in FACTOR_COLUMNS if c in runs]]]
    rounds = rounds.merge(factors, on="run_id", how="left")
    agent_table = None
    if agents:
        with_agents = [r for r in loaded if r.agents is not None]
        agent_table = _concat([r.agents for r in with_agents],
                              [r.row["run_id"] for r in with_agents])
        agent_table = agent_table.merge(factors, on="run_id", how="left")
    varying = varying_config([r.manifest for r in loaded], model_key)
    return RunSet(runs, rounds, agent_table, skipped, varying, model_key)


def _order_factors(runs: pd.DataFrame) -> pd.DataFrame:
    """Categorical dtypes with the papers' orders (unknown levels appended in sorted order)."""
    orders = {"population": POPULATION_ORDER, "environment": ENVIRONMENT_ORDER,
              "ablation": ABLATION_ORDER, "variant": GOVSIM_VARIANT_ORDER}
    for col, order in orders.items():
        if col not in runs:
            continue
        present = [v for v in runs[col].dropna().unique()]
        levels = [v for v in order if v in present] + sorted(v for v in present if v not in order)
        runs[col] = pd.Categorical(runs[col], categories=levels)
    if "model" in runs:
        levels = sorted(runs["model"].dropna().unique(), key=_natural_key)
        runs["model"] = pd.Categorical(runs["model"], categories=levels)
    return runs


def _natural_key(text: str) -> tuple:
    # "2" < "10" when models are named by numbers (e.g. a swept penalty).
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


# Config values that say nothing about the experiment's design.
_IGNORED_KEYS = {"seed", "name", "llm.replay_log", "llm.host", "llm.backend", "llm.concurrency",
                 "llm.timeout_s", "output.format"}
# Config values that are already factors of the analysis.
_FACTOR_KEYS = {"scenario", "policy", "llm.model", "llm.models", "norms.environment",
                "norms.growth_rate", "norms.population", "modules.ablation", "govsim.variant",
                "govsim.universalization", "govsim.communication", "govsim.newcomer_month",
                "govsim.language"}


def _flatten(data: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = tuple(value) if isinstance(value, list) else value
    return out


def _value_order(v: Any) -> tuple:
    number = isinstance(v, (int, float)) and not isinstance(v, bool)
    return (0, float(v), "") if number else (1, 0.0, repr(v))


def varying_config(manifests: list[dict], model_key: str = "auto") -> dict[str, list]:
    """Config keys whose values differ between runs of the same scenario but are no factor."""
    by_scenario: dict[str, list[dict]] = {}
    for m in manifests:
        cfg = m.get("config") or {}
        by_scenario.setdefault(cfg.get("scenario", "norms"), []).append(_flatten(cfg))
    ignored = _IGNORED_KEYS | _FACTOR_KEYS
    if model_key.startswith("config."):
        ignored = ignored | {model_key[len("config."):]}
    varying: dict[str, list] = {}
    for scenario, flats in by_scenario.items():
        # The other scenario's block is carried with defaults in every config: not informative.
        other = "norms." if scenario == "govsim" else "govsim."
        keys = set().union(*flats)
        for key in sorted(keys):
            if key in ignored or key.startswith(other):
                continue
            values = {repr(f.get(key)) for f in flats}
            if len(values) > 1:
                varying[key] = sorted({f.get(key) for f in flats}, key=_value_order)
    return varying
