"""A small sweep on a real Dask LocalCluster (2 worker processes) gives the same run folders and
index as the same sweep run locally through mesa.batch_run, and resumes on the cluster too."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from model.sweep.config import load_sweep
from model.sweep.run import run_sweep
from model.sweep.index import read_index, sweep_tables

ROOT = Path(__file__).resolve().parent.parent
SWEEP = f"""
name = "dask-test"
base = "{ROOT / 'runs/demo.toml'}"
seeds = [5, 6]
[set]
rounds = 30
"norms.n_agents" = 6
[grid]
"norms.environment" = ["harsh", "rich"]
"norms.penalty" = [2.0, 14.0]
"""


def comparable(index: pd.DataFrame) -> pd.DataFrame:
    return index.drop(columns=["started", "finished", "git_commit"])


@pytest.mark.slow
def test_sweep_on_a_local_dask_cluster_matches_the_local_sweep(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP)
    local = run_sweep(load_sweep(path, settings={"workers": 1}), tmp_path / "local", progress=False)
    assert local.ok and local.engine == "local"

    sweep = load_sweep(path, settings={"engine": "dask", "workers": 2})
    out = tmp_path / "dask"
    result = run_sweep(sweep, out, progress=False)
    assert result.ok, result.failed
    assert result.engine == "dask (LocalCluster of 2 processes, 2 slots)"
    assert (result.planned, result.ran) == (8, 8)
    index = read_index(out)
    pd.testing.assert_frame_equal(comparable(index), comparable(read_index(tmp_path / "local")))
    for table in ("rounds", "agents", "events"):
        pd.testing.assert_frame_equal(sweep_tables(out, table), sweep_tables(tmp_path / "local", table))
    # Resume on the cluster: one run folder lost, one left half-done by a crash; only those two
    # run again, and the index is the same as before.
    lost, broken = index["run_id"][0], index["run_id"][5]
    shutil.rmtree(out / "runs" / lost)
    manifest = out / "runs" / broken / "manifest.json"
    data = json.loads(manifest.read_text())
    data.update(status="running", finished=None)
    manifest.write_text(json.dumps(data))
    (out / "runs" / broken / "summary.json").unlink()
    again = run_sweep(sweep, out, progress=False)
    assert again.ok and (again.ran, again.before) == (2, 6)
    pd.testing.assert_frame_equal(comparable(read_index(out)), comparable(index))
