"""The run behind the live page: controls to config, one round per Step, snapshots, LLM rounds in
a background thread, and errors shown as one line instead of raised.

LLM budget (tests marked ``llm``, embedded server): two effort decisions and two embedding calls
(a two-villager LLM round with punishment and group decision switched off), plus one model list.
"""

from __future__ import annotations

import threading
import time

import pytest

from agents.peer_text import one_line
from model.engine import Module
from viz.live_run import BUSY_WAIT_S, LiveRun, build_config
from viz.params import govsim_available

NO_NORM = "No community policy has been adopted yet."
LLM_ROUND_S = 300  # two calls of ~1.5 s when idle; generous for a busy 2-core machine


class Gate(Module):
    """A round module that holds the round until released: a slow (LLM) round on demand."""

    name = "gate"

    def __init__(self):
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, model) -> None:
        self.entered.set()
        assert self.release.wait(20), "the test never released the round"


class Broken(Module):
    """A round module that fails the way a lost LLM server does, mid-round."""

    name = "broken"

    def __call__(self, model) -> None:
        raise RuntimeError("the server went away\nwith a long traceback below")


def test_controls_become_the_run_config():
    cfg = build_config(scenario="norms", environment="harsh", population="selfish",
                       ablation="group_decision_only", punishment=False, villagers=4, rounds=20,
                       policy="llm", llm_model=" qwen2.5:0.5b ", seed=" 12 ")
    assert (cfg.scenario, cfg.policy, cfg.seed, cfg.rounds) == ("norms", "llm", 12, 20)
    assert (cfg.norms.environment, cfg.norms.population, cfg.norms.n_agents) == ("harsh", "selfish", 4)
    assert cfg.modules.ablation == "group_decision_only" and not cfg.modules.punishment
    assert cfg.modules.group_decision and not cfg.modules.social_learning
    assert cfg.llm.model == "qwen2.5:0.5b"


@pytest.mark.skipif(not govsim_available(), reason="GovSim is not installed")
def test_govsim_variant_control_becomes_a_govsim_config():
    cfg = build_config(scenario="govsim:pasture", villagers=3, rounds=6, policy="rule")
    assert (cfg.scenario, cfg.policy) == ("govsim", "llm")  # GovSim villagers always talk
    assert (cfg.govsim.variant, cfg.govsim.n_agents, cfg.govsim.months) == ("pasture", 3, 6)


@pytest.mark.parametrize("controls, message", [
    ({"seed": "forty-two"}, "seed = 'forty-two' must be a whole number"),
    ({"seed": "-1"}, "seed = -1 must not be negative"),
    ({"scenario": "atlantis"}, "scenario = 'atlantis' is not one the page knows"),
    ({"villagers": 1}, "norms.n_agents = 1 is out of range"),
])
def test_bad_controls_give_one_line_and_no_run(controls, message):
    run = LiveRun(**controls)
    assert run.error.startswith(message) and "\n" not in run.error
    assert run.view is None and not run.running
    run.step()  # the Step button does nothing
    assert run.view is None and run.time == 0


def test_each_step_plays_exactly_one_round_and_takes_a_new_snapshot():
    run = LiveRun(seed=3, villagers=4, rounds=5)
    assert run.error is None and run.view.round == 0 and run.view.norm_text == NO_NORM
    views = [run.view]
    while run.running:
        run.step()
        view = run.view
        assert view.round == len(views) == run.time
        assert view.version > views[-1].version
        assert view.stock == tuple(run.sim.datacollector.model_vars["Stock"])
        assert len(view.efficiency) == view.round + 1
        views.append(view)
    assert views[-1].round == 5 and views[-1].survival_time == 5 and not views[-1].running
    run.step()  # the run is over: nothing more happens
    assert run.view is views[-1]
    # Earlier snapshots were not changed by later rounds.
    assert views[1].round == 1 and len(views[1].stock) == 2
    assert views[1].norm_text != NO_NORM and "at most" in views[1].norm_text
    assert [p.agent for p in views[1].proposals] == [v.id for v in views[1].villagers]


def test_same_seed_same_run_and_another_seed_another():
    def stocks(seed):
        run = LiveRun(seed=seed, rounds=6)
        for _ in range(6):
            run.step()
        return run.view.stock, run.view.norm_text

    assert stocks("9") == stocks(9)
    assert stocks(9) != stocks(10)


def test_punishments_in_the_view_are_the_rounds_punish_events():
    run = LiveRun(seed=1, villagers=10, population="mixed", rounds=100)
    while run.running and not run.view.punishments:
        run.step()
    view = run.view
    events = [(e.agent, e.target) for e in run.sim.events
              if e.round == view.round and e.kind == "punish"]
    assert view.punishments and list(view.punishments) == events
    assert sum(v.given for v in view.villagers) == len(events)
    for punisher, target in events:
        assert view.villager(punisher).given == 1 and view.villager(target).received >= 1


def test_a_threaded_round_leaves_the_caller_free_and_reports_progress():
    run = LiveRun(seed=2, villagers=3, rounds=10)
    run.threaded = True  # as for LLM villagers
    gate = Gate()
    run.sim.modules.insert(1, gate)  # after the (tracked) harvest phase
    started = time.monotonic()
    run.step()
    assert time.monotonic() - started < 1.0
    assert gate.entered.wait(10) and run.busy
    progress = run.progress()
    assert (progress.round, progress.phase, progress.phase_index) == (1, "harvest", 1)
    assert progress.phases == len(run.sim.modules) - 1 and 0 <= progress.fraction < 1
    # Play keeps calling while the round is in flight: each call waits a while (so Play does
    # not spin), then returns without starting a second round.
    started = time.monotonic()
    run.step()
    assert time.monotonic() - started >= 0.9 * BUSY_WAIT_S
    assert run.rounds_started == 1 and run.view.round == 0 and run.busy
    gate.release.set()
    assert run.wait(10)
    assert run.view.round == 1 and run.progress() is None and run.running


def test_a_failed_round_stops_the_run_with_one_line():
    run = LiveRun(seed=2, villagers=3)
    run.sim.modules.append(Broken())
    run.step()
    assert run.error == "round 1 failed: the server went away"
    assert not run.running and run.view.round == 1
    run.step()
    assert run.view.round == 1


# -- LLM villagers on the embedded server --------------------------------------------------------


@pytest.mark.llm
def test_llm_run_steps_in_the_background_and_shows_the_exchange(ollama_host, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", ollama_host)
    run = LiveRun(policy="llm", villagers=2, ablation="neither", punishment=False, seed=4,
                  llm_backend="ollama")
    assert run.error is None and run.threaded
    assert all(v.exchange is None for v in run.view.villagers)
    run.step()
    assert run.busy or run.view.round == 1
    assert run.wait(LLM_ROUND_S)
    view = run.view
    assert run.error is None and view.round == 1
    assert view.llm_calls >= 2
    for v in view.villagers:
        assert v.llm_model == "smollm2:135m" and v.belief_text
        # Without a vote ("neither"), a villager's last call of the round rewrites its belief.
        assert v.exchange["phase"] == "belief" and v.exchange["round"] == 1
        assert v.exchange["messages"][-1]["role"] == "user"
        assert isinstance(v.exchange["answer"], str)
        # The belief is kept as peers will read it: one line, tag-shaped words defused.
        personal = v.exchange["value"]["personal"]
        assert v.belief_text == one_line(personal, len(personal)) and 0 <= v.effort <= 1


@pytest.mark.llm
def test_a_model_that_is_not_pulled_is_one_line_on_the_page(ollama_host, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", ollama_host)
    run = LiveRun(policy="llm", llm_model="no-such-model:1b", llm_backend="ollama")
    assert run.view is None and not run.running
    assert "no-such-model:1b is not pulled" in run.error and run.client is None


def test_an_unreachable_ollama_is_one_line_on_the_page(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")  # nothing listens on port 9
    run = LiveRun(policy="llm", llm_backend="ollama")
    assert run.view is None and "cannot reach an Ollama server" in run.error


def test_the_collapsing_round_still_settles_starvation_on_the_page():
    # The page wraps every module to show its phase; the wrapper must keep the module's
    # "runs after collapse" promise, or villagers in debt outlive the round that ends the run.
    run = LiveRun(environment="harsh", population="selfish", villagers=6, seed=3, rounds=50)
    while run.running:
        run.step()
    assert run.sim.collapsed
    assert all(v.wealth >= 0 for v in run.sim.living)
    starvation = [m for m in run.sim.modules if m.name == "starvation"]
    assert starvation and starvation[0].runs_after_collapse
