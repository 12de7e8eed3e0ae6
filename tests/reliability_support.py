"""Shared pieces of the reliability tests: tiny run configs, the fault server process, and the
checks that a run's tables and call log agree."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd

from agents.llm.call_log import read_calls
from model.config import RunConfig

ROOT = Path(__file__).resolve().parent.parent
FAULT_SERVER = Path(__file__).resolve().parent / "fault_server.py"


def norms_config(seed: int, host: str | None = None, rounds: int = 3, **extra) -> RunConfig:
    """Three LLM villagers for a few rounds: every decision type of the norms scenario."""
    return RunConfig(policy="llm", seed=seed, rounds=rounds, name=f"norms-{seed}").replace(**{
        "norms.n_agents": 3, "norms.initial_wealth": 300.0, "llm.backend": "ollama", "llm.host": host, "llm.max_retries": 1,
        "llm.timeout_s": 10.0, **extra})


def govsim_config(seed: int, host: str | None = None, months: int = 3, **extra) -> RunConfig:
    """Three GovSim villagers, a short discussion: every GovSim decision type."""
    return RunConfig(scenario="govsim", seed=seed, name=f"govsim-{seed}").replace(**{
        "govsim.n_agents": 3, "govsim.months": months, "govsim.max_utterances": 2,
        "govsim.memory_top_k": 2, "llm.backend": "ollama", "llm.host": host,
        "llm.max_retries": 1, "llm.timeout_s": 10.0, **extra})


def replay_config(config: RunConfig, log: Path) -> RunConfig:
    return config.replace(**{"llm.backend": "replay", "llm.replay_log": str(log), "llm.host": None})


@contextlib.contextmanager
def fault_server(mode: str = "ok", die_after: int | None = None, auth_file: Path | None = None):
    """The fault server as a real process on 127.0.0.1; yields (process, base URL)."""
    cmd = [sys.executable, str(FAULT_SERVER), "0", "--mode", mode]
    if die_after is not None:
        cmd += ["--die-after", str(die_after)]
    if auth_file is not None:
        cmd += ["--auth-file", str(auth_file)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().split()
        assert line and line[0] == "ready", f"fault server did not start: {line}"
        yield proc, f"http://127.0.0.1:{line[1]}"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()


def tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_parquet(p) for p in sorted(Path(folder).glob("*.parquet"))}


def assert_same_tables(a: Path, b: Path) -> None:
    ta, tb = tables(a), tables(b)
    assert ta.keys() == tb.keys() and ta, (sorted(ta), sorted(tb))
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name], check_exact=True, obj=name)


def status(folder: Path) -> str | None:
    return json.loads((Path(folder) / "manifest.json").read_text())["status"]


def check_call_log(folder: Path) -> dict:
    """No answered call recorded twice, and the LLM counters of the tables equal the log.

    Returns figures: answered chat attempts, transport failures recorded, fallbacks."""
    records = read_calls(Path(folder) / "calls.jsonl")
    chats = [r for r in records if r["kind"] == "chat" and r.get("raw") is not None]
    keys = Counter((r["agent"], r["round"], r["phase"], r["attempt"]) for r in chats)
    twice = [k for k, n in keys.items() if n > 1]
    assert not twice, f"answered twice in the call log: {twice[:3]}"
    embeds = Counter((r["agent"], r["round"], r["phase"]) for r in records if r["kind"] == "embed")
    assert all(n == 1 for n in embeds.values()), "an embedding recorded twice"
    rounds = tables(folder)["rounds"]
    retries = sum(1 for r in chats if r["attempt"] > 0)
    fallbacks = sum(1 for r in chats if r.get("fallback"))
    decisions = sum(1 for r in chats if r["attempt"] == 0)
    parse_failures = sum(1 for r in chats if r.get("error"))
    assert int(rounds["LLM_calls"].sum()) == len(chats)
    assert int(rounds["LLM_retries"].sum()) == retries
    assert int(rounds["LLM_fallbacks"].sum()) == fallbacks
    assert int(rounds["LLM_parse_failures"].sum()) == parse_failures
    assert int(rounds["LLM_prompt_tokens"].sum()) == sum(int(r.get("prompt_tokens") or 0)
                                                         for r in chats)
    if "LLM_decisions" in rounds:
        assert int(rounds["LLM_decisions"].sum()) == decisions
    return {"answered": len(chats), "failed": sum(1 for r in records if r.get("raw") is None
                                                  and r["kind"] == "chat"),
            "retries": retries, "fallbacks": fallbacks, "decisions": decisions}
