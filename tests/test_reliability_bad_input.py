"""Bad input that needs a server: a model that is not pulled, an unreachable host.

Each gives one clear line, a non-zero exit status, and no output folder at all.
"""

from pathlib import Path

import pytest

import cli
from agents.errors import ServiceError

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.llm
def test_model_not_pulled_names_the_pull_command_and_writes_nothing(ollama_host, tmp_path, capsys):
    out = tmp_path / "run"
    code = cli.main(["run", str(ROOT / "runs/demo-llm.toml"), "--out", str(out), "--quiet",
                     "--set", 'llm.backend="ollama"', "--set", f'llm.host="{ollama_host}"',
                     "--set", 'llm.model="nope:1b"'])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == ServiceError.exit_code
    assert len(err) == 1 and "ollama pull nope:1b" in err[0]
    assert not out.exists()
    print("bad input: model not pulled -> one line naming `ollama pull nope:1b`, exit 3, no folder")


def test_unreachable_host_says_how_out_and_writes_nothing(tmp_path, capsys):
    import socket

    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "run"
    code = cli.main(["run", str(ROOT / "runs/demo-llm.toml"), "--out", str(out), "--quiet",
                     "--set", 'llm.backend="ollama"', "--set", f'llm.host="127.0.0.1:{port}"'])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == ServiceError.exit_code
    assert len(err) == 1 and f"127.0.0.1:{port}" in err[0]
    assert "ollama serve" in err[0] and "embedded" in err[0]
    assert not out.exists()


@pytest.mark.llm
def test_a_model_the_built_in_server_lacks_is_named_without_a_useless_pull(tmp_path, capsys):
    # The embedded server listens on a random port and can pull nothing: its message must not
    # send the user to `ollama pull` against that port.
    cfg = tmp_path / "c.toml"
    cfg.write_text('policy = "llm"\nrounds = 1\n[norms]\nn_agents = 2\n'
                   '[llm]\nbackend = "embedded"\nmodel = "qwen3:8b"\n')
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "built-in server serves (smollm2:135m, all-minilm)" in err[0], err
    assert "127.0.0.1:" not in err[0] and not (tmp_path / "out").exists()
