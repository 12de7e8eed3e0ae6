"""The page's connection to a language model server, shared by every run the page starts.

A batch run opens its server for the run and closes it after; the page instead keeps one server
for as long as it is up, because every Reset builds a new run and restarting the embedded
server (or re-probing Ollama) each time would make the controls feel slow. Each run still gets
its own session (``model.llm_session.open_session``): its model checks, counters and call seeds
belong to that run.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading

from model.config import RunConfig

_lock = threading.Lock()
_hosts: dict[tuple, str | None] = {}
_open = contextlib.ExitStack()
atexit.register(_open.close)


def shared_host(config: RunConfig) -> str | None:
    """The base URL for ``config.llm``, opened on first use (an Ollama server, else the
    embedded one) and kept open until the process ends."""
    from agents.llm.host import open_llm_host

    llm = config.llm
    # Everything the server's address depends on (it is resolved once, when first opened).
    key = (llm.backend, llm.host, llm.base_url, os.environ.get("OLLAMA_HOST"))
    with _lock:
        if key not in _hosts:
            _hosts[key] = _open.enter_context(open_llm_host(llm))
        return _hosts[key]
