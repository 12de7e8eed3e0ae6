"""The papers' statistics over a set of runs: ANOVA in the shape of Table 1, Tukey HSD with
compact letters, mean and s.e.m. per condition, and GovSim's metric table.

statsmodels does the statistics (OLS + ``anova_lm``, ``pairwise_tukeyhsd``, ``DescrStatsW``);
this module only arranges their results. The compact letter display (which statsmodels does not
offer) uses the insert-and-absorb algorithm of Piepho (2004).
"""

from __future__ import annotations

import string
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# How the factors are named in tables (the paper's wording).
EFFECT_NAMES = {"model": "Model", "altruist_share": "Altruistic ratio", "population": "Population",
                "ablation": "Ablation", "environment": "Environment"}


# ---------------------------------------------------------------------------------------------
# Descriptive statistics


def describe(runs: pd.DataFrame, by: list[str], dv: str = "survival_time") -> pd.DataFrame:
    """n, mean, s.d. and s.e.m. of ``dv`` per combination of ``by`` (observed levels only)."""
    data = runs.dropna(subset=[dv])
    grouped = data.groupby(by, observed=True, sort=True)[dv]
    out = grouped.agg(n="count", mean="mean", sd="std", sem="sem").reset_index()
    return out


# ---------------------------------------------------------------------------------------------
# Two-way ANOVA (Table 1)


@dataclass
class AnovaResult:
    """Rows: one per environment and effect (plus the residual), columns of the paper's Table 1."""

    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)


# A residual sum of squares below this share of the total is round-off: an exact fit.
_EXACT_FIT = 1e-12


def anova_table(runs: pd.DataFrame, dv: str = "survival_time",
                factors: tuple[str, str] = ("model", "altruist_share"),
                by: str | None = "environment", typ: int = 2) -> AnovaResult:
    """Two-way ANOVA of ``dv`` on ``factors`` (fixed, with interaction) within each level of ``by``.

    Returns df, sum of squares, F, p and eta squared (SS_effect / SS_total, the classical eta
    squared that Table 1 reports; its values and F are consistent with that reading). A factor
    with a single level in an environment is left out, and so is the interaction when a cell of
    the design is empty or no residual degrees of freedom would remain; each such choice is
    written to ``notes``.
    """
    from statsmodels.formula.api import ols
    from statsmodels.stats.anova import anova_lm

    rows, notes = [], []
    groups = runs.groupby(by, observed=True) if by else [("all runs", runs)]
    for level, df in groups:
        data = df[[dv, *factors]].dropna()
        data = data.assign(**{f: data[f].astype(str) for f in factors})
        usable = [f for f in factors if data[f].nunique() > 1]
        for f in factors:
            if f not in usable:
                notes.append(f"{level}: {EFFECT_NAMES.get(f, f)} has one level here; left out.")
        if not usable:
            notes.append(f"{level}: no factor varies; no ANOVA.")
            continue
        n_cells = data.groupby(usable).ngroups
        interaction = len(usable) == 2
        if interaction:
            full = np.prod([data[f].nunique() for f in usable])
            if n_cells < full:
                interaction = False
                notes.append(f"{level}: {full - n_cells} empty model x ratio cells; "
                             "interaction left out.")
        if interaction and len(data) - n_cells < 1:
            interaction = False
            notes.append(f"{level}: one run per model x ratio cell leaves no residual; "
                         "interaction left out.")
        n_params = n_cells if interaction else 1 + sum(data[f].nunique() - 1 for f in usable)
        if len(data) - n_params < 1:
            notes.append(f"{level}: {len(data)} runs leave no residual degrees of freedom; "
                         "no ANOVA.")
            continue
        if data[dv].nunique() < 2:
            notes.append(f"{level}: every run has the same {dv.replace('_', ' ')}; no ANOVA.")
            continue
        # Plain names in the formula; the factor columns may hold any text.
        names = {f: f"f{i}" for i, f in enumerate(usable)}
        frame = data.rename(columns={**names, dv: "y"})
        rhs = (" * " if interaction else " + ").join(f"C({names[f]})" for f in usable)
        fit = ols(f"y ~ {rhs}", data=frame).fit()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # F of a zero residual variance
            aov = anova_lm(fit, typ=typ)
        ss_total = float(((frame["y"] - frame["y"].mean()) ** 2).sum())
        # Runs identical within every cell (a round cap every run reaches, say) leave a residual
        # of round-off only, whose F of ~1e30 would look like a measurement: it is infinite.
        exact = float(aov.loc["Residual", "sum_sq"]) <= _EXACT_FIT * ss_total
        if exact:
            notes.append(f"{level}: runs do not vary within the cells; F is infinite.")
        label = {f"C({names[f]})": EFFECT_NAMES.get(f, f) for f in usable}
        if interaction:
            a, b = usable
            label[f"C({names[a]}):C({names[b]})"] = (
                f"{EFFECT_NAMES.get(a, a)} × {EFFECT_NAMES.get(b, b).split()[-1]}")
        label["Residual"] = "Residual"
        for term, rec in aov.iterrows():
            if term not in label:
                continue
            if term == "Residual":
                f_value, p_value = np.nan, np.nan
            elif exact:  # an effect over no residual: infinite, or 0 / 0 if it explains nothing
                f_value, p_value = ((np.inf, 0.0) if rec["sum_sq"] > _EXACT_FIT * ss_total
                                    else (np.nan, np.nan))
            else:
                f_value, p_value = float(rec["F"]), float(rec["PR(>F)"])
            rows.append({
                by or "group": level, "effect": label[term], "df": int(round(rec["df"])),
                "sum_sq": float(rec["sum_sq"]), "F": f_value, "p": p_value,
                "eta_sq": float(rec["sum_sq"]) / ss_total if ss_total > 0 else np.nan,
                "n": len(frame),
            })
    return AnovaResult(pd.DataFrame(rows), notes)


# ---------------------------------------------------------------------------------------------
# Tukey HSD and compact letters


@dataclass
class TukeyResult:
    """Pairwise Tukey HSD comparisons and the compact letters of the groups.

    ``order`` lists the groups by decreasing mean: letter "a" goes to the highest group.
    """

    pairs: pd.DataFrame  # group1, group2, meandiff, p_adj, lower, upper, reject
    letters: dict[str, str]
    means: dict[str, float]
    order: list[str]
    alpha: float


def tukey_hsd(values, groups, alpha: float = 0.05) -> TukeyResult | None:
    """Tukey HSD over the groups (statsmodels), with compact letters; None if it cannot be run.

    It cannot when fewer than two groups are present or no within-group degrees of freedom
    remain (every group a single run). With zero variance statsmodels reports no p-value and
    nothing is called different.
    """
    from statsmodels.stats.multicomp import pairwise_tukeyhsd

    frame = pd.DataFrame({"y": np.asarray(values, dtype=float),
                          "g": [str(g) for g in groups]}).dropna()
    k = frame["g"].nunique()
    if k < 2 or len(frame) - k < 1:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = pairwise_tukeyhsd(frame["y"].to_numpy(), frame["g"].to_numpy(), alpha=alpha)
        summary = res.summary_frame()
    # The first two columns name the pair; their names differ between statsmodels versions.
    pairs = pd.DataFrame({
        "group1": summary.iloc[:, 0].astype(str), "group2": summary.iloc[:, 1].astype(str),
        "meandiff": summary["meandiff"].astype(float), "p_adj": summary["p-adj"].astype(float),
        "lower": summary["lower"].astype(float), "upper": summary["upper"].astype(float),
        "reject": summary["reject"].astype(bool),
    })
    means = frame.groupby("g")["y"].mean().to_dict()
    order = sorted(means, key=lambda g: (-means[g], g))
    different = [(a, b) for a, b, r in pairs[["group1", "group2", "reject"]].itertuples(index=False)
                 if r]
    return TukeyResult(pairs, compact_letters(order, different), means, order, alpha)


def _letter(i: int) -> str:
    alphabet = string.ascii_lowercase + string.ascii_uppercase
    return alphabet[i] if i < len(alphabet) else f"<{i}>"


def compact_letters(groups: list[str], different: list[tuple[str, str]]) -> dict[str, str]:
    """Letters such that two groups share a letter exactly when they are not different.

    Insert-and-absorb (Piepho 2004): start with one letter for all groups; for each pair that
    differs, split every letter holding both into one without each; drop letters whose groups
    are a subset of another letter's. Letters are then named in the order of ``groups``.
    """
    index = {g: i for i, g in enumerate(groups)}
    columns: list[frozenset] = [frozenset(groups)]
    for a, b in sorted(different, key=lambda p: sorted((index[p[0]], index[p[1]]))):
        split: list[frozenset] = []
        for col in columns:
            if a in col and b in col:
                split += [col - {a}, col - {b}]
            else:
                split.append(col)
        unique = list(dict.fromkeys(split))
        columns = [c for c in unique if not any(c < other for other in unique)]
    columns.sort(key=lambda c: sorted(index[g] for g in c))
    letters = {g: "" for g in groups}
    for i, col in enumerate(columns):
        for g in sorted(col, key=index.get):
            letters[g] += _letter(i)
    return letters


def tukey_by(runs: pd.DataFrame, group: str | list[str], within: list[str],
             dv: str = "survival_time", alpha: float = 0.05) -> dict[tuple, TukeyResult | None]:
    """Tukey HSD of ``dv`` across the levels of ``group`` inside each combination of ``within``.

    ``group`` may name several columns; their values are then joined with " | " (model and
    condition cells, for instance).
    """
    out: dict[tuple, TukeyResult | None] = {}
    cols = [group] if isinstance(group, str) else list(group)
    data = runs.dropna(subset=[dv])
    iterator = data.groupby(within, observed=True) if within else [((), data)]
    for key, df in iterator:
        key = key if isinstance(key, tuple) else (key,)
        labels = df[cols].astype(str).agg(" | ".join, axis=1)
        out[key] = tukey_hsd(df[dv], labels, alpha)
    return out


def letters_table(results: dict[tuple, TukeyResult | None], within: list[str],
                  group_name: str) -> pd.DataFrame:
    """One row per group: the ``within`` keys, the group, its mean and its letters."""
    rows = []
    for key, res in results.items():
        if res is None:
            continue
        for g in res.order:
            rows.append({**dict(zip(within, key)), group_name: g, "mean": res.means[g],
                         "letters": res.letters[g]})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# GovSim metric table (Piatti et al., Table 1)

# Summary keys of a GovSim run and the column each becomes; percentages are scaled when the
# run stores fractions (see ``_as_percent``).
GOVSIM_METRICS = [
    ("survival_time", "survival time"),
    ("gain", "gain"),
    ("efficiency", "efficiency %"),
    ("equality", "equality %"),
    ("over_usage", "over-usage %"),
    ("over_usage_published", "over-usage % (published formula)"),
]
# Newcomer runs only: GovSim's newcomer-table form (gain and efficiency from the arrival on,
# horizon 12 months); left out of the table, not reported missing, when no run has them.
GOVSIM_NEWCOMER_METRICS = [
    ("newcomer_survival_time", "survival time (newcomer form, <= 12)"),
    ("newcomer_gain", "gain after arrival (newcomer form)"),
    ("newcomer_efficiency", "efficiency % after arrival, T = 12 (newcomer form)"),
]


def _as_percent(values: pd.Series) -> pd.Series:
    # Runs may store shares (0..1) or percentages (0..100); a share never exceeds 1.
    return values * 100 if values.dropna().abs().max() <= 1.0 + 1e-9 else values


def govsim_survived(runs: pd.DataFrame) -> pd.Series:
    """The run lasted its whole horizon without a collapse: the summary's ``survived`` (or
    ``survival``) flag where present, else survival time >= the configured months; a run whose
    summary names a collapse reason did not survive, even a collapse in its last month (summaries
    written before that rule marked such a run survived)."""
    months = runs["months"] if "months" in runs else pd.Series(12, index=runs.index)
    by_time = runs["survival_time"] >= months.fillna(12)
    ok = by_time
    for key in ("survived", "survival"):
        if key in runs and runs[key].notna().any():
            flag = runs[key].map(lambda v: bool(v) if pd.notna(v) else None)
            ok = flag.where(flag.notna(), by_time).astype(bool)
            break
    if "collapse_reason" in runs:
        ok = ok & runs["collapse_reason"].isna()
    return ok.astype(bool)


@dataclass
class GovSimTable:
    table: pd.DataFrame
    missing: list[str]


def govsim_table(runs: pd.DataFrame, by: tuple[str, ...] = ("variant", "setting", "model")
                 ) -> GovSimTable:
    """Survival rate and mean ± 95 % CI of every metric per variant, setting and model.

    Metrics absent from the runs' summaries are listed in ``missing`` and left out of the table.
    """
    from statsmodels.stats.weightstats import DescrStatsW

    missing = [key for key, _ in GOVSIM_METRICS if key not in runs or runs[key].isna().all()]
    present = [(k, name) for k, name in GOVSIM_METRICS if k not in missing]
    present += [(k, name) for k, name in GOVSIM_NEWCOMER_METRICS
                if k in runs and runs[k].notna().any()]
    data = runs.copy()
    if "survival_time" in data:
        data["_survived"] = govsim_survived(data)
    for key, name in present:
        data[key] = data[key].astype(float)
        if "%" in name:
            data[key] = _as_percent(data[key])
    rows = []
    for key, df in data.groupby(list(by), observed=True, sort=True):
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        row["runs"] = len(df)
        if "_survived" in df:
            row["survival rate %"] = 100.0 * df["_survived"].mean()
        for metric, name in present:
            x = df[metric].dropna().to_numpy()
            row[name] = float(x.mean()) if len(x) else np.nan
            if len(x) > 1 and np.ptp(x) > 0:
                lo, hi = DescrStatsW(x).tconfint_mean(alpha=0.05)
                row[name + " ±CI95"] = float(hi - x.mean())
            else:
                row[name + " ±CI95"] = 0.0 if len(x) > 1 else np.nan
        rows.append(row)
    return GovSimTable(pd.DataFrame(rows), missing)


# ---------------------------------------------------------------------------------------------
# Trajectories and survival curves


def trajectory(rounds: pd.DataFrame, metric: str, by: list[str], *,
               first_round: int = 0) -> pd.DataFrame:
    """Mean, s.e.m. and number of runs of ``metric`` per round and group.

    A run contributes to the rounds it lived through: after a collapse it has no rows, so late
    rounds average over the runs that were still going (``n`` says how many).
    """
    data = rounds[rounds["Round"] >= first_round].dropna(subset=[metric])
    grouped = data.groupby([*by, "Round"], observed=True, sort=True)[metric]
    return grouped.agg(mean="mean", sem="sem", n="count").reset_index()


def kaplan_meier(runs: pd.DataFrame, by: list[str], *, survived: pd.Series | None = None
                 ) -> dict[tuple, object]:
    """statsmodels ``SurvfuncRight`` per group: event = collapse, censored = lasted the horizon."""
    from statsmodels.duration.survfunc import SurvfuncRight

    data = runs.dropna(subset=["survival_time"]).copy()
    ok = survived.loc[data.index] if survived is not None else govsim_survived(data)
    data["_event"] = (~ok.astype(bool)).astype(int)
    out = {}
    for key, df in data.groupby(by, observed=True, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        out[key] = SurvfuncRight(df["survival_time"].to_numpy(float), df["_event"].to_numpy())
    return out


def km_table(curves: dict[tuple, object], by: list[str],
             horizons: dict[tuple, float]) -> pd.DataFrame:
    """P(survive month 1), P(survive the horizon) and the restricted mean survival time.

    The same three numbers GovSim's released analysis tabulates, each group at its own horizon
    (12 months, 15 with a newcomer). The restricted mean is the area under the Kaplan-Meier step
    function up to the horizon: the mean survival time when nothing is censored earlier.
    """
    rows = []
    for key, sf in curves.items():
        horizon = float(horizons[key])
        times = np.asarray(sf.surv_times, float)
        probs = np.asarray(sf.surv_prob, float)

        def at(t: float) -> float:
            # S(t) = product over event times <= t; 1 before the first event.
            idx = np.searchsorted(times, t, side="right") - 1
            return float(probs[idx]) if idx >= 0 else 1.0

        edges = np.concatenate([[0.0], times[times < horizon], [horizon]])
        levels = [1.0] + [float(p) for p in probs[times < horizon]]
        rmst = float(np.sum(np.diff(edges) * np.asarray(levels)))
        rows.append({**dict(zip(by, key)), "runs": int(len(sf.time)), "horizon": horizon,
                     "P(survive month 1)": at(1.0), "P(survive the horizon)": at(horizon),
                     "mean survival (KM, months)": rmst})
    return pd.DataFrame(rows)
