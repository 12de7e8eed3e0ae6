"""Shared fixtures: one embedded Ollama-compatible server for the whole test session.

Tests that make real LLM calls take ``ollama_host`` (the base URL, for code that builds its
own client or passes OLLAMA_HOST to a subprocess) or ``ollama_client`` (an official
``ollama.Client``), and are marked ``@pytest.mark.llm`` so ``-m "not llm"`` skips them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# One call on the embedded SmolLM2-135M takes about 1.5 s; a busy 2-core machine can be
# several times slower, so the client timeout is generous.
LLM_TIMEOUT_S = 180.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "llm: makes real LLM calls against the embedded server")


@pytest.fixture(scope="session")
def ollama_host() -> Iterator[str]:
    """Base URL (``http://127.0.0.1:<port>``) of the session's embedded Ollama server."""
    from agents.llm.server import EmbeddedServer

    with EmbeddedServer() as url:
        yield url


@pytest.fixture(scope="session")
def ollama_client(ollama_host: str):
    import httpx
    import ollama

    with ollama.Client(host=ollama_host, timeout=httpx.Timeout(LLM_TIMEOUT_S, connect=5.0)) as client:
        yield client
