"""The ablation tests in the paper's form (Gupta et al., Sec. 4.2.5): Welch t-tests of mean
survival time, each group against the pooled rest.

Three families, as the paper reports them: each ablation condition against all other ablation
runs (its "Neither ... t(898)"), each population within a condition against the condition's
other populations (its "OGD with selfish priors ... t(238)"), and each model within a condition
against the condition's other models (its "gpt-4o ... t(178)"). The degrees of freedom are
Welch-Satterthwaite's, so they are not whole numbers; the paper's integer dfs are the pooled-
variance ones, n1 + n2 - 2, given beside them.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

DV = "survival_time"


def welch(a, b) -> tuple[float, float, float]:
    """(t, Welch df, two-sided p) of mean(a) - mean(b), by scipy; NaN when either side is too
    small. Two samples that do not vary but differ in mean give an infinite t, as in scipy."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan, math.nan
    with warnings.catch_warnings():  # identical values: scipy warns of its own precision loss
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(a, b, equal_var=False)
    return float(result.statistic), float(result.df), float(result.pvalue)


def _row(family: str, within: str, group: str, a: pd.Series, b: pd.Series) -> dict:
    t, df, p = welch(a, b)
    return {"family": family, "within": within, "group": group, "n": len(a),
            "mean": float(a.mean()) if len(a) else math.nan, "n_rest": len(b),
            "mean_rest": float(b.mean()) if len(b) else math.nan, "t": t, "df": df,
            "df_pooled": len(a) + len(b) - 2, "p": p}


def ablation_tests(runs: pd.DataFrame) -> pd.DataFrame:
    """Every test of the three families over the ablation runs in ``runs``."""
    rows = []
    conditions = list(pd.unique(runs["ablation"]))
    if len(conditions) < 2:
        return pd.DataFrame()
    for cond in conditions:
        mask = runs["ablation"] == cond
        rows.append(_row("condition vs the rest", "all ablation runs", str(cond),
                         runs.loc[mask, DV], runs.loc[~mask, DV]))
    for factor, family in (("population", "population vs the rest of its condition"),
                           ("model", "model vs the other models of its condition")):
        for cond in conditions:
            inside = runs[runs["ablation"] == cond]
            levels = list(pd.unique(inside[factor]))
            if len(levels) < 2:
                continue
            for level in levels:
                mask = inside[factor] == level
                rows.append(_row(family, str(cond), str(level), inside.loc[mask, DV],
                                 inside.loc[~mask, DV]))
    return pd.DataFrame(rows)
