"""No silent wrong result: a value that cannot be right is refused with one line, before
anything is written, and a run never quietly becomes another run.

Each case here once ran to "completed" (or wrote invalid JSON, or ran the wrong config).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import cli
from model.run_folder import atomic_write_json
from reliability_support import fault_server, norms_config

ROOT = Path(__file__).resolve().parent.parent
DEMO = str(ROOT / "runs" / "demo.toml")


def one_line_error(capsys, code: int, expected: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("commons-lab: error:"), err
    assert expected in err[0], err[0]
    return err[0]


@pytest.mark.parametrize("setting", ["norms.capacity=nan", "norms.penalty=nan",
                                     "norms.growth_rate=nan", "llm.temperature=nan",
                                     "norms.consumption=inf", "norms.initial_wealth=-inf"])
def test_non_finite_numbers_are_refused(setting, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["run", DEMO, "--set", setting, "--out", str(out), "--quiet"]) == 2
    one_line_error(capsys, 2, "must be a finite number")
    assert not out.exists()


@pytest.mark.parametrize("setting, expected", [
    ("norms.initial_stock=400.0", "norms.initial_stock = 400 is above norms.capacity = 300"),
    ("norms.collapse_threshold=300.0", "must lie below norms.capacity"),
    ('name="../../../tmp/escape"', "must be a plain name"),
])
def test_cross_field_and_path_checks(setting, expected, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["run", DEMO, "--set", setting, "--out", str(out), "--quiet"]) == 2
    one_line_error(capsys, 2, expected)
    assert not out.exists() and not Path("/tmp/escape").exists()


def test_govsim_stock_above_capacity_is_refused(tmp_path, capsys):
    cfg = ROOT / "runs" / "govsim-fishery-demo.toml"
    assert cli.main(["run", str(cfg), "--set", "govsim.initial_stock=200",
                     "--out", str(tmp_path / "o"), "--quiet"]) == 2
    one_line_error(capsys, 2, "govsim.initial_stock = 200 is above govsim.capacity = 100")


@pytest.mark.parametrize("change", [["--seed", "8"], ["--set", "norms.penalty=14"],
                                    ["--set", 'norms.environment="harsh"']])
def test_resume_refuses_a_changed_config_or_seed(change, tmp_path, capsys):
    out = tmp_path / "run"
    base = ["run", DEMO, "--out", str(out), "--quiet", "--set", "rounds=3"]
    assert cli.main(base) == 0
    before = (out / "manifest.json").read_text()
    capsys.readouterr()
    assert cli.main([*base, "--resume", *change]) == 2
    one_line_error(capsys, 2, "differs from the recorded run's")
    assert (out / "manifest.json").read_text() == before  # the recorded run is untouched
    assert cli.main([*base, "--resume"]) == 0  # the same config still resumes (completed: no-op)


def test_strict_replay_refuses_a_log_of_another_seed(tmp_path, capsys):
    with fault_server() as (_, url):
        from model.runner import run

        recorded = tmp_path / "recorded"
        run(norms_config(3, url, rounds=1), recorded, progress=False)
    cfg = tmp_path / "replay.toml"
    cfg.write_text(f'policy = "llm"\nrounds = 1\nseed = 4\n[norms]\nn_agents = 3\n'
                   f'initial_wealth = 300.0\n[llm]\nbackend = "replay"\n'
                   f'replay_log = "{recorded / "calls.jsonl"}"\nmax_retries = 1\n')
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "again"), "--quiet"]) == 2
    one_line_error(capsys, 2, "strict replay needs the config and seed of the recorded run")


def test_summary_json_is_valid_json_even_for_nan(tmp_path):
    path = tmp_path / "summary.json"
    atomic_write_json(path, {"mean_efficiency": float("nan"), "nested": [float("inf"), 1.5]})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"mean_efficiency": None, "nested": [None, 1.5]}


def test_a_password_in_the_host_never_reaches_the_manifest(tmp_path):
    from model.runner import run

    with fault_server() as (_, url):
        secret_url = url.replace("http://", "http://lab:hunter2secret@")
        run(norms_config(1, secret_url, rounds=1), tmp_path / "run", progress=False)
    for path in (tmp_path / "run").iterdir():
        assert "hunter2secret" not in path.read_text(errors="replace"), path.name


SWEEP_BASE = f'base = "{DEMO}"\nseeds = [1]\n'


@pytest.mark.parametrize("grid, expected", [
    ('"norms.environment" = ["harsh"]\nnorms.environment = ["rich"]\n', "given twice"),
    ("norms.penalty = [10, 10.0]\n", "lists 10.0 twice"),
    ("norms.penalty = [" + ", ".join(str(i) for i in range(1000)) + "]\n"
     "norms.consumption = [" + ", ".join(str(i) for i in range(1000)) + "]\n",
     "at most 10,000 conditions"),
])
def test_sweep_grids_that_cannot_mean_what_they_say_are_refused(grid, expected, tmp_path, capsys):
    path = tmp_path / "sweep.toml"
    path.write_text(f'name = "s"\n{SWEEP_BASE}[grid]\n{grid}')
    start = time.monotonic()
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert time.monotonic() - start < 30  # refused at once, not validated for an hour
    one_line_error(capsys, 2, expected)
    assert not (tmp_path / "out").exists()
