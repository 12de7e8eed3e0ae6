"""Shared fixtures: one embedded Ollama-compatible server for the whole test session.

Tests that make real LLM calls take ``ollama_host`` (the base URL, for code that builds its
own client or passes OLLAMA_HOST to a subprocess) or ``ollama_client`` (an official
``ollama.Client``), and are marked ``@pytest.mark.llm`` so ``-m "not llm"`` skips them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from server_modes import prompt_cache

ROOT = Path(__file__).resolve().parent.parent

# One call on the embedded SmolLM2-135M takes about 1.5 s; a busy 2-core machine can be
# several times slower, so the client timeout is generous.
LLM_TIMEOUT_S = 180.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "llm: makes real LLM calls against the embedded server")


@pytest.fixture(scope="session")
def embedded_server():
    """The session's one embedded Ollama server (``EmbeddedServer``), started on first use."""
    from agents.llm.embedded import EmbeddedServer

    server = EmbeddedServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def ollama_host(embedded_server) -> str:
    """Base URL (``http://127.0.0.1:<port>``) of the session's embedded Ollama server."""
    return embedded_server.url


@pytest.fixture(scope="session")
def ollama_client(ollama_host: str):
    import httpx
    import ollama

    with ollama.Client(host=ollama_host, timeout=httpx.Timeout(LLM_TIMEOUT_S, connect=5.0)) as client:
        yield client


# The LLM demo, shortened to 2 villagers x 2 rounds: at most 16 chat decisions (plus retries,
# usually none) and 3 embedding calls, about 1.5 minutes on a 2-core machine. Several test
# modules read this one real run instead of each paying for its own.
LLM_DEMO_OVERRIDES = ("rounds=2", "norms.n_agents=2")


@pytest.fixture(scope="session")
def llm_demo_run(embedded_server, ollama_host: str, tmp_path_factory) -> tuple[Path, list[str]]:
    """runs/demo-llm.toml run through the CLI against the embedded server: its folder, and the
    ``--set`` arguments that shortened it (a replay must repeat them). Its answers are also
    stored in a response cache beside the folder (``live.parent / "answers"``), so a test can
    rerun it from there without a server call."""
    from cli import main as cli_main

    live = tmp_path_factory.mktemp("llm_demo") / "live"
    args = ["run", str(ROOT / "runs" / "demo-llm.toml"), "--out", str(live), "--quiet",
            "--set", 'llm.backend="ollama"', "--set", f'llm.host="{ollama_host}"',
            "--set", f'llm.cache="{live.parent / "answers"}"']
    shortened = [arg for item in LLM_DEMO_OVERRIDES for arg in ("--set", item)]
    with prompt_cache(embedded_server):
        assert cli_main(args + shortened) == 0
    return live, shortened
