"""A run's status tells the truth after any ending, and its call log stays bounded.

- SIGKILL: the manifest cannot be updated, so readers see "interrupted" once the writer is gone.
- SIGTERM and Ctrl-C: the current table write finishes and the run is marked "interrupted".
- A killed sweep takes its worker processes with it.
- A server answering megabytes per call cannot swell calls.jsonl.
"""

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

from model.run_folder import read_manifest
from reliability_support import fault_server

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())"]


def _llm_config(tmp_path: Path, url: str, rounds: int = 50) -> Path:
    path = tmp_path / "llm.toml"
    path.write_text(f'policy = "llm"\nrounds = {rounds}\nseed = 1\n[norms]\nn_agents = 3\n'
                    f'initial_wealth = 300.0\n[llm]\nbackend = "ollama"\nhost = "{url}"\n'
                    "max_retries = 1\ntimeout_s = 10.0\n")
    return path


def _wait_for(predicate, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def _rounds_on_disk(out: Path) -> int:
    try:
        return len(pd.read_parquet(out / "rounds.parquet"))
    except (OSError, ValueError):
        return 0


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_status_after_a_signal(sig, tmp_path):
    with fault_server() as (_, url):
        out = tmp_path / "run"
        proc = subprocess.Popen([*CLI, "run", str(_llm_config(tmp_path, url)), "--out", str(out),
                                 "--quiet"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        _wait_for(lambda: _rounds_on_disk(out) >= 3)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    manifest = read_manifest(out)
    assert manifest["status"] == "interrupted", manifest["status"]
    if sig == signal.SIGKILL:
        assert manifest.get("stale") is True  # the file still says running; the reader knows
    else:
        assert proc.returncode == 130 and "interrupted" in err
        assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
        # The tables were written in full after the signal: at least the rounds seen before it.
        assert "rounds.parquet" in manifest["files"]
        assert len(pd.read_parquet(out / "rounds.parquet")) >= 3


def _children(pid: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                out.add(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_sweep_takes_its_workers_with_it(tmp_path):
    with fault_server("hang") as (_, url):
        sweep = tmp_path / "sweep.toml"
        base = _llm_config(tmp_path, url, rounds=2)
        sweep.write_text(f'name = "hung"\nbase = "{base}"\nseeds = [1, 2]\nworkers = 2\n'
                         f'hosts = ["{url}"]\nruns_per_host = 2\n')
        proc = subprocess.Popen([*CLI, "sweep", str(sweep), "--out", str(tmp_path / "out"),
                                 "--quiet"], cwd=ROOT, stderr=subprocess.DEVNULL)
        try:
            _wait_for(lambda: len(_children(proc.pid)) >= 2)
            workers = _children(proc.pid)
            proc.kill()
            proc.wait(timeout=30)
            _wait_for(lambda: not any(_alive(w) for w in workers), timeout=30)
        finally:
            for w in _children(proc.pid):
                os.kill(w, signal.SIGKILL)


def test_huge_answers_leave_a_bounded_call_log(tmp_path):
    from model.runner import run
    from reliability_support import norms_config

    with fault_server("huge") as (_, url):
        out = tmp_path / "run"
        run(norms_config(1, url, rounds=1), out, progress=False)
    calls = [json.loads(line) for line in (out / "calls.jsonl").read_text().splitlines()]
    chats = [c for c in calls if c["kind"] == "chat"]
    assert chats and all(c["raw_chars"] == 20 << 20 for c in chats)
    # Each record holds at most the cut answer and its cleaned copy: bounded per call, where
    # the 20 MB answers would have made a log of over 400 MB.
    assert (out / "calls.jsonl").stat().st_size < 256 * 1024 * len(chats)
