"""The papers' figures, drawn from tidy tables with matplotlib and seaborn.

Figures are built as ``matplotlib.figure.Figure`` objects without pyplot, so no GUI backend and
no global figure state is involved (the Agg canvas writes the PNG). Each function draws what it
is given: statistics are computed in ``analysis.stats`` and passed in, so the numbers in a figure
and in the report's tables are the same numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from analysis.load import ABLATION_LABEL

DPI = 110
PALETTE = "colorblind"
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINESTYLES = ["-", "--", "-.", ":"]


def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path


def _levels(series: pd.Series) -> list:
    """Levels in their categorical order (only those present), else sorted."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(series.dropna().unique())
        return [c for c in series.cat.categories if c in present]
    return sorted(series.dropna().unique(), key=str)


def _label(level) -> str:
    return ABLATION_LABEL.get(level, str(level)) if isinstance(level, str) else str(level)


def _colors(levels: list) -> dict:
    return dict(zip(levels, sns.color_palette(PALETTE, max(len(levels), 1))))


# ---------------------------------------------------------------------------------------------
# Bars with s.e.m. and compact letters (survival per model and condition; ablations)


def grouped_bars(stats: pd.DataFrame, *, x: str, hue: str | None, panel: str | None,
                 letters: Mapping[tuple, str] | None = None, letters_per_bar: bool = False,
                 ylabel: str = "survival time (rounds)", title: str = "",
                 ylim_top: float | None = None) -> Figure:
    """Mean bars with s.e.m. error bars, one panel per level of ``panel``.

    ``stats`` is ``analysis.stats.describe`` output. ``letters`` maps (panel level, x level) to
    the compact letters of that x group (written above the group), or with ``letters_per_bar``
    (panel level, x level, hue level) to each bar's letters.
    """
    panels = _levels(stats[panel]) if panel else [None]
    xs = _levels(stats[x])
    hues = _levels(stats[hue]) if hue else [None]
    colors = _colors(hues)
    width_per_panel = min(12.0, max(3.6, 1.0 + 0.32 * len(xs) * max(len(hues), 1.6)))
    fig = new_figure(width_per_panel * len(panels), 3.8)
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    bar_w = 0.8 / len(hues)
    top_all = float(np.nanmax(stats["mean"] + stats["sem"].fillna(0))) if len(stats) else 1.0
    pad = 0.03 * (ylim_top or top_all or 1.0)
    for ax, p in zip(axes, panels):
        sub = stats if p is None else stats[stats[panel] == p]
        for j, h in enumerate(hues):
            for i, xv in enumerate(xs):
                rec = sub[(sub[x] == xv) & ((sub[hue] == h) if hue else True)]
                if rec.empty:
                    continue
                mean, sem = float(rec["mean"].iloc[0]), float(rec["sem"].fillna(0).iloc[0])
                pos = i - 0.4 + bar_w * (j + 0.5)
                ax.bar(pos, mean, bar_w * 0.92, color=colors[h], edgecolor="black", linewidth=0.4,
                       label=_label(h))
                ax.errorbar(pos, mean, yerr=sem, color="black", capsize=2.5, linewidth=0.9)
                if letters and letters_per_bar and (p, xv, h) in letters:
                    ax.text(pos, mean + sem + pad, letters[(p, xv, h)], ha="center", va="bottom",
                            fontsize=7)
        if letters and not letters_per_bar:
            for i, xv in enumerate(xs):
                if (p, xv) not in letters:
                    continue
                rec = sub[sub[x] == xv]
                top = float((rec["mean"] + rec["sem"].fillna(0)).max())
                ax.text(i, top + pad, letters[(p, xv)], ha="center", va="bottom", fontsize=10,
                        fontweight="bold")
        ax.set_xticks(range(len(xs)), [_label(v) for v in xs],
                      rotation=30 if max(len(_label(v)) for v in xs) > 6 else 0,
                      ha="right" if max(len(_label(v)) for v in xs) > 6 else "center")
        ax.set_xlabel(x.replace("_", " "))
        ax.set_title(f"{panel}: {p}" if panel else title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    axes[0].set_ylabel(ylabel)
    ymax = ylim_top or top_all
    axes[0].set_ylim(0, ymax * 1.15 + pad)
    if hue and len(hues) > 1:
        handles, labels = [], []
        for ax in axes:
            for hnd, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(hnd)
                    labels.append(lab)
        order = [labels.index(_label(h)) for h in hues if _label(h) in labels]
        fig.legend([handles[k] for k in order], [labels[k] for k in order], title=hue,
                   loc="outside right center", fontsize=8, title_fontsize=8)
    if title and panel:
        fig.suptitle(title, fontsize=11)
    return fig


# ---------------------------------------------------------------------------------------------
# Trajectories with s.e.m. bands


def _grid(fig: Figure, n: int, ncols: int, **kw):
    """``n`` axes wrapped into rows of ``ncols``; unused cells are hidden."""
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw).flatten()
    for ax in axes[n:]:
        ax.set_visible(False)
    return axes[:n], nrows, ncols


def trajectories(traj: pd.DataFrame, *, ylabel: str, row: str, col: str | None,
                 hue: str | None, reference: float | None = None, title: str = "",
                 ncols: int = 4) -> Figure:
    """Mean ± s.e.m. band per round, one panel per (row, col) level pair, one line per hue level.

    Panels run row level by row level and wrap after ``ncols``. ``traj`` has the columns Round,
    mean, sem, n and the grouping columns (``analysis.stats.trajectory``).
    """
    rows = _levels(traj[row]) if row else [None]
    cols = _levels(traj[col]) if col else [None]
    hues = _levels(traj[hue]) if hue else [None]
    colors = _colors(hues)
    panels = [(rv, cv) for rv in rows for cv in cols
              if not traj[((traj[row] == rv) if row else True)
                          & ((traj[col] == cv) if col else True)].empty]
    n_cols = max(1, min(ncols, len(panels)))
    n_rows = -(-len(panels) // n_cols)
    fig = new_figure(3.3 * n_cols + 1.3, 2.6 * n_rows + 0.5)
    axes, _, _ = _grid(fig, len(panels), ncols, sharex=True, sharey=True)
    for k, (ax, (rv, cv)) in enumerate(zip(axes, panels)):
        sub = traj
        if row:
            sub = sub[sub[row] == rv]
        if col:
            sub = sub[sub[col] == cv]
        for h in hues:
            line = sub[sub[hue] == h] if hue else sub
            if line.empty:
                continue
            line = line.sort_values("Round")
            sem = line["sem"].fillna(0).to_numpy()
            ax.plot(line["Round"], line["mean"], color=colors[h], linewidth=1.3,
                    label=_label(h) if h is not None else None)
            ax.fill_between(line["Round"], line["mean"] - sem, line["mean"] + sem,
                            color=colors[h], alpha=0.22, linewidth=0)
        if reference is not None:
            ax.axhline(reference, color="grey", linestyle="--", linewidth=0.8)
        ax.set_title(" · ".join(str(v) for v in (rv, cv) if v is not None), fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelbottom=True)
        if k % n_cols == 0:
            ax.set_ylabel(ylabel)
        if k >= len(panels) - n_cols:
            ax.set_xlabel("round")
    _figure_legend(fig, axes, hue if hue and len(hues) > 1 else None)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def _figure_legend(fig: Figure, axes, title: str | None) -> None:
    """One legend for the figure, with each label once, right of the panels."""
    if title is None:
        return
    handles, labels = [], []
    for ax in axes:
        for hnd, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(hnd)
                labels.append(lab)
    if handles:
        fig.legend(handles, labels, title=title, loc="outside right center", fontsize=8,
                   title_fontsize=8)


# ---------------------------------------------------------------------------------------------
# S_ind vs S_align


def norm_scatter(runs: pd.DataFrame, *, panel: str | None = "environment") -> Figure:
    """End-of-run S_ind (homogeneity) against S_align (alignment), coloured by model."""
    data = runs.dropna(subset=["final_s_ind", "final_s_align"])
    panels = _levels(data[panel]) if panel and data[panel].nunique() > 1 else [None]
    models = _levels(data["model"])
    pops = _levels(data["population"]) if "population" in data else []
    colors = _colors(models)
    fig = new_figure(4.2 * len(panels) + 1.6, 4.0)
    axes = fig.subplots(1, len(panels), squeeze=False, sharex=True, sharey=True)[0]
    for ax, p in zip(axes, panels):
        sub = data if p is None else data[data[panel] == p]
        for m in models:
            for k, pop in enumerate(pops or [None]):
                pts = sub[(sub["model"] == m) & ((sub["population"] == pop) if pop else True)]
                if pts.empty:
                    continue
                ax.scatter(pts["final_s_ind"], pts["final_s_align"], color=colors[m],
                           marker=MARKERS[k % len(MARKERS)], s=28, alpha=0.8, edgecolor="black",
                           linewidth=0.3)
        ax.set_xlabel("S_ind (homogeneity)")
        ax.set_title(f"{panel}: {p}" if p is not None else "end of run", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("S_align (alignment with the group norm)")
    # Two legends: colour = model, marker = population.
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", linestyle="", color=colors[m], label=str(m))
               for m in models]
    handles += [Line2D([], [], marker=MARKERS[k % len(MARKERS)], linestyle="", color="grey",
                       label=str(pop)) for k, pop in enumerate(pops)]
    fig.legend(handles=handles, loc="outside right center", fontsize=8, title="model / population",
               title_fontsize=8)
    return fig


# ---------------------------------------------------------------------------------------------
# GovSim: Kaplan-Meier survival


def km_curves(curves: Mapping[tuple, "object"], *, horizon: Mapping | float, panel_names: list,
              title: str = "", ncols: int = 3) -> Figure:
    """Kaplan-Meier survival curves, one panel per variant/setting, one line per model.

    ``curves`` maps (panel, model) to a statsmodels ``SurvfuncRight``; the step function starts
    at 1 at month 0 and runs to the panel's ``horizon`` (a number, or one per panel), with a
    ±1 s.e. (Greenwood) band.
    """
    models = sorted({m for _, m in curves}, key=str)
    colors = _colors(models)
    n_cols = max(1, min(ncols, len(panel_names)))
    n_rows = -(-len(panel_names) // n_cols)
    fig = new_figure(4.0 * n_cols + 1.6, 3.1 * n_rows + 0.5)
    axes, _, _ = _grid(fig, len(panel_names), ncols, sharey=True)
    for k, (ax, p) in enumerate(zip(axes, panel_names)):
        end = float(horizon[p] if isinstance(horizon, Mapping) else horizon)
        for m in models:
            sf = curves.get((p, m))
            if sf is None:
                continue
            t = np.concatenate([[0.0], np.asarray(sf.surv_times, float), [end]])
            s = np.concatenate([[1.0], np.asarray(sf.surv_prob, float),
                                [sf.surv_prob[-1] if len(sf.surv_prob) else 1.0]])
            se = np.concatenate([[0.0], np.asarray(sf.surv_prob_se, float),
                                 [sf.surv_prob_se[-1] if len(sf.surv_prob_se) else 0.0]])
            # Greenwood's s.e. is undefined once S reaches 0; a NaN would hide the whole band.
            se = np.nan_to_num(se, nan=0.0)
            # Curves often coincide (every run of several models survives): earlier models are
            # drawn wider and each has its own dash pattern, so none hides another.
            i = models.index(m)
            ax.step(t, s, where="post", color=colors[m], label=str(m),
                    linewidth=1.4 + 1.6 * (len(models) - 1 - i) / max(len(models) - 1, 1),
                    linestyle=LINESTYLES[i % len(LINESTYLES)])
            ax.fill_between(t, np.clip(s - se, 0, 1), np.clip(s + se, 0, 1), step="post",
                            color=colors[m], alpha=0.18, linewidth=0)
        ax.set_xlim(0, end)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(-0.02, 1.05)
        ax.set_xlabel("month")
        ax.set_title(str(p), fontsize=10)
        ax.grid(alpha=0.3)
        ax.tick_params(labelleft=True)
        if k % n_cols == 0:
            ax.set_ylabel("P(society survives)")
    _figure_legend(fig, axes, "model")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
