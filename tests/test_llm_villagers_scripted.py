"""Two rounds of LLM villagers driven by hand-written answers (strict replay, no server).

The call log below is what a model could have answered; the run goes through the real runner,
client, parsing, retries, fallbacks and group decision, and every state change those answers
imply is checked in the written tables.
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pandas as pd
import pytest

from agents.norms.beliefs import belief_bank
from agents.llm.call_log import read_calls
from agents.norms.llm_policy import EMBED_PHASE
from agents.norms.voting import plurality
from model.config import RunConfig
from model.runner import run

TOKENS_IN, TOKENS_OUT = 100, 10

POLICY_LOW = "Keep effort at 0.3 or lower."
POLICY_FULL = "Everyone may fish at full effort."
ROUND2 = ["Fish at most 0.2 each.", "Fish at most 0.3 each.", "Fish at most 0.5 each."]

# (agent, round, phase) -> the answers of attempts 0, 1, ...
ANSWERS = {
    (1, 1, "effort"): ['{"effort": 0.2}'],
    (2, 1, "effort"): ["I will fish with effort 0.4 today."],  # free text: parsed, not retried
    (3, 1, "effort"): ['{"effort": 1.0}'],
    (1, 1, "punish"): ['{"punish": "3"}'],
    (2, 1, "punish"): ['{"punish": "3"}'],
    (3, 1, "punish"): ['{"punish": "none"}'],
    (1, 1, "propose"): [json.dumps({"personal": "Fish gently.", "community": POLICY_LOW})],
    # The same proposal after normalising quotes and whitespace: one ballot entry, two authors.
    (2, 1, "propose"): [json.dumps({"personal": "Do as the others do.",
                                    "community": '"Keep  effort at 0.3 or lower."'})],
    (3, 1, "propose"): [json.dumps({"personal": "Take what I can.", "community": POLICY_FULL})],
    (1, 1, "vote"): [json.dumps({"policy": POLICY_LOW})],
    (2, 1, "vote"): [json.dumps({"policy": "keep effort at 0.3 or lower"})],  # closest match
    (3, 1, "vote"): [json.dumps({"policy": POLICY_FULL})],
    # Round 2: three unusable answers -> fallback to the previous effort (0.2).
    (1, 2, "effort"): ["lots", "as much as possible", "{}"],
    (2, 2, "effort"): ['{"effort": 1.5}', '{"effort": 0.3}'],  # out of range, then valid
    (3, 2, "effort"): ['{"effort": 0.5}'],
    (1, 2, "punish"): ['{"punish": "2"}'],
    (2, 2, "punish"): ["Nobody, I think."],  # free text
    (3, 2, "punish"): ['{"punish": "none"}'],
    **{(i + 1, 2, "propose"): [json.dumps({"personal": f"Belief {i + 1} of day 2.",
                                           "community": ROUND2[i]})] for i in range(3)},
    # Each votes for its own proposal: a three-way tie, broken by the model's RNG.
    **{(i + 1, 2, "vote"): [json.dumps({"policy": ROUND2[i]})] for i in range(3)},
}

# Embeddings of the living villagers' beliefs (+ the adopted norm from round 1 on).
EMBEDDINGS = {
    0: [[1, 0, 0], [0, 1, 0], [1, 1, 0]],
    1: [[1, 0, 0], [1, 0, 0], [0, 0, 1], [1, 0, 0]],
    2: [[1, 0, 0], [0, 2, 0], [0, 0, 3], [0, 1, 0]],
}


def _write_log(path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for (agent, rnd, phase), answers in ANSWERS.items():
            for attempt, raw in enumerate(answers):
                f.write(json.dumps({"kind": "chat", "agent": agent, "round": rnd, "phase": phase,
                                    "attempt": attempt, "model": "smollm2:135m", "raw": raw,
                                    "done_reason": "stop", "prompt_tokens": TOKENS_IN,
                                    "answer_tokens": TOKENS_OUT}) + "\n")
        for rnd, vectors in EMBEDDINGS.items():
            f.write(json.dumps({"kind": "embed", "agent": -1, "round": rnd, "phase": EMBED_PHASE,
                                "model": "all-minilm", "embeddings": vectors,
                                "prompt_tokens": 20}) + "\n")


def _similarity(vectors) -> tuple[float, float]:
    """S_ind and S_align written out from their definitions (reference, section 8)."""
    n = [np.asarray(v, float) / np.linalg.norm(v) for v in vectors]
    k = len(n)
    s_ind = sum(n[i] @ n[j] for i in range(k) for j in range(i + 1, k)) * 2 / (k * (k - 1))
    mean = sum(n)
    mean = mean / np.linalg.norm(mean)
    return s_ind, sum(v @ mean for v in n) / k


@pytest.fixture(scope="module")
def scripted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scripted")
    log = folder / "answers.jsonl"
    _write_log(log)
    config = RunConfig(policy="llm", seed=11, rounds=2).replace(**{
        "norms.n_agents": 3, "norms.population": "mixed", "llm.backend": "replay",
        "llm.replay_log": str(log), "llm.max_retries": 2, "output.format": "csv",
        # The hand computations below use these values, whatever the calibrated defaults are.
        "norms.catchability": 0.05, "norms.consumption": 3.0, "norms.initial_wealth": 10.0,
        "norms.collapse_threshold": 3.0, "norms.penalty": 10.0, "norms.punish_cost": 1.0,
        "llm.models": ["smollm2:135m", "qwen3:8b"]})  # a heterogeneous society
    seen = {}

    def after_round(model):
        # The only draw from model.rng in round 2 is the tie-break: keep its state to predict it.
        seen[model.round] = {"rng": copy.deepcopy(model.rng),
                             "exchange": {a.unique_id: a.last_exchange for a in model.agents},
                             "beliefs": {a.unique_id: a.belief_text for a in model.agents}}

    summary = run(config, folder / "out", progress=False, on_round=after_round)
    tables = {name: pd.read_csv(folder / "out" / f"{name}.csv") for name in ("rounds", "agents", "events")}
    return summary, tables, seen, folder / "out"


def test_initial_beliefs_come_from_each_kind_bank(scripted):
    _, tables, _, _ = scripted
    start = tables["agents"][tables["agents"]["Round"] == 0].sort_values("AgentID")
    assert list(start["Kind"]) == ["altruistic", "altruistic", "selfish"]
    for kind, text in zip(start["Kind"], start["BeliefText"]):
        assert text in belief_bank(kind)
    assert start["BeliefText"].iloc[0] != start["BeliefText"].iloc[1]  # dealt without replacement
    # Their strategy is in words: no numeric traits before their first answer...
    for column in ("Effort", "Belief", "Monitoring", "PunishProb"):
        assert start[column].isna().all(), column
    rounds = tables["rounds"].set_index("Round")
    assert np.isnan(rounds.loc[0, "MeanEffort"])
    # ...and a norm in words has no numeric cap to count compliance against.
    assert rounds["Compliance"].isna().all()
    assert rounds.loc[1, "MeanEffort"] == pytest.approx((0.2 + 0.4 + 1.0) / 3)


def test_harvest_punishment_and_wealth(scripted):
    summary, tables, _, _ = scripted
    agents = tables["agents"].set_index(["Round", "AgentID"])
    # Round 1: efforts 0.2, 0.4 (free text) and 1.0 on a full lake of 300 fish (catch 0.05 e R).
    assert [agents.loc[(1, i), "Effort"] for i in (1, 2, 3)] == pytest.approx([0.2, 0.4, 1.0])
    assert [agents.loc[(1, i), "Harvest"] for i in (1, 2, 3)] == pytest.approx([3.0, 6.0, 15.0])
    # Wealth 10 + catch - 3; villagers 1 and 2 each pay 1 to punish 3, who loses 10 once.
    assert [agents.loc[(1, i), "Wealth"] for i in (1, 2, 3)] == pytest.approx([9.0, 12.0, 12.0])
    assert [agents.loc[(1, i), "Received"] for i in (1, 2, 3)] == [0, 0, 2]
    assert [agents.loc[(1, i), "Given"] for i in (1, 2, 3)] == [1, 1, 0]
    rounds = tables["rounds"].set_index("Round")
    stock1 = 276 + 0.6 * 276 * (1 - 276 / 300)
    assert rounds.loc[1, "Stock"] == pytest.approx(stock1)
    assert rounds.loc[1, "Punishments"] == 2
    # Round 2: villager 1 falls back to its previous effort 0.2; villager 2 answers 0.3 on retry.
    catches = [0.05 * e * stock1 for e in (0.2, 0.3, 0.5)]
    assert [agents.loc[(2, i), "Effort"] for i in (1, 2, 3)] == pytest.approx([0.2, 0.3, 0.5])
    assert [agents.loc[(2, i), "Harvest"] for i in (1, 2, 3)] == pytest.approx(catches)
    wealth2 = [9 + catches[0] - 3 - 1, 12 + catches[1] - 3 - 10, 12 + catches[2] - 3]
    assert [agents.loc[(2, i), "Wealth"] for i in (1, 2, 3)] == pytest.approx(wealth2)
    after = stock1 - sum(catches)
    assert rounds.loc[2, "Stock"] == pytest.approx(after + 0.6 * after * (1 - after / 300))
    assert summary["survival_time"] == 2 and summary["collapse_reason"] is None
    events = tables["events"]
    punish = events[events["kind"] == "punish"][["round", "agent", "target"]].values.tolist()
    assert punish == [[1, 1, 3], [1, 2, 3], [2, 1, 2]]


def test_proposals_votes_and_norms(scripted):
    _, tables, seen, _ = scripted
    events = tables["events"]
    props = events[events["kind"] == "proposal"]
    assert props[props["round"] == 1]["text"].tolist() == [POLICY_LOW, '"Keep effort at 0.3 or lower."',
                                                           POLICY_FULL]
    votes = events[(events["kind"] == "vote") & (events["round"] == 1)]
    # Two distinct proposals; villager 2's vote is not an exact copy and goes to the closest.
    assert votes["agent"].tolist() == [1, 2, 3]
    assert votes["text"].tolist() == [POLICY_LOW, POLICY_LOW, POLICY_FULL]
    assert votes["target"].tolist() == [1, 1, 3]  # first author of the chosen proposal
    assert votes["value"].tolist()[0] == 1.0 and votes["value"].tolist()[1] < 1.0
    norms = events[events["kind"] == "norm"]
    assert norms[norms["round"] == 1]["text"].tolist() == [POLICY_LOW]
    # Round 2: a three-way tie, broken by the seeded RNG exactly as plurality() does.
    expected, counts = plurality([0, 1, 2], 3, copy.deepcopy(seen[1]["rng"]))
    assert counts == [1, 1, 1]
    after_tie = copy.deepcopy(seen[1]["rng"])
    after_tie.integers(3)  # exactly one draw in round 2, and it was the tie-break
    assert after_tie.bit_generator.state == seen[2]["rng"].bit_generator.state
    assert norms[norms["round"] == 2]["text"].tolist() == [ROUND2[expected]]
    rounds = tables["rounds"].set_index("Round")
    assert rounds.loc[1, "Norm"] == POLICY_LOW and rounds.loc[2, "Norm"] == ROUND2[expected]
    # Beliefs are rewritten by the proposals.
    agents = tables["agents"].set_index(["Round", "AgentID"])
    assert [agents.loc[(1, i), "BeliefText"] for i in (1, 2, 3)] == [
        "Fish gently.", "Do as the others do.", "Take what I can."]
    assert [agents.loc[(2, i), "BeliefText"] for i in (1, 2, 3)] == [
        f"Belief {i} of day 2." for i in (1, 2, 3)]


def test_later_prompts_show_the_norm_verbatim_and_the_peers(scripted):
    _, _, seen, _ = scripted
    # Round 2's last exchange of villager 1 is its vote.
    ex = seen[2]["exchange"][1]
    assert ex["phase"] == "vote" and ex["round"] == 2
    user = ex["messages"][1]["content"]
    assert f"adopted by vote: «{POLICY_LOW}»" in user
    for text in ROUND2:
        assert f"- «{text}»" in user
    assert "- 3: effort 0.50, payoff" in user
    # The record of round 1 as villager 1 saw it: it punished villager 3 and was not punished.
    assert "- day 1: effort 0.20, caught 3.0 fish, punished by 0 other villager(s), you punished villager 3." in user
    ex3 = seen[2]["exchange"][3]["messages"][1]["content"]
    assert "- day 1: effort 1.00, caught 15.0 fish, punished by 2 other villager(s), you punished nobody." in ex3


def test_each_villager_calls_its_own_model(scripted):
    _, tables, _, out = scripted
    calls = [r for r in read_calls(out / "calls.jsonl") if r["kind"] == "chat"]
    assert {(r["agent"], r["model"]) for r in calls} == {
        (1, "smollm2:135m"), (2, "qwen3:8b"), (3, "smollm2:135m")}
    start = tables["agents"][tables["agents"]["Round"] == 0].sort_values("AgentID")
    assert start["LLMModel"].tolist() == ["smollm2:135m", "qwen3:8b", "smollm2:135m"]
    embeds = [r for r in read_calls(out / "calls.jsonl") if r["kind"] == "embed"]
    assert [r["model"] for r in embeds] == ["all-minilm"] * 3  # config.llm.embedding_model


def test_llm_counters_per_round(scripted):
    _, tables, _, _ = scripted
    rounds = tables["rounds"].set_index("Round")
    # Round 1: 12 first-attempt answers. Round 2: villager 1's effort took 3 attempts and fell
    # back; villager 2's took 2.
    assert rounds.loc[1, ["LLM_calls", "LLM_retries", "LLM_fallbacks", "LLM_parse_failures"]].tolist() == [12, 0, 0, 0]
    assert rounds.loc[2, ["LLM_calls", "LLM_retries", "LLM_fallbacks", "LLM_parse_failures"]].tolist() == [15, 3, 1, 4]
    assert rounds.loc[2, "LLM_prompt_tokens"] == 15 * TOKENS_IN
    assert rounds.loc[2, "LLM_answer_tokens"] == 15 * TOKENS_OUT


def test_norm_similarity_per_round(scripted):
    _, tables, _, _ = scripted
    rounds = tables["rounds"].set_index("Round")
    for rnd, vectors in EMBEDDINGS.items():
        s_ind, s_align = _similarity(vectors[:3])
        assert rounds.loc[rnd, "SInd"] == pytest.approx(s_ind)
        assert rounds.loc[rnd, "SAlign"] == pytest.approx(s_align)
    assert math.isnan(rounds.loc[0, "SNorm"])
    # Round 1: two of the three beliefs point the same way as the norm.
    assert rounds.loc[1, "SNorm"] == pytest.approx(2 / 3)
    assert rounds.loc[2, "SNorm"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(("ablation", "phases"), [
    ("full", {"effort", "punish", "propose", "vote"}),
    ("social_learning_only", {"effort", "punish", "belief"}),
    ("group_decision_only", {"effort", "punish", "propose", "vote"}),
    ("neither", {"effort", "punish", "belief"}),
])
def test_each_ablation_asks_only_its_decisions(tmp_path, ablation, phases):
    common = {"effort": '{"effort": 0.3}', "punish": '{"punish": "none"}',
              "vote": json.dumps({"policy": "Nobody fishes above 0.4."})}
    policies = {1: "Nobody fishes above 0.4.", 2: "Everyone fishes at 0.8."}
    log = tmp_path / "answers.jsonl"
    with open(log, "w", encoding="utf-8") as f:
        for agent in (1, 2):
            propose = json.dumps({"personal": "Fish a little less.", "community": policies[agent]})
            belief = json.dumps({"personal": "Fish a little less than yesterday."})
            for phase, raw in {**common, "propose": propose, "belief": belief}.items():
                f.write(json.dumps({"kind": "chat", "agent": agent, "round": 1, "phase": phase,
                                    "attempt": 0, "model": "smollm2:135m", "raw": raw}) + "\n")
        for rnd in (0, 1):
            f.write(json.dumps({"kind": "embed", "agent": -1, "round": rnd, "phase": EMBED_PHASE,
                                "model": "all-minilm", "embeddings": [[1, 0], [0, 1], [1, 1]][: 2 + rnd * ("vote" in phases)]}) + "\n")
    config = RunConfig(policy="llm", seed=1, rounds=1).replace(**{
        "norms.n_agents": 2, "modules.ablation": ablation, "llm.backend": "replay",
        "llm.replay_log": str(log), "output.format": "csv"})
    run(config, tmp_path / "out", progress=False)
    calls = [r for r in read_calls(tmp_path / "out" / "calls.jsonl") if r["kind"] == "chat"]
    assert {r["phase"] for r in calls} == phases
    assert len(calls) == 2 * len(phases)  # one call per villager and decision
    effort = next(r for r in calls if r["phase"] == "effort")["messages"][1]["content"]
    assert ("Villagers (id: latest effort, total payoff):" in effort) == (ablation in ("full", "social_learning_only"))
    assert ("community policy" in effort) == (ablation in ("full", "group_decision_only"))
    rounds = pd.read_csv(tmp_path / "out" / "rounds.csv")
    norm_adopted = rounds["Norm"].iloc[-1] == "Nobody fishes above 0.4."
    assert norm_adopted == ("vote" in phases)
    # Without a vote the belief is still rewritten, from the villager's own history.
    agents = pd.read_csv(tmp_path / "out" / "agents.csv")
    beliefs = set(agents[agents["Round"] == 1]["BeliefText"])
    assert beliefs == ({"Fish a little less than yesterday."} if "belief" in phases
                       else {"Fish a little less."})


def test_one_distinct_proposal_is_adopted_without_a_vote():
    from agents.norms.policy import Proposal
    from model.norms.model import NormsModel

    model = NormsModel(RunConfig(policy="llm", seed=1).replace(**{"norms.n_agents": 3}))
    assert model.llm is None  # any LLM call would raise
    proposals = [Proposal(1, "Fish at 0.4 or less."), Proposal(2, " 'fish at 0.4  or less.' "),
                 Proposal(3, "“Fish at 0.4 or less.”")]
    norm = model.policy.adopt(model, model.living, proposals)
    assert norm.text == "Fish at 0.4 or less." and model.policy.tally == [3]
    assert [e.kind for e in model.events] == []  # no votes were cast
