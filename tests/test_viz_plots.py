"""The page's figures draw what the snapshot holds, and tell villager kinds apart twice over."""

from __future__ import annotations

import matplotlib.colors as mcolors
import pytest
from matplotlib.text import Annotation

from viz import palette as P
from viz import plots
from viz.live_run import LiveRun


@pytest.fixture(scope="module")
def punished_view():
    """A mixed ten-villager rule run, stopped at its first round with a punishment."""
    run = LiveRun(seed=1, villagers=10, rounds=100)
    while run.running and not run.view.punishments:
        run.step()
    assert run.view.punishments
    return run.view


def test_kinds_differ_in_colour_and_in_a_second_way():
    a, s = P.KIND_STYLES["altruistic"], P.KIND_STYLES["selfish"]
    assert a.color != s.color and a.marker != s.marker and a.hatch != s.hatch
    assert a.symbol != s.symbol
    okabe_ito = {P.BLACK, P.ORANGE, P.SKY_BLUE, P.BLUISH_GREEN, P.YELLOW, P.BLUE, P.VERMILLION,
                 P.REDDISH_PURPLE}
    assert {style.color for style in P.KIND_STYLES.values()} <= okabe_ito
    assert P.kind_style("selfish", alive=False) is P.DEAD


def test_lake_figure_draws_the_stock_against_the_threshold(punished_view):
    view = punished_view
    stock_ax, eff_ax = plots.lake_figure(view).axes
    lines = {line.get_label(): line for line in stock_ax.get_lines()}
    assert list(lines["stock"].get_ydata()) == list(view.stock)
    threshold = lines[f"collapse threshold ({view.threshold:g})"]
    assert set(threshold.get_ydata()) == {view.threshold}
    assert set(lines[f"capacity ({view.capacity:g})"].get_ydata()) == {view.capacity}
    efficiency = {line.get_label(): line for line in eff_ax.get_lines()}["efficiency"]
    assert list(efficiency.get_ydata()) == pytest.approx(list(view.efficiency[1:]), nan_ok=True)
    assert f"after round {view.round}" in stock_ax.get_title(loc="left")


def test_villagers_figure_shows_each_villagers_effort_and_wealth(punished_view):
    view = punished_view
    effort_ax, wealth_ax = plots.villagers_figure(view).axes[:2]
    for ax, attr in ((effort_ax, "effort"), (wealth_ax, "wealth")):
        bars = {int(round(b.get_y() + b.get_height() / 2)): b for b in ax.patches}
        assert len(bars) == len(view.villagers)
        for y, villager in enumerate(view.villagers):
            bar, style = bars[y], P.kind_style(villager.kind, villager.alive)
            assert bar.get_width() == pytest.approx(getattr(villager, attr))
            assert mcolors.same_color(bar.get_facecolor(), style.color)
            assert (bar.get_hatch() or "") == style.hatch
        markers = {line.get_marker() for line in ax.get_lines() if line.get_marker() != "None"}
        assert {"o", "^"} <= markers
    assert [t.get_text() for t in effort_ax.get_yticklabels()] == [v.label for v in view.villagers]


def test_punishment_figure_has_one_arrow_per_punishment(punished_view):
    ax = plots.punishment_figure(punished_view).axes[0]
    arrows = [c for c in ax.get_children() if isinstance(c, Annotation)]
    assert len(arrows) == len(punished_view.punishments)
    n = len(punished_view.punishments)
    assert ax.get_title(loc="left") == f"Round {punished_view.round}: {n} punishment{'s' if n != 1 else ''}"


def test_punishment_switched_off_says_so():
    run = LiveRun(seed=1, punishment=False)
    run.step()
    ax = plots.punishment_figure(run.view).axes[0]
    assert ax.get_title(loc="left") == "Punishment is switched off"
    assert not [c for c in ax.get_children() if isinstance(c, Annotation)]


def test_survival_text_follows_the_run():
    run = LiveRun(seed=5, villagers=8, environment="harsh", rounds=100)
    assert plots.survival_text(run.view) == "survived 0 rounds so far"
    while run.running:
        run.step()
    view = run.view
    expected = {"stock": f"collapsed in round {view.survival_time}",
                "death": f"a villager starved in round {view.survival_time}",
                None: f"survived all {view.survival_time} rounds"}[view.collapse_reason]
    assert plots.survival_text(view) == expected
