"""Server faults: a server killed mid-run, one that hangs, fails with HTTP 500 or drops the
connection mid-answer. Every interrupted run stops cleanly (status "failed" on disk), resumes
against a restarted server and ends with tables identical to a strict replay of its call log;
no answered call is recorded twice and the tables' LLM counters equal the log.

The 20 seeded kill-and-resume runs and the misbehaving servers use ``tests/fault_server.py``, a
deterministic Ollama-API process written for these tests (real HTTP on 127.0.0.1, answers valid
for the requested schema, SIGKILLed mid-call): a fake used only for these fault paths, because
real model calls for 20 runs would not fit the test budget and a real server cannot be made to
hang or fail on demand. One norms run is killed and resumed against the real embedded server.
"""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from agents.llm.call_log import read_calls
from agents.llm.client import LLMClient
from agents.llm.errors import LLMError, LLMUnavailableError
from model.runner import run
from reliability_support import (
    ROOT, assert_same_tables, check_call_log, fault_server, govsim_config, norms_config,
    replay_config, status,
)

N_RUNS = 20


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    # The real pauses (0.5 s, 2 s) only make these tests slow; the retry count is unchanged.
    monkeypatch.setattr(LLMClient, "backoff_s", (0.02,))


def _kill_resume_replay(config_of, seed: int, die_after: int, tmp: Path) -> dict:
    out, again = tmp / f"run{seed}", tmp / f"replay{seed}"
    with fault_server(die_after=die_after) as (proc, url):
        with pytest.raises(LLMError):
            run(config_of(seed, url), out, progress=False)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    assert status(out) == "failed"
    killed_in = max(r["round"] for r in read_calls(out / "calls.jsonl"))
    with fault_server() as (_, url):  # a restarted server, on another port
        run(config_of(seed, url), out, resume=True, progress=False)
    assert status(out) == "completed"
    figures = check_call_log(out)
    run(replay_config(config_of(seed), out / "calls.jsonl"), again, progress=False)
    assert_same_tables(out, again)
    return figures | {"round": killed_in}


def test_server_killed_mid_run_resumes_to_identical_tables(tmp_path):
    rng = random.Random(2026)
    done = []
    for i in range(N_RUNS):
        config_of = norms_config if i % 2 == 0 else govsim_config
        seed = 100 + i
        done.append(_kill_resume_replay(config_of, seed, rng.randint(1, 24), tmp_path))
    rounds = sorted(d["round"] for d in done)
    print(f"\nserver faults: {len(done)}/{N_RUNS} runs (10 norms, 10 GovSim) killed mid-call "
          f"(rounds {rounds[0]}-{rounds[-1]}), resumed, tables identical to strict replay; "
          f"{sum(d['answered'] for d in done)} answered calls, 0 recorded twice")
    assert len(done) == N_RUNS


@pytest.mark.parametrize("mode", ["hang", "500", "drop"])
def test_misbehaving_server_stops_the_run_cleanly_and_it_resumes(mode, tmp_path):
    config = norms_config(7, rounds=2, **{"llm.timeout_s": 1.0})
    out = tmp_path / "run"
    with fault_server(mode=mode) as (_, url):
        start = time.monotonic()
        with pytest.raises(LLMUnavailableError, match="can be resumed"):
            run(config.replace(**{"llm.host": url}), out, progress=False)
        took = time.monotonic() - start
    assert status(out) == "failed"
    failed = [r for r in read_calls(out / "calls.jsonl") if r["kind"] == "chat" and r.get("raw") is None]
    assert failed and all(r["transport_error"] for r in failed)
    with fault_server() as (_, url):
        run(config.replace(**{"llm.host": url}), out, resume=True, progress=False)
    assert status(out) == "completed"
    check_call_log(out)
    run(replay_config(config, out / "calls.jsonl"), tmp_path / "replay", progress=False)
    assert_same_tables(out, tmp_path / "replay")
    print(f"\nserver {mode}: {LLMClient.transport_retries + 1} tries, LLMUnavailableError after "
          f"{took:.1f} s, status failed on disk, resumed, tables identical to strict replay")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve():
    port = _free_port()
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "commons-lab"), "serve", "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/version", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, "commons-lab serve exited"
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("commons-lab serve did not answer within 120 s")


@pytest.mark.llm
def test_real_embedded_server_killed_mid_round_resumes(tmp_path):
    """A `commons-lab serve` process SIGKILLed during round 2's calls; resumed on a new one.
    At most 2 villagers x 2 rounds x 2 decisions x 2 attempts = 16 real calls (+ 1 re-asked)."""
    config = norms_config(5, rounds=2, **{"norms.n_agents": 2, "modules.ablation": "neither",
                                          "llm.timeout_s": 120.0})
    out = tmp_path / "run"
    proc, url = _serve()
    try:
        def arm(model):
            if model.round != 1:
                return
            seen = len(read_calls(out / "calls.jsonl"))

            def kill_after_next_call():  # dies while round 2's next call is in flight
                while proc.poll() is None and len(read_calls(out / "calls.jsonl")) < seen + 1:
                    time.sleep(0.05)
                proc.send_signal(signal.SIGKILL)

            threading.Thread(target=kill_after_next_call, daemon=True).start()

        with pytest.raises(LLMError):
            run(config.replace(**{"llm.host": url}), out, progress=False, on_round=arm)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    assert status(out) == "failed"
    before = len([r for r in read_calls(out / "calls.jsonl") if r.get("raw") is not None])
    proc, url = _serve()
    try:
        run(config.replace(**{"llm.host": url}), out, resume=True, progress=False)
    finally:
        proc.kill()
        proc.wait()
    assert status(out) == "completed"
    figures = check_call_log(out)
    run(replay_config(config, out / "calls.jsonl"), tmp_path / "replay", progress=False)
    assert_same_tables(out, tmp_path / "replay")
    print(f"\nreal server fault: commons-lab serve SIGKILLed in round 2 after {before} answered "
          f"calls, resumed on a new server ({figures['answered']} answered calls in all, 0 twice), "
          "tables identical to strict replay")
