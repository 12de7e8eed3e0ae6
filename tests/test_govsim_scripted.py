"""Two GovSim months driven by hand-written answers (strict replay of a call log, no server).

The run goes through the real runner, client, parsing, retries and fallbacks; every state
change the answers imply (requests, allocation, discussion, agreed limit, memories, counters,
metrics) is checked in the written tables.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from model.config import RunConfig
from model.govsim.allocation import allocate_stochastic
from model.runner import run

SEED = 3
MODELS = ("model-a", "model-b")  # a heterogeneous society: villagers alternate models
TOKENS_IN, TOKENS_OUT = 200, 20


def j(**kw) -> str:
    return json.dumps(kw, ensure_ascii=False)


NOTES = j(notes=["Catch ten tons at most."])
# (agent, month, phase) -> raw answers of attempts 0, 1, ...
ANSWERS = {
    (1, 1, "harvest"): [j(reasoning="a fair share", answer=10)],
    (2, 1, "harvest"): ["Half of a fair share is too little.\n回答：１２トン"],  # free text, full width
    (3, 1, "harvest"): [j(reasoning="", answer=150), j(reasoning="ok", answer=20)],  # range, retry
    (4, 1, "harvest"): ["lots", "as many as I can", "{}"],  # three failures -> fallback
    (5, 1, "harvest"): [j(reasoning="money", answer=30)],
    (1, 1, "utterance:1"): [j(response="We took too much.", ends_conversation=False,
                              next_speaker="Kate")],
    # Not a participant: rejected by the schema; the retry is prose naming nobody.
    (2, 1, "utterance:2"): [j(response="I needed it.", ends_conversation=False, next_speaker="Bob"),
                            "Response: Fine, ten each from now on.\n"
                            "Conversation conclusion by me: no\nNext speaker: nobody"],
    (3, 1, "utterance:3"): [j(response="Agreed, ten each.", ends_conversation=False,
                              next_speaker="Luke")],
    (-1, 1, "summary"): [j(summary="They agreed to catch ten tons each.")],
    (-1, 1, "limit"): ["Luke proposed ten and John agreed. Answer: 10"],
    **{(a, 1, "reflection"): [NOTES] for a in (1, 2, 4, 5)},
    (3, 1, "reflection"): ["", "", ""],  # no notes after three tries
    **{(a, 2, "harvest"): [j(reasoning="", answer=20)] for a in range(1, 6)},
    (1, 2, "utterance:1"): [j(response="The lake is empty.", ends_conversation=True,
                              next_speaker="")],
    (-1, 2, "summary"): [j(summary="The lake is empty.")],
    (-1, 2, "limit"): [j(reasoning="nothing was agreed", answer=None)],
    **{(a, 2, "reflection"): [NOTES] for a in range(1, 6)},
}


@pytest.fixture(scope="module")
def scripted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("govsim_scripted")
    log = folder / "answers.jsonl"
    with open(log, "w", encoding="utf-8") as f:
        for (agent, month, phase), answers in ANSWERS.items():
            for attempt, raw in enumerate(answers):
                f.write(json.dumps({"kind": "chat", "agent": agent, "round": month,
                                    "phase": phase, "attempt": attempt, "model": "smollm2:135m",
                                    "raw": raw, "done_reason": "stop",
                                    "prompt_tokens": TOKENS_IN, "answer_tokens": TOKENS_OUT}) + "\n")
    config = RunConfig(scenario="govsim", seed=SEED).replace(**{
        "govsim.months": 2, "govsim.max_utterances": 3, "govsim.memory_top_k": 0,
        "govsim.over_stock": "retry",  # the project's variant: 150 of 100 is retried
        "llm.backend": "replay", "llm.replay_log": str(log), "llm.max_retries": 2,
        "llm.models": list(MODELS),
        "output.format": "csv"})
    seen = {}
    summary = run(config, folder / "out", progress=False,
                  on_round=lambda m: seen.update({m.round: {v.unique_id: v.memory.dump()
                                                            for v in m.present}}))
    names = ("rounds", "agents", "events", "harvests", "utterances", "discussions", "memories")
    tables = {n: pd.read_csv(folder / "out" / f"{n}.csv") for n in names}
    calls = [json.loads(line) for line in open(folder / "out" / "calls.jsonl", encoding="utf-8")]
    return summary, tables, seen, calls, folder / "out"


def test_month_one_requests_retries_and_fallback(scripted):
    _, t, _, _, _ = scripted
    h = t["harvests"]
    m1 = h[h["round"] == 1].set_index("agent")
    assert m1["name"].tolist() == ["John", "Kate", "Jack", "Emma", "Luke"]
    # Full-width "回答：１２" parsed; 150 rejected then 20; three failures -> threshold 10.
    assert m1["wanted"].tolist() == [10, 12, 20, 10, 30]
    assert m1["collected"].tolist() == [10, 12, 20, 10, 30]  # 82 <= 100: all granted
    assert m1["fallback"].tolist() == [False, False, False, True, False]
    assert (m1["pool_before"] == 100).all() and (m1["pool_after"] == 18).all()
    assert (m1["threshold"] == 10).all()
    ev = t["events"]
    fb = ev[ev["kind"] == "fallback"]
    assert fb[["round", "agent"]].values.tolist() == [[1, 4], [1, 3]]  # Emma's harvest, Jack's notes
    assert fb["text"].iloc[0].startswith("harvest:")


def test_allocation_of_an_overdemanded_pool_is_the_seeded_draw(scripted):
    _, t, _, _, _ = scripted
    h = t["harvests"]
    m2 = h[h["round"] == 2]
    # 18 left after month 1 doubles to 36; five ask 20 each. Month 1 drew nothing from the RNG.
    assert (m2["pool_before"] == 36).all() and (m2["threshold"] == 3).all()
    assert m2["collected"].tolist() == allocate_stochastic([20] * 5, 36, np.random.default_rng(SEED))
    assert m2["collected"].sum() == 36 and (m2["pool_after"] == 0).all()


def test_discussion_default_speaker_and_limit(scripted):
    _, t, _, _, _ = scripted
    u = t["utterances"]
    m1 = u[u["round"] == 1].sort_values("turn")
    assert m1["name"].tolist() == ["Mayor", "John", "Kate", "Jack"]
    report = m1["text"].iloc[0]
    for name, caught in (("John", 10), ("Kate", 12), ("Jack", 20), ("Emma", 10), ("Luke", 30)):
        assert f"{name} caught {caught} tons of fish." in report
    assert m1["text"].iloc[2] == "Fine, ten each from now on."  # the retry's prose
    assert m1["next_default"].tolist() == [False, False, True, False]  # nobody named -> Jack
    assert m1["next_speaker"].iloc[2] == "Jack"
    d = t["discussions"].set_index("round")
    assert d.loc[1, "limit"] == 10 and d.loc[1, "utterances"] == 3
    assert d.loc[1, "summary"] == "They agreed to catch ten tons each."
    assert pd.isna(d.loc[2, "limit"]) and d.loc[2, "utterances"] == 1
    rounds = t["rounds"].set_index("Round")
    assert rounds.loc[1, "Defaults"] == 1 and rounds.loc[1, "AgreedLimit"] == 10
    assert rounds.loc[1, "Utterances"] == 3 and rounds.loc[2, "Utterances"] == 1


def test_memories_hold_results_summary_agreement_and_notes(scripted):
    _, _, seen, _, _ = scripted
    john = [m["text"] for m in seen[1][1]]
    assert "Before anyone fishes this month, the lake holds 100 tons of fish." in john
    assert "John asked for 10 tons of fish and landed 10 tons." in john
    assert "They agreed to catch ten tons each." in john
    assert "The group agreed that each fisherman catches at most 10 tons of fish per month." in john
    assert "Catch ten tons at most." in john
    assert not any(m["kind"] == "note" for m in seen[1][3])  # Jack's reflection fell back
    # Nobody sees another villager's own-result line.
    assert not any("Kate asked" in text for text in john)


def test_collapse_metrics_and_counters(scripted):
    summary, t, _, _, _ = scripted
    assert summary["survival_time"] == 2 and summary["collapse_reason"] == "stock"
    h = t["harvests"]
    assert summary["gain"] == pytest.approx((82 + 36) / 5)
    # T is the configured horizon (2 months here): 118 taken >= 2 * f(0) = 100 -> capped at 1.
    assert summary["efficiency"] == 1.0
    over = (h[h["round"] == 1]["collected"] > 10).sum() + (h[h["round"] == 2]["collected"] > 3).sum()
    assert summary["over_usage"] == pytest.approx(over / 10)
    assert summary["over_usage_published"] == pytest.approx(over / (10 + 4))
    rounds = t["rounds"].set_index("Round")
    # Month 1: 5 harvests (1 + 1 + 2 + 3 + 1 attempts), 3 utterances (1 + 2 + 1), summary, limit,
    # 5 reflections (4 + 3 attempts).
    assert rounds.loc[1, "LLM_calls"] == 8 + 4 + 2 + 7
    assert rounds.loc[1, "LLM_fallbacks"] == 2 and rounds.loc[1, "LLM_retries"] == 1 + 2 + 1 + 2
    assert rounds.loc[1, "LLM_prompt_tokens"] == 21 * TOKENS_IN
    assert rounds.loc[2, "LLM_calls"] == 5 + 1 + 2 + 5 and rounds.loc[2, "LLM_fallbacks"] == 0
    assert summary["llm_calls"] == 21 + 13
    assert summary["tokens_per_villager_month"]["prompt"] == pytest.approx(34 * TOKENS_IN / 10)
    assert summary["embedding_model"] == "all-minilm"


def test_each_villager_speaks_with_its_own_model(scripted):
    _, t, _, calls, _ = scripted
    chat = [c for c in calls if c["kind"] == "chat"]
    assert chat, "the replayed calls are recorded in the run's own call log"
    for c in chat:
        if c["agent"] == -1:
            assert c["model"] == "smollm2:135m"  # framework calls: llm.model
        else:
            assert c["model"] == MODELS[(c["agent"] - 1) % 2], c
    spoke = {c["agent"]: c["model"] for c in chat if c["phase"].startswith("utterance")}
    assert spoke == {1: "model-a", 2: "model-b", 3: "model-a"}
    u = t["utterances"]
    assert u[u["round"] == 1]["model"].tolist()[1:] == ["model-a", "model-b", "model-a"]


def test_export_in_govsims_log_format(scripted, tmp_path):
    import yaml

    from cli import main

    _, t, _, _, run_dir = scripted
    assert main(["export-govsim", str(run_dir), "--out", str(tmp_path)]) == 0
    (target,) = list(tmp_path.glob("fishing_commons-lab_final/*/*"))
    log = pd.read_json(target / "log_env.json", orient="records")  # as GovSim's app reads it
    harvest = log[log["action"] == "harvesting"]
    assert len(harvest) == 10 and harvest["round"].tolist() == [0] * 5 + [1] * 5
    assert harvest["agent_id"].tolist()[:5] == [f"persona_{i}" for i in range(5)]
    assert harvest["wanted_resource"].tolist()[:5] == [10, 12, 20, 10, 30]
    assert harvest["resource_collected"].sum() == 118
    assert harvest["resource_in_pool_before_harvesting"].tolist()[5] == 36
    assert (harvest["resource_in_pool_after_harvesting"].tolist()[:5] == [18] * 5)
    assert "How many tons of fish will you catch" in harvest["html_interactions"].iloc[0]
    talk = log[(log["action"] == "utterance") & (log["round"] == 0)]
    assert talk["agent_id"].tolist() == ["framework", "persona_0", "persona_1", "persona_2"]
    assert talk["agent_name"].tolist() == ["Mayor", "John", "Kate", "Jack"]
    assert (talk["resource_limit"] == 10).all()
    kinds = log.groupby("round")["action"].apply(list)
    assert kinds[0][-2:] == ["conversation_summary", "conversation_resource_limit"]
    cfg = yaml.safe_load((target / ".hydra" / "config.yaml").read_text())
    assert cfg["experiment"]["env"]["name"] == "fish_baseline_concurrent"
    assert cfg["llm"]["path"] == "smollm2:135m" and cfg["seed"] == SEED
    assert cfg["experiment"]["personas"]["persona_4"]["name"] == "Luke"
    nodes = json.loads((target / "persona_0" / "nodes.json").read_text())
    assert {n["type"] for n in nodes} == {"event", "chat", "thought"}
    assert nodes[0]["created"] == "2024-01-01"
    # A second export into the same place is refused without --overwrite.
    assert main(["export-govsim", str(run_dir), "--out", str(tmp_path)]) == 2
    assert main(["export-govsim", str(tmp_path), "--out", str(tmp_path)]) == 2  # not a run
