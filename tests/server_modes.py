"""Modes of the session's embedded server that some test runs switch on for a while."""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def prompt_cache(server):
    """The session's server with llama.cpp's prompt cache on, for runs whose tests read their
    call logs and replays but never ask the server the same seeded call twice: a villager's
    prompt then mostly comes from the cache (about 1.5x faster). The cache changes seeded
    answers (README, Speed), so it is switched off again for the tests that compare them."""
    server.cache_prompt = True
    try:
        yield server
    finally:
        server.cache_prompt = False
