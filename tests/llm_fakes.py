"""An in-process stand-in for the Ollama REST API, for the LLM layer's error-path tests.

It plugs into the real ``ollama`` client through ``httpx.MockTransport``, so requests go through
the client's real serialisation and error handling; only the server is scripted. Real-server
behaviour is tested against the embedded server (tests marked ``llm``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import BaseModel, Field

from agents.llm.requests import DecisionRequest
from agents.llm.settings import LLMConfig

MODEL = "smollm2:135m"
EMBED_MODEL = "all-minilm"


class Effort(BaseModel):
    effort: float = Field(ge=0.0, le=1.0)
    reason: str = Field(max_length=40)


FALLBACK = Effort(effort=0.5, reason="fallback")


def no_blank_reason(value: Effort) -> None:
    if not value.reason.strip():
        raise ValueError("reason must not be blank")


def effort_request(agent: int = 0, round: int = 0, phase: str = "effort", **kw: Any) -> DecisionRequest:
    return DecisionRequest(
        agent_id=agent,
        round=round,
        phase=phase,
        model=kw.pop("model", MODEL),
        messages=kw.pop("messages", [
            {"role": "system", "content": "You are a villager who fishes in a shared lake."},
            {"role": "user", "content": f"Agent {agent}, round {round}: choose your effort."},
        ]),
        schema=Effort,
        fallback=FALLBACK,
        check=kw.pop("check", no_blank_reason),
        **kw,
    )


def config(**kw: Any) -> LLMConfig:
    kw.setdefault("backend", "ollama")
    kw.setdefault("host", "http://ollama.test:11434")
    return LLMConfig(**kw)


def chat_response(content: str, done_reason: str = "stop", model: str = MODEL,
                  prompt_tokens: int = 50, answer_tokens: int = 12) -> httpx.Response:
    return httpx.Response(200, json={
        "model": model,
        "created_at": "2026-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": content},
        "done": True,
        "done_reason": done_reason,
        "prompt_eval_count": prompt_tokens,
        "eval_count": answer_tokens,
    })


Reply = str | httpx.Response | tuple[str, str]


class FakeOllama:
    """Scripted server. ``chat(body, n)`` gets the request body and the index of this chat
    request (0-based) and returns the answer text, ``(text, done_reason)``, a full
    ``httpx.Response``, or raises an ``httpx`` exception to simulate a transport failure."""

    def __init__(
        self,
        chat: Callable[[dict, int], Reply] | None = None,
        *,
        models: tuple[str, ...] = (MODEL, EMBED_MODEL),
        embed: Callable[[list[str]], list[list[float]]] | None = None,
    ) -> None:
        self.chat = chat or (lambda body, n: '{"effort": 0.3, "reason": "steady"}')
        self.models = models
        self.embed = embed or (lambda texts: [[float(len(t)), 1.0, 2.0] for t in texts])
        self.requests: list[tuple[str, dict, httpx.Headers]] = []
        self.chat_count = 0
        self._lock = threading.Lock()

    @property
    def chat_bodies(self) -> list[dict]:
        return [body for path, body, _ in self.requests if path == "/api/chat"]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        path = request.url.path
        with self._lock:
            self.requests.append((path, body, request.headers))
            n = self.chat_count
            if path == "/api/chat":
                self.chat_count += 1
        if path == "/api/tags":
            return httpx.Response(200, json={"models": [
                {"name": m, "model": m, "modified_at": "2026-01-01T00:00:00Z", "size": 1,
                 "digest": "0" * 64, "details": {}} for m in self.models]})
        if path == "/api/version":
            return httpx.Response(200, json={"version": "0.0.0-fake"})
        if path in ("/api/chat", "/api/embed") and body.get("model") not in self.models:
            return httpx.Response(404, json={"error": f"model '{body.get('model')}' not found"})
        if path == "/api/embed":
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            return httpx.Response(200, json={"model": body["model"], "embeddings": self.embed(texts),
                                             "prompt_eval_count": 3 * len(texts)})
        if path == "/api/chat":
            reply = self.chat(body, n)
            if isinstance(reply, httpx.Response):
                return reply
            if isinstance(reply, tuple):
                return chat_response(reply[0], reply[1], model=body["model"])
            return chat_response(reply, model=body["model"])
        return httpx.Response(404, text="404 page not found")
