"""runs/govsim-fishery-demo.toml end to end with real calls on the embedded server, in GovSim
parity mode (greedy decoding, GovSim's answer budget, over-stock requests allocated as asked),
then a strict replay of its call log that must reproduce every table, and an export whose
``log_env.json`` gives back every metric of the run's summary when recomputed from it alone.

LLM budget: the demo, shortened to three fishermen, makes 2 months x (3 harvests + at most 2
utterances + summary + limit + 3 reflections) = at most 20 decisions (plus retries, usually
none) and a few embedding calls; SmolLM2-135M, decoding greedily, asks for far more than the
lake holds and collapses it in month 1 (9 calls, about 1.5 minutes). The replay makes none.
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
    # Parity: requests are kept as asked, even above the stock, and allocated.
    assert (h["wanted"] >= 0).all() and (h["collected"] <= h["wanted"]).all()
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


def test_the_run_decoded_greedily_with_govsims_budget(demo):
    live, _ = demo
    calls = [json.loads(line) for line in open(live / "calls.jsonl", encoding="utf-8")]
    chat = [c for c in calls if c["kind"] == "chat"]
    assert chat and all(c["options"]["temperature"] == 0.0 and c["options"]["top_p"] == 1.0
                        for c in chat)
    assert {c["options"]["num_ctx"] for c in chat} == {8192}
    assert {c["options"]["num_predict"] for c in chat} == {8000}
    # The server's own count: every prompt fitted the context.
    assert all(c["prompt_tokens"] + c["answer_tokens"] <= 8192 for c in chat)


def recompute(log: pd.DataFrame, months: int) -> dict:
    """GovSim's metrics from ``log_env.json`` alone (0-based rounds, persona ids)."""
    h = log[log["action"] == "harvesting"]
    after = h.groupby("round")["resource_in_pool_after_harvesting"].first()
    collapsed = [r for r, stock in after.items() if stock < 5]
    m = (min(collapsed) if collapsed else int(after.index.max())) + 1
    totals = h.groupby("agent_id")["resource_collected"].sum().to_numpy(float)
    n = len(totals)
    pairs = sum(abs(a - b) for a in totals for b in totals)
    present = h.groupby("round")["agent_id"].transform("count")
    limit = (h["resource_in_pool_before_harvesting"] // 2) // present
    lived = h["round"] < m
    over = int(((h["resource_collected"] > limit) & lived).sum())
    talk = log[(log["action"] == "utterance") & (log["agent_id"] != "framework")
               & (log["round"] < m)]
    return {
        "survival_time": m,
        "survived": not collapsed and m >= months,
        "gain": totals.mean(),
        "efficiency": min(1.0, totals.sum() / (months * 50)),
        "equality": 1 - pairs / (2 * n * totals.sum()),
        "over_usage": over / int(lived.sum()),
        "over_usage_published": over / (int(lived.sum()) + len(talk)),
    }


def test_metrics_equal_an_independent_recomputation_from_the_export(demo, tmp_path):
    import yaml

    live, _ = demo
    assert cli_main(["export-govsim", str(live), "--out", str(tmp_path)]) == 0
    (target,) = list(tmp_path.glob("fishing_commons-lab_final/*/*"))
    log = pd.read_json(target / "log_env.json", orient="records")
    cfg = yaml.safe_load((target / ".hydra" / "config.yaml").read_text())
    assert cfg["llm"]["temperature"] == 0.0 and cfg["llm"]["top_p"] == 1.0
    months = cfg["experiment"]["env"]["max_num_rounds"]
    summary = json.loads((live / "summary.json").read_text())
    expected = recompute(log, months)
    for key, value in expected.items():
        assert summary[key] == pytest.approx(value), key
