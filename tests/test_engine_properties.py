"""Invariants of the norms engine over random configurations (hypothesis)."""

import math

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.norms.model import NO_NORM, NormsModel
from model.config import RunConfig

configs = st.fixed_dictionaries({
    "norms.n_agents": st.integers(2, 12),
    "norms.population": st.sampled_from(["selfish", "mixed", "altruistic"]),
    "norms.environment": st.sampled_from(["harsh", "rich"]),
    "norms.capacity": st.floats(10, 1000),
    "norms.catchability": st.floats(0.0, 0.6),
    "norms.consumption": st.floats(0, 8),
    "norms.initial_wealth": st.floats(0, 30),
    "norms.penalty": st.floats(0, 20),
    "norms.punish_cost": st.floats(0, 3),
    "norms.collapse_threshold": st.floats(0, 5),
    "norms.stack_penalties": st.booleans(),
    "norms.punish_reading": st.sampled_from(["text", "table"]),
    "modules.punishment": st.booleans(),
    "modules.ablation": st.sampled_from(["full", "social_learning_only", "group_decision_only", "neither"]),
    "learning.revision_prob": st.floats(0, 1),
    "learning.mutation_sd": st.floats(0, 0.3),
})
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def traits(agent):
    return (agent.effort, agent.monitoring, agent.belief, agent.punish_prob)


def check_round(model, before):
    """Compare the state after one round with the snapshot ``before`` taken at its start."""
    cfg = model.config
    norms = cfg.norms
    assert 0.0 <= model.lake.stock <= norms.capacity + 1e-9
    harvest = sum(a.harvest for a in model.agents)
    assert harvest <= before["stock"] + 1e-9
    for agent in model.agents:
        wealth0, alive0, traits0 = before["agents"][agent.unique_id]
        if not alive0:
            # The dead never act again.
            assert not agent.alive and agent.harvest == 0 and agent.given == 0 and agent.received == 0
            assert agent.wealth == wealth0
            continue
        fines = norms.penalty * (agent.received if norms.stack_penalties else min(agent.received, 1))
        expected = wealth0 + agent.harvest - norms.consumption - fines - norms.punish_cost * agent.given
        assert math.isclose(agent.wealth, expected, rel_tol=1e-9, abs_tol=1e-9)
        assert agent.alive == (agent.wealth >= 0)
        if not cfg.modules.social_learning and agent.alive:
            assert traits(agent) == traits0
    if not cfg.modules.punishment:
        assert all(a.given == 0 and a.received == 0 for a in model.agents)
    if not cfg.modules.group_decision:
        assert model.norm is NO_NORM


@SETTINGS
@given(overrides=configs, seed=st.integers(0, 2**32 - 1))
def test_invariants_hold_every_round(overrides, seed):
    # Deterrence changes effort in the harvest phase, outside social learning.
    model = NormsModel(RunConfig(rounds=25).replace(
        **{"learning.deterrence": False, **overrides}), rng=seed)
    while model.running:
        before = {"stock": model.lake.stock,
                  "agents": {a.unique_id: (a.wealth, a.alive, traits(a)) for a in model.agents}}
        model.step()
        check_round(model, before)
    assert model.survival_time == model.round
    if model.collapse_reason == "death":
        assert any(not a.alive for a in model.agents)


@settings(max_examples=15, deadline=None)
@given(overrides=configs, seed=st.integers(0, 2**32 - 1))
def test_same_seed_gives_identical_tables(overrides, seed):
    config = RunConfig(rounds=20).replace(**overrides)
    first, second = (NormsModel(config, rng=seed) for _ in range(2))
    first.run()
    second.run()
    for name, table in first.tables().items():
        pd.testing.assert_frame_equal(table, second.tables()[name])


def test_a_different_seed_gives_different_tables():
    a, b = NormsModel(rng=1), NormsModel(rng=2)
    a.run()
    b.run()
    assert not a.tables()["agents"].equals(b.tables()["agents"])


def test_switching_social_learning_off_freezes_strategies():
    on = NormsModel(RunConfig(rounds=10).replace(**{"learning.revision_prob": 1.0}), rng=5)
    off = NormsModel(RunConfig(rounds=10).replace(
        **{"learning.revision_prob": 1.0, "modules.ablation": "group_decision_only"}), rng=5)
    start_on = [traits(a) for a in on.living]
    start_off = [traits(a) for a in off.living]
    on.step()
    off.step()
    assert [traits(a) for a in off.living] == start_off
    assert [traits(a) for a in on.living] != start_on


def test_switching_group_decision_off_keeps_no_norm():
    model = NormsModel(RunConfig(rounds=5).replace(**{"modules.ablation": "social_learning_only"}), rng=4)
    model.run()
    assert model.norm is NO_NORM
    assert not (model.tables()["events"]["kind"] == "norm").any()
