"""Configs and the `run` command: bad input gets one clear line, exit status 2, nothing written."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import cli
from model.config import ConfigError, RunConfig, load_config

ROOT = Path(__file__).resolve().parent.parent

BAD = {
    "unknown key": ("[norms]\nbogus = 1\n", "unknown key norms.bogus"),
    "unknown table": ("[nrms]\nn_agents = 3\n", "unknown key nrms"),
    "wrong type": ("[norms]\nn_agents = \"ten\"\n", "norms.n_agents = 'ten' has the wrong type"),
    "float for int": ("rounds = 2.5\n", "rounds = 2.5 has the wrong type"),
    "out of range": ("[norms]\ngrowth_rate = 1.7\n", "norms.growth_rate = 1.7 is out of range"),
    "negative": ("[norms]\npenalty = -1\n", "norms.penalty = -1.0 is out of range"),
    "bad choice": ("[norms]\npopulation = \"greedy\"\n", "norms.population = 'greedy' is not allowed"),
    "not toml": ("rounds = = 3\n", "not valid TOML"),
    "table expected": ("norms = 3\n", "norms must be a table"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_one_line_exit_2_nothing_written(case, tmp_path, capsys):
    text, expected = BAD[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    out = tmp_path / "out"
    assert cli.main(["run", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("commons-lab: error:")
    assert expected in err[0]
    assert not out.exists()


@pytest.mark.parametrize("args, expected", [
    (["--set", "norms.penalty"], "must look like key=value"),
    (["--set", "norms.penalty=-3"], "out of range"),
    (["--set", "llm.temperature=hot"], "wrong type"),
])
def test_bad_override(args, expected, tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["run", str(ROOT / "runs/demo.toml"), "--out", str(out), "--quiet", *args])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0]
    assert not out.exists()


def test_missing_config_file(tmp_path, capsys):
    assert cli.main(["run", str(tmp_path / "nope.toml"), "--quiet"]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_overrides_reach_the_config():
    config = load_config(ROOT / "runs/demo.toml", {"norms.penalty": 14, "seed": 3})
    assert config.norms.penalty == 14.0 and config.seed == 3 and config.name == "demo"
    with pytest.raises(ConfigError):
        RunConfig().replace(**{"modules.ablation": "half"})


def test_run_writes_tidy_tables_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["run", str(ROOT / "runs/demo.toml"), "--out", str(out), "--csv", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "survival time:" in printed and str(out) in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["seed"] == 7
    assert manifest["config"]["norms"]["n_agents"] == 10
    assert manifest["versions"]["mesa"].startswith("3.")
    rounds = pd.read_parquet(out / "rounds.parquet")
    agents = pd.read_parquet(out / "agents.parquet")
    pd.testing.assert_frame_equal(rounds, pd.read_csv(out / "rounds.csv"), check_dtype=False)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["survival_time"] == rounds["Round"].max()
    assert set(agents["AgentID"]) == set(range(1, 11))
    assert len(agents) == 10 * len(rounds)
    before = (out / "rounds.parquet").read_bytes()
    assert cli.main(["run", str(ROOT / "runs/demo.toml"), "--out", str(out), "--quiet"]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert (out / "rounds.parquet").read_bytes() == before


def test_unwritable_output_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cli.main(["run", str(ROOT / "runs/demo.toml"), "--out", str(blocker / "run"), "--quiet"]) == 2
    assert "cannot write to output folder" in capsys.readouterr().err


def test_entry_point_exit_status_and_help():
    bad = subprocess.run([sys.executable, "-m", "cli", "run", str(ROOT / "runs/demo.toml"),
                          "--set", "norms.n_agents=1"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "norms.n_agents = 1 is out of range" in bad.stderr
    helped = subprocess.run([sys.executable, "-m", "cli", "run", "--help"], capture_output=True,
                            text=True, cwd=ROOT)
    assert helped.returncode == 0 and "--resume" in helped.stdout


def test_overwrite_replaces_the_previous_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["run", str(ROOT / "runs/demo.toml"), "--out", str(out), "--csv", "--quiet"]) == 0
    (out / "calls.jsonl").write_text('{"stale": true}\n')
    assert cli.main(["run", str(ROOT / "runs/demo.toml"), "--out", str(out), "--overwrite",
                     "--quiet", "--seed", "8"]) == 0
    assert not (out / "calls.jsonl").exists() and not (out / "rounds.csv").exists()
    assert json.loads((out / "manifest.json").read_text())["seed"] == 8
