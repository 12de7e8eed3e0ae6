"""The "paper" answer protocol: what the villagers see (the paper's observation and nothing
more), what each ablation shows, the punishers' sample, and the free-text answers it reads."""

from __future__ import annotations

import pytest

from agents.llm.parsing import parse_answer, strip_think
from agents.norms.prompts import Shown
from agents.norms.schemas import (EffortAnswer, belief_schema, belief_text_parser,
                                  parse_effort_text, propose_schema, propose_text_parser,
                                  punish_schema, punish_text_parser, vote_schema, vote_text_parser)
from agents.norms.view import Chronicle, DayRecord, view_for
from agents.peer_text import CLOSE, OPEN
from model.config import ABLATION_MODULES, RunConfig
from model.norms.model import NormsModel

NORM = "Keep effort at 0.6 or lower, and share with anyone who falls below 5 fish."
PEERS_HEADER = "Villagers (id: latest effort, total payoff):"
WATCHED_HEADER = "Villagers you watched today (id: effort today):"
PHASES_OF = {True: ("effort", "punish", "propose", "vote"), False: ("effort", "punish", "belief")}


def _model(ablation="full", n=5, **extra) -> NormsModel:
    config = RunConfig(policy="llm", seed=5, rounds=9).replace(**{
        "norms.n_agents": n, "modules.ablation": ablation, "llm.protocol": "paper", **extra})
    model = NormsModel(config)  # no LLM client: rendering calls nothing
    model.round = 4
    for i, agent in enumerate(model.living):
        agent.effort, agent.harvest = 0.1 * (i + 1), 2.0 * (i + 1)
    return model


def _chronicle(model) -> Chronicle:
    chron = Chronicle(lake=[(1, 300.0), (2, 271.5), (3, 250.25)])
    for a in model.living:
        chron.records[a.unique_id] = [DayRecord(d, 0.45, 13.7, 0, None, 21.0 + d) for d in (1, 2, 3)]
    return chron


def _render(model, phase, agent_index=0, norm=NORM):
    policy = model.policy
    agent = model.living[agent_index]
    watched = policy._watch(model, agent, model.living) if phase == "punish" else ()
    view = view_for(model, agent, phase, _chronicle(model), agent.belief_text, norm, watched)
    ids = [str(a.unique_id) for a in model.living if a is not agent]
    system, user = policy.prompts.messages(phase, view, Shown.for_model(model), choices=ids,
                                           ballot=[NORM, "Everyone fishes at 1.0."])
    return system["content"], user["content"], watched


@pytest.mark.parametrize("phase", ["effort", "punish", "propose", "belief", "vote"])
def test_paper_observation_hides_capacity_history_and_catch(phase):
    system, user, _ = _render(_model(**{"norms.capacity": 333.0, "norms.initial_stock": 290.0}), phase)
    text = system + "\n" + user
    assert "The lake now holds 290.0 fish." in user  # the stock, as the paper shows it
    for hint in ("333", "hold at most", "capacity", "earlier days", "271.5", "250.2",
                 "caught", "13.7", "catch rule", '{"'):
        assert hint not in text, hint
    # The own record: efforts and payoffs, the paper's outcomes.
    assert "- day 3: effort 0.45, punished by 0 other villager(s), you punished nobody; " \
           "payoff afterwards 24.0." in user


def test_the_extras_are_switches():
    _, user, _ = _render(_model(**{"prompt.show_capacity": True, "prompt.show_lake_history": True,
                                   "prompt.show_catch": True}), "effort")
    assert "It can hold at most 300.0 fish." in user
    assert "Fish in the lake at the start of earlier days: day 1: 300.0" in user
    assert "caught 13.7 fish" in user
    # The schema protocol shows them unless switched off.
    _, user, _ = _render(_model(**{"llm.protocol": "schema", "prompt.show_capacity": False}), "effort")
    assert "hold at most" not in user and "caught 13.7 fish" in user


@pytest.mark.parametrize("ablation", sorted(ABLATION_MODULES))
def test_each_ablation_shows_exactly_its_tables_content(ablation):
    peers, norm = ABLATION_MODULES[ablation]
    model = _model(ablation)
    names = [m.name for m in model.modules]
    assert ("group_decision" in names) == norm and ("belief_update" in names) == (not norm)
    me = model.living[0]
    others = [a.unique_id for a in model.living if a is not me]
    for phase in PHASES_OF[norm]:
        system, user, watched = _render(model, phase)
        assert f"Your personal belief: {OPEN}{me.belief_text}{CLOSE}" in user
        assert "Your record:" in user and "The lake now holds" in user
        # The peers' table (social learning) lists every villager's effort and total payoff.
        assert (PEERS_HEADER in user) == peers
        assert all((f"\n- {i}: effort " in user.split(WATCHED_HEADER)[0]) == peers for i in others)
        # The adopted norm (group decision), verbatim.
        if phase != "vote":  # the ballot quotes it anyway
            assert (f"{OPEN}{NORM}{CLOSE}" in user) == norm
        assert ("community policy" in system + user) == norm
        # The punishers' sample: in every punishment prompt, whatever the ablation.
        assert (WATCHED_HEADER in user) == (phase == "punish")
        if phase == "punish":
            assert len(watched) == 3 and me.unique_id not in [i for i, _ in watched]
            for i, effort in watched:
                assert f"\n- {i}: effort {effort:.2f}" in user.split(WATCHED_HEADER)[1]


def test_punishers_sample_is_sized_and_seeded():
    model = _model("neither", n=8, **{"prompt.punish_sample": 2})
    first = [_render(model, "punish", i)[2] for i in range(8)]
    assert all(len(w) == 2 for w in first)
    assert first == [_render(model, "punish", i)[2] for i in range(8)]  # reproducible
    assert len(set(first)) > 1  # each villager watches its own sample
    model.round = 5
    assert [_render(model, "punish", i)[2] for i in range(8)] != first  # a new one each day
    _, user, watched = _render(_model("neither", **{"prompt.punish_sample": 0}), "punish")
    assert watched == () and WATCHED_HEADER not in user


def test_paper_text_bounds_fit_the_papers_norms():
    model = _model()
    assert model.policy.text_max >= 400
    long_norm = ("After step 40: every villager keeps effort between 0.6 and 0.65; anyone whose "
                 "payoff falls below 5 receives a share from those above 30; repeated breaches are "
                 "punished by the nearest neighbour; the village revisits the band every ten days "
                 "and lowers it when the lake holds fewer fish than the day before, as agreed.")
    assert 280 < len(long_norm) < 400
    _, user, _ = _render(model, "effort", norm=long_norm)
    assert f"{OPEN}{long_norm}{CLOSE}" in user
    assert propose_schema(model.policy.text_max).model_json_schema()["properties"]["community"][
        "maxLength"] >= 400


@pytest.mark.parametrize(("schema", "parser", "raw", "expected"), [
    (EffortAnswer, parse_effort_text, "0.4", {"effort": 0.4}),
    (EffortAnswer, parse_effort_text, "<think>Stock is 250, I had 0.45 before...</think>\n0.35",
     {"effort": 0.35}),
    (EffortAnswer, parse_effort_text, '{"effort": 0.2}', {"effort": 0.2}),
    (punish_schema(("2", "3", "none")), punish_text_parser(("2", "3", "none")), "N/A",
     {"punish": "none"}),
    (punish_schema(("2", "3", "none")), punish_text_parser(("2", "3", "none")), "3",
     {"punish": "3"}),
    (propose_schema(450), propose_text_parser(450),
     "Personal: I fish at 0.5.\nCommunity: Everyone keeps effort at 0.6 or lower.",
     {"personal": "I fish at 0.5.", "community": "Everyone keeps effort at 0.6 or lower."}),
    (belief_schema(450), belief_text_parser(450), "Personal: Fish less when the lake is low.",
     {"personal": "Fish less when the lake is low."}),
    (vote_schema(450), vote_text_parser(450), "Everyone fishes at 1.0.",
     {"policy": "Everyone fishes at 1.0."}),
])
def test_free_text_answers_are_read(schema, parser, raw, expected):
    result = parse_answer(strip_think(raw), schema, text_parser=parser, free_text=True)
    assert result.ok and result.value.model_dump() == expected


@pytest.mark.parametrize("raw", ["", "I would rather not say.", "1.7", "Personal: x"])
def test_free_text_answers_that_break_the_rule_are_rejected(raw):
    schemas = [(EffortAnswer, parse_effort_text), (propose_schema(450), propose_text_parser(450))]
    for schema, parser in schemas:
        result = parse_answer(raw, schema, text_parser=parser, free_text=True)
        if not result.ok:
            assert result.error and "JSON" not in result.error.split(":")[0]
    assert not parse_answer(raw, propose_schema(450), text_parser=propose_text_parser(450),
                            free_text=True).ok
