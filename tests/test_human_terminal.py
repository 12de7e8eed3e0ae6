"""``commons-lab run --human 1`` in a terminal: one GovSim month with a human fisherman.

The other fishermen's answers are scripted in a call log (strict replay, no server); the human's
come through a pipe into the real command, which shows the pool, the rules, the memories and the
discussion, refuses what is out of bounds and asks again. A strict replay of the run's own log
then reproduces its tables with nobody asked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
from reliability_support import assert_same_tables

from agents.llm.call_log import read_calls

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ("govsim.n_agents=3", "govsim.months=1", "govsim.max_utterances=2",
            "govsim.memory_top_k=0", 'llm.backend="replay"')


def j(**kw) -> str:
    return json.dumps(kw)


SCRIPT = [(2, "harvest", j(reasoning="fair", answer=12)), (3, "harvest", j(reasoning="", answer=15)),
          (2, "utterance:2", j(response="Ten each is fine by me.", ends_conversation=True,
                               next_speaker="")),
          (-1, "summary", j(summary="They agreed on ten tons each.")),
          (-1, "limit", j(reasoning="ten", answer=10)),
          (2, "reflection", j(notes=["Ten each."])), (3, "reflection", j(notes=["Ten."]))]
# The human's lines: an empty reasoning, two refused requests, a request, an utterance, a
# refused yes/no, and the next speaker.
TYPED = ["", "plenty", "-3", "10", "Let us take ten tons each.", "maybe", "no", "Kate"]


def command(config_args: list[str], out: Path, *extra: str) -> list[str]:
    args = [sys.executable, "-m", "cli", "run", str(ROOT / "runs" / "govsim-fishery-demo.toml"),
            "--out", str(out), *extra]
    for item in (*SETTINGS, *config_args):
        args += ["--set", item]
    return args


def test_one_govsim_month_with_a_human_fisherman(tmp_path):
    script = tmp_path / "script.jsonl"
    script.write_text("".join(json.dumps({"kind": "chat", "agent": a, "round": 1, "phase": p,
                                          "attempt": 0, "model": "m", "raw": raw,
                                          "done_reason": "stop"}) + "\n"
                              for a, p, raw in SCRIPT))
    live = tmp_path / "live"
    done = subprocess.run(command([f'llm.replay_log="{script}"'], live, "--human", "1"),
                          input="\n".join(TYPED) + "\n", capture_output=True, text=True,
                          timeout=120, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for seen in ("### 2024-01-01, John: How many tons of fish will you catch this month?",
                 "It holds 100 tons now.", "2 other fishermen: Kate and Jack",
                 ("refused: How much do you take: 'plenty' is not a number; enter a whole "
                  "number of at least 0"),
                 "refused: How much do you take: -3 is out of range",
                 "Mayor: Good evening, everyone.", "John caught 10 tons of fish.",
                 "refused: End the discussion? (yes/no): answer yes or no",
                 "Who speaks next [Kate, Jack, (empty) = nobody (you end it)]:",
                 "human turns:     2 (0 timed out)"):
        assert seen in out, seen
    harvests = pd.read_parquet(live / "harvests.parquet")
    assert harvests.set_index("agent").wanted.to_dict() == {1: 10, 2: 12, 3: 15}
    talk = pd.read_parquet(live / "utterances.parquet")
    assert talk.text.tolist()[1:] == ["Let us take ten tons each.", "Ten each is fine by me."]
    assert talk.next_speaker.tolist()[1] == "Kate"
    humans = [r for r in read_calls(live / "calls.jsonl") if r["kind"] == "human"]
    assert [(r["phase"], r["answer"]) for r in humans] == [
        ("harvest", {"reasoning": "", "answer": 10}),
        ("utterance:1", {"response": "Let us take ten tons each.", "ends_conversation": False,
                         "next_speaker": "Kate"})]
    assert humans[0]["refusals"] == 0 and humans[1]["shown"]["conversation"][0][0] == "Mayor"

    # Strict replay of the run's own log: nobody is asked, nothing is read from stdin.
    replay = tmp_path / "replay"
    done = subprocess.run(command([f'llm.replay_log="{live / "calls.jsonl"}"',
                                   "villagers.human=[1]"], replay, "--quiet"),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
                          cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert "###" not in done.stdout and "WARNING" not in done.stderr
    assert_same_tables(live, replay)


def test_a_silent_human_fisherman_gets_the_documented_fallbacks(tmp_path):
    """Nobody answers at the desk: the harvest fallback (the sustainable threshold, capped at
    the stock) and silence, which ends the discussion; both are fallback events and time-outs."""
    from agents.human.desk import HumanDesk
    from model.config import RunConfig
    from model.runner import run

    script = tmp_path / "script.jsonl"
    script.write_text("".join(json.dumps({"kind": "chat", "agent": a, "round": 1, "phase": p,
                                          "attempt": 0, "model": "m", "raw": raw,
                                          "done_reason": "stop"}) + "\n"
                              for a, p, raw in SCRIPT if p != "utterance:2"))
    config = RunConfig(scenario="govsim", seed=1).replace(**{
        "govsim.n_agents": 3, "govsim.months": 1, "govsim.max_utterances": 2,
        "govsim.memory_top_k": 0, "llm.backend": "replay", "llm.replay_log": str(script),
        "villagers.human": [1], "villagers.human_timeout_s": 0.2})
    desk = HumanDesk()
    run(config, tmp_path / "out", progress=False, desk=desk)
    desk.close()
    harvests = pd.read_parquet(tmp_path / "out" / "harvests.parquet").set_index("agent")
    threshold = harvests.loc[1, "threshold"]
    assert harvests.loc[1, "wanted"] == threshold and harvests.loc[1, "fallback"]
    talk = pd.read_parquet(tmp_path / "out" / "utterances.parquet")
    assert talk.fallback.tolist() == [False, True] and talk.text.isna().tolist() == [False, True]
    events = pd.read_parquet(tmp_path / "out" / "events.parquet")
    fallbacks = events[events.kind == "fallback"]
    assert fallbacks.agent.tolist() == [1, 1]
    assert fallbacks.text.str.contains("time ran out").all()
    rounds = pd.read_parquet(tmp_path / "out" / "rounds.parquet")
    assert rounds.Human_timeouts.tolist() == [0, 2] and rounds.Human_turns.tolist() == [0, 2]
    assert rounds.Utterances.tolist()[1] == 0
