"""runs/demo-llm.toml end to end with real calls on the embedded server, then a strict replay of
its call log that must reproduce every table.

LLM budget: the session's shared demo run (conftest.llm_demo_run, shortened to 2 villagers x
2 rounds: at most 16 chat decisions plus retries, and 3 embedding calls). The replay makes none.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from agents.llm.call_log import read_calls
from cli import main as cli_main

pytestmark = pytest.mark.llm

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "runs" / "demo-llm.toml"
TABLES = ("rounds", "agents", "events")


def _tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {n: pd.read_parquet(folder / f"{n}.parquet") for n in TABLES}


@pytest.fixture(scope="module")
def demo(llm_demo_run, tmp_path_factory):
    # The CLI, as a user runs it; the session's embedded server stood in for backend "auto".
    live, shortened = llm_demo_run
    replay = tmp_path_factory.mktemp("demo_llm") / "replay"
    assert cli_main(["run", str(DEMO), "--out", str(replay), "--quiet", *shortened,
                     "--set", 'llm.backend="replay"',
                     "--set", f'llm.replay_log="{live / "calls.jsonl"}"']) == 0
    return live, replay


def test_demo_runs_with_real_answers(demo):
    live, _ = demo
    summary = json.loads((live / "summary.json").read_text())
    rounds_run = summary["rounds_run"]
    assert 1 <= rounds_run <= 2 and summary["survival_time"] == rounds_run
    t = _tables(live)
    rounds = t["rounds"].set_index("Round")
    calls = [r for r in read_calls(live / "calls.jsonl") if r["kind"] == "chat"]
    decisions = {(r["agent"], r["round"], r["phase"]) for r in calls}
    # At most four decisions per villager and round, each from the model or a counted fallback.
    alive_before = rounds["Alive"].shift(1).iloc[1:]
    assert len(decisions) <= 4 * alive_before.sum()
    assert max(Counter((a, r) for a, r, _ in decisions).values()) <= 4
    assert rounds["LLM_calls"].sum() == len(calls)
    assert rounds["LLM_fallbacks"].sum() == sum(1 for r in calls if r["fallback"])
    assert rounds["LLM_prompt_tokens"].sum() == sum(r["prompt_tokens"] for r in calls)
    assert (rounds["LLM_prompt_tokens"].iloc[1:] > 0).all()
    # Round 1 effort calls: one per villager, with the static preamble first.
    first = [r for r in calls if r["round"] == 1 and r["phase"] == "effort" and r["attempt"] == 0]
    assert len(first) == 2 and len({r["messages"][0]["content"] for r in first}) == 1
    agents = t["agents"]
    played = agents[agents["Round"] >= 1]
    assert played["Effort"].between(0, 1).all()
    # Every round that reached the group decision adopted one of its proposals, verbatim.
    ev = t["events"]
    for rnd, rows in ev.groupby("round"):
        props = set(rows[rows["kind"] == "proposal"]["text"])
        norms = rows[rows["kind"] == "norm"]["text"].tolist()
        if props:
            assert len(norms) == 1 and norms[0] in props
            assert rounds.loc[rnd, "Norm"] == norms[0]
    # Norm similarity: the initial beliefs at round 0, then every played round.
    assert rounds["SInd"].between(-1, 1).all() and rounds["SAlign"].between(-1, 1).all()
    embeds = [r for r in read_calls(live / "calls.jsonl") if r["kind"] == "embed"]
    assert embeds and {r["model"] for r in embeds} == {"all-minilm"}


def test_replay_reproduces_every_table(demo):
    live, replay = demo
    a, b = _tables(live), _tables(replay)
    for name in TABLES:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)
    assert json.loads((live / "summary.json").read_text()) == json.loads(
        (replay / "summary.json").read_text())
