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


def test_lake_figure_draws_the_stock_against_the_threshold_with_labels_off_the_data(punished_view):
    view = punished_view
    fig = plots.lake_figure(view)
    (ax,) = fig.axes
    stock, threshold, capacity = ax.get_lines()
    assert list(stock.get_ydata()) == list(view.stock)
    assert set(threshold.get_ydata()) == {view.threshold}
    assert set(capacity.get_ydata()) == {view.capacity}
    assert ax.get_legend() is None  # the lines are named in the right margin instead
    labels = [t for t in ax.texts]
    assert {t.get_text() for t in labels} == {"stock", f"collapse {view.threshold:g}",
                                              f"capacity {view.capacity:g}"}
    assert all(t.get_position()[0] > 1 for t in labels)  # x in axes units: right of the axes
    assert f"{view.current_stock:.1f}" in ax.get_title(loc="left")


def test_every_figure_is_drawn_at_its_shown_size_with_text_of_at_least_14_px(punished_view):
    for make in (plots.lake_figure, plots.villagers_figure, plots.punishment_figure,
                 plots.history_figure):
        fig = make(punished_view)
        assert fig.dpi == P.FIG_DPI
        assert plots.smallest_font(fig) * P.FIG_DPI / 72 >= P.MIN_TEXT_PX, make.__name__
        assert plots.smallest_font(fig) == min(P.FONT.values())
        assert plots.png(fig).startswith(b"\x89PNG")
    assert plots.lake_figure(punished_view).get_size_inches()[0] * P.FIG_DPI <= 712


def test_the_villagers_figure_grows_with_the_village():
    small = LiveRun(seed=1, villagers=4).view
    large = LiveRun(seed=1, villagers=20).view
    assert plots.villagers_figure(small).get_figheight() == plots.ROW
    assert plots.villagers_figure(large).get_figheight() > 2 * plots.ROW


def test_history_shows_efficiency_compliance_cap_and_fines_per_round(punished_view):
    view = punished_view
    axes = plots.history_figure(view).axes
    assert len(axes) == 4
    efficiency = axes[0].get_lines()[0]
    assert list(efficiency.get_ydata()) == pytest.approx(list(view.efficiency[1:]), nan_ok=True)
    assert list(axes[1].get_lines()[0].get_ydata()) == pytest.approx(
        [100 * c for c in view.compliance], nan_ok=True)
    assert [b.get_height() for b in axes[3].patches] == list(view.punish_counts)
    assert len(view.compliance) == len(view.caps) == len(view.punish_counts) == view.round


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
    assert [t.get_text() for t in effort_ax.get_yticklabels()] == [v.label for v in view.villagers]


def test_punishment_figure_has_one_arrow_per_punishment(punished_view):
    ax = plots.punishment_figure(punished_view).axes[0]
    arrows = [c for c in ax.get_children() if isinstance(c, Annotation)]
    assert len(arrows) == len(punished_view.punishments)
    n = len(punished_view.punishments)
    fig = ax.figure
    assert fig._suptitle.get_text() == (f"Who fined whom in round {punished_view.round}: "
                                        f"{n} fine{'s' if n != 1 else ''}")


def test_punishment_switched_off_says_so():
    run = LiveRun(seed=1, punishment=False)
    run.step()
    ax = plots.punishment_figure(run.view).axes[0]
    assert ax.figure._suptitle.get_text() == "Punishment is switched off"
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
