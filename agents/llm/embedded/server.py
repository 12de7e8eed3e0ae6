"""The embedded Ollama-compatible server: its settings and its life cycle (start, stop).

It serves two real models that ship inside PyPI packages (see ``models``): ``smollm2:135m``
for chat/generate and ``all-minilm:latest`` for embeddings, both run by llama.cpp through
``xllamacpp``. The official ``ollama`` client works against it unchanged, so code and configs
that name these models run the same here and against a real Ollama.

    with EmbeddedServer() as url:               # or: url = server.start() ... server.stop()
        client = ollama.Client(host=url)

The server binds 127.0.0.1 only: it has no authentication.
"""

from __future__ import annotations

import logging
import threading

from agents.llm.embedded.http import Handler, HttpServer
from agents.llm.embedded.limits import DEFAULT_LIMITS, LimitCounts, ServerLimits
from agents.llm.embedded.models import CHAT_MODEL, EMBED_MODEL
from agents.llm.embedded.routes import OllamaApi

log = logging.getLogger(__name__)

DEFAULT_PORT = 11434  # Ollama's port: the ollama client finds `serve` without OLLAMA_HOST
DEFAULT_CONTEXT = 4096  # tokens per request slot (SmolLM2 was trained on 8192)
DEFAULT_PARALLEL = 1  # see benchmarks/embedded_server.py: 2 slots were not faster on 2 cores
DEFAULT_MAX_TOKENS = 512  # answer length when a request sets no num_predict (or -1)
# llama.cpp's prompt cache (reuse of a matching prompt prefix) is off unless asked for: it
# changes seeded answers. Its CPU kernels give a token different logits depending on how many
# tokens were evaluated with it, and a cached prefix was evaluated in another batch than a cold
# request evaluates it. Measured on SmolLM2 (Q4_1): the first answer token's log-probabilities
# moved by 0.1-0.2, and 0 of 8 seeded answers at temperature 0.7 equalled their cold answers
# (7 of 8 greedy ones did). See the README, "Speed", and test_embedded_server.py.
DEFAULT_CACHE_PROMPT = False
_LOOPBACK = ("127.0.0.1", "localhost")


class EmbeddedServer:
    """The Ollama-compatible server, run on a background thread of this process.

    ``port=0`` picks a free port. ``n_ctx`` is the context of one request (prompt plus
    answer); ``n_parallel`` requests run at once, the rest wait in llama.cpp's queue.
    ``cache_prompt=True`` re-uses a matching prompt prefix between requests: faster, but
    then the same seed no longer gives the same answer (see ``DEFAULT_CACHE_PROMPT``). ``limits`` bounds what one
    request or connection may cost (see ``limits.ServerLimits``); ``counts`` says how often
    each limit was applied.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        n_parallel: int = DEFAULT_PARALLEL,
        n_ctx: int = DEFAULT_CONTEXT,
        threads: int = 2,
        embeddings: bool = True,
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        cache_prompt: bool = DEFAULT_CACHE_PROMPT,
        verbose: bool = False,
        limits: ServerLimits = DEFAULT_LIMITS,
    ):
        if host not in _LOOPBACK:
            raise ValueError(
                f"the embedded Ollama server binds 127.0.0.1 only (it has no authentication); "
                f"refusing host {host!r}"
            )
        for name, value in (("n_parallel", n_parallel), ("n_ctx", n_ctx), ("threads", threads)):
            if int(value) < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if not 0 <= int(port) <= 65535:
            raise ValueError(f"port must be in 0..65535, got {port}")
        self.host = "127.0.0.1"
        self.port = int(port)
        self.n_parallel = int(n_parallel)
        self.n_ctx = int(n_ctx)
        self.threads = int(threads)
        self.embeddings = embeddings
        self.max_tokens = int(max_tokens)
        self.cache_prompt = cache_prompt
        self.verbose = verbose
        # Read on every request, so a running server can be given other limits (tests do).
        self.limits = limits
        self.counts = LimitCounts()
        self._httpd: HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._api: OllamaApi | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the embedded server is not running; call start() first")
        return self._url

    @property
    def internal_addresses(self) -> list[str]:
        """Where llama.cpp's own listeners are (Unix sockets that need a key; see llama_engine)."""
        return [engine.listening_address for engine in self._api.engines.values()] if self._api else []

    @property
    def models(self) -> list[str]:
        return [CHAT_MODEL] + ([EMBED_MODEL] if self.embeddings else [])

    def start(self) -> str:
        """Load the models, start serving, and return the base URL (``http://127.0.0.1:N``)."""
        if self._url is not None:
            return self._url
        # Bind first: a taken port fails fast, before seconds of model loading.
        try:
            httpd = HttpServer((self.host, self.port), Handler, settings=self)
        except OSError as exc:
            raise OSError(
                exc.errno,
                f"cannot listen on {self.host}:{self.port} ({exc.strerror}); is another "
                f"Ollama server running there? Choose another port",
            ) from exc
        try:
            self._api = OllamaApi.load(self)
        except BaseException:
            httpd.server_close()
            raise
        httpd.api = self._api
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="ollama-embedded", daemon=True
        )
        self._thread.start()
        self._url = f"http://{self.host}:{httpd.server_address[1]}"
        log.info("embedded Ollama server at %s serving %s", self._url, ", ".join(self.models))
        return self._url

    def stop(self) -> None:
        """Stop serving: in-flight requests finish, idle connections close, models unload."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()  # stop accepting
            httpd.close_idle_connections()
            httpd.server_close()  # joins the request threads
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._api is not None:
            self._api.close()
            self._api = None
        self._url = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
