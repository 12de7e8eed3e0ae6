"""runs/govsim-fishery-demo.toml end to end with real calls on the embedded server, then a
strict replay of its call log that must reproduce every table.

LLM budget: the demo, shortened to three fishermen, makes 2 months x (3 harvests + at most 2
utterances + summary + limit + 3 reflections) = at most 20 decisions (plus retries, usually
none) and a few embedding calls; SmolLM2-135M usually collapses the lake in month 1 (10 calls).
The replay makes none.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cli import main as cli_main

pytestmark = pytest.mark.llm

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "runs" / "govsim-fishery-demo.toml"
FISHERS = 3
SHORTENED = ["--set", f"govsim.n_agents={FISHERS}"]
TABLES = ("rounds", "agents", "events", "harvests", "utterances", "discussions", "memories")


def _tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {n: pd.read_parquet(folder / f"{n}.parquet") for n in TABLES}


@pytest.fixture(scope="module")
def demo(ollama_host, tmp_path_factory):
    root = tmp_path_factory.mktemp("govsim_demo")
    live, replay = root / "live", root / "replay"
    # The CLI, as a user runs it; the session's embedded server stands in for backend "embedded".
    code = cli_main(["run", str(DEMO), "--out", str(live), "--quiet", *SHORTENED,
                     "--set", 'llm.backend="ollama"', "--set", f'llm.host="{ollama_host}"'])
    assert code == 0
    code = cli_main(["run", str(DEMO), "--out", str(replay), "--quiet", *SHORTENED,
                     "--set", 'llm.backend="replay"',
                     "--set", f'llm.replay_log="{live / "calls.jsonl"}"'])
    assert code == 0
    return live, replay


def test_demo_runs_two_months_with_real_answers(demo):
    live, _ = demo
    summary = json.loads((live / "summary.json").read_text())
    assert summary["scenario"] == "govsim" and summary["variant"] == "fishery"
    assert summary["rounds_run"] in (1, 2)  # a month-1 collapse ends the run early
    assert summary["survival_time"] == summary["rounds_run"]
    t = _tables(live)
    h = t["harvests"]
    assert len(h) == FISHERS * summary["rounds_run"]
    assert h["wanted"].between(0, 100).all() and (h["collected"] <= h["wanted"]).all()
    for month, rows in h.groupby("round"):
        assert rows["collected"].sum() <= rows["pool_before"].iloc[0]
        assert (rows["pool_after"] == rows["pool_before"] - rows["collected"].sum()).all()
    # Every decision came from the model or from a counted, logged fallback: never silent.
    rounds = t["rounds"].set_index("Round")
    fallbacks = t["events"][t["events"]["kind"] == "fallback"]
    assert len(fallbacks) == summary["llm_fallbacks"] == rounds["LLM_fallbacks"].sum()
    assert h["fallback"].sum() == len(fallbacks[fallbacks["text"].str.startswith("harvest")])
    # The discussion: the Mayor's report, then at most two utterances, then summary and limit.
    u = t["utterances"]
    for month, rows in u.groupby("round"):
        assert rows["name"].iloc[0] == "Mayor" and rows["turn"].max() <= 2
    assert summary["llm_decisions"] <= 2 * (2 * FISHERS + 4) and summary["llm_embed_calls"] >= 2
    assert summary["embedding_model"] == "all-minilm"
    # Memories were embedded: the prompts list retrieved reflections in month 2.
    if summary["rounds_run"] == 2:
        month2 = h[h["round"] == 2]["prompt"].iloc[0]
        assert "2024-02-01: Before anyone fishes this month" in month2
    assert summary["tokens_per_villager_month"]["prompt"] > 300


def test_replay_reproduces_every_table(demo):
    live, replay = demo
    a, b = _tables(live), _tables(replay)
    for name in TABLES:
        pd.testing.assert_frame_equal(a[name], b[name], check_dtype=True, obj=name)
    sa = json.loads((live / "summary.json").read_text())
    sb = json.loads((replay / "summary.json").read_text())
    sa.pop("llm_latency_s", None), sb.pop("llm_latency_s", None)
    for phases in (sa.get("llm_per_phase", {}), sb.get("llm_per_phase", {})):
        for stats in phases.values():
            stats.pop("latency_s", None)
    assert sa == sb
