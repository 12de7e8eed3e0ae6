"""Export a commons-lab GovSim run in the layout GovSim's analysis app reads.

GovSim's Dash app (``python -m simulation.analysis.app``) looks for
``results/<subset>/<group>/<run>/log_env.json`` next to ``.hydra/config.yaml``; subsets whose
name contains "final" are read from disk without Weights & Biases. ``log_env.json`` holds pandas
records of four kinds (reference section 4.3): ``harvesting`` rows (0-based round, pool before
and after the month's harvest, wanted and collected amounts, the rendered prompt and answer),
``utterance`` rows (the reporter as agent "framework"), ``conversation_summary`` and
``conversation_resource_limit``. Memories go to ``persona_<i>/nodes.json``.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd

from agents.govsim.prompts import PromptBook, month_date
from model.config import ConfigError, RunConfig, build
from model.run_folder import MANIFEST, OutputExistsError, atomic_write_bytes, atomic_write_json

# Our variant -> GovSim's scenario name and experiment ids.
SCENARIO = {"fishery": "fishing", "pasture": "sheep", "pollution": "pollution", "trash": "trash"}
ENV_PREFIX = {"fishery": "fish", "pasture": "sheep", "pollution": "pollution", "trash": "trash"}
LOG_COLUMNS = ["agent_id", "round", "action", "resource_in_pool_before_harvesting",
               "resource_in_pool_after_harvesting", "concurrent_harvesting", "resource_collected",
               "wanted_resource", "html_interactions", "agent_name", "resource_limit", "utterance"]
NODE_TYPE = {"observation": "event", "summary": "chat", "agreement": "thought", "note": "thought"}
WHEN = {"observation": "start", "summary": "discussion", "agreement": "discussion", "note": "end"}


def read_table(run_dir: Path, name: str) -> pd.DataFrame:
    for suffix, reader in ((".parquet", pd.read_parquet), (".csv", pd.read_csv)):
        path = run_dir / f"{name}{suffix}"
        if path.exists():
            return reader(path)
    raise ConfigError(f"{run_dir} has no {name} table: is it a GovSim run folder?")


def read_run(run_dir: str | Path) -> tuple[RunConfig, dict[str, pd.DataFrame]]:
    run_dir = Path(run_dir)
    try:
        manifest = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ConfigError(f"{run_dir} is not a run folder (no readable {MANIFEST})") from None
    config = build(RunConfig, manifest["config"])
    if config.scenario != "govsim":
        raise ConfigError(f"{run_dir} holds a {config.scenario} run, not a GovSim run")
    tables = {n: read_table(run_dir, n) for n in ("harvests", "utterances", "discussions",
                                                   "memories")}
    return config, tables


def _html(prompt, completion) -> str:
    def block(cls: str, text) -> str:
        text = "" if text is None or (isinstance(text, float) and pd.isna(text)) else str(text)
        return f'<div class="{cls}"><pre>{html.escape(text)}</pre></div>'

    return block("prompt", prompt) + block("completion", completion)


def _value(x):
    if x is None or (not isinstance(x, str) and pd.isna(x)):
        return None
    return x.item() if hasattr(x, "item") else x


def persona_id(agent) -> str:
    return f"persona_{int(agent) - 1}"  # villagers are numbered 1.. in seating order


def log_env_records(config: RunConfig, tables: dict[str, pd.DataFrame]) -> list[dict]:
    harvests, talk, discussions = tables["harvests"], tables["utterances"], tables["discussions"]
    limits = {int(r["round"]): _value(r["limit"]) for _, r in discussions.iterrows()}
    rows: list[dict] = []
    for month in sorted(harvests["round"].unique()):
        limit = limits.get(int(month))
        for _, h in harvests[harvests["round"] == month].sort_values("agent").iterrows():
            rows.append({"agent_id": persona_id(h["agent"]), "round": int(month) - 1,
                         "action": "harvesting",
                         "resource_in_pool_before_harvesting": int(h["pool_before"]),
                         "resource_in_pool_after_harvesting": int(h["pool_after"]),
                         "concurrent_harvesting": True, "resource_collected": int(h["collected"]),
                         "wanted_resource": int(h["wanted"]),
                         "html_interactions": _html(h["prompt"], h["completion"])})
        said = talk[(talk["round"] == month) & ~talk["fallback"].astype(bool)].sort_values("turn")
        for _, u in said.iterrows():
            reporter = pd.isna(u["agent"])
            rows.append({"agent_id": "framework" if reporter else persona_id(u["agent"]),
                         "agent_name": u["name"], "round": int(month) - 1, "action": "utterance",
                         "resource_limit": limit, "utterance": u["text"],
                         "html_interactions": "" if reporter else _html(u["prompt"], u["completion"])})
        d = discussions[discussions["round"] == month]
        if len(d):
            d = d.iloc[0]
            for action, key in (("conversation_summary", "summary"),
                                ("conversation_resource_limit", "limit")):
                rows.append({"agent_id": "framework", "agent_name": "framework",
                             "round": int(month) - 1, "action": action, "resource_limit": limit,
                             "html_interactions": _html(d[f"{key}_prompt"], d[f"{key}_completion"])})
    return rows


def env_name(config: RunConfig) -> str:
    """GovSim's experiment id for the run (e.g. fish_perturbation_outsider_universalization)."""
    g = config.govsim
    prefix = ENV_PREFIX[g.variant]
    if not g.communication:
        return f"{prefix}_perturbation_no_language"
    base = f"{prefix}_perturbation_outsider" if g.newcomer_month else f"{prefix}_baseline_concurrent"
    return base + ("_universalization" if g.universalization else "")


def hydra_config(config: RunConfig, group: str, subset: str,
                 people: list[tuple[str, str]]) -> dict:
    """``people``: (name, persona) per villager in seating order. Each persona's ``goals`` is the
    goal text its prompts carried (GovSim's key and meaning; "" for none)."""
    g = config.govsim
    book = PromptBook.load(g.language, g.variant)
    personas = {f"persona_{i}": {"name": n, "goals": book.persona(kind, n).strip()}
                for i, (n, kind) in enumerate(people)}
    names = [n for n, _ in people]
    return {
        "code_version": "commons-lab",
        "group_name": group,
        "seed": config.seed,
        "llm": {"path": config.llm.model, "is_api": False, "backend": config.llm.backend,
                "temperature": config.llm.temperature, "top_p": config.llm.top_p,
                "models": list(config.llm.models), "embedding_model": config.llm.embedding_model},
        "experiment": {
            "name": f"{subset}/{group}",
            "scenario": SCENARIO[g.variant],
            "language": g.language,
            "env": {"name": env_name(config), "class_name": f"{SCENARIO[g.variant]}_concurrent_env",
                    "max_num_rounds": g.months, "initial_resource_in_pool": g.initial_stock,
                    "num_agents": g.n_agents, "harvesting_order": "concurrent",
                    "assign_resource_strategy": g.allocation,
                    "inject_universalization": g.universalization,
                    "language_nature": "unconstrained" if g.communication else "none_and_no_obs",
                    "newcomer_month": g.newcomer_month},
            "personas": {"num": len(names), **personas},
            "agent": {"name": f"LLM={config.llm.model}-T={config.llm.temperature}-{config.llm.top_p}",
                      "act": {"universalization_prompt": False, "harvest_strategy": "one_step",
                              "consider_identity_persona": True},
                      "converse": {"inject_resource_observation_strategy": "manager",
                                   "max_conversation_steps": g.max_utterances + 1}},
        },
    }


def nodes(memories: pd.DataFrame, agent) -> list[dict]:
    out = []
    for i, (_, m) in enumerate(memories[memories["agent"] == agent].iterrows()):
        kind = str(m["kind"])
        out.append({"id": i, "type": NODE_TYPE.get(kind, "thought"), "description": m["text"],
                    "importance": int(m["importance"]), "always_include": bool(m["always"]),
                    "created": month_date(int(m["month"]), WHEN.get(kind, "end")).isoformat(),
                    "expiration": month_date(int(m["expires"]), "end").isoformat()})
    return out


def export_run(run_dir: str | Path, out_root: str | Path, *, subset: str | None = None,
               group: str | None = None, overwrite: bool = False) -> Path:
    """Write ``out_root/<subset>/<group>/<run>/`` for GovSim's app; return that folder."""
    import yaml

    run_dir = Path(run_dir)
    config, tables = read_run(run_dir)
    subset = subset or f"{SCENARIO[config.govsim.variant]}_commons-lab_final"
    group = group or config.name
    target = Path(out_root) / subset / group / f"seed{config.seed}-{run_dir.name}"
    if (target / "log_env.json").exists() and not overwrite:
        raise OutputExistsError(f"{target} already holds an export; pass --overwrite to replace it")
    records = log_env_records(config, tables)
    frame = pd.DataFrame(records, columns=LOG_COLUMNS)
    atomic_write_bytes(target / "log_env.json", frame.to_json(orient="records").encode("utf-8"))
    harvests = tables["harvests"]
    people = harvests.drop_duplicates("agent").sort_values("agent")
    cfg = hydra_config(config, group, subset,
                       list(zip(people["name"].tolist(), people["persona"].tolist())))
    atomic_write_bytes(target / ".hydra" / "config.yaml",
                       yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False).encode("utf-8"))
    for agent in people["agent"]:
        atomic_write_json(target / persona_id(agent) / "nodes.json", nodes(tables["memories"], agent))
    return target
