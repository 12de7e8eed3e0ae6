"""``serve`` refuses with one line on stderr: exit 2 for a bad argument, 3 when it cannot serve."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli import main as cli_main

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("argv", [
    ["--host", "0.0.0.0"],
    ["--host", "192.168.1.20"],
    ["--port", "70000"],
    ["--port", "abc"],
    ["--ctx", "0"],
    ["--parallel", "-1"],
    ["--cache-prompt", "--no-cache-prompt"],
])
def test_a_bad_argument_is_one_line_and_exit_2(argv, capsys):
    assert _serve_status(argv) == 2
    err = capsys.readouterr().err
    # argparse names the sub-command; the command's own refusals come through cli.main.
    assert err.count("\n") == 1 and err.startswith(("commons-lab serve: error: ",
                                                     "commons-lab: error: ")), err


def test_a_taken_port_is_one_line_and_exit_3(ollama_host, capsys):
    port = ollama_host.rsplit(":", 1)[1]
    assert _serve_status(["--port", port]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot listen on 127.0.0.1:{port}" in err, err


def test_python_m_shares_the_parser_and_its_one_line_refusals(ollama_host):
    port = ollama_host.rsplit(":", 1)[1]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for argv, status in ((["--host", "0.0.0.0"], 2), (["--no-such-option"], 2),
                         (["--port", port, "--no-embeddings"], 3)):
        done = subprocess.run([sys.executable, "-m", "agents.llm.embedded", *argv], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == status, done.stderr
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("python -m agents.llm.embedded: error: ")
    helped = subprocess.run([sys.executable, "-m", "agents.llm.embedded", "--help"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    cli_help = subprocess.run([sys.executable, "cli.py", "serve", "--help"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)
    options = [line.split()[0] for line in helped.stdout.splitlines() if line.startswith("  -")]
    assert options == [line.split()[0] for line in cli_help.stdout.splitlines() if line.startswith("  -")]
    assert "--max-tokens" in " ".join(options)


def test_prompt_caching_is_off_unless_asked_for():
    import argparse

    from agents.llm.embedded.command import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args([]).cache_prompt is False
    assert parser.parse_args(["--cache-prompt"]).cache_prompt is True
    assert parser.parse_args(["--cache-prompt", "--port", "1"]).port == 1
    assert parser.parse_args(["--no-cache-prompt"]).cache_prompt is False


def _serve_status(argv: list[str]) -> int:
    try:
        return cli_main(["serve", *argv])
    except SystemExit as exit:  # argparse's own refusals
        return int(exit.code)
