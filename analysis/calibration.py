"""Calibration of the values Gupta et al. leave open, so the rule-based engine reproduces the
three human-study findings (see ``analysis.validation``).

The search runs with the model's mechanisms as configured in the defaults (deterrence and caps
that follow the stock on; model/config.py, LearningConfig): without them no point makes
finding (b) hold, since a larger fine then only kills sooner.

Unspecified in the paper (reference notes, section 2.3): catchability alpha, consumption c,
initial wealth P(0), collapse threshold R_min, selection strength delta, revision probability,
mutation size and the payoff smoothing. Each gets a documented range and a grid inside it
(``PARAMETERS``). The search is a coordinate search: start at ``START`` (alpha = 0.05 and round
values), then, parameter by parameter, run every grid value with the others held, keep the best,
and sweep again until a sweep changes nothing (or ``sweeps`` is reached).

Each point is scored on a reduced design of the three findings, with seeds disjoint from the
validation's (``SEED0``), so the validation is not fitted to its own seeds:

* (a) beta 10 and 14, punishment kept on vs switched off after round 15: paired t of the
  post-switch cooperation and stock (4 statistics);
* (b) beta 2, 10, 18 at r = 0.3, 0.5, 0.7: Fisher z of the Spearman correlation between beta
  and survival at each r (3 statistics);
* (c) harsh A > M, A > S; rich S > A, M > S, M > A: Welch z of the survival differences
  (5 statistics).

A criterion is met when its statistic exceeds ``Z_MET`` (about p < 0.025, one-sided). The score
is the number of criteria met plus the mean of the statistics clipped to [-3, 3] / 10, so more
criteria always win and margins break ties. Every value tried is printed with its scores.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from model.config import RunConfig

SEED0 = 100_000  # calibration seeds; the validation uses 0..runs-1
Z_MET = 2.0


@dataclass(frozen=True)
class Parameter:
    key: str  # dotted config key
    symbol: str
    low: float
    high: float
    grid: tuple[float, ...]
    why: str


PARAMETERS = (
    Parameter("norms.catchability", "alpha", 0.03, 0.08,
              (0.05, 0.055, 0.06, 0.0625, 0.065, 0.0675, 0.07),
              "catch per unit effort and fish; 0.05 makes the initial beliefs match the "
              "initial efforts at R = K (reference 2.3); an all-selfish village holds a rich "
              "lake at R* = K (1 - 8.5 alpha / r), 34 fish at alpha = 0.0625"),
    Parameter("norms.consumption", "c", 0.5, 8.0, (1.0, 1.4, 1.8, 2.2, 3.0),
              "fish eaten per round; below the harsh lake's sustainable share rK/4N = 1.5 "
              "would let altruists live on a harsh lake for ever"),
    Parameter("norms.initial_wealth", "P(0)", 0.0, 80.0, (10.0, 12.5, 15.0, 17.5, 20.0),
              "endowment: how many fines or lean rounds a new villager survives"),
    Parameter("norms.collapse_threshold", "R_min", 0.0, 30.0, (6.0, 12.0, 15.0, 18.0, 21.0, 24.0),
              "stock at or below which the lake counts as collapsed (0-10 % of K)"),
    Parameter("learning.selection_strength", "delta", 0.01, 10.0,
              (0.01, 0.02, 0.04, 0.1, 0.3, 1.0),
              "Fermi selection strength per fish of smoothed payoff"),
    Parameter("learning.revision_prob", "revision", 0.05, 0.6, (0.1, 0.15, 0.2, 0.3, 0.45),
              "chance a villager meets a peer and may copy it each round"),
    Parameter("learning.mutation_sd", "sigma", 0.0, 0.15, (0.03, 0.06, 0.09, 0.12, 0.15),
              "s.d. of the copying error, in units of each trait's range"),
    Parameter("learning.payoff_smoothing", "w", 0.1, 1.0, (0.2, 0.4, 0.6, 0.8, 1.0),
              "weight of the newest round in the smoothed payoff"),
)

START = {"norms.catchability": 0.05, "norms.consumption": 3.0, "norms.initial_wealth": 10.0,
         "norms.collapse_threshold": 3.0, "learning.selection_strength": 1.0,
         "learning.revision_prob": 0.2, "learning.mutation_sd": 0.05,
         "learning.payoff_smoothing": 0.5}

# The reduced design each point is scored on.
A_PENALTIES = (10.0, 14.0)
B_PENALTIES = (2.0, 10.0, 18.0)
B_GROWTH = (0.3, 0.5, 0.7)
C_ORDER = (("harsh", "altruistic", "mixed"), ("harsh", "altruistic", "selfish"),
           ("rich", "selfish", "altruistic"), ("rich", "mixed", "selfish"),
           ("rich", "mixed", "altruistic"))
CRITERIA = (*(f"a_{m}_{b:g}" for b in A_PENALTIES for m in ("coop", "stock")),
            *(f"b_r{r:g}" for r in B_GROWTH),
            *(f"c_{env}_{hi[0].upper()}>{lo[0].upper()}" for env, hi, lo in C_ORDER))


def _point_configs(tag: str, base: RunConfig) -> tuple[list[RunConfig], list[RunConfig]]:
    """(survival configs for b and c, trajectory configs for a) of one point."""
    from analysis import validation as v

    surv = [dataclasses.replace(base.replace(**{
        "norms.penalty": b, "norms.growth_rate": r, "norms.population": v.B_POPULATION}),
        name=f"{tag}|b|{b:g}|{r:g}") for b in B_PENALTIES for r in B_GROWTH]
    surv += [dataclasses.replace(base.replace(**{
        "norms.population": p, "norms.environment": e, "norms.growth_rate": None}),
        name=f"{tag}|c|{p}|{e}") for p in v.C_POPULATIONS for e in v.C_ENVIRONMENTS]
    traj = [dataclasses.replace(c, name=f"{tag}|{c.name}") for c in v.a_configs(base)
            if c.norms.penalty in A_PENALTIES]
    return surv, traj


def _welch_z(x: np.ndarray, y: np.ndarray) -> float:
    se = math.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y))
    diff = x.mean() - y.mean()
    return diff / se if se > 0 else (0.0 if diff == 0 else math.copysign(10.0, diff))


def _paired_t(d: np.ndarray) -> float:
    d = d[~np.isnan(d)]
    if len(d) < 2:
        return float("nan")
    sd = d.std(ddof=1)
    return d.mean() / (sd / math.sqrt(len(d))) if sd > 0 else (0.0 if d.mean() == 0 else
                                                               math.copysign(10.0, d.mean()))


def evaluate(points: Sequence[dict], runs: int = 30, *, base: RunConfig | None = None,
             seed0: int = SEED0, processes: int | None = None) -> pd.DataFrame:
    """Statistics of every criterion for each point (dotted overrides), one row per point."""
    from scipy import stats

    from analysis import validation as v

    base = base or v.base_config()
    surv, traj = [], []
    for i, point in enumerate(points):
        s, t = _point_configs(f"p{i}", base.replace(**point))
        surv += s
        traj += t
    seeds = list(range(seed0, seed0 + runs))
    raw_s = v.batch(surv, seeds, processes=processes)
    raw_t = v.batch(traj, seeds, every_round=True, model_cls=v.TrajectoryModel,
                    processes=processes)
    raw_s["point"] = raw_s["condition"].str.split("|").str[0]
    raw_t["point"] = raw_t["condition"].str.split("|").str[0]
    raw_t["condition"] = raw_t["condition"].str.split("|", n=1).str[1]
    rows = []
    for i, point in enumerate(points):
        tag = f"p{i}"
        row: dict[str, Any] = dict(point)
        # (a)
        frame = v.a_frame(raw_t[raw_t["point"] == tag])
        after = frame[frame["round"] > v.SWITCH_OFF_AFTER]
        per_run = after.groupby(["penalty", "punishment", "seed"])[["cooperation", "stock"]].mean()
        for beta in A_PENALTIES:
            for metric, name in (("cooperation", "coop"), ("stock", "stock")):
                on = per_run.loc[(beta, "kept on")][metric]
                off = per_run.loc[(beta, "switched off")][metric]
                row[f"a_{name}_{beta:g}"] = _paired_t((on - off.reindex(on.index)).to_numpy())
        # (b) and (c)
        sub = raw_s[raw_s["point"] == tag]
        parts = sub["condition"].str.split("|")
        surv_time = sub["SurvivalTime"].astype(float).to_numpy()
        kind = parts.str[1].to_numpy()
        b_mask = kind == "b"
        beta = parts[b_mask].str[2].astype(float).to_numpy()
        growth = parts[b_mask].str[3].astype(float).to_numpy()
        for r in B_GROWTH:
            m = np.isclose(growth, r)
            x, y = beta[m], surv_time[b_mask][m]
            rho = stats.spearmanr(x, y).statistic if np.ptp(y) > 0 else 0.0
            row[f"b_r{r:g}"] = float(np.arctanh(np.clip(rho, -0.999, 0.999)) * math.sqrt(len(y) - 3))
        c_mask = kind == "c"
        pop = parts[c_mask].str[2].to_numpy()
        env = parts[c_mask].str[3].to_numpy()
        cs = surv_time[c_mask]
        means = {}
        for e, hi, lo in C_ORDER:
            x, y = cs[(env == e) & (pop == hi)], cs[(env == e) & (pop == lo)]
            row[f"c_{e}_{hi[0].upper()}>{lo[0].upper()}"] = _welch_z(x, y)
        for e in v.C_ENVIRONMENTS:
            for p in v.C_POPULATIONS:
                means[f"T_{e[0]}{p[0].upper()}"] = float(cs[(env == e) & (pop == p)].mean())
        row |= means
        row["mean_rounds"] = float(surv_time.mean())
        rows.append(row)
    out = pd.DataFrame(rows)
    stats_ = out[list(CRITERIA)].astype(float)
    out["met"] = (stats_ > Z_MET).sum(axis=1)
    out["score"] = out["met"] + stats_.clip(-3, 3).fillna(-3).mean(axis=1) / 10
    return out


@dataclass
class CalibrationResult:
    chosen: dict
    chosen_scores: pd.Series
    trials: pd.DataFrame  # every value tried: sweep, parameter, value, scores
    seconds: float


def calibrate(runs: int = 30, *, sweeps: int = 2, start: dict | None = None,
              parameters: Sequence[Parameter] = PARAMETERS, processes: int | None = None,
              base: RunConfig | None = None, echo: Callable[[str], None] = print
              ) -> CalibrationResult:
    """Coordinate search from ``start`` over each parameter's grid; prints the evidence."""
    t0 = time.perf_counter()
    current = dict(start or START)
    trials = []
    best_row = None
    echo(f"criteria (met when the statistic > {Z_MET}): " + ", ".join(CRITERIA))
    echo(f"{runs} runs per condition, seeds {SEED0}..{SEED0 + runs - 1}")
    for sweep in range(1, sweeps + 1):
        changed = False
        for param in parameters:
            values = sorted(set(param.grid) | {current[param.key]})
            points = [{**current, param.key: val} for val in values]
            scored = evaluate(points, runs, base=base, processes=processes)
            scored.insert(0, "value", values)
            scored.insert(0, "parameter", param.symbol)
            scored.insert(0, "sweep", sweep)
            trials.append(scored)
            best = scored.loc[scored["score"].idxmax()]
            # Keep the current value on a tie: a change must earn its place.
            cur = scored[np.isclose(scored["value"], current[param.key])].iloc[0]
            if best["score"] > cur["score"] + 1e-9:
                current[param.key] = float(best["value"])
                changed = True
                best_row = best
            else:
                best_row = cur
            echo(f"sweep {sweep} {param.symbol:>9}: " + "  ".join(
                f"{v:g}:{m:d}/{len(CRITERIA)} ({s:.2f})" for v, m, s in
                zip(scored["value"], scored["met"], scored["score"]))
                 + f"  -> {current[param.key]:g}")
        if not changed:
            break
    trials = pd.concat(trials, ignore_index=True)
    return CalibrationResult(current, best_row, trials, time.perf_counter() - t0)


def start_point(which: str = "paper") -> dict:
    """'paper': alpha = 0.05 and round values; 'defaults': the current config defaults."""
    if which == "paper":
        return dict(START)
    cfg = RunConfig()
    return {p.key: float(getattr(getattr(cfg, p.key.split(".")[0]), p.key.split(".")[1]))
            for p in PARAMETERS}


def main_report(out, *, runs: int = 30, sweeps: int = 2, start: str = "paper",
                processes: int | None = None, echo: Callable[[str], None] = print) -> int:
    """The ``calibrate`` command: search, print the evidence, write trials.csv and chosen.csv."""
    from pathlib import Path

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    echo("parameters the paper leaves open (range searched; grid):")
    for p in PARAMETERS:
        echo(f"  {p.symbol:>9} = {p.key:<29} [{p.low:g}, {p.high:g}]  grid "
             f"{', '.join(f'{v:g}' for v in p.grid)}  ({p.why})")
    result = calibrate(runs, sweeps=sweeps, start=start_point(start), processes=processes,
                       echo=echo)
    result.trials.to_csv(out / "trials.csv", index=False)
    chosen = pd.DataFrame([{"parameter": p.symbol, "key": p.key, "value": result.chosen[p.key],
                            "why": p.why} for p in PARAMETERS])
    chosen.to_csv(out / "chosen.csv", index=False)
    echo("chosen values:")
    for row in chosen.itertuples():
        echo(f"  {row.parameter:>9} = {row.value:g}")
    scores = result.chosen_scores
    echo("their statistics: " + ", ".join(f"{k} {float(scores[k]):.2f}" for k in CRITERIA))
    echo(f"criteria met: {int(scores['met'])}/{len(CRITERIA)}; "
         f"{len(result.trials)} points scored in {result.seconds:.0f} s; tables in {out}")
    return 0
