"""Ollama's REST routes, answered by the served models; the HTTP plumbing is in ``http``.

One ``OllamaApi`` per running server holds the loaded engines. Each route takes the request
handler (to answer on) and the parsed JSON body, and raises ``ApiError`` to answer an error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agents.llm.embedded import models
from agents.llm.embedded.http import Handler, NdjsonStream
from agents.llm.embedded.limits import LimitCounts, check_schema
from agents.llm.embedded.models import CHAT_MODEL, EMBED_MODEL, ServedModel
from agents.llm.embedded.shapes import (
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

if TYPE_CHECKING:
    from agents.llm.embedded.server import EmbeddedServer as ServerSettings

EMBED_CONTEXT = 512  # all-MiniLM-L6-v2's position table
EMBED_SLOTS = 4  # embeddings of one request are batched over this many sequences
OLLAMA_VERSION = "0.12.0"  # the Ollama API version whose JSON shapes this server follows
_POLL_S = 0.25  # how often a request waiting for a slot checks on its client


class OllamaApi:
    """Route implementations; one instance per running server."""

    def __init__(self, config: ServerSettings):
        self.config = config
        self.counts: LimitCounts = config.counts
        self._slots = threading.BoundedSemaphore(config.n_parallel)
        self.models: list[ServedModel] = []
        self.engines: dict[str, Any] = {}
        self.embed_tokenizer: Any = None

    @classmethod
    def load(cls, config: ServerSettings) -> OllamaApi:
        from agents.llm.embedded.llama_engine import LlamaEngine

        api = cls(config)
        chat = models.chat_model(config.n_ctx)
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
                embed = models.embedding_model(prepared["gguf"], EMBED_CONTEXT)
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

            from agents.llm.embedded.bert_gguf import cached_bert_gguf

            source = models.minilm_source_dir()
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

    def route(self, method: str, path: str) -> Callable[[Handler, dict[str, Any]], None]:
        """The route for a request, or ApiError 404 (no such path) / 405 (wrong method)."""
        name = ROUTES.get((method, path))
        if name is None:
            if path in PATHS:
                raise ApiError(405, f"method {method} not allowed for {path}")
            raise ApiError(404, "404 page not found")
        return getattr(self, name)

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

    def version(self, h: Handler, body: dict[str, Any]) -> None:
        h.send_json(200, {"version": OLLAMA_VERSION, "server": "commons-lab embedded (llama.cpp)"})

    def tags(self, h: Handler, body: dict[str, Any]) -> None:
        h.send_json(200, {"models": [m.tag_entry() for m in self.models]})

    def ps(self, h: Handler, body: dict[str, Any]) -> None:
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

    def show(self, h: Handler, body: dict[str, Any]) -> None:
        name, m = self.find(body)
        params = f"num_ctx {m.context_size}"
        if m.kind == "chat":
            params += f"\nnum_predict {self.config.max_tokens}"
        h.send_json(
            200,
            {
                "license": m.license,
                # The file's name, not its path: a path tells a caller about this machine.
                "modelfile": f"# served by the commons-lab embedded server\nFROM {m.path.name}\n"
                + "".join(f"PARAMETER {line}\n" for line in params.splitlines()),
                "parameters": params,
                "template": m.summary.metadata.get("tokenizer.chat_template", ""),
                "details": m.details(),
                "model_info": m.model_info(),
                "capabilities": m.capabilities,
                "modified_at": m.modified_at,
            },
        )

    def pull(self, h: Handler, body: dict[str, Any]) -> None:
        name = body.get("model") or body.get("name") or ""
        if not isinstance(name, str) or not any(m.answers_to(name) for m in self.models):
            served = ", ".join(m.name for m in self.models)
            raise ApiError(
                404,
                f"model '{name}' not found: the embedded server only has {served} and cannot "
                f"download models; use a real Ollama server for others (ollama pull {name})",
            )
        if body.get("stream", True):
            stream = NdjsonStream(h)
            stream.send({"status": "pulling manifest"})
            stream.send({"status": "success"})
            stream.close()
        else:
            h.send_json(200, {"status": "success"})

    def unsupported(self, h: Handler, body: dict[str, Any]) -> None:
        raise ApiError(501, f"{h.command} {h.path} is not supported by the embedded server")

    def chat(self, h: Handler, body: dict[str, Any]) -> None:
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

    def generate(self, h: Handler, body: dict[str, Any]) -> None:
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

    def embed(self, h: Handler, body: dict[str, Any], legacy: bool = False) -> None:
        name, m = self.find(body)
        self._require(m, "embedding", name)
        started = time.perf_counter_ns()
        raw = body.get("prompt", "") if legacy else body.get("input", [])
        texts = [raw] if isinstance(raw, str) else raw
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise ApiError(400, "input must be a string or a list of strings")
        if len(texts) > self.config.limits.max_embed_inputs:
            raise ApiError(400, f"input has {len(texts)} texts; this server embeds at most "
                                f"{self.config.limits.max_embed_inputs} per request")
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

    def embed_legacy(self, h: Handler, body: dict[str, Any]) -> None:
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

    def _generate(self, h: Handler, body: dict[str, Any], name: str, request: dict[str, Any],
                  chat: bool, text_key: str) -> None:
        started = time.perf_counter_ns()
        limits = self.config.limits
        request.update(sampling_params(body.get("options"), self.config.max_tokens, limits.max_predict))
        request["cache_prompt"] = bool(self.config.cache_prompt)
        fmt = response_format(body.get("format"))
        if fmt is not None:
            if fmt["type"] == "json_schema":
                check_schema(fmt["json_schema"]["schema"], limits)
            request["response_format"] = fmt
        streaming = bool(body.get("stream", True))
        deadline = h.request_started + limits.max_request_s

        def shaped(text: str) -> dict[str, Any]:
            if text_key == "message":
                return {"message": {"role": "assistant", "content": text}}
            return {"response": text}

        # llama.cpp's own queue cannot be left, so requests wait here for a slot instead:
        # a client that leaves (or a deadline that passes) while waiting costs nothing.
        if not self._wait_for_slot(h, deadline):
            return
        stream = NdjsonStream(h) if streaming else None
        final: dict[str, Any] = {}
        stopped: list[str] = []  # why the generation was cancelled, if it was

        def should_stop() -> bool:
            # Checked at every token of a stream, and 4 times a second while a whole answer is
            # generated: a client that leaves or a request that overruns stops llama.cpp.
            if h.client_gone() or (stream is not None and stream.broken):
                stopped.append("cancelled")
            elif time.monotonic() > deadline:
                stopped.append("timed_out")
            return bool(stopped)

        def on_chunk(chunk: dict[str, Any]) -> bool:
            for key in ("timings", "usage"):
                if chunk.get(key):
                    final[key] = chunk[key]
            if should_stop():
                return True
            choices = chunk.get("choices") or []
            if not choices:
                return False
            choice = choices[0]
            if choice.get("finish_reason"):
                final["finish_reason"] = choice["finish_reason"]
            text = (choice.get("delta") or {}).get("content") if chat else choice.get("text")
            if not text:
                return False
            return stream.send({"model": name, "created_at": now_rfc3339(), **shaped(text),
                                "done": False})

        result = None
        try:
            if stream is None:
                result = self.engines[CHAT_MODEL].generate(request, chat, should_stop)
            else:
                self.engines[CHAT_MODEL].generate_stream(request, chat, on_chunk)
        except ApiError as exc:
            if stream is None or not stream.started:
                raise
            stream.send({"error": exc.message})  # the client raises ResponseError(-1)
            stream.close()
            return
        finally:
            self._slots.release()
        if stopped:
            self.counts.add(stopped[0])
            if stopped[0] == "cancelled":
                h.close_connection = True  # nobody is listening
                return
            message = (f"the request took longer than this server's limit of "
                       f"{limits.max_request_s:g} s and was stopped")
            if stream is None or not stream.started:
                raise ApiError(503, message)
            stream.send({"error": message})
            stream.close()
            return
        if stream is None:
            choice = result["choices"][0]
            text = (choice.get("message") or {}).get("content") if chat else choice.get("text")
            h.send_json(200, {"model": name, "created_at": now_rfc3339(), **shaped(text or ""),
                              "done": True, "done_reason": done_reason(choice.get("finish_reason")),
                              **counters(result, started, time.perf_counter_ns())})
            return
        done = {"done": True, "done_reason": done_reason(final.get("finish_reason")),
                **counters(final, started, time.perf_counter_ns())}
        stream.send({"model": name, "created_at": now_rfc3339(), **shaped(""), **done})
        stream.close()

    def _wait_for_slot(self, h: Handler, deadline: float) -> bool:
        """Take a generation slot; False (the request already answered) if the client left
        or the deadline passed first."""
        while not self._slots.acquire(timeout=_POLL_S):
            if h.client_gone():
                self.counts.add("cancelled")
                h.close_connection = True
                return False
            if time.monotonic() > deadline:
                self.counts.add("timed_out")
                raise ApiError(503, f"the server is busy: no generation slot became free within "
                                    f"{self.config.limits.max_request_s:g} s")
        return True


def _shorten(vector: list[float], dims: int, name: str) -> list[float]:
    # Ollama's `dimensions`: keep the first `dims` values and re-normalise.
    if dims > len(vector):
        raise ApiError(400, f"{name} has {len(vector)} dimensions; cannot return {dims}")
    head = vector[:dims]
    norm = sum(x * x for x in head) ** 0.5 or 1.0
    return [x / norm for x in head]


ROUTES: dict[tuple[str, str], str] = {
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
PATHS = {path for _, path in ROUTES}
