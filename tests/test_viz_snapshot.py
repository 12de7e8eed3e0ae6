"""GovSim on the live page: a month of a real GovSim model seen through the page's snapshot.

LLM budget: two harvest decisions (two villagers, one month, no discussion, no reflection).
"""

from __future__ import annotations

import pytest

from viz import plots, snapshot
from viz.params import govsim_available

pytestmark = pytest.mark.skipif(not govsim_available(), reason="GovSim is not installed")


@pytest.mark.llm
def test_a_govsim_month_becomes_a_view_the_figures_draw(ollama_host):
    from agents.llm.client import LLMClient
    from model.config import RunConfig
    from model.runner import build_model

    config = RunConfig().replace(**{
        "scenario": "govsim", "policy": "llm", "seed": 3, "govsim.n_agents": 2,
        "govsim.communication": False, "govsim.reflection": False,
        "llm.backend": "ollama", "llm.host": ollama_host})
    with LLMClient(config.llm, host=ollama_host, seed=3) as client:
        model = build_model(config, llm_client=client)
        model.step()
        view = snapshot.take(model, version=1)

    villagers = model.present
    assert (view.scenario, view.policy, view.round) == ("govsim", "llm", 1)
    assert view.resource == "tons" and view.talk_title == "Discussion"
    assert [v.label for v in view.villagers] == [a.name for a in villagers]
    assert [v.effort for v in view.villagers] == [a.wanted for a in villagers]
    assert [v.wealth for v in view.villagers] == [a.total for a in villagers]
    assert all(v.exchange["phase"] == "harvest" and v.exchange["round"] == 1
               for v in view.villagers)
    assert view.stock == tuple(model.datacollector.model_vars["Stock"])
    assert (view.threshold, view.capacity) == (5.0, 100.0)
    assert view.punishments == () and not view.punishment_on and not view.group_decision_on
    caught = sum(a.collected for a in villagers)
    assert view.efficiency[1] == pytest.approx(caught / model.pool.collective_threshold(100))
    assert view.norm_text == "No limit has been agreed yet." and view.proposals == ()
    assert view.llm_calls >= 2

    effort_ax = plots.villagers_figure(view).axes[0]
    assert effort_ax.get_title(loc="left") == "Requested this month"
    assert effort_ax.get_xlabel() == "tons"
    assert plots.punishment_figure(view).get_suptitle() == "GovSim has no punishment"
    assert "tons" in plots.lake_figure(view).axes[0].get_title(loc="left")
