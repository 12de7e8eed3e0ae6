"""An embedded server that speaks Ollama's REST API, for laptops and CI without Ollama.

It serves two real models that ship inside PyPI packages (see ``embedded_models``):
``smollm2:135m`` for chat/generate and ``all-minilm:latest`` for embeddings, both run by
llama.cpp through ``xllamacpp``. The official ``ollama`` client works against it unchanged,
so code and configs that name these models run the same here and against a real Ollama.

    with EmbeddedServer() as url:               # or: url = server.start() ... server.stop()
        client = ollama.Client(host=url)

    python -m agents.llm.server --port 11434   # foreground, Ctrl-C to stop

The server binds 127.0.0.1 only: it has no authentication.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agents.llm import embedded_models
from agents.llm.embedded_models import CHAT_MODEL, EMBED_MODEL, ServedModel, normalise_name
from agents.llm.ollama_shapes import (
    ApiError,
    chat_messages,
    counters,
    done_reason,
    not_found,
    now_rfc3339,
    reject_unsupported,
    response_format,
    sampling_params,
)

log = logging.getLogger(__name__)

DEFAULT_PORT = 11434  # Ollama's port: the ollama client finds `serve` without OLLAMA_HOST
DEFAULT_CONTEXT = 4096  # tokens per request slot (SmolLM2 was trained on 8192)
DEFAULT_PARALLEL = 1  # see benchmarks/embedded_server.py: 2 slots were not faster on 2 cores
DEFAULT_MAX_TOKENS = 512  # answer length when a request sets no num_predict (or -1)
EMBED_CONTEXT = 512  # all-MiniLM-L6-v2's position table
EMBED_SLOTS = 4  # embeddings of one request are batched over this many sequences
OLLAMA_VERSION = "0.12.0"  # the Ollama API version whose JSON shapes this server follows
_MAX_BODY = 32 << 20
_LOOPBACK = ("127.0.0.1", "localhost")


class EmbeddedServer:
    """The Ollama-compatible server, run on a background thread of this process.

    ``port=0`` picks a free port. ``n_ctx`` is the context of one request (prompt plus
    answer); ``n_parallel`` requests run at once, the rest wait in llama.cpp's queue.
    ``cache_prompt=True`` re-uses a matching prompt prefix between requests: faster, but
    then the same seed no longer guarantees the same answer.
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
        cache_prompt: bool = False,
        verbose: bool = False,
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
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._api: _OllamaApi | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the embedded server is not running; call start() first")
        return self._url

    @property
    def models(self) -> list[str]:
        return [CHAT_MODEL] + ([EMBED_MODEL] if self.embeddings else [])

    def start(self) -> str:
        """Load the models, start serving, and return the base URL (``http://127.0.0.1:N``)."""
        if self._url is not None:
            return self._url
        # Bind first: a taken port fails fast, before seconds of model loading.
        try:
            httpd = _HttpServer((self.host, self.port), _Handler)
        except OSError as exc:
            raise OSError(
                exc.errno,
                f"cannot listen on {self.host}:{self.port} ({exc.strerror}); is another "
                f"Ollama server running there? Choose another port",
            ) from exc
        try:
            self._api = _OllamaApi.load(self)
        except BaseException:
            httpd.server_close()
            raise
        httpd.api = self._api
        httpd.verbose = self.verbose
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


# --- the API ------------------------------------------------------------------------------


class _OllamaApi:
    """Route implementations; one instance per running server."""

    def __init__(self, config: EmbeddedServer):
        self.config = config
        self.models: list[ServedModel] = []
        self.engines: dict[str, Any] = {}
        self.embed_tokenizer: Any = None

    @classmethod
    def load(cls, config: EmbeddedServer) -> _OllamaApi:
        from agents.llm.llama_engine import LlamaEngine

        api = cls(config)
        chat = embedded_models.chat_model(config.n_ctx)
        # Locate/convert the embedding model while llama.cpp loads the chat model.
        prepared: dict[str, Any] = {}
        converter = None
        if config.embeddings:
            converter = threading.Thread(target=api._prepare_embedding_files, args=(prepared,))
            converter.start()
        try:
            api.engines[CHAT_MODEL] = LlamaEngine(
                chat.path, name=CHAT_MODEL, context_size=config.n_ctx,
                n_parallel=config.n_parallel, threads=config.threads, verbose=config.verbose,
            )
            api.models.append(chat)
        finally:
            if converter is not None:
                converter.join()
        if config.embeddings:
            try:
                if "error" in prepared:
                    raise prepared["error"]
                embed = embedded_models.embedding_model(prepared["gguf"], EMBED_CONTEXT)
                api.engines[EMBED_MODEL] = LlamaEngine(
                    embed.path, name=EMBED_MODEL, context_size=EMBED_CONTEXT, n_parallel=EMBED_SLOTS,
                    threads=config.threads, embedding=True, verbose=config.verbose,
                )
            except BaseException:
                api.close()
                raise
            api.embed_tokenizer = prepared["tokenizer"]
            api.models.append(embed)
        return api

    @staticmethod
    def _prepare_embedding_files(out: dict[str, Any]) -> None:
        try:
            from tokenizers import Tokenizer

            from agents.llm.bert_gguf import cached_bert_gguf

            source = embedded_models.minilm_source_dir()
            out["gguf"] = cached_bert_gguf(source, "all-minilm-l6-v2")
            tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
            tokenizer.no_padding()
            tokenizer.no_truncation()
            out["tokenizer"] = tokenizer
        except BaseException as exc:  # re-raised on the starting thread
            out["error"] = exc

    def close(self) -> None:
        for engine in self.engines.values():
            engine.close()
        self.engines.clear()

    # -- helpers

    def find(self, body: dict[str, Any]) -> tuple[str, ServedModel]:
        name = body.get("model") or body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "model is required")
        for model in self.models:
            if model.answers_to(name):
                return name, model
        raise not_found(name)

    # -- routes

    def version(self, h: _Handler, body: dict[str, Any]) -> None:
        h.send_json(200, {"version": OLLAMA_VERSION, "server": "commons-lab embedded (llama.cpp)"})

    def tags(self, h: _Handler, body: dict[str, Any]) -> None:
        h.send_json(200, {"models": [m.tag_entry() for m in self.models]})

    def ps(self, h: _Handler, body: dict[str, Any]) -> None:
        entries = []
        for m in self.models:
            entry = m.tag_entry()
            entry.update(
                expires_at="2100-01-01T00:00:00Z",  # resident until the server stops
                size_vram=0,
                context_length=m.context_size,
            )
            entries.append(entry)
        h.send_json(200, {"models": entries})

    def show(self, h: _Handler, body: dict[str, Any]) -> None:
        name, m = self.find(body)
        params = f"num_ctx {m.context_size}"
        if m.kind == "chat":
            params += f"\nnum_predict {self.config.max_tokens}"
        h.send_json(
            200,
            {
                "license": m.license,
                "modelfile": f"# served by the commons-lab embedded server\nFROM {m.path}\n"
                + "".join(f"PARAMETER {line}\n" for line in params.splitlines()),
                "parameters": params,
                "template": m.summary.metadata.get("tokenizer.chat_template", ""),
                "details": m.details(),
                "model_info": m.model_info(),
                "capabilities": m.capabilities,
                "modified_at": m.modified_at,
            },
        )

    def pull(self, h: _Handler, body: dict[str, Any]) -> None:
        name = body.get("model") or body.get("name") or ""
        if not isinstance(name, str) or not any(m.answers_to(name) for m in self.models):
            served = ", ".join(m.name for m in self.models)
            raise ApiError(
                404,
                f"model '{name}' not found: the embedded server only has {served} and cannot "
                f"download models; use a real Ollama server for others (ollama pull {name})",
            )
        if body.get("stream", True):
            stream = _NdjsonStream(h)
            stream.send({"status": "pulling manifest"})
            stream.send({"status": "success"})
            stream.close()
        else:
            h.send_json(200, {"status": "success"})

    def unsupported(self, h: _Handler, body: dict[str, Any]) -> None:
        raise ApiError(501, f"{h.command} {h.path} is not supported by the embedded server")

    def chat(self, h: _Handler, body: dict[str, Any]) -> None:
        name, m = self.find(body)
        self._require(m, "chat", name)
        messages = chat_messages(body.get("messages") or [], name)
        if not messages:
            reason = "unload" if body.get("keep_alive") in (0, "0", "0s") else "load"
            h.send_json(200, {"model": name, "created_at": now_rfc3339(),
                              "message": {"role": "assistant", "content": ""},
                              "done": True, "done_reason": reason})
            return
        reject_unsupported(body, name)
        self._generate(h, body, name, {"messages": messages}, chat=True, text_key="message")

    def generate(self, h: _Handler, body: dict[str, Any]) -> None:
        name, m = self.find(body)
        self._require(m, "chat", name)
        prompt = body.get("prompt") or ""
        system = body.get("system") or ""
        if not isinstance(prompt, str) or not isinstance(system, str):
            raise ApiError(400, "prompt and system must be strings")
        if not prompt:
            reason = "unload" if body.get("keep_alive") in (0, "0", "0s") else "load"
            h.send_json(200, {"model": name, "created_at": now_rfc3339(), "response": "",
                              "done": True, "done_reason": reason})
            return
        reject_unsupported(body, name)
        if body.get("raw"):
            self._generate(h, body, name, {"prompt": prompt}, chat=False, text_key="response")
        else:
            messages = ([{"role": "system", "content": system}] if system else []) + [
                {"role": "user", "content": prompt}
            ]
            self._generate(h, body, name, {"messages": messages}, chat=True, text_key="response")

    def embed(self, h: _Handler, body: dict[str, Any], legacy: bool = False) -> None:
        name, m = self.find(body)
        self._require(m, "embedding", name)
        started = time.perf_counter_ns()
        raw = body.get("prompt", "") if legacy else body.get("input", [])
        texts = [raw] if isinstance(raw, str) else raw
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise ApiError(400, "input must be a string or a list of strings")
        dims = body.get("dimensions")
        if dims is not None and (isinstance(dims, bool) or not isinstance(dims, int) or dims < 1):
            raise ApiError(400, "dimensions must be a positive integer")
        texts = [self._fit_embedding_input(t, body.get("truncate", True), name) for t in texts]
        vectors, n_tokens = self.engines[EMBED_MODEL].embed(texts) if texts else ([], 0)
        if dims is not None:
            vectors = [_shorten(v, dims, name) for v in vectors]
        if legacy:
            h.send_json(200, {"embedding": vectors[0] if vectors else []})
            return
        h.send_json(200, {"model": name, "embeddings": vectors,
                          "total_duration": time.perf_counter_ns() - started,
                          "load_duration": 0, "prompt_eval_count": n_tokens})

    def embed_legacy(self, h: _Handler, body: dict[str, Any]) -> None:
        self.embed(h, body, legacy=True)

    # -- generation

    @staticmethod
    def _require(m: ServedModel, kind: str, name: str) -> None:
        if m.kind == kind:
            return
        if kind == "embedding":
            raise ApiError(400, f'"{name}" does not support embeddings; use "{EMBED_MODEL}"')
        raise ApiError(400, f'"{name}" does not support generate')

    def _fit_embedding_input(self, text: str, truncate: bool, name: str) -> str:
        # llama.cpp refuses (HTTP 500) an input longer than the model's 512 positions;
        # Ollama truncates by default, so cut the text after the last token that fits.
        encoding = self.embed_tokenizer.encode(text)
        if len(encoding.ids) <= EMBED_CONTEXT:
            return text
        if not truncate:
            raise ApiError(
                400,
                f"input is too long for {name}: {len(encoding.ids)} tokens, but the context "
                f"size is {EMBED_CONTEXT} tokens (pass truncate=true to cut it)",
            )
        last = EMBED_CONTEXT - 2  # room for [CLS] and [SEP]
        return text[: encoding.offsets[last][1]]

    def _generate(self, h: _Handler, body: dict[str, Any], name: str, request: dict[str, Any],
                  chat: bool, text_key: str) -> None:
        started = time.perf_counter_ns()
        request.update(sampling_params(body.get("options"), self.config.max_tokens))
        request["cache_prompt"] = bool(self.config.cache_prompt)
        fmt = response_format(body.get("format"))
        if fmt is not None:
            request["response_format"] = fmt
        engine = self.engines[CHAT_MODEL]

        def shaped(text: str) -> dict[str, Any]:
            if text_key == "message":
                return {"message": {"role": "assistant", "content": text}}
            return {"response": text}

        if not body.get("stream", True):
            result = engine.generate(request, chat=chat)
            choice = result["choices"][0]
            text = (choice.get("message") or {}).get("content") if chat else choice.get("text")
            h.send_json(200, {"model": name, "created_at": now_rfc3339(), **shaped(text or ""),
                              "done": True, "done_reason": done_reason(choice.get("finish_reason")),
                              **counters(result, started, time.perf_counter_ns())})
            return

        stream = _NdjsonStream(h)
        final: dict[str, Any] = {}

        def on_chunk(chunk: dict[str, Any]) -> bool:
            for key in ("timings", "usage"):
                if chunk.get(key):
                    final[key] = chunk[key]
            choices = chunk.get("choices") or []
            if not choices:
                return stream.broken
            choice = choices[0]
            if choice.get("finish_reason"):
                final["finish_reason"] = choice["finish_reason"]
            text = (choice.get("delta") or {}).get("content") if chat else choice.get("text")
            if text:
                return stream.send({"model": name, "created_at": now_rfc3339(), **shaped(text),
                                    "done": False})
            return stream.broken

        try:
            engine.generate_stream(request, chat, on_chunk)
        except ApiError as exc:
            if not stream.started:
                raise
            stream.send({"error": exc.message})  # the client raises ResponseError(-1)
            stream.close()
            return
        stream.send({"model": name, "created_at": now_rfc3339(), **shaped(""), "done": True,
                     "done_reason": done_reason(final.get("finish_reason")),
                     **counters(final, started, time.perf_counter_ns())})
        stream.close()


def _shorten(vector: list[float], dims: int, name: str) -> list[float]:
    # Ollama's `dimensions`: keep the first `dims` values and re-normalise.
    if dims > len(vector):
        raise ApiError(400, f"{name} has {len(vector)} dimensions; cannot return {dims}")
    head = vector[:dims]
    norm = sum(x * x for x in head) ** 0.5 or 1.0
    return [x / norm for x in head]


_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/api/version"): "version",
    ("GET", "/api/tags"): "tags",
    ("GET", "/api/ps"): "ps",
    ("POST", "/api/show"): "show",
    ("POST", "/api/pull"): "pull",
    ("POST", "/api/chat"): "chat",
    ("POST", "/api/generate"): "generate",
    ("POST", "/api/embed"): "embed",
    ("POST", "/api/embeddings"): "embed_legacy",
    ("POST", "/api/create"): "unsupported",
    ("POST", "/api/copy"): "unsupported",
    ("POST", "/api/push"): "unsupported",
    ("DELETE", "/api/delete"): "unsupported",
}
_PATHS = {path for _, path in _ROUTES}


# --- HTTP plumbing ------------------------------------------------------------------------


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for in-flight requests
    api: _OllamaApi
    verbose: bool = False

    def __init__(self, *args: Any, **kwargs: Any):
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            (self._connections.add if alive else self._connections.discard)(conn)

    def close_idle_connections(self) -> None:
        # Keep-alive connections would hold their threads (and server_close) forever.
        # Shutting down the read side ends a thread waiting for the next request; a thread
        # busy with a request still writes its answer, then finds no next request.
        with self._connections_lock:
            for conn in list(self._connections):
                try:
                    conn.shutdown(socket.SHUT_RD)
                except OSError:
                    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and chunked streaming
    server_version = "commons-lab-embedded-ollama"
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, alive=True)

    def finish(self) -> None:
        self.server.track(self.connection, alive=False)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            log.info("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        if self.path.split("?")[0] == "/":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", "17")
            self.end_headers()
        else:
            self.send_json(404, {"error": "404 page not found"}, head_only=True)

    def _dispatch(self) -> None:
        path = self.path.split("?")[0].rstrip("/") or "/"
        try:
            body = self._read_body()
            if path == "/" and self.command == "GET":
                self._send_bytes(200, b"Ollama is running", "text/plain; charset=utf-8")
                return
            route = _ROUTES.get((self.command, path))
            if route is None:
                if path in _PATHS:
                    raise ApiError(405, f"method {self.command} not allowed for {path}")
                raise ApiError(404, "404 page not found")
            if self.command == "POST":
                if not body.strip():
                    raise ApiError(400, "missing request body")
                try:
                    parsed = json.loads(body)
                except (ValueError, UnicodeDecodeError) as exc:
                    raise ApiError(400, f"invalid JSON in request body: {exc}") from exc
                if not isinstance(parsed, dict):
                    raise ApiError(400, "the request body must be a JSON object")
            else:
                parsed = {}
            getattr(self.server.api, route)(self, parsed)
        except ApiError as exc:
            self.send_json(exc.status, {"error": exc.message})
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # a bug here must not kill the connection silently
            log.exception("embedded server: %s %s failed", self.command, path)
            self.send_json(500, {"error": f"internal error: {exc}"})

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                total += size
                if total > _MAX_BODY:
                    raise ApiError(413, "request body too large")
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self.close_connection = True
            raise ApiError(413, "request body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _send_bytes(self, status: int, data: bytes, content_type: str, head_only: bool = False) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if not head_only:
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def send_json(self, status: int, payload: Any, head_only: bool = False) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self._send_bytes(status, data, "application/json; charset=utf-8", head_only)


class _NdjsonStream:
    """Ollama's streaming answer: one JSON object per line, chunked transfer encoding.

    Headers go out with the first line, so an error found before any output (such as a
    prompt longer than the context) is still answered with a proper HTTP status.
    """

    def __init__(self, handler: _Handler):
        self.h = handler
        self.started = False
        self.broken = False

    def send(self, payload: dict[str, Any]) -> bool:
        """Write one line; returns True once the client has gone away."""
        if self.broken:
            return True
        try:
            if not self.started:
                self.started = True
                self.h.send_response(200)
                self.h.send_header("Content-Type", "application/x-ndjson")
                self.h.send_header("Transfer-Encoding", "chunked")
                self.h.end_headers()
            line = json.dumps(payload, ensure_ascii=False).encode("utf-8") + b"\n"
            self.h.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.h.wfile.flush()
        except OSError:
            self.broken = True
            self.h.close_connection = True
        return self.broken

    def close(self) -> None:
        if self.started and not self.broken:
            try:
                self.h.wfile.write(b"0\r\n\r\n")
                self.h.wfile.flush()
            except OSError:
                self.h.close_connection = True


# --- foreground use -----------------------------------------------------------------------


def serve(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    n_parallel: int = DEFAULT_PARALLEL,
    n_ctx: int = DEFAULT_CONTEXT,
    threads: int = 2,
    embeddings: bool = True,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    verbose: bool = False,
    out: Any = None,
) -> int:
    """Run the server in the foreground until SIGINT or SIGTERM; returns an exit code.

    Prints one line with the URL when ready. Raises ValueError for a non-loopback host and
    OSError when the port is taken.
    """
    out = out or sys.stdout
    server = EmbeddedServer(host, port, n_parallel, n_ctx, threads, embeddings,
                            max_tokens=max_tokens, verbose=verbose)
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        url = server.start()
        print(f"Ollama-compatible server at {url} (models: {', '.join(server.models)}); "
              f"stop with Ctrl-C", file=out, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agents.llm.server",
        description="Serve smollm2:135m and all-minilm through Ollama's REST API on 127.0.0.1.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (127.0.0.1 only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default %(default)s)")
    parser.add_argument("--parallel", type=int, default=DEFAULT_PARALLEL, help="request slots")
    parser.add_argument("--ctx", type=int, default=DEFAULT_CONTEXT, help="context tokens per request")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads per model")
    parser.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS,
                        help="answer length when a request sets no num_predict")
    parser.add_argument("--no-embeddings", action="store_true", help="do not serve all-minilm")
    parser.add_argument("--verbose", action="store_true", help="log requests and llama.cpp output")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    try:
        return serve(args.host, args.port, n_parallel=args.parallel, n_ctx=args.ctx,
                     threads=args.threads, embeddings=not args.no_embeddings,
                     max_tokens=args.max_tokens, verbose=args.verbose)
    except (ValueError, OSError, embedded_models.ModelFilesMissing) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
