"""The report's Table 4 (the adopted norm every ten rounds) and the ablation t-tests in the
paper's form, on a small sweep of rule-based runs (cheap, and their norms are real text from
real runs); every number is checked against scipy and the raw round tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.ablation_tests import ablation_tests
from analysis.report import build_report
from model.config import ABLATION_MODULES, RunConfig
from model.runner import run

SEEDS = (1, 2)
PENALTIES = (6.0, 14.0)  # the "model" factor of this sweep (--model-key), two levels


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("paper_tables")
    for ablation in sorted(ABLATION_MODULES):
        for population in ("selfish", "altruistic"):
            for penalty in PENALTIES:
                for seed in SEEDS:
                    config = RunConfig(seed=seed, rounds=30).replace(**{
                        "norms.n_agents": 6, "norms.population": population,
                        "norms.environment": "harsh", "norms.penalty": penalty,
                        "modules.ablation": ablation})
                    run(config, root / "runs" / f"{ablation}-{population}-{penalty:g}-{seed}",
                        progress=False)
    report = build_report([root / "runs"], root / "report", model_key="config.norms.penalty")
    return root, report


def test_report_shows_table_4_and_the_t_tests(swept):
    root, report = swept
    md = report.markdown.read_text(encoding="utf-8")
    assert "Adopted norms every ten rounds (the paper's Table 4)" in md
    assert "Welch t-tests of mean survival time" in md
    assert (root / "report" / "tables" / "ablation_t_tests.csv").exists()


def test_table_4_is_the_longest_runs_norm_every_ten_rounds(swept):
    root, report = swept
    table = pd.read_csv(root / "report" / "tables" / "norms_every_10_rounds.csv", dtype=str,
                        keep_default_na=False)
    runs = report.runs.runs
    assert len(table) == len(runs.groupby(["population", "model", "ablation"], observed=True))
    for _, row in table.iterrows():
        cell = runs[(runs["population"] == row["population"])
                    & (runs["model"].astype(str) == row["model"])
                    & (runs["ablation"] == row["ablation"])]
        assert cell.loc[cell["run_id"] == row["run"], "survival_time"].iloc[0] == \
            cell["survival_time"].max()
        rounds = pd.read_parquet(root / "runs" / row["run"] / "rounds.parquet").set_index("Round")
        for step in (0, 10, 20, 30):
            r = max(step, 1)
            expected = rounds.loc[r, "Norm"] if r in rounds.index else ""
            assert row[f"step {step}"] == expected


def test_t_tests_are_welchs_against_the_pooled_rest(swept):
    _, report = swept
    runs = report.runs.runs
    tests = ablation_tests(runs)
    assert set(tests["family"]) == {"condition vs the rest", "population vs the rest of its condition",
                                    "model vs the other models of its condition"}
    for _, row in tests.iterrows():
        if row["family"] == "condition vs the rest":
            inside = runs["ablation"] == row["group"]
            a, b = runs[inside], runs[~inside]
        else:
            factor = "population" if row["family"].startswith("population") else "model"
            cond = runs[runs["ablation"] == row["within"]]
            a = cond[cond[factor].astype(str) == row["group"]]
            b = cond[cond[factor].astype(str) != row["group"]]
        assert (row["n"], row["n_rest"]) == (len(a), len(b))
        assert row["df_pooled"] == len(a) + len(b) - 2
        ref = stats.ttest_ind(a["survival_time"], b["survival_time"], equal_var=False)
        if np.isnan(ref.statistic):
            assert np.isnan(row["t"])
            continue
        assert row["t"] == pytest.approx(ref.statistic)
        assert row["df"] == pytest.approx(ref.df)
        assert row["p"] == pytest.approx(ref.pvalue)
    # Each condition against all other ablation runs: 3 x 4 x ... runs on each side.
    whole = tests[tests["family"] == "condition vs the rest"]
    assert (whole["n"] + whole["n_rest"] == len(runs)).all()


def test_a_scripted_llm_sweep_reports_its_norms_in_words_and_the_t_tests(tmp_path):
    # LLM villagers answered by the deterministic fake server (valid, hash-derived answers):
    # their norms are model text, as in the paper's Table 4.
    from reliability_support import fault_server

    with fault_server() as (_, url):
        for ablation in sorted(ABLATION_MODULES):
            for seed in (1, 2):
                config = RunConfig(policy="llm", seed=seed, rounds=4).replace(**{
                    "norms.n_agents": 2, "modules.ablation": ablation, "llm.backend": "ollama",
                    "llm.host": url, "llm.embedding_backend": "same"})
                run(config, tmp_path / "runs" / f"{ablation}-{seed}", progress=False)
    report = build_report([tmp_path / "runs"], tmp_path / "report")
    md = report.markdown.read_text(encoding="utf-8")
    assert "the paper's Table 4" in md and "Welch t-tests" in md
    table = pd.read_csv(tmp_path / "report" / "tables" / "norms_every_10_rounds.csv", dtype=str,
                        keep_default_na=False)
    assert set(table["ablation"]) == set(ABLATION_MODULES)
    for _, row in table.iterrows():
        rounds = pd.read_parquet(tmp_path / "runs" / row["run"] / "rounds.parquet")
        assert row["step 0"] == rounds.set_index("Round").loc[1, "Norm"]
    tests = pd.read_csv(tmp_path / "report" / "tables" / "ablation_t_tests.csv")
    whole = tests[tests["family"] == "condition vs the rest"]
    assert sorted(whole["group"]) == sorted(ABLATION_MODULES)
    assert (whole["n"] == 2).all() and (whole["n_rest"] == 6).all()
