"""Replay: runs recorded against a server are replayed without one, table for table.

The recordings come from ``tests/fault_server.py`` (deterministic answers valid for each
schema; see its docstring); a real embedded-model recording is replayed in
tests/test_reliability_server_faults.py and tests/test_govsim_demo_llm.py."""

from __future__ import annotations

from model.runner import run
from reliability_support import (
    assert_same_tables, fault_server, govsim_config, norms_config, replay_config, status,
)

RUNS = 10


def test_recorded_runs_replay_identically_without_a_server(tmp_path):
    same = 0
    with fault_server() as (proc, url):
        recorded = []
        for i in range(RUNS):
            make = norms_config if i % 2 == 0 else govsim_config
            config = make(200 + i, rounds=2) if make is norms_config else make(200 + i, months=2)
            run(config.replace(**{"llm.host": url}), tmp_path / f"rec{i}", progress=False)
            recorded.append(config)
        proc.kill()  # no server from here on
        proc.wait()
    for i, config in enumerate(recorded):
        run(replay_config(config, tmp_path / f"rec{i}" / "calls.jsonl"), tmp_path / f"rep{i}",
            progress=False)
        assert status(tmp_path / f"rep{i}") == "completed"
        assert_same_tables(tmp_path / f"rec{i}", tmp_path / f"rep{i}")
        same += 1
    print(f"\nreplay: {same}/{RUNS} recorded runs (5 norms, 5 GovSim) replayed without a server, "
          "every table identical")
    assert same == RUNS
