"""Figures of the live page, drawn from a ``RoundView`` (no Solara here, so they test alone).

Each function returns a ``matplotlib.figure.Figure`` built without pyplot: the page draws from
several threads, and pyplot's global state is not safe there. Sizes are set on every text
element rather than through ``rcParams`` for the same reason.
"""

from __future__ import annotations

import math

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from viz import palette as P
from viz.snapshot import RoundView

FIGSIZE = (7.2, 4.2)


def _figure(size=FIGSIZE, **margins) -> Figure:
    # Fixed margins: an automatic layout engine doubles the cost of drawing, and the page
    # redraws every figure after every round.
    fig = Figure(figsize=size, dpi=P.FIG_DPI)
    fig.subplots_adjust(**{"left": 0.12, "right": 0.98, "top": 0.92, "bottom": 0.14, **margins})
    return fig


def _style(ax, title: str, xlabel: str = "", ylabel: str = "") -> None:
    ax.set_title(title, fontsize=P.FONT["title"], loc="left")
    ax.set_xlabel(xlabel, fontsize=P.FONT["label"])
    ax.set_ylabel(ylabel, fontsize=P.FONT["label"])
    ax.tick_params(labelsize=P.FONT["tick"])
    ax.spines[["top", "right"]].set_visible(False)


def _round_axis(ax, view: RoundView) -> None:
    ax.set_xlim(0, max(10, view.round + 1))
    ax.xaxis.get_major_locator().set_params(integer=True)


def lake_figure(view: RoundView) -> Figure:
    """Above: the lake's stock per round against its collapse threshold and capacity.
    Below: harvest efficiency per round (1 = the maximum sustainable yield)."""
    fig = _figure((FIGSIZE[0], 5.4), top=0.94, bottom=0.1, hspace=0.35)
    stock_ax, eff_ax = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    small = len(view.stock) < 40  # markers only while they do not crowd the line
    stock_ax.plot(range(len(view.stock)), view.stock, color=P.STOCK, lw=P.LINE_WIDTH,
                  marker="o", ms=P.MARKER_SIZE - 3 if small else 0, label="stock")
    stock_ax.axhline(view.threshold, color=P.THRESHOLD, lw=P.LINE_WIDTH, ls="--",
                     label=f"collapse threshold ({view.threshold:g})")
    stock_ax.axhline(view.capacity, color=P.CAPACITY, lw=2, ls=":",
                     label=f"capacity ({view.capacity:g})")
    stock_ax.set_ylim(0, view.capacity * 1.08)
    _style(stock_ax, f"Stock: {view.current_stock:.1f} {view.resource} after round {view.round}",
           "", view.resource)
    stock_ax.legend(fontsize=P.FONT["legend"], loc="lower left", framealpha=0.9)

    rounds = list(range(1, len(view.efficiency)))
    values = list(view.efficiency[1:])
    eff_ax.plot(rounds, values, color=P.EFFICIENCY, lw=P.LINE_WIDTH, marker="s",
                ms=P.MARKER_SIZE - 3 if small else 0, label="efficiency")
    eff_ax.axhline(1.0, color=P.BLACK, lw=1.5, ls=":", label="maximum sustainable yield")
    finite = [v for v in values if not math.isnan(v)]
    eff_ax.set_ylim(0, max([1.2, *finite]) * 1.1)
    mean = view.mean_efficiency
    _style(eff_ax, "Efficiency" + ("" if math.isnan(mean) else f" (mean {mean:.2f})"),
           "round", "harvest / optimal")
    eff_ax.legend(fontsize=P.FONT["legend"], loc="upper right", framealpha=0.9)
    _round_axis(eff_ax, view)
    return fig


def survival_text(view: RoundView) -> str:
    if view.collapse_reason == "stock":
        return f"collapsed in round {view.survival_time}"
    if view.collapse_reason == "death":
        return f"a villager starved in round {view.survival_time}"
    if view.collapse_reason:
        return f"ended in round {view.survival_time} ({view.collapse_reason})"
    if not view.running:
        return f"survived all {view.survival_time} rounds"
    return f"survived {view.round} round{'s' if view.round != 1 else ''} so far"


def _styles_present(view: RoundView) -> list[P.KindStyle]:
    present = {P.kind_style(v.kind, v.alive) for v in view.villagers}
    return [s for s in (*P.KIND_STYLES.values(), P.DEAD) if s in present]


def _kind_legend(view: RoundView) -> list:
    return [Patch(facecolor=s.color, edgecolor=P.BLACK, hatch=s.hatch, label=s.label)
            for s in _styles_present(view)]


def villagers_figure(view: RoundView) -> Figure:
    """Each villager's effort this round and wealth so far; kind shown by colour and hatch."""
    n = len(view.villagers)
    height = max(FIGSIZE[1], 1.2 + 0.3 * n)
    fig = _figure((FIGSIZE[0], height), left=0.1, wspace=0.08, top=1 - 0.45 / height,
                  bottom=1.15 / height)
    effort_ax, wealth_ax = fig.subplots(1, 2, sharey=True)
    groups: dict[P.KindStyle, list[int]] = {}
    for y, v in enumerate(view.villagers):
        groups.setdefault(P.kind_style(v.kind, v.alive), []).append(y)
    for ax, attr in ((effort_ax, "effort"), (wealth_ax, "wealth")):
        values = [getattr(v, attr) for v in view.villagers]
        for style, ys in groups.items():  # one call per kind: far fewer artists to draw
            xs = [values[y] for y in ys]
            ax.barh(ys, xs, color=style.color, hatch=style.hatch, edgecolor=P.BLACK, lw=1,
                    label=style.label)
            ax.plot(xs, ys, marker=style.marker, color=P.BLACK, ms=P.MARKER_SIZE - 2, ls="none")
    efforts = [v.effort for v in view.villagers]
    wealths = [v.wealth for v in view.villagers]
    # Fixed left edges at zero (a round-0 view has all-zero bars, which matplotlib would centre).
    effort_top = view.effort_max if view.effort_max is not None else max([1.0, *efforts])
    effort_ax.set_xlim(0, effort_top * 1.05)
    wealth_ax.set_xlim(min([0.0, *wealths]) * 1.05, max([1.0, *wealths]) * 1.05)
    effort_ax.set_yticks(range(n), [v.label for v in view.villagers])
    effort_ax.set_ylim(n - 0.5, -0.5)
    wealth_ax.axvline(0, color=P.BLACK, lw=1)
    _style(effort_ax, view.effort_label,
           "share of full effort" if view.effort_max == 1.0 else view.resource)
    _style(wealth_ax, view.wealth_label, view.resource)
    fig.legend(handles=_kind_legend(view), loc="lower center", ncols=3,
               fontsize=P.FONT["legend"], frameon=False)
    return fig


def punishment_figure(view: RoundView) -> Figure:
    """Villagers on a circle; an arrow from each punisher to the villager it punished."""
    fig = _figure((FIGSIZE[0] * 0.8, FIGSIZE[1]), left=0.02, right=0.98, top=0.9, bottom=0.1)
    ax = fig.add_subplot()
    ax.set_aspect("equal")
    ax.axis("off")
    n = max(1, len(view.villagers))
    where = {}
    for i, v in enumerate(view.villagers):
        angle = math.pi / 2 - 2 * math.pi * i / n
        where[v.id] = (math.cos(angle), math.sin(angle))
    for punisher, target in view.punishments:
        if punisher in where and target in where:
            (x0, y0), (x1, y1) = where[punisher], where[target]
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                        arrowprops=dict(arrowstyle="-|>", color=P.PUNISH_ARROW, lw=2.5,
                                        mutation_scale=22, shrinkA=14, shrinkB=14))
    for v in view.villagers:
        style = P.kind_style(v.kind, v.alive)
        x, y = where[v.id]
        ax.plot([x], [y], marker=style.marker, color=style.color, ms=P.MARKER_SIZE + 9,
                mec=P.BLACK, mew=1.5, ls="none")
        ax.text(x * 1.3, y * 1.3, v.label, ha="center", va="center",
                fontsize=P.FONT["annotation"])
    ax.set_xlim(-1.55, 1.55)
    ax.set_ylim(-1.5, 1.5)
    count = len(view.punishments)
    if not view.punishment_on:
        title = view.no_punishment
    elif view.round == 0:
        title = "Who punished whom (no round yet)"
    else:
        title = f"Round {view.round}: {count} punishment{'s' if count != 1 else ''}"
    ax.set_title(title, fontsize=P.FONT["title"], loc="left")
    handles = [Line2D([], [], marker=s.marker, color=s.color, mec=P.BLACK, ls="none",
                      ms=P.MARKER_SIZE + 2, label=s.label) for s in _styles_present(view)]
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, -0.12), ncols=3,
              fontsize=P.FONT["legend"], frameon=False)
    return fig

