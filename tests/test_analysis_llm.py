"""The report over a real LLM run on the embedded server next to rule-based runs.

LLM budget: none of its own. The LLM run is the session's shared demo run (conftest.llm_demo_run:
2 villagers x 2 rounds, at most 16 chat decisions and 3 embedding calls), copied in as ``llm``.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from analysis.report import build_report
from model.config import RunConfig
from model.runner import run

pytestmark = pytest.mark.llm


@pytest.fixture(scope="module")
def mixed_runs(llm_demo_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("analysis_llm")
    shutil.copytree(llm_demo_run[0], root / "runs" / "llm")
    llm_summary = json.loads((root / "runs" / "llm" / "summary.json").read_text())
    for seed in (1, 2):
        rule = RunConfig(seed=seed, rounds=2).replace(**{
            "norms.n_agents": 2, "norms.population": "mixed", "norms.environment": "rich"})
        run(rule, root / "runs" / f"rule-{seed}", progress=False)
    report = build_report([root / "runs"], root / "report")
    return root, llm_summary, report


def test_llm_run_is_a_model_level_with_its_own_numbers(mixed_runs):
    root, llm_summary, report = mixed_runs
    runs = report.runs.runs.set_index("run_id")
    assert runs.loc["llm", "model"] == "smollm2:135m"  # the model factor of an LLM run
    assert set(runs["model"].astype(str)) == {"smollm2:135m", "rule-based"}
    assert runs.loc["llm", "llm_calls"] == llm_summary["llm_calls"] > 0
    survival = report.tables["survival"].astype({"model": str}).set_index("model")
    assert survival.loc["smollm2:135m", "mean"] == llm_summary["survival_time"]
    assert survival.loc["smollm2:135m", "n"] == 1


def test_end_of_run_norm_similarity_of_the_llm_run(mixed_runs):
    root, _, report = mixed_runs
    rounds = pd.read_parquet(root / "runs" / "llm" / "rounds.parquet").dropna(subset=["SInd"])
    assert len(rounds) > 0, "the LLM run recorded no norm similarity"
    table = report.tables["norm_similarity"].astype({"model": str}).set_index("model")
    assert table.loc["smollm2:135m", "s_ind_mean"] == pytest.approx(rounds["SInd"].iloc[-1])
    assert table.loc["smollm2:135m", "s_align_mean"] == pytest.approx(rounds["SAlign"].iloc[-1])
    # Rule-based villagers hold no norm texts: only the LLM run is in the scatter.
    assert list(table.index) == ["smollm2:135m"]
    assert report.figures["norm_scatter"].stat().st_size > 10_000
    manifest = json.loads((root / "runs" / "llm" / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert np.isfinite(report.runs.runs.set_index("run_id").loc["llm", "final_s_align"])


def test_the_report_sums_what_the_llm_calls_cost(mixed_runs):
    root, llm_summary, report = mixed_runs
    from agents.llm.call_log import read_calls

    chats = [r for r in read_calls(root / "runs" / "llm" / "calls.jsonl") if r["kind"] == "chat"]
    cost = report.tables["llm_cost"].set_index("model")
    assert list(cost.index) == ["smollm2:135m"]  # rule-based runs make no calls
    row = cost.loc["smollm2:135m"]
    assert row["calls"] == llm_summary["llm_calls"] == len(chats)
    assert row["prompt tokens"] == sum(r["prompt_tokens"] for r in chats)
    assert row["from the server's cache"] == sum(r["cached_tokens"] or 0 for r in chats)
    assert row["cached share"] == pytest.approx(
        row["from the server's cache"] / row["prompt tokens"], abs=1e-3)
    assert "LLM cost" in report.html.read_text()
