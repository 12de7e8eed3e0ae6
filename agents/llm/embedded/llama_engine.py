"""One llama.cpp model instance (via xllamacpp), with errors turned into ``ApiError``.

xllamacpp embeds llama.cpp's own server: requests are queued to ``n_parallel`` slots and
batched together by llama.cpp, and its calls release the GIL, so several HTTP threads can
call one engine at once.

xllamacpp always opens llama.cpp's own HTTP listener too. Left as
it comes, it is an unauthenticated TCP port on 127.0.0.1 that answers any web page's Origin
with credentials allowed, outside every limit of this server. So it listens on a Unix socket
in a private (0700) directory instead, which no browser can reach, and demands a random key
that never leaves this process (non-streaming answers are asked for there, see
``generate``); CORS is narrowed to no origin, and /slots, /props and the web UI are switched
off.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import select
import socket
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.llm.embedded.shapes import ApiError, translate_llama_error


_POLL_S = 0.25  # how often a waiting request checks whether it should stop


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("llama.cpp")
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self._path)


def _quiet_openmp() -> None:
    # llama.cpp's OpenMP workers spin while they wait for the next token's work. On a
    # 2-core machine shared with the simulation (or other jobs), spinning threads steal the
    # cores the work needs; passive waiting was much faster there (benchmarks/embedded_server.py).
    # An explicit user setting wins. libgomp reads this once, when xllamacpp is first loaded.
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"


class LlamaEngine:
    """A loaded GGUF model: chat/completions, or embeddings when ``embedding`` is true."""

    def __init__(
        self,
        model_path: Path,
        *,
        name: str,
        context_size: int,
        n_parallel: int,
        threads: int,
        embedding: bool = False,
        verbose: bool = False,
    ):
        _quiet_openmp()
        import xllamacpp

        self.name = name
        self.context_size = context_size
        params = xllamacpp.CommonParams()
        params.model.path = str(model_path)
        # llama.cpp splits n_ctx evenly over the slots: give every slot the full context.
        params.n_ctx = context_size * n_parallel
        params.n_parallel = n_parallel
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.n_threads_http = 1
        params.verbosity = 3 if verbose else -1
        self._socket_dir = tempfile.mkdtemp(prefix="commons-lab-llama-")  # mode 0700
        self._socket_path = os.path.join(self._socket_dir, "llama.sock")
        self._key = secrets.token_urlsafe(32)
        params.hostnames = [self._socket_path]  # a name ending in ".sock" means AF_UNIX
        params.api_keys = [self._key]
        params.cors_origins = ""
        params.cors_origins_explicit = True
        params.cors_credentials = False
        params.endpoint_slots = False
        params.endpoint_props = False
        params.endpoint_metrics = False
        params.ui = False
        if embedding:
            params.embedding = True
            params.pooling_type = xllamacpp.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
            params.embd_normalize = 2  # Euclidean: unit vectors, as sentence-transformers gives
            # A non-causal model must see a whole input in one micro-batch.
            params.n_batch = params.n_ubatch = context_size * n_parallel
        try:
            self._server = xllamacpp.Server(params)
        except BaseException:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            raise
        self.listening_address: str = self._server.listening_address

    def close(self) -> None:
        # Dropping the last reference stops llama.cpp's loop thread and frees the model.
        self._server = None
        shutil.rmtree(self._socket_dir, ignore_errors=True)

    def _checked(self, result: Any) -> dict[str, Any]:
        if not isinstance(result, dict):
            raise ApiError(500, f"unexpected answer from llama.cpp: {result!r:.200}")
        if "error" in result or ("code" in result and "message" in result):
            raise translate_llama_error(result, self.name, self.context_size)
        return result

    def _call(self, method: str, request: dict[str, Any], callback: Callable | None = None) -> Any:
        server = self._server
        if server is None:
            raise ApiError(503, "the embedded server is shutting down")
        try:
            if callback is None:
                return getattr(server, method)(request)
            return getattr(server, method)(request, callback)
        except ValueError as exc:  # llama.cpp rejected the request (e.g. an invalid schema)
            raise ApiError(400, str(exc)) from exc
        except RuntimeError as exc:
            raise ApiError(500, str(exc)) from exc

    def generate(self, request: dict[str, Any], chat: bool,
                 should_stop: Callable[[], bool] | None = None) -> dict[str, Any] | None:
        """One whole answer; None if ``should_stop()`` came true first, and then llama.cpp
        has dropped the work.

        Asked over llama.cpp's own (private) listener, not xllamacpp's call: only a closed
        connection makes llama.cpp cancel a non-streaming task, and xllamacpp's call has no
        connection to close. A stream would do too, but its text can differ from the whole
        answer's (a trailing space of an answer cut by num_predict is dropped).
        """
        if self._server is None:
            raise ApiError(503, "the embedded server is shutting down")
        path = "/v1/chat/completions" if chat else "/v1/completions"
        body = json.dumps({**request, "stream": False}).encode("utf-8")
        conn = _UnixConnection(self._socket_path)
        try:
            conn.request("POST", path, body, {"Content-Type": "application/json",
                                              "Authorization": f"Bearer {self._key}"})
            while should_stop is not None:
                readable, _, _ = select.select([conn.sock], [], [], _POLL_S)
                if readable:
                    break
                if should_stop():
                    return None  # closing the connection (below) cancels the task
            data = conn.getresponse().read()
        except (OSError, http.client.HTTPException) as exc:
            raise ApiError(503, f"llama.cpp did not answer: {exc}") from exc
        finally:
            conn.close()
        try:
            result = json.loads(data)
        except ValueError as exc:
            raise ApiError(500, f"unexpected answer from llama.cpp: {data[:200]!r}") from exc
        return self._checked(result)

    def generate_stream(
        self, request: dict[str, Any], chat: bool, on_chunk: Callable[[dict[str, Any]], bool]
    ) -> None:
        """Call ``on_chunk`` for every chunk; it returns True to cancel the generation.

        An error chunk (llama.cpp sends it before any text) raises ApiError instead.
        """
        method = "handle_chat_completions" if chat else "handle_completions"
        failure: list[ApiError] = []

        def relay(chunk: Any) -> bool:
            try:
                chunk = self._checked(chunk)
            except ApiError as exc:
                failure.append(exc)
                return True
            return bool(on_chunk(chunk))

        self._call(method, {**request, "stream": True}, relay)
        if failure:
            raise failure[0]

    def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        """Unit-length embeddings of ``texts`` (in order) and the number of tokens read."""
        result = self._checked(self._call("handle_embeddings", {"input": texts}))
        rows = sorted(result["data"], key=lambda row: row["index"])
        return [row["embedding"] for row in rows], int(result.get("usage", {}).get("prompt_tokens", 0))
