"""The analysis statistics checked against independent routes: sums of squares by hand, scipy's
Tukey HSD, a hand-written product-limit estimate; compact letters checked for their defining
property over arbitrary sets of significant pairs."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from analysis import stats as S


def balanced_design(seed: int = 0, reps: int = 5) -> pd.DataFrame:
    """Three models x three ratios x two environments, with real main and interaction effects."""
    rng = np.random.default_rng(seed)
    rows = []
    for env, model, share in itertools.product(["harsh", "rich"], ["m1", "m2", "m3"],
                                               [0.0, 0.5, 1.0]):
        effect = {"m1": 0, "m2": 4, "m3": 1}[model] + 6 * share * (model == "m3")
        for _ in range(reps):
            rows.append({"environment": env, "model": model, "altruist_share": share,
                         "survival_time": 10 + effect + rng.normal(0, 3)})
    return pd.DataFrame(rows)


def manual_two_way(df: pd.DataFrame) -> dict[str, tuple[int, float, float, float]]:
    """(df, F, p, eta squared) of a balanced two-way design from the textbook sums of squares."""
    y = df["survival_time"].to_numpy()
    grand = y.mean()
    a_levels, b_levels = sorted(df["model"].unique()), sorted(df["altruist_share"].unique())
    a, b = len(a_levels), len(b_levels)
    n = len(df) // (a * b)
    mean_a = df.groupby("model")["survival_time"].mean()
    mean_b = df.groupby("altruist_share")["survival_time"].mean()
    mean_ab = df.groupby(["model", "altruist_share"])["survival_time"].mean()
    ss_a = b * n * ((mean_a - grand) ** 2).sum()
    ss_b = a * n * ((mean_b - grand) ** 2).sum()
    ss_ab = n * sum((mean_ab[(i, j)] - mean_a[i] - mean_b[j] + grand) ** 2
                    for i in a_levels for j in b_levels)
    fitted = df.apply(lambda r: mean_ab[(r["model"], r["altruist_share"])], axis=1)
    ss_e = ((df["survival_time"] - fitted) ** 2).sum()
    ss_t = ((y - grand) ** 2).sum()
    df_e = len(df) - a * b
    out = {}
    for name, ss, d in (("Model", ss_a, a - 1), ("Altruistic ratio", ss_b, b - 1),
                        ("Model × ratio", ss_ab, (a - 1) * (b - 1))):
        f = (ss / d) / (ss_e / df_e)
        out[name] = (d, f, sps.f.sf(f, d, df_e), ss / ss_t)
    out["Residual"] = (df_e, np.nan, np.nan, ss_e / ss_t)
    return out


def test_anova_matches_hand_computed_sums_of_squares():
    data = balanced_design()
    result = S.anova_table(data)
    assert result.notes == []
    for env, df in data.groupby("environment"):
        expected = manual_two_way(df)
        got = result.table[result.table["environment"] == env].set_index("effect")
        assert list(got.index) == ["Model", "Altruistic ratio", "Model × ratio", "Residual"]
        for effect, (d, f, p, eta) in expected.items():
            assert got.loc[effect, "df"] == d
            assert got.loc[effect, "eta_sq"] == pytest.approx(eta, rel=1e-9)
            if effect != "Residual":
                assert got.loc[effect, "F"] == pytest.approx(f, rel=1e-9)
                assert got.loc[effect, "p"] == pytest.approx(p, rel=1e-7)
    # The paper's Table 1 shape: 3 effects + residual per environment, eta squared sums to 1
    # in a balanced design.
    sums = result.table.groupby("environment")["eta_sq"].sum()
    assert np.allclose(sums, 1.0)


def test_anova_leaves_out_what_the_design_cannot_estimate():
    data = balanced_design()
    one_model = data[data["model"] == "m1"]
    res = S.anova_table(one_model)
    assert set(res.table["effect"]) == {"Altruistic ratio", "Residual"}
    assert any("Model has one level" in n for n in res.notes)
    # An empty cell: the interaction is dropped (and said so), the main effects remain.
    holes = data[~((data["model"] == "m2") & (data["altruist_share"] == 1.0))]
    res = S.anova_table(holes)
    assert set(res.table["effect"]) == {"Model", "Altruistic ratio", "Residual"}
    assert any("empty" in n for n in res.notes)
    # One run per cell: no residual degrees of freedom with the interaction in the model.
    single = data.groupby(["environment", "model", "altruist_share"]).head(1)
    res = S.anova_table(single)
    assert "Model × ratio" not in set(res.table["effect"])


def test_tukey_agrees_with_scipy_and_letters_follow_the_rejections():
    rng = np.random.default_rng(3)
    groups = np.repeat(["g1", "g2", "g3", "g4"], 8)
    shift = {"g1": 0.0, "g2": 0.4, "g3": 3.0, "g4": 3.3}
    values = np.array([shift[g] for g in groups]) + rng.normal(0, 1, len(groups))
    res = S.tukey_hsd(values, groups, alpha=0.05)
    ref = sps.tukey_hsd(*[values[groups == g] for g in ["g1", "g2", "g3", "g4"]])
    names = ["g1", "g2", "g3", "g4"]
    for r in res.pairs.itertuples():
        i, j = names.index(r.group1), names.index(r.group2)
        assert r.p_adj == pytest.approx(ref.pvalue[i, j], abs=2e-3)
        share = bool(set(res.letters[r.group1]) & set(res.letters[r.group2]))
        assert share == (ref.pvalue[i, j] >= 0.05)
    # Highest mean gets "a".
    assert res.letters[res.order[0]].startswith("a")
    assert set(res.order[:2]) == {"g3", "g4"}


def test_tukey_needs_two_groups_and_spare_degrees_of_freedom():
    assert S.tukey_hsd([1.0, 2.0, 3.0], ["a", "a", "a"]) is None
    assert S.tukey_hsd([1.0, 2.0], ["a", "b"]) is None
    # Zero variance everywhere: statsmodels gives no p-value and nothing is called different.
    res = S.tukey_hsd([5.0] * 6, list("aabbcc"))
    assert set(res.letters.values()) == {"a"}


def test_compact_letters_of_a_chain():
    # a differs from c only: a-b and b-c overlap.
    assert S.compact_letters(["a", "b", "c"], [("a", "c")]) == {"a": "a", "b": "ab", "c": "b"}
    assert S.compact_letters(["x", "y"], []) == {"x": "a", "y": "a"}
    assert S.compact_letters(["x", "y"], [("y", "x")]) == {"x": "a", "y": "b"}


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 8).flatmap(lambda k: st.tuples(
    st.just(k), st.sets(st.tuples(st.integers(0, k - 1), st.integers(0, k - 1))))))
def test_compact_letters_share_a_letter_exactly_when_not_different(case):
    k, pairs = case
    groups = [f"g{i}" for i in range(k)]
    different = {frozenset((groups[i], groups[j])) for i, j in pairs if i != j}
    letters = S.compact_letters(groups, [tuple(p) for p in different])
    for a, b in itertools.combinations(groups, 2):
        shares = bool(set(letters[a]) & set(letters[b]))
        assert shares == (frozenset((a, b)) not in different)
    assert all(letters[g] for g in groups)


def product_limit(times, events):
    """Kaplan-Meier by hand: S(t) = prod over event times <= t of (1 - d / n at risk)."""
    times, events = np.asarray(times, float), np.asarray(events, int)
    out, s = {}, 1.0
    for t in np.unique(times[events == 1]):
        at_risk = (times >= t).sum()
        deaths = ((times == t) & (events == 1)).sum()
        s *= 1 - deaths / at_risk
        out[t] = s
    return out


def test_kaplan_meier_matches_the_product_limit_by_hand():
    runs = pd.DataFrame({
        "model": ["a"] * 7 + ["b"] * 4,
        "survival_time": [1, 1, 2, 4, 12, 12, 12, 3, 12, 12, 12],
        "survived": [False, False, False, False, False, True, True, False, True, True, True],
        "months": 12,
    })
    curves = S.kaplan_meier(runs, ["model"])
    for model, df in runs.groupby("model"):
        sf = curves[(model,)]
        expected = product_limit(df["survival_time"], (~df["survived"]).astype(int))
        assert list(sf.surv_times) == list(expected)
        assert np.allclose(sf.surv_prob, list(expected.values()))
    table = S.km_table(curves, ["model"], {("a",): 12, ("b",): 12}).set_index("model")
    # Model a: 2 of 7 collapse in month 1; the collapse in month 12 is an event too.
    assert table.loc["a", "P(survive month 1)"] == pytest.approx(5 / 7)
    assert table.loc["a", "P(survive the horizon)"] == pytest.approx(2 / 7)
    assert table.loc["b", "P(survive the horizon)"] == pytest.approx(3 / 4)
    # Without censoring before the horizon, the area under the curve is the mean survival time.
    assert table.loc["a", "mean survival (KM, months)"] == pytest.approx(
        runs[runs.model == "a"]["survival_time"].mean())


def test_govsim_table_reads_what_is_there_and_names_what_is_missing():
    runs = pd.DataFrame({
        "variant": "fishery", "setting": "default", "model": ["m"] * 4,
        "survival_time": [12, 12, 3, 1], "survived": [True, True, False, False],
        "gain": [100.0, 80.0, 30.0, 20.0], "efficiency": [0.9, 0.7, 0.25, 1 / 6],
        "months": 12,
    })
    out = S.govsim_table(runs)
    assert set(out.missing) == {"equality", "over_usage", "over_usage_published"}
    row = out.table.iloc[0]
    assert row["survival rate %"] == 50.0
    assert row["gain"] == pytest.approx(57.5)
    assert row["efficiency %"] == pytest.approx(100 * np.mean([0.9, 0.7, 0.25, 1 / 6]))
    half = sps.t.ppf(0.975, 3) * np.std([100, 80, 30, 20], ddof=1) / 2
    assert row["gain ±CI95"] == pytest.approx(half)
    # Without the flag, survival is "lasted the configured months".
    assert S.govsim_table(runs.drop(columns="survived")).table.iloc[0]["survival rate %"] == 50.0
