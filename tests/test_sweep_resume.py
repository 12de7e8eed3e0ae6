"""A sweep interrupted twice (Ctrl-C, then SIGKILL of the whole process group) and resumed by
the same command ends with the same tables as an uninterrupted sweep: no run missing, none twice,
and runs completed before an interruption are not run again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from model.sweep.index import read_index, sweep_tables

ROOT = Path(__file__).resolve().parent.parent
RUNS = 6 * 5
SWEEP = f"""
name = "resume-test"
base = "{ROOT / 'runs/demo.toml'}"
seeds = {{ first = 1, count = 5 }}
workers = 2
[set]
rounds = 40
[grid]
"norms.environment" = ["harsh", "rich"]
"norms.population" = ["altruistic", "selfish", "mixed"]
"""
TIMESTAMPS = ["started", "finished", "git_commit"]  # when and by which checkout


def sweep_cmd(path: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "cli", "sweep", str(path), "--out", str(out), "--quiet", *extra]


def completed(out: Path) -> dict[str, str]:
    """Run id -> start time of every run folder whose manifest says completed."""
    done = {}
    for manifest in (out / "runs").glob("*/manifest.json"):
        try:
            data = json.loads(manifest.read_text())
        except ValueError:  # being replaced right now
            continue
        if data.get("status") == "completed":
            done[manifest.parent.name] = data["started"]
    return done


def interrupt(path: Path, out: Path, at_least: int, sig: int) -> subprocess.CompletedProcess:
    """Start the sweep, wait until ``at_least`` runs are completed, send ``sig`` to its group."""
    proc = subprocess.Popen(sweep_cmd(path, out), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 240
    while len(completed(out)) < at_least:
        assert proc.poll() is None, f"the sweep ended before it was interrupted: {proc.communicate()}"
        assert time.monotonic() < deadline, "the sweep made no progress"
        time.sleep(0.05)
    os.killpg(proc.pid, sig)
    stdout, stderr = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def comparable(index: pd.DataFrame) -> pd.DataFrame:
    return index.drop(columns=TIMESTAMPS).reset_index(drop=True)


@pytest.mark.slow
def test_killed_sweep_resumes_to_the_same_tables(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP)
    ref, out = tmp_path / "reference", tmp_path / "interrupted"

    # The reference runs in one process (batch_run's serial path); the interrupted sweep in two.
    whole = subprocess.run(sweep_cmd(path, ref, "--workers", "1"), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert whole.returncode == 0, whole.stderr
    assert f"{RUNS} of {RUNS} runs completed ({RUNS} now, 0 before)" in whole.stdout

    # Ctrl-C (SIGINT to the foreground group): a clean stop with the resume hint.
    first = interrupt(path, out, 4, signal.SIGINT)
    assert first.returncode == 130, first.stderr
    assert "run the same command to resume" in first.stderr
    # Then a hard kill of the sweep and its worker processes.
    before_kill = completed(out)
    assert len(before_kill) < RUNS
    second = interrupt(path, out, len(before_kill) + 6, signal.SIGKILL)
    assert second.returncode == -signal.SIGKILL
    done = completed(out)
    assert len(before_kill) < len(done) < RUNS, "the kill must land in the middle of the sweep"
    # Whatever the killed command left unfinished is on disk, not in the count.
    stale = read_index(out)
    assert (stale["status"] == "completed").sum() < len(done)

    resumed = subprocess.run(sweep_cmd(path, out), cwd=ROOT, capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert (f"{RUNS} of {RUNS} runs completed ({RUNS - len(done)} now, {len(done)} before)"
            in resumed.stdout)
    # Runs completed before the kill were skipped, not run again.
    after = completed(out)
    assert {k: after[k] for k in done} == done

    index, expected = read_index(out), read_index(ref)
    assert len(index) == RUNS and index["run_id"].is_unique
    assert set(index["status"]) == {"completed"}
    pd.testing.assert_frame_equal(comparable(index), comparable(expected))
    for table in ("rounds", "agents", "events"):
        pd.testing.assert_frame_equal(sweep_tables(out, table), sweep_tables(ref, table))
    # One row per round (and the initial state) of each run, counted from the runs' summaries.
    rows = sweep_tables(out, "rounds").groupby("run_id").size()
    assert rows.to_dict() == (index.set_index("run_id")["rounds_run"] + 1).to_dict()
    # A third call finds nothing to do and changes nothing.
    again = subprocess.run(sweep_cmd(path, out), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert f"(0 now, {RUNS} before)" in again.stdout
    pd.testing.assert_frame_equal(comparable(read_index(out)), comparable(index))
