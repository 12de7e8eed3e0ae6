"""The page's panels and Mesa's controls, rendered without a browser (``solara.render``)."""

from __future__ import annotations

import threading
import time

import ipyvuetify as v
import ipywidgets
import pytest
import solara
from mesa.visualization.solara_viz import (ComponentsView, ModelController, _check_model_params,
                                           _wrap_component)
from mesa.visualization.utils import force_update

from model.engine import Module
from viz import components as C
from viz.live_run import LiveRun
from viz.params import initial_values, model_params, scenario_choices, govsim_available

NO_NORM = "No community policy has been adopted yet."


def widgets_in(root) -> list:
    """Every widget below ``root``, depth first (reacton's finder stops at the first match)."""
    found, stack, seen = [], [root], set()
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, ipywidgets.Widget) and id(item) not in seen:
            seen.add(id(item))
            found.append(item)
            stack.extend(reversed([getattr(item, k) for k in item.keys if k != "layout"]))
    return found


def with_class(rc, widget_type, css_class: str) -> list:
    return [w for w in widgets_in(rc.find().widgets) if isinstance(w, widget_type)
            and css_class in (getattr(w, "class_", None) or "").split()]


def texts(rc, css_class: str) -> list[str]:
    return ["".join(map(str, w.children)) for w in with_class(rc, v.Html, css_class)]


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_every_control_is_a_constructor_argument_of_the_run():
    params = model_params()
    _check_model_params(LiveRun.__init__, params)  # Mesa rejects unknown names on Reset
    run = LiveRun(**initial_values(params))
    assert run.error is None and run.running
    assert set(initial_values(params)) == set(params)
    assert ("govsim:fishery" in scenario_choices()) == govsim_available()


def test_the_app_module_builds_the_page():
    import viz.app as app

    box, rc = solara.render(app.page, handle_error=False)
    assert [t.children for t in rc.find(v.Tab).widgets] == [["Page 0"], ["Page 1"]]
    assert rc.find(ipywidgets.Image).widgets  # the figures of page 0


@pytest.fixture
def harness():
    """Mesa's controls (Step, Reset) over the page's first tab, as SolaraViz wires them."""
    params = initial_values(model_params())
    run = solara.reactive(LiveRun(**params))
    parameters = solara.reactive(dict(params))

    @solara.component
    def Harness():
        ModelController(run, model_parameters=parameters, play_interval=solara.reactive(10),
                        render_interval=solara.reactive(1), use_threads=solara.reactive(False))
        ComponentsView([(c, 0) for c in C.PAGE_CLASS], run.value)

    box, rc = solara.render(Harness(), handle_error=False)
    yield run, parameters, rc
    rc.close()


def test_step_redraws_the_panels_and_reset_applies_the_controls(harness):
    run, parameters, rc = harness
    assert texts(rc, "cl-stat-value")[0] == "0 / 50"
    assert texts(rc, "cl-norm-text") == [NO_NORM]
    images = [w.value for w in rc.find(ipywidgets.Image).widgets]

    rc.find(v.Btn, children=["Step"]).widget.click()
    assert texts(rc, "cl-stat-value")[0] == "1 / 50"
    assert texts(rc, "cl-norm-text") == [run.value.view.norm_text] != [NO_NORM]
    proposals = with_class(rc, v.Sheet, "cl-proposal")
    assert len(proposals) == 6
    after = [w.value for w in rc.find(ipywidgets.Image).widgets]
    assert len(after) == len(images) == 3
    assert all(a != b for a, b in zip(after, images))  # every figure was redrawn

    parameters.value = {**parameters.value, "villagers": 3, "population": "selfish", "seed": "11"}
    rc.find(v.Btn, children=["Reset"]).widget.click()
    fresh = run.value.view
    assert fresh.round == 0 and len(fresh.villagers) == 3
    assert {villager.kind for villager in fresh.villagers} == {"selfish"}
    assert texts(rc, "cl-stat-value")[0] == "0 / 50"
    assert texts(rc, "cl-norm-text") == [NO_NORM]


def test_status_shows_a_running_round_then_refreshes_the_page_when_it_ends():
    run = LiveRun(seed=2, villagers=3)
    run.threaded = True
    gate_open = threading.Event()

    class Gate(Module):
        name = "gate"

        def __call__(self, model):
            assert gate_open.wait(20)

    run.sim.modules.insert(1, Gate())
    Status = _wrap_component(C.StatusPanel)
    box, rc = solara.render(Status(run), handle_error=False)
    try:
        run.step()
        force_update()  # what SolaraViz's Step button does after calling step()
        wait_for(lambda: texts(rc, "cl-progress"))
        assert texts(rc, "cl-progress")[0].startswith("Round 1 in progress: harvest (phase 1 of 6)")
        assert texts(rc, "cl-stat-value")[0] == "0 / 50"
        gate_open.set()
        # Nobody touches the page: the status bar's watcher redraws it when the round ends.
        wait_for(lambda: texts(rc, "cl-stat-value")[0] == "1 / 50")
        assert texts(rc, "cl-progress") == []
    finally:
        gate_open.set()
        rc.close()


def test_clicking_a_villager_shows_what_it_decides_by():
    run = LiveRun(seed=2, villagers=4)
    run.step()
    Minds = _wrap_component(C.MindsPanel)
    box, rc = solara.render(Minds(run), handle_error=False)
    buttons = with_class(rc, v.Btn, "cl-villager-button")
    assert [b.children[0] for b in buttons] == ["● V1", "● V2", "▲ V3", "▲ V4"]
    buttons[2].click()
    traits = texts(rc, "cl-rule-traits")
    assert len(traits) == 1 and "punish prob" in traits[0] and "belief" in traits[0]
    rc.close()


def test_panels_show_the_error_of_a_run_that_could_not_be_built():
    run = LiveRun(seed="x")
    for panel in (C.StatusPanel, C.NormPanel, C.LakePanel, C.MindsPanel, C.EventsPanel):
        box, rc = solara.render(_wrap_component(panel)(run), handle_error=False)
        assert rc.find(v.Alert).widgets, panel.__name__
        rc.close()


def test_grid_puts_the_status_bar_on_top_and_panels_in_pairs_without_overlap():
    from viz.style import grid_layout

    for count in (len(C.PAGE_CLASS), len(C.PAGE_LAB)):
        layout = grid_layout(count)
        assert [item["i"] for item in layout] == list(range(count))
        assert (layout[0]["x"], layout[0]["y"], layout[0]["w"]) == (0, 0, 12)
        cells = set()
        for item in layout:
            cell = {(x, y) for x in range(item["x"], item["x"] + item["w"])
                    for y in range(item["y"], item["y"] + item["h"])}
            assert not cell & cells and item["x"] + item["w"] <= 12
            cells |= cell
