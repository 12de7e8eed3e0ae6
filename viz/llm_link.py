"""The page's connection to a language model server, shared by every run the page starts.

A batch run opens its server for the run and closes it after; the page instead keeps one server
for as long as it is up, because every Reset builds a new run and restarting the embedded
server (or re-probing Ollama) each time would make the controls feel slow. Each run still gets
its own ``LLMClient``: its counters and call seeds belong to that run.
"""

from __future__ import annotations

import atexit
import contextlib
import threading

from model.config import RunConfig

_lock = threading.Lock()
_hosts: dict[tuple, str | None] = {}
_open = contextlib.ExitStack()
atexit.register(_open.close)


def shared_host(config: RunConfig) -> str | None:
    """The base URL for ``config.llm``, opened on first use (an Ollama server, else the
    embedded one) and kept open until the process ends."""
    from agents.llm.host import open_llm_host, resolve_host

    llm = config.llm
    key = (llm.backend, resolve_host(None, llm))
    with _lock:
        if key not in _hosts:
            _hosts[key] = _open.enter_context(open_llm_host(llm))
        return _hosts[key]


def needed_models(config: RunConfig) -> list[str]:
    """Models a run of ``config`` calls: the villagers' and, for the norms scenario, the
    embedding model its norm-similarity measures use."""
    from agents.llm.session import models_of

    return models_of(config.llm, embeddings=config.scenario == "norms")


def open_client(config: RunConfig):
    """A checked ``LLMClient`` for one run of the page (raises ``LLMSetupError`` when the server
    or a model is missing). The caller closes it."""
    from agents.llm.client import LLMClient

    client = LLMClient(config.llm, host=shared_host(config), seed=config.seed)
    try:
        client.check_models(needed_models(config))
    except BaseException:
        client.close()
        raise
    return client
