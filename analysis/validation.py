"""The rule-based engine against the three human-study findings (Gupta et al., Sec. 4.1).

(a) Punishment switched off after round 15 (beta 10 and 14) makes cooperation and the stock
    decline faster than with punishment kept on (Shutters 2012; Szekely et al. 2021).
(b) Survival over beta in {2, 4, ..., 18} x r in {0.2, ..., 0.8} is non-linear; stronger
    punishment generally helps at moderate growth (Gibson, Williams & Ostrom 2005).
(c) All-altruist groups survive longest in the harsh lake (r = 0.2); in the rich lake (r = 0.6)
    selfish groups outlive altruists and mixed groups do best (Barclay 2004).

Every condition runs ``runs`` times (100 by default) in each of three seed blocks the
calibration never saw (``analysis.seed_blocks.VALIDATION``), through ``mesa.batch_run`` on all
cores, with the same seeds in every condition (common random numbers): in (a) the run with
punishment kept on and the run with punishment switched off share their first 15 rounds
exactly, so the test of (a) is paired and measures nothing but the switch. Each finding is
judged in each block; it holds only if it holds in every block.

Definitions used below (also in the README's "Modelling choices"):

* cooperation = 1 - the mean effort of the living villagers (restraint). Effort is the
  villagers' strategy; the share within the norm ("Compliance", also recorded) rises by itself
  when the stock falls, because the cap is in fish, so it cannot show a decline of cooperation.
* (a) follows each lake for ``A_ROUNDS`` rounds past deaths (the paper removes a starved
  villager and sets its effort to 0 thereafter, and its Fig. 2 follows the stock): the
  trajectories are not truncated by the first death. "Cooperation and the stock decline faster
  once punishment is switched off": per seed, the OLS slope of cooperation and of the stock over
  rounds ``A_SLOPE_ROUNDS`` (from the switch) is steeper switched off than kept on, and their
  means over rounds 16..A_ROUNDS are lower (paired t-tests, kept on minus switched off).
* survival time (b, c) = the first round with a death or R <= R_min, capped at ``ROUND_CAP``.

Nothing here is imported by the engine; worker processes import ``model.norms.model`` and,
for (a), this module (``TrajectoryModel`` must be importable under the spawn start method).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from analysis.seed_blocks import VALIDATION, SeedBlock
from model.config import RunConfig
from model.norms.model import NormsModel

# ---------------------------------------------------------------------------------------------
# The design (the paper's values where it gives them)

SWITCH_OFF_AFTER = 15
A_PENALTIES = (10.0, 14.0)
A_ROUNDS = 60  # rounds followed in (a): 45 after the switch
A_SLOPE_ROUNDS = (15, 30)  # the decline right after the switch: OLS slope over these rounds
B_PENALTIES = tuple(float(b) for b in range(2, 19, 2))
B_GROWTH = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
B_MODERATE = (0.3, 0.4, 0.5, 0.6, 0.7)  # "moderate growth", r in [0.25, 0.75]
C_POPULATIONS = ("altruistic", "mixed", "selfish")
C_ENVIRONMENTS = ("harsh", "rich")
ROUND_CAP = 100  # rule-based validation cap (SPEC 1a)
ALPHA_TEST = 0.01  # significance level of every verdict

# Populations of (a) and (b); the paper does not say (its Table 3 also lists "generic" villager
# ranges, which this engine does not have). (a) is about what punishment sustains, so it uses
# the villagers who punish: under the default (text) reading, the altruists. (b) uses the 50/50
# mix, which spans both ranges of effort, belief and punish propensity.
A_POPULATION = "altruistic"
B_POPULATION = "mixed"
A_ENVIRONMENT = "rich"  # the paper's default growth rate, r = 0.6

READINGS = ("text", "table")
BLOCKS = VALIDATION


@dataclass
class Verdict:
    """One finding in one seed block: does it hold, and the statistics that say so."""

    finding: str
    holds: bool
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    block: str = ""

    def line(self) -> str:
        where = f" [{self.block}]" if self.block else ""
        return f"({self.finding}){where} {'HOLDS' if self.holds else 'DOES NOT HOLD'}: {self.summary}"


@dataclass
class Finding:
    """One finding judged in every block; it holds only if it holds in each."""

    finding: str
    verdicts: list[Verdict]

    @property
    def holds(self) -> bool:
        return all(v.holds for v in self.verdicts)

    @property
    def held_in(self) -> int:
        return sum(v.holds for v in self.verdicts)

    def line(self) -> str:
        n = len(self.verdicts)
        if self.holds:
            return f"({self.finding}) HOLDS in every block ({n} of {n})"
        return f"({self.finding}) DOES NOT HOLD: holds in {self.held_in} of {n} blocks"


# ---------------------------------------------------------------------------------------------
# Running through mesa.batch_run


class LeanModel(NormsModel):
    """The norms model recording only what a finding needs.

    The full DataCollector records 12 values per villager every round (and batch_run then
    returns a row per villager), and the event log keeps every proposal and punishment: together
    about half the time of a rule-based round. (b) and (c) read only the last round, which the
    engine's ``collect="last"`` records and batch_run's ``data_collection_period=-1`` takes. The
    dynamics are NormsModel's.
    """

    REPORTERS: tuple[str, ...] = ("SurvivalTime", "Stock", "Alive", "MeanEffort")
    COLLECT = "last"

    def __init__(self, config=None, rng: int | None = None):
        from mesa import DataCollector

        from model.norms.model import MODEL_REPORTERS

        super().__init__(config, rng, collect=self.COLLECT)
        reporters = {k: MODEL_REPORTERS.get(k, k) for k in self.REPORTERS}
        if "FirstCollapse" in reporters:
            reporters["FirstCollapse"] = "first_collapse"
        self.datacollector = DataCollector(model_reporters=reporters)
        self.datacollector.collect(self)

    def log(self, kind: str, **fields: Any) -> None:
        """No event log: batch runs never read it, and it costs a sixth of a round."""


class TrajectoryModel(LeanModel):
    """The norms model followed past the first collapse, for finding (a)'s trajectories.

    Dead villagers leave (effort 0, as in the paper) and the others go on; the run stops only
    when nobody is left or at the round cap. ``first_collapse`` keeps the survival time the
    ordinary model would have reported.
    """

    REPORTERS = ("Stock", "MeanEffort", "Compliance", "Alive", "Punishments", "NormCap",
                 "FirstCollapse")
    COLLECT = "every"

    def __init__(self, config=None, rng: int | None = None):
        self.first_collapse: int | None = None
        super().__init__(config, rng)

    def end_round_checks(self) -> None:
        if self.collapse_reason:
            return
        if self.first_collapse is None and (
                self.deaths or self.lake.stock <= self.config.norms.collapse_threshold):
            self.first_collapse = self.round
        if not self.living:
            self.collapse_reason = "extinct"


def _model_columns(rows: list[dict]) -> pd.DataFrame:
    """batch_run rows (one per villager when agents are recorded) -> one row per run and step."""
    frame = pd.DataFrame(rows)
    frame = frame.drop_duplicates(["RunId", "Step"]).reset_index(drop=True)
    frame["condition"] = [cfg.name for cfg in frame["config"]]
    keep = [c for c in frame.columns if c not in ("AgentID", "Kind", "Effort", "Harvest", "Wealth",
                                                   "Given", "Received", "Belief", "BeliefText",
                                                   "Monitoring", "PunishProb", "LLMModel", "config")]
    return frame[keep]


def batch(configs: Sequence[RunConfig], seeds: Sequence[int], *, every_round: bool = False,
          model_cls: type = LeanModel, processes: int | None = None) -> pd.DataFrame:
    """Run every config once per seed with ``mesa.batch_run``; one row per run (and per round).

    Configs are passed whole (not as dotted overrides, whose validation costs ~15 ms a run);
    each config's ``name`` labels its condition. The round cap is each config's ``rounds``.
    """
    import mesa

    rows = mesa.batch_run(
        model_cls, parameters={"config": list(configs)}, rng=list(seeds),
        number_processes=processes, max_steps=max(c.rounds for c in configs) + 1,
        data_collection_period=1 if every_round else -1, display_progress=False)
    return _model_columns(rows)


def base_config(reading: str = "text", profile: str = "paper", **overrides: Any) -> RunConfig:
    """The rule-based config every condition starts from: the profile (with its calibrated
    values), the reading, the cap; ``overrides`` win."""
    return RunConfig(name="validation", rounds=ROUND_CAP, policy="rule").replace(
        **{"learning.profile": profile, "norms.punish_reading": reading, **overrides})


def _named(base: RunConfig, name: str, **dotted: Any) -> RunConfig:
    return dataclasses.replace(base.replace(**dotted), name=name)


# ---------------------------------------------------------------------------------------------
# (a) punishment switched off after round 15


def a_configs(base: RunConfig) -> list[RunConfig]:
    out = []
    for beta in A_PENALTIES:
        for off in (0, SWITCH_OFF_AFTER):
            out.append(_named(base, f"a|{beta:g}|{'off' if off else 'on'}", **{
                "norms.penalty": beta, "modules.punishment": True,
                "modules.punishment_off_after": off, "norms.population": A_POPULATION,
                "norms.environment": A_ENVIRONMENT, "norms.growth_rate": None}))
    return [dataclasses.replace(c, rounds=A_ROUNDS) for c in out]


def a_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """Tidy rounds of (a): penalty, punishment (kept on / switched off), seed, round, metrics."""
    parts = raw["condition"].str.split("|", expand=True)
    out = pd.DataFrame({
        "penalty": parts[1].astype(float), "punishment": parts[2].map(
            {"on": "kept on", "off": "switched off"}),
        "seed": raw["rng"].astype(int), "round": raw["Step"].astype(int),
        "stock": raw["Stock"].astype(float), "alive": raw["Alive"].astype(int),
        "compliance": raw["Compliance"].astype(float),
        "punishments": raw["Punishments"].astype(float),
    })
    effort = raw["MeanEffort"].astype(float)
    # Cooperation is restraint among the living; an empty village has none to report.
    out["cooperation"] = np.where(out["alive"] > 0, 1.0 - effort, np.nan)
    out = out[out["round"] >= 1]
    # A village that died out keeps its last stock for the rest of the horizon.
    keys = ["penalty", "punishment", "seed"]
    index = pd.MultiIndex.from_tuples(
        [(*k, r) for k in out[keys].drop_duplicates().itertuples(index=False)
         for r in range(1, A_ROUNDS + 1)], names=[*keys, "round"])
    full = out.set_index([*keys, "round"]).reindex(index).reset_index()
    full["stock"] = full.groupby(keys)["stock"].ffill()
    full["alive"] = full["alive"].fillna(0).astype(int)
    return full


def a_bands(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % confidence band (t interval over seeds) per condition and round."""
    from scipy import stats

    rows = []
    for (beta, arm, rnd), g in frame.groupby(["penalty", "punishment", "round"], sort=True):
        row = {"penalty": beta, "punishment": arm, "round": rnd}
        for metric in ("cooperation", "stock", "compliance"):
            x = g[metric].dropna().to_numpy()
            n = len(x)
            mean = float(x.mean()) if n else math.nan
            half = float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
            row |= {f"{metric}_mean": mean, f"{metric}_lo": mean - half, f"{metric}_hi": mean + half,
                    f"{metric}_n": n}
        rows.append(row)
    return pd.DataFrame(rows)


def _slopes(frame: pd.DataFrame, metric: str, keys: list[str]) -> pd.Series:
    """OLS slope of ``metric`` per run over rounds ``A_SLOPE_ROUNDS`` (NaN rounds skipped)."""
    lo, hi = A_SLOPE_ROUNDS
    win = frame[(frame["round"] >= lo) & (frame["round"] <= hi)]
    wide = win.pivot_table(index=keys, columns="round", values=metric, dropna=False)
    y = wide.to_numpy(dtype=float)
    x = np.broadcast_to(wide.columns.to_numpy(dtype=float), y.shape)
    ok = ~np.isnan(y)
    n = ok.sum(axis=1)
    xm = np.where(ok, x, 0).sum(axis=1) / np.maximum(n, 1)
    ym = np.where(ok, y, 0).sum(axis=1) / np.maximum(n, 1)
    dx = np.where(ok, x - xm[:, None], 0)
    dy = np.where(ok, y - ym[:, None], 0)
    sxx = (dx * dx).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where((n >= 2) & (sxx > 0), (dx * dy).sum(axis=1) / sxx, np.nan)
    return pd.Series(slope, index=wide.index)


def a_per_run(frame: pd.DataFrame) -> pd.DataFrame:
    """Per run: the post-switch means (levels) and the slopes right after the switch."""
    keys = ["penalty", "punishment", "seed"]
    after = frame[frame["round"] > SWITCH_OFF_AFTER]
    out = after.groupby(keys)[["cooperation", "stock"]].mean().add_suffix("_level")
    for metric in ("cooperation", "stock"):
        out[f"{metric}_slope"] = _slopes(frame, metric, keys)
    return out.reset_index()


A_MEASURES = (("cooperation", "level"), ("stock", "level"),
              ("cooperation", "slope"), ("stock", "slope"))


def _ci(diff: np.ndarray) -> tuple[float, float]:
    from scipy import stats

    n = len(diff)
    half = stats.t.ppf(0.975, n - 1) * stats.sem(diff) if n > 1 else math.nan
    return float(diff.mean() - half), float(diff.mean() + half)


def a_test(frame: pd.DataFrame, block: str = "") -> tuple[pd.DataFrame, Verdict]:
    """Paired t-tests per penalty, kept on minus switched off: levels after round 15 and the
    slopes of the decline over ``A_SLOPE_ROUNDS``. Holds if every difference is positive at
    p < ALPHA_TEST."""
    from scipy import stats

    per_run = a_per_run(frame)
    rows, ok = [], True
    for beta, g in per_run.groupby("penalty"):
        for metric, kind in A_MEASURES:
            wide = g.pivot(index="seed", columns="punishment", values=f"{metric}_{kind}")
            pair = wide.dropna()
            on, off = pair["kept on"].to_numpy(), pair["switched off"].to_numpy()
            diff = on - off
            if len(diff) > 1 and np.any(diff != diff[0]):
                t, p = (float(x) for x in stats.ttest_rel(on, off))
            else:
                t, p = math.nan, 1.0
            lo, hi = _ci(diff)
            rows.append({"block": block, "penalty": beta, "metric": metric, "measure": kind,
                         "n_pairs": len(pair), "mean_on": on.mean(), "mean_off": off.mean(),
                         "mean_diff": diff.mean(), "ci95_lo": lo, "ci95_hi": hi,
                         "t": t, "df": len(pair) - 1, "p": p})
            ok &= bool(diff.mean() > 0 and p < ALPHA_TEST)
    table = pd.DataFrame(rows)
    parts = []
    for r in table.itertuples():
        what = "mean" if r.measure == "level" else "slope"
        unit = "" if r.measure == "level" else "/round"
        parts.append(f"beta {r.penalty:g} {r.metric} {what} {r.mean_on:.3g} vs {r.mean_off:.3g}"
                     f" (diff {r.mean_diff:.3g}{unit} [{r.ci95_lo:.3g}, {r.ci95_hi:.3g}], "
                     f"p = {r.p:.1e})")
    return table, Verdict("a", ok, "kept on vs switched off: " + "; ".join(parts),
                          {"table": table}, block)


# ---------------------------------------------------------------------------------------------
# (b) survival over penalty x growth rate


def b_configs(base: RunConfig) -> list[RunConfig]:
    return [_named(base, f"b|{beta:g}|{r:g}", **{
        "norms.penalty": beta, "norms.growth_rate": r, "norms.population": B_POPULATION,
        "modules.punishment_off_after": 0}) for beta in B_PENALTIES for r in B_GROWTH]


def b_frame(raw: pd.DataFrame) -> pd.DataFrame:
    parts = raw["condition"].str.split("|", expand=True)
    return pd.DataFrame({"penalty": parts[1].astype(float), "growth_rate": parts[2].astype(float),
                         "seed": raw["rng"].astype(int),
                         "survival_time": raw["SurvivalTime"].astype(float)})


def _welch_ci(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Mean of x - y and its 95 % Welch interval."""
    from scipy import stats

    diff = float(x.mean() - y.mean())
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se = math.sqrt(vx + vy)
    if se == 0:
        return diff, diff, diff
    df = (vx + vy) ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1))
    half = float(stats.t.ppf(0.975, df) * se)
    return diff, diff - half, diff + half


def _interaction(aov: pd.DataFrame) -> pd.DataFrame:
    """The interaction row of an ANOVA table (none when no factor varied: identical runs)."""
    if "effect" not in aov.columns:
        return aov.iloc[0:0]
    return aov[aov["effect"].str.contains("×")]


B_LOW, B_HIGH = (2.0, 4.0, 6.0), (14.0, 16.0, 18.0)  # weak and strong punishment, for the effect


def b_test(runs: pd.DataFrame, block: str = "") -> tuple[pd.DataFrame, pd.DataFrame, Verdict]:
    """Table of means, the trend over beta per r (Spearman), and the beta x r ANOVA; the effect
    is the survival gain from beta 2-6 to beta 14-18, in rounds."""
    from scipy import stats

    from analysis.stats import anova_table

    means = runs.pivot_table(index="penalty", columns="growth_rate", values="survival_time",
                             aggfunc="mean")
    trend = []
    for r, g in runs.groupby("growth_rate"):
        rho, p = stats.spearmanr(g["penalty"], g["survival_time"])
        rho, p = (0.0, 1.0) if math.isnan(rho) else (float(rho), float(p))
        by_beta = g.groupby("penalty")["survival_time"].mean()
        gain, lo, hi = _welch_ci(g[g["penalty"].isin(B_HIGH)]["survival_time"].to_numpy(),
                                 g[g["penalty"].isin(B_LOW)]["survival_time"].to_numpy())
        trend.append({"block": block, "growth_rate": r, "spearman_rho": rho, "p": p,
                      "low_beta_mean": float(by_beta.loc[list(B_LOW)].mean()),
                      "high_beta_mean": float(by_beta.loc[list(B_HIGH)].mean()),
                      "gain": gain, "gain_ci95_lo": lo, "gain_ci95_hi": hi,
                      "best_beta": float(by_beta.idxmax()),
                      "monotone": bool(by_beta.is_monotonic_increasing),
                      "helps": bool(rho > 0 and p < ALPHA_TEST)})
    trend = pd.DataFrame(trend)
    aov = anova_table(runs.assign(penalty=runs["penalty"].astype(str),
                                  growth_rate=runs["growth_rate"].astype(str)),
                      dv="survival_time", factors=("penalty", "growth_rate"), by=None).table
    inter = _interaction(aov)
    f_int = float(inter["F"].iloc[0]) if len(inter) else math.nan
    p_int = float(inter["p"].iloc[0]) if len(inter) else math.nan
    moderate = trend[trend["growth_rate"].round(2).isin(B_MODERATE)]
    helps = moderate[moderate["helps"]]["growth_rate"].tolist()
    ok = bool(len(helps) > len(moderate) / 2 and p_int < ALPHA_TEST)
    where = ", ".join(f"{r:g}" for r in helps) or "none"
    gains = "; ".join(f"r {t.growth_rate:g}: {t.gain:+.1f} [{t.gain_ci95_lo:.1f}, "
                      f"{t.gain_ci95_hi:.1f}] (rho {t.spearman_rho:+.2f}, p = {t.p:.1e})"
                      for t in moderate.itertuples())
    summary = (f"stronger punishment helps (Spearman rho > 0, p < {ALPHA_TEST}) at r = {where} "
               f"({len(helps)} of {len(moderate)} moderate rates); survival gain from beta 2-6 "
               f"to 14-18, rounds [95 % CI]: {gains}; beta x r interaction "
               f"F = {f_int:.2f}, p = {p_int:.1e}")
    return means, trend, Verdict("b", ok, summary, {"trend": trend, "anova": aov,
                                                    "helps_at": helps}, block)


# ---------------------------------------------------------------------------------------------
# (c) population x environment


def c_configs(base: RunConfig) -> list[RunConfig]:
    return [_named(base, f"c|{pop}|{env}", **{
        "norms.population": pop, "norms.environment": env, "norms.growth_rate": None,
        "modules.punishment_off_after": 0}) for pop in C_POPULATIONS for env in C_ENVIRONMENTS]


def c_frame(raw: pd.DataFrame) -> pd.DataFrame:
    parts = raw["condition"].str.split("|", expand=True)
    return pd.DataFrame({"population": pd.Categorical(parts[1], C_POPULATIONS),
                         "environment": pd.Categorical(parts[2], C_ENVIRONMENTS),
                         "seed": raw["rng"].astype(int),
                         "survival_time": raw["SurvivalTime"].astype(float)})


# The orderings the finding states: (environment, better, worse).
C_ORDER = (("harsh", "altruistic", "mixed"), ("harsh", "altruistic", "selfish"),
           ("rich", "selfish", "altruistic"), ("rich", "mixed", "selfish"),
           ("rich", "mixed", "altruistic"))


def c_test(runs: pd.DataFrame, alpha: float = 0.05, block: str = ""):
    """Two-way ANOVA (population x environment) and Tukey HSD within each environment."""
    from analysis.stats import anova_table, describe, tukey_hsd

    summary = describe(runs, ["environment", "population"])
    aov = anova_table(runs, dv="survival_time", factors=("population", "environment"),
                      by=None).table
    tukey = {env: tukey_hsd(g["survival_time"], g["population"].astype(str), alpha=alpha)
             for env, g in runs.groupby("environment", observed=True)}
    pairs = []
    for env, better, worse in C_ORDER:
        res = tukey[env]
        row = res.pairs[((res.pairs.group1 == better) & (res.pairs.group2 == worse))
                        | ((res.pairs.group1 == worse) & (res.pairs.group2 == better))].iloc[0]
        sel = runs[runs["environment"] == env]
        diff, lo, hi = _welch_ci(sel[sel["population"] == better]["survival_time"].to_numpy(),
                                 sel[sel["population"] == worse]["survival_time"].to_numpy())
        pairs.append({"block": block, "environment": env, "better": better, "worse": worse,
                      "mean_better": res.means[better], "mean_worse": res.means[worse],
                      "diff": diff, "ci95_lo": lo, "ci95_hi": hi, "p_adj": float(row.p_adj),
                      "holds": bool(diff > 0 and row.p_adj < alpha)})
    pairs = pd.DataFrame(pairs)
    ok = bool(pairs["holds"].all())
    inter = _interaction(aov)
    ordered = bool((pairs["diff"] > 0).all())
    text = (f"means in the stated order: {'yes' if ordered else 'no'}; "
            f"{int(pairs['holds'].sum())} of {len(pairs)} differences significant; ")
    text += "; ".join(f"{r.environment}: {r.better} {r.mean_better:.1f} > {r.worse} "
                     f"{r.mean_worse:.1f} (diff {r.diff:+.1f} rounds [{r.ci95_lo:.1f}, "
                     f"{r.ci95_hi:.1f}], Tukey p = {r.p_adj:.1e})" for r in pairs.itertuples())
    if len(inter):
        text += (f"; population x environment F({int(inter['df'].iloc[0])}, "
                 f"{int(aov[aov.effect == 'Residual']['df'].iloc[0])}) = "
                 f"{inter['F'].iloc[0]:.1f}, p = {inter['p'].iloc[0]:.1e}")
    return summary, aov, tukey, pairs, Verdict("c", ok, text, {"pairs": pairs, "ordered": ordered},
                                               block)


def c_ordering(runs: pd.DataFrame) -> dict[str, list[str]]:
    """Populations ordered by mean survival (longest first) in each environment."""
    means = runs.groupby(["environment", "population"], observed=True)["survival_time"].mean()
    return {env: list(means[env].sort_values(ascending=False).index.astype(str))
            for env in C_ENVIRONMENTS}


# ---------------------------------------------------------------------------------------------
# Figures


def _figure(width: float, height: float):
    from analysis.figures import new_figure

    return new_figure(width, height)


def plot_a(bands: pd.DataFrame):
    """Cooperation and stock over rounds: beta 10 blue, 14 orange; kept on solid, off dashed."""
    fig = _figure(10.5, 4.0)
    axes = fig.subplots(1, 2)
    colors = {A_PENALTIES[0]: "#1f77b4", A_PENALTIES[1]: "#ff7f0e"}
    styles = {"kept on": "-", "switched off": "--"}
    for ax, metric, label in ((axes[0], "cooperation", "cooperation (1 - mean effort)"),
                              (axes[1], "stock", "stock R")):
        for (beta, arm), g in bands.groupby(["penalty", "punishment"]):
            ax.plot(g["round"], g[f"{metric}_mean"], styles[arm], color=colors.get(beta, "k"),
                    label=f"beta {beta:g}, punishment {arm}")
            ax.fill_between(g["round"], g[f"{metric}_lo"], g[f"{metric}_hi"],
                            color=colors.get(beta, "k"), alpha=0.15, linewidth=0)
        ax.axvline(SWITCH_OFF_AFTER + 0.5, color="0.4", linewidth=0.8, linestyle=":")
        ax.set_xlabel("round")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=8, frameon=False)
    fig.suptitle("(a) punishment switched off after round 15 (mean over every block's seeds, "
                 "95 % CI band)", fontsize=10)
    return fig


def plot_b(means: pd.DataFrame, trend: pd.DataFrame):
    """Heat map of mean survival over beta (rows) x r (columns); * marks r where beta helps."""
    fig = _figure(7.5, 5.2)
    ax = fig.subplots()
    data = means.to_numpy()
    im = ax.imshow(data, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=ROUND_CAP)
    ax.set_xticks(range(means.shape[1]))
    helps = dict(zip(trend["growth_rate"], trend["helps"]))
    ax.set_xticklabels([f"{r:g}{' *' if helps.get(r) else ''}" for r in means.columns])
    ax.set_yticks(range(means.shape[0]))
    ax.set_yticklabels([f"{b:g}" for b in means.index])
    ax.set_xlabel("growth rate r   (* stronger punishment helps in every block, "
                  "Spearman p < 0.01)")
    ax.set_ylabel("penalty beta")
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            ax.text(j, i, f"{data[i, j]:.0f}", ha="center", va="center", fontsize=7,
                    color="white" if data[i, j] < 0.6 * ROUND_CAP else "black")
    fig.colorbar(im, ax=ax, label=f"mean survival time (rounds, cap {ROUND_CAP})")
    ax.set_title("(b) survival over penalty x growth rate", fontsize=10)
    return fig


def plot_c(summary: pd.DataFrame, tukey: dict):
    """Survival bars with 95 % CI per environment and population, Tukey letters on top."""
    from scipy import stats

    fig = _figure(7.0, 4.2)
    ax = fig.subplots()
    colors = {"altruistic": "#2ca02c", "mixed": "#9467bd", "selfish": "#d62728"}
    width = 0.26
    for k, pop in enumerate(C_POPULATIONS):
        sub = summary[summary["population"].astype(str) == pop].set_index("environment")
        xs, ys, errs = [], [], []
        for i, env in enumerate(C_ENVIRONMENTS):
            row = sub.loc[env]
            xs.append(i + (k - 1) * width)
            ys.append(row["mean"])
            errs.append(stats.t.ppf(0.975, row["n"] - 1) * row["sem"])
        ax.bar(xs, ys, width, yerr=errs, capsize=3, color=colors[pop], label=pop)
        for x, y, e, env in zip(xs, ys, errs, C_ENVIRONMENTS):
            letters = tukey[env].letters.get(pop, "") if tukey.get(env) else ""
            ax.text(x, y + e + 1, letters, ha="center", va="bottom", fontsize=9)
    ax.set_xticks(range(len(C_ENVIRONMENTS)))
    ax.set_xticklabels([f"{env} (r = {r})" for env, r in zip(C_ENVIRONMENTS, (0.2, 0.6))])
    ax.set_ylabel("survival time (rounds), mean and 95 % CI")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title("(c) population x environment (letters: Tukey HSD within environment)",
                 fontsize=10)
    return fig


# ---------------------------------------------------------------------------------------------
# The whole validation


@dataclass
class ValidationResult:
    findings: list[Finding]
    tables: dict[str, pd.DataFrame]
    figures: dict[str, Any]
    timings: dict[str, float]
    runs: dict[str, int]
    reading: str
    profile: str
    blocks: tuple[SeedBlock, ...]

    @property
    def holds(self) -> bool:
        return all(f.holds for f in self.findings)

    @property
    def verdicts(self) -> list[Verdict]:
        return [v for f in self.findings for v in f.verdicts]


def _by_block(raw: pd.DataFrame, blocks: Sequence[SeedBlock], runs: int):
    seeds = raw["rng"].astype(int)
    for block in blocks:
        yield block, raw[(seeds >= block.first) & (seeds < block.first + runs)]


def run_validation(runs: int = 100, reading: str = "text", *, profile: str = "paper",
                   blocks: Sequence[SeedBlock] = BLOCKS, processes: int | None = None,
                   findings: str = "abc", base: RunConfig | None = None,
                   figures: bool = True, log: Callable[[str], None] | None = None
                   ) -> ValidationResult:
    """Run findings ``findings`` (any of "abc") with ``runs`` seeds per condition and block;
    every block's runs go through one ``batch_run`` per part, then each block is judged."""
    base = base or base_config(reading, profile)
    if base.norms.punish_reading != reading:
        base = base.replace(**{"norms.punish_reading": reading})
    seeds = [s for block in blocks for s in block.seeds(runs)]
    by_finding: dict[str, list[Verdict]] = {}
    tables, figs, timings, counts = {}, {}, {}, {}
    say = log or (lambda text: None)

    def keep(name: str, parts: list[pd.DataFrame]) -> None:
        tables[name] = pd.concat(parts, ignore_index=True)

    if "a" in findings:
        t0 = time.perf_counter()
        configs = a_configs(base)
        raw = batch(configs, seeds, every_round=True, model_cls=TrajectoryModel,
                    processes=processes)
        timings["a"] = time.perf_counter() - t0
        counts["a"] = len(configs) * len(seeds)
        frame = a_frame(raw)
        tests, per_run = [], []
        for block, _ in _by_block(raw, blocks, runs):
            sub = frame[(frame["seed"] >= block.first) & (frame["seed"] < block.first + runs)]
            test, verdict = a_test(sub, block.name)
            tests.append(test)
            per_run.append(a_per_run(sub).assign(block=block.name))
            by_finding.setdefault("a", []).append(verdict)
            say(verdict.line())
        bands = a_bands(frame)
        keep("a_test", tests)
        keep("a_runs", per_run)
        tables["a_trajectories"] = bands
        if figures:
            figs["a_trajectories"] = plot_a(bands)

    if "b" in findings or "c" in findings:
        t0 = time.perf_counter()
        configs = (b_configs(base) if "b" in findings else []) + (
            c_configs(base) if "c" in findings else [])
        raw = batch(configs, seeds, processes=processes)
        timings["bc"] = time.perf_counter() - t0
        counts["bc"] = len(configs) * len(seeds)
        if "b" in findings:
            all_b = b_frame(raw[raw["condition"].str.startswith("b|")])
            trends, anovas, runs_b = [], [], []
            for block, _ in _by_block(raw, blocks, runs):
                b_runs = all_b[(all_b["seed"] >= block.first)
                               & (all_b["seed"] < block.first + runs)]
                _, trend, verdict = b_test(b_runs, block.name)
                trends.append(trend)
                anovas.append(verdict.details["anova"].assign(block=block.name))
                runs_b.append(b_runs.assign(block=block.name))
                by_finding.setdefault("b", []).append(verdict)
                say(verdict.line())
            means = all_b.pivot_table(index="penalty", columns="growth_rate",
                                      values="survival_time", aggfunc="mean")
            keep("b_trend", trends)
            # Stars on the heat map: the rates where stronger punishment helps in every block.
            pooled_trend = (tables["b_trend"].groupby("growth_rate")["helps"].all()
                            .reset_index())
            keep("b_anova", anovas)
            keep("b_runs", runs_b)
            tables["b_survival_means"] = means.reset_index()
            if figures:
                figs["b_heatmap"] = plot_b(means, pooled_trend)
        if "c" in findings:
            all_c = c_frame(raw[raw["condition"].str.startswith("c|")])
            orderings, anovas, runs_c = [], [], []
            for block, _ in _by_block(raw, blocks, runs):
                c_runs = all_c[(all_c["seed"] >= block.first)
                               & (all_c["seed"] < block.first + runs)]
                _, aov, _, pairs, verdict = c_test(c_runs, block=block.name)
                orderings.append(pairs)
                anovas.append(aov.assign(block=block.name))
                runs_c.append(c_runs.assign(block=block.name))
                by_finding.setdefault("c", []).append(verdict)
                say(verdict.line())
            from analysis.stats import describe, tukey_hsd

            summary = describe(all_c, ["environment", "population"])
            tukey = {env: tukey_hsd(g["survival_time"], g["population"].astype(str))
                     for env, g in all_c.groupby("environment", observed=True)}
            keep("c_orderings", orderings)
            keep("c_anova", anovas)
            keep("c_runs", runs_c)
            tables["c_survival"] = summary
            if figures:
                figs["c_survival"] = plot_c(summary, tukey)
    found = [Finding(name, by_finding[name]) for name in "abc" if name in by_finding]
    return ValidationResult(found, tables, figs, timings, counts, reading, profile,
                            tuple(blocks))


def write(result: ValidationResult, out: str | Path, suffix: str = "") -> list[Path]:
    """Write the figures (PNG) and tables (CSV) into ``out``; returns the paths written."""
    from analysis.figures import save

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fig in result.figures.items():
        paths.append(save(fig, out / f"{name}{suffix}.png"))
    for name, table in result.tables.items():
        path = out / f"{name}{suffix}.csv"
        table.to_csv(path, index=False)
        paths.append(path)
    verdicts = pd.DataFrame([{"profile": result.profile, "reading": result.reading,
                              "finding": v.finding, "block": v.block, "holds": v.holds,
                              "summary": v.summary} for v in result.verdicts])
    path = out / f"verdicts{suffix}.csv"
    verdicts.to_csv(path, index=False)
    paths.append(path)
    return paths


def main_report(out: str | Path, *, runs: int = 100, reading: str = "text",
                profile: str = "paper", blocks: int = len(BLOCKS),
                processes: int | None = None, findings: str = "abc",
                other_reading: bool = False, overrides: dict | None = None,
                echo: Callable[[str], None] = print) -> bool:
    """The ``validate`` command: run, write, print the verdicts per block; True if every
    finding holds in every block."""
    t0 = time.perf_counter()
    base = base_config(reading, profile, **(overrides or {}))
    chosen = BLOCKS[:blocks]
    echo(f"validating {findings} for the {profile!r} profile: {runs} runs per condition in each "
         f"of {len(chosen)} seed blocks ("
         + ", ".join(f"{b.name}: {b.first}..{b.first + runs - 1}" for b in chosen)
         + f"), punish reading {reading!r}")
    result = run_validation(runs, reading, profile=profile, blocks=chosen, processes=processes,
                            findings=findings, base=base)
    write(result, out)
    total = sum(result.runs.values())
    elapsed = sum(result.timings.values())
    for finding in result.findings:
        for verdict in finding.verdicts:
            echo(verdict.line())
    for finding in result.findings:
        echo(finding.line())
    echo(f"{total} runs in {elapsed:.1f} s ({total / elapsed:.0f} runs/s)")
    if other_reading and set(findings) & set("ac"):
        other = "table" if reading == "text" else "text"
        sub = "".join(f for f in findings if f in "ac")
        alt = run_validation(runs, other, profile=profile, blocks=chosen, processes=processes,
                             findings=sub, base=base.replace(**{"norms.punish_reading": other}))
        write(alt, out, suffix=f"_{other}")
        echo(f"other reading ({other!r}, reported, not required):")
        for finding in alt.findings:
            echo("  " + finding.line())
    echo(f"figures and tables in {out} ({time.perf_counter() - t0:.1f} s in all)")
    return result.holds
