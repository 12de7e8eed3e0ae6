"""Every refusal and every broken server ends with one line and its exit status, never a
traceback: 2 for bad input, 3 for a server that cannot be used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cli
from reliability_support import fault_server, norms_config

ROOT = Path(__file__).resolve().parent.parent
DEMO = str(ROOT / "runs" / "demo.toml")


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("commons-lab: error:"), err
    return err[0]


def test_out_is_an_existing_file(tmp_path, capsys):
    target = tmp_path / "a-file"
    target.write_text("keep me")
    assert cli.main(["run", DEMO, "--out", str(target), "--quiet"]) == 2
    assert "is a file" in one_line(capsys) and target.read_text() == "keep me"


@pytest.mark.parametrize("out", ["/proc/commons-lab-sweep", "/sys/commons-lab-sweep"])
def test_sweep_out_where_nothing_can_be_written(out, capsys):
    assert cli.main(["sweep", str(ROOT / "runs" / "sweep-demo.toml"), "--out", out,
                     "--quiet"]) == 2
    assert "cannot write to output folder" in one_line(capsys)


def _llm_config_file(tmp_path: Path, url: str, **llm) -> Path:
    cfg = norms_config(1, url, rounds=1)
    path = tmp_path / "llm.toml"
    lines = ['policy = "llm"', "rounds = 1", "seed = 1", "[norms]", "n_agents = 3",
             "initial_wealth = 300.0", "[llm]", 'backend = "ollama"', f'host = "{url}"',
             "max_retries = 1", f"timeout_s = {cfg.llm.timeout_s}"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in llm.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("mode, expected", [
    ("notjson", "not the API's JSON"), ("list", "not the API's JSON"),
    ("400", "rejected"), ("nan-embed", "NaN or infinity")])
def test_a_broken_server_stops_the_run_with_one_line(mode, expected, tmp_path, capsys):
    with fault_server(mode) as (_, url):
        path = _llm_config_file(tmp_path, url)
        out = tmp_path / "out"
        assert cli.main(["run", str(path), "--out", str(out), "--quiet"]) == 3
    assert expected in one_line(capsys)
    assert json.loads((out / "manifest.json").read_text())["status"] == "failed"


def _recorded_log(tmp_path: Path) -> Path:
    from model.runner import run

    with fault_server() as (_, url):
        run(norms_config(1, url, rounds=1), tmp_path / "rec", progress=False)
    return tmp_path / "rec" / "calls.jsonl"


def _replay_file(tmp_path: Path, log: Path, rounds: int = 1) -> Path:
    path = tmp_path / "replay.toml"
    path.write_text(f'policy = "llm"\nrounds = {rounds}\nseed = 1\nname = "norms-1"\n[norms]\n'
                    f'n_agents = 3\ninitial_wealth = 300.0\n[llm]\nbackend = "replay"\n'
                    f'replay_log = "{log}"\nmax_retries = 1\ntimeout_s = 10.0\n')
    return path


def test_replay_of_a_damaged_missing_or_too_short_log(tmp_path, capsys):
    log = _recorded_log(tmp_path)
    # More rounds than were recorded: the first call the log lacks is named.
    assert cli.main(["run", str(_replay_file(tmp_path, log, rounds=2)), "--out",
                     str(tmp_path / "longer"), "--quiet"]) == 2
    assert "holds no answer" in one_line(capsys)
    # A corrupt line in the middle of the log.
    lines = log.read_text().splitlines()
    lines[1] = lines[1][: len(lines[1]) // 2]
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_text("\n".join(lines) + "\n")
    assert cli.main(["run", str(_replay_file(tmp_path, damaged)), "--out",
                     str(tmp_path / "d"), "--quiet"]) == 2
    assert "line 2 is not a JSON record" in one_line(capsys)
    # A record without its keys.
    keyless = tmp_path / "keyless.jsonl"
    keyless.write_text(json.dumps({"kind": "chat", "raw": "{}"}) + "\n")
    assert cli.main(["run", str(_replay_file(tmp_path, keyless)), "--out",
                     str(tmp_path / "k"), "--quiet"]) == 2
    assert "lacks a valid agent" in one_line(capsys)
    # No log at all.
    assert cli.main(["run", str(_replay_file(tmp_path, tmp_path / "none.jsonl")), "--out",
                     str(tmp_path / "n"), "--quiet"]) == 2
    assert "call log not found" in one_line(capsys)
