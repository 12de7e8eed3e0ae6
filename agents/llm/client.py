"""The one seam through which every LLM call of the project passes.

``LLMClient.decide`` sends a chat request with the decision's pydantic schema as ``format`` and
seeded options, strips ``<think>`` blocks, validates, retries with the error fed back, and falls
back to the request's documented value when every attempt fails (counted and logged, never
silent). Every attempt and every embedding call is appended to the call log; a ``ReplaySource``
serves recorded answers instead of the server, and the same validation logic re-runs on them, so
a replay reproduces the run exactly.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import numpy as np
import ollama
import pydantic

from agents.llm.call_log import CallLog
from agents.llm.errors import (
    LLMCancelledError,
    LLMContextError,
    LLMError,
    LLMSetupError,
    LLMUnavailableError,
    ReplayMissError,
    context_cut,
    context_too_long,
    display_host,
    not_pulled,
    unreachable,
)
from agents.llm.host import is_embedded, resolve_host
from agents.llm.parsing import feedback_messages, parse_answer, strip_think
from agents.llm.replay import ReplaySource
from agents.llm.requests import Decision, DecisionRequest
from agents.llm.response_cache import ResponseCache, request_key
from agents.llm.stats import CallStats
from agents.llm.settings import LLMConfig

log = logging.getLogger(__name__)

T = TypeVar("T")

# Failures worth another try after a pause: the server is there but slow, overloaded or dropped
# the connection. A refused connection is a setup problem and is reported at once.
_TRANSIENT = (
    httpx.TimeoutException,
    httpx.ReadError,
    httpx.WriteError,
    httpx.CloseError,
    httpx.RemoteProtocolError,
)
_RETRY_STATUS = {408, 429}
# An answer longer than this is cut here, before it is parsed or logged (its full length is
# recorded): a server that streams megabytes cannot swell the call log, and a replay of the
# cut answer parses exactly as the live run did. Far above any answer budget (num_predict).
MAX_ANSWER_CHARS = 65_536
MAX_EMBEDDING_DIMS = 65_536
_CONNECT_TIMEOUT_S = 5.0
# A lower estimate of tokens for English and Japanese alike (~4 UTF-8 bytes per token), so that
# a prompt we reject really does not fit; the server's own refusal is mapped too.
_BYTES_PER_TOKEN = 4
_TOKENS_PER_MESSAGE = 4


def call_seed(run_seed: int, agent_id: int, round: int, phase: str, attempt: int) -> int:
    """The sampling seed of one attempt: fixed by the run seed and the call's key, so a run is
    reproducible and each retry samples differently."""
    key = f"{run_seed}|{agent_id}|{round}|{phase}|{attempt}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") % (2**31 - 1)


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every client: httpx would otherwise load the system's
    certificates again for each client (a noticeable cost per run, and plain-http hosts never
    use it)."""
    return ssl.create_default_context()


def _now() -> float:
    return round(time.time(), 3)


def estimate_tokens(messages: Sequence[dict]) -> int:
    size = sum(len(str(m.get("content") or "").encode("utf-8")) for m in messages)
    return math.ceil(size / _BYTES_PER_TOKEN) + _TOKENS_PER_MESSAGE * len(messages)


@functools.lru_cache(maxsize=256)
def _json_schema(schema: type[pydantic.BaseModel]) -> dict:
    return schema.model_json_schema()


def _plain_message(message: Any) -> dict:
    if isinstance(message, pydantic.BaseModel):
        return message.model_dump(exclude_none=True)
    return dict(message)


def _is_context_error(text: str) -> bool:
    text = text.lower()
    return "context" in text and any(w in text for w in ("exceed", "too long", "larger", "length"))


def _same_model(wanted: str, served: str) -> bool:
    # Ollama lists "llama3:latest" for a model pulled as "llama3".
    def full(name: str) -> str:
        return name if ":" in name.rsplit("/", 1)[-1] else name + ":latest"

    return full(wanted) == full(served)


@dataclass(frozen=True)
class _Answer:
    raw: str
    thinking: str | None
    done_reason: str | None
    prompt_tokens: int
    answer_tokens: int
    latency_s: float
    replayed: bool
    cached_tokens: int | None = None  # prompt tokens the server took from its prefix cache
    cache_hit: bool = False  # served by the response cache (llm.cache), not the server

    @property
    def evaluated_tokens(self) -> int | None:
        """Prompt tokens the server evaluated (None when it did not say what it cached)."""
        return None if self.cached_tokens is None else self.prompt_tokens - self.cached_tokens

    @classmethod
    def from_record(cls, record: dict, *, replayed: bool, cache_hit: bool) -> _Answer:
        """An answer as a call-log record or a response-cache entry holds it."""
        return cls(raw=str(record["raw"]), thinking=record.get("thinking"),
                   done_reason=record.get("done_reason"),
                   prompt_tokens=int(record.get("prompt_tokens") or 0),
                   answer_tokens=int(record.get("answer_tokens") or 0),
                   latency_s=float(record.get("latency_s") or 0.0), replayed=replayed,
                   cached_tokens=_cached_count(record.get("cached_tokens")),
                   cache_hit=cache_hit)

    def cache_value(self) -> dict[str, Any]:
        return {"raw": self.raw, "thinking": self.thinking, "done_reason": self.done_reason,
                "prompt_tokens": self.prompt_tokens, "answer_tokens": self.answer_tokens,
                "cached_tokens": self.cached_tokens, "latency_s": self.latency_s}


def _cached_count(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and value >= 0 else None


def _checked_embeddings(rows: Any, count: int, model: str, host: str) -> list[list[float]]:
    """The server's vectors as floats, or LLMError: one finite vector of a sane size per text."""
    def bad(why: str) -> LLMError:
        return LLMError(f"the server at {display_host(host)} answered unusable embeddings for "
                        f"{model} ({why})")

    if not isinstance(rows, list) or len(rows) != count:
        raise bad(f"{len(rows) if isinstance(rows, list) else 'no'} vectors for {count} texts")
    vectors = []
    for row in rows:
        if not isinstance(row, list) or not 0 < len(row) <= MAX_EMBEDDING_DIMS:
            raise bad("a vector is empty, not a list, or too long")
        try:
            vector = [float(x) for x in row]
        except (TypeError, ValueError):
            raise bad("a vector holds something other than numbers") from None
        if not all(math.isfinite(x) for x in vector):
            raise bad("a vector holds NaN or infinity")
        vectors.append(vector)
    if len({len(v) for v in vectors}) > 1:
        raise bad("vectors of different lengths")
    return vectors


class LLMClient:
    """Structured decisions and embeddings through the official ``ollama`` client.

    ``host``: a base URL already resolved (``agents.llm.host.open_llm_host`` yields one); None
    resolves ``config`` here: ``config.host``, else ``OLLAMA_HOST``, else the local default.
    ``seed``: the run seed from which every call's sampling seed is derived.
    ``call_log``: where every attempt is recorded (None: not recorded).
    ``replay``: recorded answers to serve; strict (no server at all) or resume (missing keys go
    live). With ``config.backend == "replay"`` and no ``replay``, ``config.replay_log`` is loaded
    strictly. ``cache``: stored answers of earlier runs (``llm.cache``; None: opened from the
    config when it names a folder). Extra keyword arguments go to ``httpx.Client`` (e.g.
    ``transport=`` in tests).
    """

    # Transport retries per request (timeouts, HTTP 5xx, dropped connections) and the pause
    # before each; bounded so that a dead server stops the run within minutes.
    transport_retries: int = 2
    backoff_s: tuple[float, ...] = (0.5, 2.0)

    def __init__(
        self,
        config: LLMConfig,
        *,
        host: str | None = None,
        seed: int = 0,
        call_log: CallLog | None = None,
        replay: ReplaySource | None = None,
        cache: ResponseCache | None = None,
        **httpx_kwargs: Any,
    ) -> None:
        self.config = config
        self.seed = seed
        self.call_log = call_log
        if replay is None and config.backend == "replay":
            if not config.replay_log:
                raise LLMSetupError('llm.backend = "replay" needs llm.replay_log (a calls.jsonl)')
            replay = ReplaySource.from_file(config.replay_log, strict=True)
        self.replay = replay
        # A strict replay asks no server, so it needs no cache either.
        if cache is None and config.cache and not (replay is not None and replay.strict):
            cache = ResponseCache(config.cache)
            self._owns_cache = True
        else:
            self._owns_cache = False
        self.cache = cache
        self._digests: dict[str, str] = {}  # model -> digest, as the server listed it
        self._listed = False
        self._thread = threading.local()  # the cached-token count of this thread's last chat
        self.host = host if host is not None else resolve_host(None, config)
        self.stats = CallStats()
        self.transport_retry_count = 0  # not in ``stats``: a replay has none
        self.replay_mismatches = 0
        self._cut_lengths: dict[tuple, tuple[int, int]] = {}  # answers cut to MAX_ANSWER_CHARS
        self._httpx_kwargs = httpx_kwargs
        # Where embedding calls go when they have a server of their own (llm.embedding_backend);
        # recorded, counted and replayed here all the same.
        self.embed_via: LLMClient | None = None
        self._ollama_client: ollama.Client | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._cancelled = threading.Event()
        # Replayed answers are re-logged only into a different file (resume appends to the
        # very log it serves from, which already holds them).
        self._log_replayed = call_log is not None and (
            replay is None
            or replay.path is None
            or call_log.path.resolve() != replay.path.resolve()
        )
        if call_log is not None:
            for name, value in (httpx_kwargs.get("headers") or {}).items():
                if str(name).lower() in ("authorization", "proxy-authorization"):
                    call_log.add_secret(str(value))

    # -- setup ---------------------------------------------------------------------------

    @property
    def offline(self) -> bool:
        """True when no call can reach a server (strict replay)."""
        return self.replay is not None and self.replay.strict

    @property
    def _ollama(self) -> ollama.Client:
        with self._lock:
            if self._ollama_client is None:
                timeout = httpx.Timeout(
                    self.config.timeout_s, connect=min(_CONNECT_TIMEOUT_S, self.config.timeout_s)
                )
                if self.config.backend == "openai":  # the same surface over an OpenAI-style API
                    from agents.llm.openai_backend import OpenAICompatClient

                    self._ollama_client = OpenAICompatClient(
                        self.config, self.host, timeout, self.call_log
                    )
                else:
                    kwargs = {"verify": _tls_context(), **self._httpx_kwargs}
                    hooks = dict(kwargs.get("event_hooks") or {})
                    hooks["response"] = [*hooks.get("response", ()), self._note_cached_tokens]
                    kwargs["event_hooks"] = hooks
                    self._ollama_client = ollama.Client(host=self.host, timeout=timeout, **kwargs)
            return self._ollama_client

    def _note_cached_tokens(self, response: httpx.Response) -> None:
        """Keep the answer's ``prompt_eval_cached_count`` (prompt tokens read from the server's
        cache): Ollama and the embedded server send it, but the ``ollama`` client's response
        model drops fields it does not declare. The hook runs in the calling thread."""
        if response.request.method != "POST" or not response.request.url.path.endswith(
                "/api/chat") or response.status_code != 200:
            return
        response.read()
        try:
            data = json.loads(response.content)
        except ValueError:
            return  # the client reports the malformed answer itself
        if isinstance(data, dict):
            self._thread.cached = _cached_count(data.get("prompt_eval_cached_count"))

    def check_models(self, models: Iterable[str]) -> None:
        """Before a run: the server answers and every model is pulled, else LLMSetupError."""
        wanted = list(dict.fromkeys(models))
        if self.offline:
            return
        try:
            listed = self._ollama.list()
        except ConnectionError:
            raise unreachable(self.host) from None
        except httpx.TransportError:
            raise unreachable(self.host) from None
        except ollama.ResponseError as err:
            raise LLMSetupError(
                f"{display_host(self.host)} does not answer like an Ollama server "
                f"(GET /api/tags: {err})"
            ) from None
        served = [m.model or "" for m in listed.models]
        self._remember_digests(listed)
        missing = [w for w in wanted if not any(_same_model(w, s) for s in served)]
        if len(missing) == 1 or (missing and is_embedded(self.host)):
            raise not_pulled(", ".join(missing), self.host, is_embedded(self.host))
        if missing:
            pulls = " && ".join(f"ollama pull {m}" for m in missing)
            raise LLMSetupError(
                f"models {', '.join(missing)} are not pulled at {display_host(self.host)}: "
                f"run `{pulls}`"
            )

    def _remember_digests(self, listed: Any) -> None:
        with self._lock:
            self._listed = True
            for m in getattr(listed, "models", None) or ():
                if m.model and getattr(m, "digest", None):
                    self._digests[m.model] = m.digest

    def model_identity(self, model: str) -> str:
        """What identifies ``model``'s weights in a cache key: the digest the server lists for
        it, else the backend and server address (the same name on two servers may differ)."""
        with self._lock:
            listed = self._listed
        if not listed:
            try:
                self._remember_digests(self._ollama.list())
            except Exception:  # noqa: BLE001 - an unlisted digest only narrows the key
                with self._lock:
                    self._listed = True
        with self._lock:
            digest = next((d for name, d in self._digests.items() if _same_model(model, name)),
                          None)
        return f"digest:{digest}" if digest else f"{self.config.backend}@{display_host(self.host)}"

    # -- transport -----------------------------------------------------------------------

    def _request(self, what: str, model: str, call: Callable[[], T]) -> tuple[T, float]:
        """``call()`` with errors turned into the layer's own, and transient failures retried.
        Returns the result and the latency of the attempt that succeeded."""
        problem = ""
        for attempt in range(self.transport_retries + 1):
            self._stop_if_cancelled(what)
            start = time.perf_counter()
            try:
                result = call()
                return result, time.perf_counter() - start
            except (ConnectionError, httpx.ConnectError):
                self._stop_if_cancelled(what)  # an error caused by cancel() is not the server's
                raise unreachable(self.host) from None
            except ollama.ResponseError as err:
                status, text = err.status_code, str(err.error)
                if status == 404 and "not found" in text.lower():
                    raise not_pulled(model, self.host, is_embedded(self.host)) from None
                if status == 400 and _is_context_error(text):
                    raise LLMContextError(
                        f"the server rejected {what} for {model} as too long for "
                        f"num_ctx={self.config.num_ctx}: {text}"
                    ) from None
                if status < 500 and status not in _RETRY_STATUS:
                    raise LLMError(f"the server rejected {what} for {model}: {err}") from None
                problem = f"HTTP {status}: {text}"
            except _TRANSIENT as err:
                self._stop_if_cancelled(what)
                problem = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            except (ValueError, TypeError) as err:  # not JSON, or JSON of the wrong shape
                problem = f"an answer that is not the API's JSON ({type(err).__name__})"
            if attempt < self.transport_retries:
                delay = self.backoff_s[min(attempt, len(self.backoff_s) - 1)]
                log.warning("%s for %s failed (%s); retrying in %.1f s", what, model, problem, delay)
                with self._lock:
                    self.transport_retry_count += 1
                time.sleep(delay)
        raise LLMUnavailableError(
            f"the server at {display_host(self.host)} failed {what} for {model} "
            f"{self.transport_retries + 1} times (last: {problem}); the run stops here and can "
            "be resumed"
        )

    # -- decisions -----------------------------------------------------------------------

    def decide(self, req: DecisionRequest) -> Decision:
        decision = self._decide(req)
        self._count(req, decision)
        return decision

    def decide_all(self, reqs: Sequence[DecisionRequest]) -> list[Decision]:
        """Decide independent requests concurrently (at most ``config.concurrency`` at a time);
        results and counters are in input order whatever order the answers arrive in."""
        reqs = list(reqs)
        if len({r.key for r in reqs}) != len(reqs):
            raise ValueError("decide_all got two requests with the same (agent_id, round, phase)")
        if len(reqs) <= 1 or self.config.concurrency == 1 or self.offline:
            decisions = [self._decide(r) for r in reqs]
        else:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(
                        max_workers=self.config.concurrency, thread_name_prefix="llm"
                    )
                pool = self._pool
            futures = [pool.submit(self._decide, r) for r in reqs]
            try:
                decisions = [f.result() for f in futures]
            except BaseException:
                for f in futures:
                    f.cancel()
                wait(futures)  # running calls finish and are logged, so a resume skips them
                raise
        for req, decision in zip(reqs, decisions):
            self._count(req, decision)
        return decisions

    def _count(self, req: DecisionRequest, decision: Decision) -> None:
        with self._lock:
            self.stats.add_decision(req.phase, decision)

    def _options(self, req: DecisionRequest, attempt: int, num_predict: int) -> dict[str, Any]:
        return {
            "temperature": self.config.temperature,
            "top_p": self.config.top_p,
            "seed": call_seed(self.seed, req.agent_id, req.round, req.phase, attempt),
            "num_predict": num_predict,
            "num_ctx": self.config.num_ctx,
        }

    def _decide(self, req: DecisionRequest) -> Decision:
        messages = [_plain_message(m) for m in req.messages]
        num_predict = req.num_predict or self.config.num_predict
        prompt_tokens = answer_tokens = cached_tokens = cache_hits = 0
        latency = 0.0
        attempts = self.config.max_retries + 1
        for attempt in range(attempts):
            options = self._options(req, attempt, num_predict)
            answer = self._answer(req, messages, attempt, options)
            clean = strip_think(answer.raw)
            result = parse_answer(
                clean,
                req.schema,
                text_parser=req.text_parser,
                check=req.check,
                done_reason=answer.done_reason,
                num_predict=num_predict,
                free_text=req.free_text,
            )
            prompt_tokens += answer.prompt_tokens
            answer_tokens += answer.answer_tokens
            cached_tokens += answer.cached_tokens or 0
            cache_hits += int(answer.cache_hit)
            latency += answer.latency_s
            fallback = not result.ok and attempt == attempts - 1
            if not answer.replayed or self._log_replayed:
                self._log_chat(req, attempt, messages, options, answer, clean, result, fallback)
            if result.ok:
                return Decision(
                    value=result.value,
                    fallback=False,
                    attempts=attempt + 1,
                    prompt_tokens=prompt_tokens,
                    answer_tokens=answer_tokens,
                    latency_s=latency,
                    raw=answer.raw,
                    clean=clean,
                    cached_tokens=cached_tokens,
                    cache_hits=cache_hits,
                )
            if not fallback:
                messages = messages + feedback_messages(clean, result.error,
                                                        free_text=req.free_text)
        log.warning(
            "LLM fallback: agent %s, round %s, phase %s, model %s: %d attempts failed, last: %s; "
            "using %s",
            req.agent_id, req.round, req.phase, req.model, attempts, result.error,
            req.fallback.model_dump_json(),
        )
        return Decision(
            value=req.fallback,
            fallback=True,
            attempts=attempts,
            prompt_tokens=prompt_tokens,
            answer_tokens=answer_tokens,
            latency_s=latency,
            raw=answer.raw,
            clean=clean,
            error=result.error,
            cached_tokens=cached_tokens,
            cache_hits=cache_hits,
        )

    def _answer(
        self, req: DecisionRequest, messages: list[dict], attempt: int, options: dict
    ) -> _Answer:
        if self.replay is not None:
            record = self.replay.chat(req.agent_id, req.round, req.phase, attempt)
            if record is not None:
                self._compare(record, req.model, messages, (req.agent_id, req.round, req.phase),
                              seed=options.get("seed"))
                return _Answer.from_record(record, replayed=True,
                                           cache_hit=record.get("cache") == "hit")
        tokens = estimate_tokens(messages)
        if tokens > self.config.num_ctx:
            raise context_too_long(tokens, self.config.num_ctx, req.model)
        # Free text: no format, so a reasoning model may think before it answers (constrained
        # decoding from the first token suppresses that on llama.cpp-family servers).
        extra: dict[str, Any] = {} if req.free_text else {"format": _json_schema(req.schema)}
        if self.config.think is not None:
            extra["think"] = self.config.think
        cache_key = None
        if self.cache is not None:
            cache_key = request_key("chat", {
                "backend": self.config.backend, "model": req.model,
                "weights": self.model_identity(req.model), "messages": messages,
                "options": options, **extra})
            stored = self.cache.get(cache_key)
            if stored is not None:
                return self._stored_answer(req, attempt, stored)
        self._thread.cached = None
        try:
            response, latency = self._request(
                "a chat call",
                req.model,
                lambda: self._ollama.chat(
                    model=req.model, messages=messages, options=options, **extra
                ),
            )
        except LLMUnavailableError as err:
            if self.call_log is not None:
                self.call_log.append(
                    self._chat_record(req, attempt, messages, options)
                    | {"raw": None, "transport_error": str(err)}
                )
            raise
        message = response.message
        self._check_context(req, attempt, messages, options, response)
        raw, thinking = message.content or "", message.thinking or None
        if len(raw) > MAX_ANSWER_CHARS or len(thinking or "") > MAX_ANSWER_CHARS:
            log.warning("a %s answer of %d characters for %s was cut to %d", req.phase,
                        len(raw) + len(thinking or ""), req.model, MAX_ANSWER_CHARS)
            self._cut_lengths[(req.agent_id, req.round, req.phase, attempt)] = (
                len(raw), len(thinking or ""))
            raw, thinking = raw[:MAX_ANSWER_CHARS], thinking and thinking[:MAX_ANSWER_CHARS]
        cached = _cached_count(getattr(response, "prompt_eval_cached_count", None))
        answer = _Answer(
            raw=raw,
            thinking=thinking,
            done_reason=response.done_reason,
            prompt_tokens=response.prompt_eval_count or 0,
            answer_tokens=response.eval_count or 0,
            latency_s=latency,
            replayed=False,
            cached_tokens=cached if cached is not None else getattr(self._thread, "cached", None),
        )
        if cache_key is not None:
            value = answer.cache_value()
            cut = self._cut_lengths.get((req.agent_id, req.round, req.phase, attempt))
            if cut is not None:
                value["raw_chars"], value["thinking_chars"] = cut
            self.cache.put(cache_key, "chat", req.model, value)
        return answer

    def _stored_answer(self, req: DecisionRequest, attempt: int, stored: dict) -> _Answer:
        """A response-cache hit: the stored answer and what it cost when the server gave it."""
        if "raw_chars" in stored:
            self._cut_lengths[(req.agent_id, req.round, req.phase, attempt)] = (
                int(stored["raw_chars"]), int(stored.get("thinking_chars") or 0))
        return _Answer.from_record(stored, replayed=False, cache_hit=True)

    def _check_context(
        self, req: DecisionRequest, attempt: int, messages: list[dict], options: dict, response: Any
    ) -> None:
        """After the call: Ollama cuts a prompt longer than ``num_ctx`` to exactly ``num_ctx``
        tokens without an error, and shifts the context when the answer runs past it. Its own
        count of the prompt's tokens tells: a cut fails the run instead of going unnoticed.
        OpenAI-compatible servers refuse such a prompt themselves (mapped in ``_request``)."""
        if self.config.backend == "openai":
            return
        prompt, answer = response.prompt_eval_count or 0, response.eval_count or 0
        num_ctx = self.config.num_ctx
        if prompt < num_ctx and prompt + answer <= num_ctx:
            return
        err = context_cut(prompt, answer, num_ctx, req.model)
        if self.call_log is not None:
            self.call_log.append(
                self._chat_record(req, attempt, messages, options)
                # raw None: a resume asks again rather than replaying a cut answer.
                | {"raw": None, "cut_answer": (response.message.content or "")[:MAX_ANSWER_CHARS],
                   "prompt_tokens": prompt, "answer_tokens": answer, "context_error": str(err)}
            )
        raise err

    def _compare(self, record: dict, model: str, sent: Any, key: tuple,
                 seed: int | None = None) -> None:
        """Check that a replayed answer was recorded for this model, prompt and call seed.

        Under strict replay a mismatch means the log belongs to another config or seed, and is
        refused; when a resume meets one (the code changed between the two runs) it warns once.
        """
        field = "messages" if record.get("kind") == "chat" else "input"
        if field not in record:
            return  # a hand-written script of answers (tests, teaching) records no prompts
        same_seed = seed is None or (record.get("options") or {}).get("seed") == seed
        if (record.get("model") == model and record[field] == json.loads(json.dumps(sent))
                and same_seed):
            return
        if self.replay is not None and self.replay.strict:
            agent, round, phase = key
            raise ReplayMissError(
                f"{self.replay.source}: the answer for agent {agent}, round {round}, phase "
                f"{phase!r} was recorded for another prompt, model or seed: strict replay needs "
                "the config and seed of the recorded run"
            )
        with self._lock:
            self.replay_mismatches += 1
            first = self.replay_mismatches == 1
        if first:
            log.warning(
                "replayed answer for agent %s, round %s, phase %s was recorded for a different "
                "prompt or model; the replay may diverge from the recorded run", *key,
            )

    def _chat_record(
        self, req: DecisionRequest, attempt: int, messages: list[dict], options: dict
    ) -> dict[str, Any]:
        return {
            "kind": "chat",
            "agent": req.agent_id,
            "round": req.round,
            "phase": req.phase,
            "attempt": attempt,
            "model": req.model,
            "schema": req.schema.__name__,
            "messages": messages,
            "options": options,
            "time": _now(),
        }

    def _log_chat(
        self,
        req: DecisionRequest,
        attempt: int,
        messages: list[dict],
        options: dict,
        answer: _Answer,
        clean: str,
        result: Any,
        fallback: bool,
    ) -> None:
        if self.call_log is None:
            return
        record = self._chat_record(req, attempt, messages, options)
        record.update(
            raw=answer.raw,
            clean=clean,
            thinking=answer.thinking,
            done_reason=answer.done_reason,
            parsed=result.value.model_dump(mode="json") if result.ok else None,
            error=result.error,
            prompt_tokens=answer.prompt_tokens,
            cached_tokens=answer.cached_tokens,
            evaluated_tokens=answer.evaluated_tokens,
            answer_tokens=answer.answer_tokens,
            latency_s=answer.latency_s,
            fallback=fallback,
        )
        if answer.cache_hit:
            record["cache"] = "hit"
        cut = self._cut_lengths.pop((req.agent_id, req.round, req.phase, attempt), None)
        if cut is not None:
            record.update(raw_chars=cut[0], thinking_chars=cut[1])
        if answer.replayed:
            record["replayed"] = True
        self.call_log.append(record)

    # -- embeddings ----------------------------------------------------------------------

    def embed(
        self,
        texts: Sequence[str],
        *,
        round: int,
        phase: str,
        agent_id: int = -1,
        model: str | None = None,
    ) -> np.ndarray:
        """One row per text, L2-normalised (a zero vector stays zero), float64. Recorded and
        replayable under (agent_id, round, phase)."""
        texts = [str(t) for t in texts]
        model = model or self.config.embedding_model
        if not texts:
            return np.zeros((0, 0))
        record = self.replay.embed(agent_id, round, phase) if self.replay is not None else None
        hit = False
        if record is not None:
            self._compare(record, model, texts, (agent_id, round, phase))
            vectors = record["embeddings"]
            tokens = int(record.get("prompt_tokens") or 0)
            latency = float(record.get("latency_s") or 0.0)
            hit = record.get("cache") == "hit"
        else:
            via = self.embed_via or self
            key = stored = None
            if self.cache is not None:
                key = request_key("embed", {"backend": via.config.backend, "model": model,
                                            "weights": via.model_identity(model), "input": texts})
                stored = self.cache.get(key)
            if stored is not None:
                vectors, tokens = stored["embeddings"], int(stored.get("prompt_tokens") or 0)
                latency, hit = float(stored.get("latency_s") or 0.0), True
            else:
                response, latency = via._request(
                    "an embedding call", model, lambda: via._ollama.embed(model=model, input=texts)
                )
                vectors = _checked_embeddings(response.embeddings, len(texts), model, self.host)
                tokens = response.prompt_eval_count or 0
                if key is not None:
                    self.cache.put(key, "embed", model, {"embeddings": vectors,
                                                         "prompt_tokens": tokens,
                                                         "latency_s": latency})
        if (record is None or self._log_replayed) and self.call_log is not None:
            self.call_log.append(
                {
                    "kind": "embed",
                    "agent": agent_id,
                    "round": round,
                    "phase": phase,
                    "model": model,
                    "input": texts,
                    "embeddings": vectors,
                    "prompt_tokens": tokens,
                    "latency_s": latency,
                    "time": _now(),
                }
                | ({"replayed": True} if record is not None else {})
                | ({"cache": "hit"} if hit else {})
            )
        matrix = np.asarray(vectors, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[0] != len(texts):
            raise LLMError(
                f"{model} returned {matrix.shape[0] if matrix.ndim else 0} embeddings "
                f"for {len(texts)} texts"
            )
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        matrix = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
        with self._lock:
            self.stats.add_embed(phase, tokens, latency, cache_hit=hit)
        return matrix

    # -- lifetime ------------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop the run that uses this client: calls in flight lose their connection, and every
        later call raises ``LLMCancelledError`` (safe from any thread)."""
        self._cancelled.set()
        with self._lock:
            client, self._ollama_client = self._ollama_client, None
        if client is not None:
            client.close()

    def _stop_if_cancelled(self, what: str) -> None:
        if self._cancelled.is_set():
            raise LLMCancelledError(f"{what} cancelled: the run was stopped")

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            client, self._ollama_client = self._ollama_client, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if client is not None:
            client.close()
        if self._owns_cache and self.cache is not None:
            self.cache.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
