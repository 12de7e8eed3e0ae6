"""Figures of the live page, drawn from a ``RoundView`` (no Solara here, so they test alone).

Each function returns a ``matplotlib.figure.Figure`` built without pyplot: the page draws from
several threads, and pyplot's global state is not safe there. Sizes are set on every text
element rather than through ``rcParams`` for the same reason.

Figures are drawn at the pixel size the page shows them at on a 1280 px wide projector
(``P.FIG_DPI`` pixels per inch, shown unscaled or larger), so ``P.FONT`` is what the class reads.
Legends sit beside the axes or are replaced by labels at the lines' ends, never on the data.
"""

from __future__ import annotations

import io
import math

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from viz import palette as P
from viz.snapshot import RoundView

# Inches at P.FIG_DPI: the widths of the class tab's two columns at 1280 px, and a row's height.
WIDE = 7.0
NARROW = 5.0
ROW = 2.4
VILLAGER_ROW_IN = 0.24  # height per villager in the villagers figure; the panel scrolls


def _figure(width: float, height: float, **margins_px) -> Figure:
    """A figure with fixed margins given in pixels, so they hold at any figure size (an
    automatic layout engine doubles the cost of drawing, and the page redraws every round)."""
    fig = Figure(figsize=(width, height), dpi=P.FIG_DPI)
    w, h = width * P.FIG_DPI, height * P.FIG_DPI
    m = {"left": 70, "right": 12, "top": 34, "bottom": 44, **margins_px}
    fig.subplots_adjust(left=m["left"] / w, right=1 - m["right"] / w, top=1 - m["top"] / h,
                        bottom=m["bottom"] / h)
    return fig


def _style(ax, title: str = "", xlabel: str = "", ylabel: str = "") -> None:
    if title:
        ax.set_title(title, fontsize=P.FONT["title"], loc="left")
    ax.set_xlabel(xlabel, fontsize=P.FONT["label"])
    ax.set_ylabel(ylabel, fontsize=P.FONT["label"])
    ax.tick_params(labelsize=P.FONT["tick"])
    ax.spines[["top", "right"]].set_visible(False)


def _round_axis(ax, view: RoundView) -> None:
    ax.set_xlim(0, max(10, view.round + 1))
    ax.xaxis.get_major_locator().set_params(integer=True)


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes (the page's "download PNG" buttons)."""
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return buffer.getvalue()


def lake_figure(view: RoundView) -> Figure:
    """The stock per round against its collapse threshold and capacity, labelled at the right."""
    fig = _figure(WIDE, ROW, right=118, left=62, bottom=50)
    ax = fig.add_subplot()
    small = len(view.stock) < 40  # markers only while they do not crowd the line
    ax.plot(range(len(view.stock)), view.stock, color=P.STOCK, lw=P.LINE_WIDTH,
            marker="o", ms=P.MARKER_SIZE - 4 if small else 0)
    ax.axhline(view.threshold, color=P.THRESHOLD, lw=P.LINE_WIDTH, ls="--")
    ax.axhline(view.capacity, color=P.CAPACITY, lw=2, ls=":")
    ax.set_ylim(0, view.capacity * 1.08)
    _round_axis(ax, view)
    # Labels in the right margin, at the height of the line they name, pushed apart so that
    # they never overlap (the stock ends near the threshold when the lake is nearly empty).
    labels = [(view.threshold, f"collapse {view.threshold:g}", P.THRESHOLD, "normal"),
              (view.capacity, f"capacity {view.capacity:g}", P.BLACK, "normal")]
    if view.stock:
        labels.append((view.current_stock, "stock", P.STOCK, "bold"))
    labels.sort(key=lambda item: item[0])
    axes_px = (fig.subplotpars.top - fig.subplotpars.bottom) * fig.get_figheight() * P.FIG_DPI
    gap = 17 * view.capacity * 1.08 / axes_px  # 17 px in data units
    placed: list[float] = []
    for y, text, color, weight in labels:
        y = max(y, placed[-1] + gap) if placed else y
        placed.append(y)
        ax.text(1.02, y, text, transform=ax.get_yaxis_transform(), va="center", ha="left",
                color=color, fontsize=P.FONT["annotation"], fontweight=weight, clip_on=False)
    _style(ax, f"{view.stock_label}: {view.current_stock:.1f} {view.stock_unit}",
           view.round_word, view.stock_unit)
    return fig


def survival_text(view: RoundView) -> str:
    word = view.round_word
    if view.collapse_reason == "stock":
        return f"collapsed in {word} {view.survival_time}"
    if view.collapse_reason == "overfull":
        return f"overflowed in {word} {view.survival_time}"
    if view.collapse_reason == "death":
        return f"a villager starved in {word} {view.survival_time}"
    if view.collapse_reason:
        return f"ended in {word} {view.survival_time} ({view.collapse_reason})"
    if not view.running:
        return f"survived all {view.survival_time} {word}s"
    return f"survived {view.round} {word}{'s' if view.round != 1 else ''} so far"


def _styles_present(view: RoundView) -> list[P.KindStyle]:
    present = {P.kind_style(v.kind, v.alive) for v in view.villagers}
    return [s for s in (*P.KIND_STYLES.values(), P.DEAD) if s in present]


def _kind_legend(view: RoundView) -> list:
    return [Patch(facecolor=s.color, edgecolor=P.BLACK, hatch=s.hatch, label=s.label)
            for s in _styles_present(view)]


def villagers_height(n: int) -> float:
    """Inches: the class row's height, or more for many villagers (the panel then scrolls)."""
    return max(ROW, 0.95 + VILLAGER_ROW_IN * n)


def villagers_figure(view: RoundView) -> Figure:
    """Each villager's effort this round and wealth so far; kind shown by colour and hatch,
    its legend above the bars."""
    n = len(view.villagers)
    longest = max((len(v.label) for v in view.villagers), default=2)
    fig = _figure(WIDE, villagers_height(n), left=20 + 10 * longest, top=58, bottom=50, right=14)
    fig.subplots_adjust(wspace=0.1)
    effort_ax, wealth_ax = fig.subplots(1, 2, sharey=True)
    groups: dict[P.KindStyle, list[int]] = {}
    for y, v in enumerate(view.villagers):
        groups.setdefault(P.kind_style(v.kind, v.alive), []).append(y)
    for ax, attr in ((effort_ax, "effort"), (wealth_ax, "wealth")):
        values = [getattr(v, attr) for v in view.villagers]
        for style, ys in groups.items():  # one call per kind: far fewer artists to draw
            xs = [values[y] for y in ys]
            ax.barh(ys, xs, color=style.color, hatch=style.hatch, edgecolor=P.BLACK, lw=1,
                    label=style.label, height=0.75)
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
    for ax in (effort_ax, wealth_ax):
        ax.xaxis.get_major_locator().set_params(nbins=4)
    top = 1 - 4 / (fig.get_figheight() * P.FIG_DPI)
    # Top left: the top right corner holds the panel's PNG button.
    fig.legend(handles=_kind_legend(view), loc="upper left", bbox_to_anchor=(0.01, top),
               ncols=4, fontsize=P.FONT["legend"], frameon=False, handlelength=1.4,
               columnspacing=1.0, borderaxespad=0)
    return fig


def punishment_figure(view: RoundView) -> Figure:
    """Villagers on a circle; an arrow from each punisher to the villager it punished. The
    kinds' legend stands to the circle's right."""
    fig = _figure(NARROW, ROW, left=4, right=4, top=34, bottom=4)
    ax = fig.add_axes((0.0, 0.0, 0.66, 1 - 36 / (ROW * P.FIG_DPI)))
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
                        arrowprops=dict(arrowstyle="-|>", color=P.PUNISH_ARROW, lw=2.2,
                                        mutation_scale=20, shrinkA=11, shrinkB=11))
    marker = P.MARKER_SIZE + (6 if n <= 10 else 2)
    for v in view.villagers:
        style = P.kind_style(v.kind, v.alive)
        x, y = where[v.id]
        ax.plot([x], [y], marker=style.marker, color=style.color, ms=marker,
                mec=P.BLACK, mew=1.5, ls="none")
        ax.text(x * 1.32, y * 1.22, v.label, ha="center", va="center",
                fontsize=P.FONT["annotation"])
    ax.set_xlim(-1.6, 1.6)
    ax.set_ylim(-1.4, 1.4)
    count = len(view.punishments)
    if not view.punishment_on:
        title = view.no_punishment
    elif view.round == 0:
        title = "Who fined whom (no round yet)"
    else:
        title = f"Who fined whom in round {view.round}: {count} fine{'s' if count != 1 else ''}"
    fig.suptitle(title, fontsize=P.FONT["title"], x=0.02, y=1 - 6 / (ROW * P.FIG_DPI),
                 ha="left", va="top")
    handles = [Line2D([], [], marker=s.marker, color=s.color, mec=P.BLACK, ls="none",
                      ms=P.MARKER_SIZE, label=s.label) for s in _styles_present(view)]
    handles.append(Line2D([], [], color=P.PUNISH_ARROW, lw=2.2, label="fined"))
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(0.67, 0.45),
               fontsize=P.FONT["legend"], frameon=False, handlelength=1.4)
    return fig


def history_figure(view: RoundView) -> Figure:
    """The run so far: harvest efficiency against the sustainable maximum, the share of
    villagers within the norm, the adopted cap, and the fines handed out, per round."""
    panels = [("efficiency", "harvest / best")]
    if view.compliance:
        panels.append(("compliance", "% within"))
    panels.append(("caps", "cap"))
    if view.punish_counts:
        panels.append(("punish_counts", "fines"))
    height = 0.7 + 1.35 * len(panels)
    fig = _figure(WIDE * 1.6, height, left=92, right=190, top=16, bottom=50)
    fig.subplots_adjust(hspace=0.35)
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    rounds = list(range(1, view.round + 1))
    right = None
    for ax, (name, ylabel) in zip(axes, panels):
        right = ax.get_yaxis_transform()
        if name == "efficiency":
            values = list(view.efficiency[1:view.round + 1])
            ax.plot(rounds, values, color=P.EFFICIENCY, lw=P.LINE_WIDTH)
            ax.axhline(1.0, color=P.BLACK, lw=1.5, ls=":")
            finite = [v for v in values if not math.isnan(v)]
            ax.set_ylim(0, max([1.3, *finite]) * 1.1)
            ax.text(1.01, 1.0, "sustainable\nmaximum (1)", transform=right, va="center",
                    fontsize=P.FONT["annotation"])
            ax.text(1.01, 1.0, "efficiency", transform=ax.transAxes, color=P.EFFICIENCY,
                    fontsize=P.FONT["annotation"], fontweight="bold", va="top")
        elif name == "compliance":
            values = [100 * v for v in view.compliance[:view.round]]
            ax.plot(rounds, values, color=P.BLUE, lw=P.LINE_WIDTH)
            ax.set_ylim(0, 105)
            ax.text(1.01, 0.5, "kept the norm", transform=ax.transAxes, color=P.BLUE,
                    fontsize=P.FONT["annotation"], fontweight="bold", va="center")
        elif name == "caps":
            values = list(view.caps[:view.round])
            ax.step(rounds, values, where="mid", color=P.REDDISH_PURPLE, lw=P.LINE_WIDTH)
            finite = [v for v in values if not math.isnan(v)]
            ax.set_ylim(0, max([1.0, *finite]) * 1.2)
            note = "adopted cap" if finite else "no numeric cap yet"
            ax.text(1.01, 0.5, f"{note}\n({view.resource} each)", transform=ax.transAxes,
                    color=P.REDDISH_PURPLE, fontsize=P.FONT["annotation"], fontweight="bold",
                    va="center")
        else:
            values = list(view.punish_counts[:view.round])
            ax.bar(rounds, values, color=P.GREY, edgecolor=P.BLACK, width=0.8)
            ax.set_ylim(0, max([1.0, *values]) * 1.2)
            ax.yaxis.get_major_locator().set_params(integer=True)
            ax.text(1.01, 0.5, "fines", transform=ax.transAxes, fontsize=P.FONT["annotation"],
                    fontweight="bold", va="center")
        _style(ax, "", "", ylabel)
        ax.yaxis.get_major_locator().set_params(nbins=3)
    axes[-1].set_xlabel(view.round_word, fontsize=P.FONT["label"])
    _round_axis(axes[-1], view)
    return fig


def smallest_font(fig: Figure) -> float:
    """The smallest text size in points among the figure's visible text (tests check it)."""
    from matplotlib.text import Text

    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]
    return min(sizes) if sizes else float("inf")
