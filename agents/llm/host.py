"""Which server a run talks to: a configured Ollama, or the embedded one started for the run."""

from __future__ import annotations

import contextlib
import logging
import os
import urllib.parse
from collections.abc import Iterator

import httpx

from agents.llm.errors import LLMSetupError, display_host, unreachable
from agents.llm.settings import LLMConfig

log = logging.getLogger(__name__)

DEFAULT_HOST = "http://127.0.0.1:11434"
PROBE_TIMEOUT_S = 1.0


def normalise_host(host: str | None) -> str:
    """A base URL in the same forms the ``ollama`` client accepts: "1.2.3.4", ":11500",
    "host:port", "https://host/path", "[::1]:11434"; no scheme means http and port 11434."""
    host = (host or "").strip()
    scheme, sep, rest = host.partition("://")
    if not sep:
        scheme, rest = "http", host
    default_port = {"http": 80, "https": 443}.get(scheme, 11434) if sep else 11434
    try:
        split = urllib.parse.urlsplit(f"{scheme}://{rest}")
        port = split.port or default_port
    except ValueError as err:
        raise LLMSetupError(f"llm.host {display_host(host)!r} is not a valid address: {err}") from None
    name = split.hostname or "127.0.0.1"
    if ":" in name:
        name = f"[{name}]"
    userinfo = split.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{name}:{port}" if userinfo else f"{name}:{port}"
    return f"{scheme}://{netloc}{split.path.rstrip('/')}"


def resolve_host(host: str | None = None, config: LLMConfig | None = None) -> str:
    """The argument, else ``config.host``, else ``OLLAMA_HOST``, else the local default."""
    if config is not None and config.backend == "openai":
        from agents.llm.openai_backend import endpoint  # the argument, else llm.base_url

        return endpoint(config, host)
    chosen = host or (config.host if config is not None else None) or os.environ.get("OLLAMA_HOST")
    return normalise_host(chosen) if chosen else DEFAULT_HOST


def answers(url: str, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """True if an Ollama API answers ``GET /api/version`` at ``url`` within ``timeout_s``."""
    try:
        # No TLS context for a plain-http probe: building one reloads every system certificate.
        response = httpx.get(f"{url}/api/version", timeout=timeout_s, verify=url.startswith("https"))
    except httpx.HTTPError:
        return False
    return response.status_code == 200


# Base URLs of the embedded servers this process runs: a model missing there cannot be pulled.
_EMBEDDED_URLS: set[str] = set()


def is_embedded(url: str) -> bool:
    """True if ``url`` is an embedded server started by this process."""
    return url in _EMBEDDED_URLS


@contextlib.contextmanager
def _embedded(n_ctx: int, prefix_cache: bool = False, slots: int = 1) -> Iterator[str]:
    try:  # imported lazily: it loads the inference engine
        from agents.llm.embedded import EmbeddedServer
    except ImportError as err:
        raise LLMSetupError(
            f"the embedded server is not available ({err}): install the project's LLM extras"
        ) from None
    # The run's num_ctx, so a prompt too long for it is refused here as Ollama would cut it.
    # Without the prompt cache one slot serves the calls in turn, whatever their order: a
    # seeded answer is then the same cold or warm (README, Speed).
    if prefix_cache:
        server = EmbeddedServer(n_ctx=n_ctx, n_parallel=slots, cache_prompt=True)
    else:
        server = EmbeddedServer(n_ctx=n_ctx)
    url = server.start()
    _EMBEDDED_URLS.add(url)
    log.info("started the embedded Ollama-compatible server at %s", url)
    try:
        yield url
    finally:
        _EMBEDDED_URLS.discard(url)
        server.stop()
        log.info("stopped the embedded server")


@contextlib.contextmanager
def open_llm_host(config: LLMConfig, *, host: str | None = None) -> Iterator[str | None]:
    """Yield the base URL a run should use, and clean up after it.

    "ollama": the configured host, which must answer; "embedded": a server started here and
    stopped on exit; "auto": the configured host if it answers within a second, else the
    embedded server; "replay": no server at all (yields None).
    """
    if config.backend == "replay":
        yield None
        return
    url = resolve_host(host, config)
    if config.backend == "openai":  # a remote OpenAI-compatible endpoint: nothing to start
        yield url
        return
    if config.backend == "ollama":
        if not answers(url, timeout_s=min(5.0, config.timeout_s)):
            raise unreachable(url)
        yield url
        return
    if config.backend == "auto" and answers(url):
        log.info("using the Ollama server at %s", display_host(url))
        yield url
        return
    if config.backend == "auto":
        log.info("no Ollama server answers at %s; starting the embedded server", display_host(url))
    with _embedded(config.num_ctx, config.prefix_cache, config.concurrency) as embedded_url:
        yield embedded_url
