"""``commons-lab analyze`` over the folder of a real sweep (``commons-lab sweep``), checked
against the sweep's own index of its runs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("analysis_sweep")
    sweep = root / "grid.toml"
    sweep.write_text(f"""
name = "analysis-grid"
base = "{(ROOT / 'runs' / 'demo.toml').as_posix()}"
seeds = [1, 2, 3]
workers = 1

[set]
rounds = 25

[grid]
"norms.environment" = ["harsh", "rich"]
"norms.population" = ["selfish", "altruistic"]
"modules.ablation" = ["full", "neither"]
""")
    assert cli.main(["sweep", str(sweep), "--out", str(root / "out"), "--quiet"]) == 0
    assert cli.main(["analyze", str(root / "out"), "--out", str(root / "report")]) == 0
    return root


def test_report_agrees_with_the_sweep_index(swept):
    index = pd.read_parquet(swept / "out" / "index.parquet")
    assert len(index) == 24 and (index["status"] == "completed").all()
    full = index[index["modules.ablation"] == "full"]
    expected = full.groupby(["norms.environment", "norms.population"])["survival_time"].mean()
    got = pd.read_csv(swept / "report" / "tables" / "survival.csv")
    assert set(got["model"]) == {"rule-based"}
    assert len(got) == len(expected) == 4
    for row in got.itertuples():
        assert row.n == 3
        assert row.mean == pytest.approx(expected[(row.environment, row.population)])
    ablation = pd.read_csv(swept / "report" / "tables" / "ablation.csv")
    expected = index.groupby(["norms.environment", "norms.population", "modules.ablation"])[
        "survival_time"].mean()
    assert len(ablation) == 8
    for row in ablation.itertuples():
        assert row.mean == pytest.approx(expected[(row.environment, row.population, row.ablation)])
    runs = pd.read_csv(swept / "report" / "tables" / "runs.csv")
    assert sorted(runs["run_id"].str.split("/").str[-1]) == sorted(index["run_id"])
    html = (swept / "report" / "report.html").read_text(encoding="utf-8")
    assert "<h2>Ablations</h2>" in html and "run folders not used" not in html
