"""An LLM sweep over two hosts, one of them dead, killed in the middle of its run and resumed.

The run is moved off the dead host (each command tries it first), continues from its call log
after the kill without repeating a recorded call, counts every call once, and its tables are
exactly what a strict replay of its call log gives. One run of 2 villagers x 1 round against the
embedded server: about 10 LLM calls.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from agents.llm.call_log import read_calls
from model.config import build, RunConfig
from model.runner import run
from model.sweep.index import read_index
from server_modes import prompt_cache

ROOT = Path(__file__).resolve().parent.parent


def dead_host() -> str:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def chat_lines(path: Path) -> list[dict]:
    try:
        return [r for r in read_calls(path) if r["kind"] == "chat" and r.get("raw") is not None]
    except Exception:  # not created yet
        return []


@pytest.mark.llm
@pytest.mark.slow
def test_llm_sweep_moves_off_a_dead_host_and_resumes_from_its_call_log(
        embedded_server, ollama_host, tmp_path):
    # Its tables are checked against the strict replay of its own log: the server's prompt
    # cache (faster, but it changes seeded answers) does not matter here.
    with prompt_cache(embedded_server):
        _moves_off_a_dead_host_and_resumes(ollama_host, tmp_path)


def _moves_off_a_dead_host_and_resumes(ollama_host, tmp_path):
    dead = dead_host()
    path = tmp_path / "sweep.toml"
    path.write_text(f"""
name = "llm-resume"
base = "{ROOT / 'runs/demo-llm.toml'}"
seeds = [3]
hosts = ["{dead}", "{ollama_host}"]
[set]
rounds = 1
"norms.n_agents" = 2
"llm.concurrency" = 1
"llm.timeout_s" = 600.0
""")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "cli", "sweep", str(path), "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    log = out / "runs" / "seed-3" / "calls.jsonl"
    deadline = time.monotonic() + 900
    while len(chat_lines(log)) < 3:
        assert proc.poll() is None, f"the sweep ended before the kill: {proc.communicate()}"
        assert time.monotonic() < deadline, "no LLM calls were recorded"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    _, first_err = proc.communicate(timeout=60)
    assert "LLMSetupError on " + dead in first_err  # the dead host was tried and set aside
    before = chat_lines(log)
    manifest = json.loads((out / "runs/seed-3/manifest.json").read_text())
    assert manifest["status"] == "running"  # the kill left it unfinished

    resumed = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert resumed.returncode == 0, resumed.stderr
    assert "1 of 1 runs completed (1 now, 0 before)" in resumed.stdout
    after = chat_lines(log)
    # Recorded calls were served from the log, not asked again, and not written twice.
    assert after[:len(before)] == before
    keys = [(r["agent"], r["round"], r["phase"], r["attempt"]) for r in after]
    assert len(keys) == len(set(keys)) and len(after) > len(before)

    run_dir = out / "runs" / "seed-3"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["llm_calls"] == len(after)
    index = read_index(out)
    assert index["status"].tolist() == ["completed"] and index["host"].tolist() == [ollama_host]
    # The resumed run is exactly its call log: a strict replay (no server) gives the same tables.
    config = build(RunConfig, json.loads((run_dir / "manifest.json").read_text())["config"])
    replay = config.replace(**{"llm.backend": "replay", "llm.replay_log": str(log)})
    run(replay, tmp_path / "replay", progress=False)
    for table in ("rounds", "agents", "events"):
        pd.testing.assert_frame_equal(pd.read_parquet(run_dir / f"{table}.parquet"),
                                      pd.read_parquet(tmp_path / "replay" / f"{table}.parquet"))
