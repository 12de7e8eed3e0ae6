"""An OpenAI-compatible endpoint (vLLM, llama.cpp server, ...) behind the same seam as Ollama.

``LLMClient`` talks to its server through four methods of ``ollama.Client``: ``list``, ``chat``,
``embed`` and ``close``. ``OpenAICompatClient`` offers exactly those, over the official
``openai`` client, and answers with the ``ollama`` response types, so validation, retries,
fallbacks, the call log and replay work unchanged. Errors are mapped onto what the seam already
handles: a timeout or a dropped connection is retried, HTTP 5xx and 429 are retried, a refused
connection, a rejected key or an unknown model is a one-line ``LLMSetupError``.

The API key is read from the environment variable named by ``llm.api_key_env``; the config, the
manifest and the call log hold only that name (the key is also scrubbed from the call log).
"""

from __future__ import annotations

import os
import re
import urllib.parse
from typing import Any

import httpx
import ollama
import openai

from agents.llm.errors import LLMSetupError
from agents.llm.settings import LLMConfig

# Servers started without a key (vLLM, llama.cpp) accept any; the openai client wants one.
NO_KEY = "not-needed"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def endpoint(config: LLMConfig, host: str | None = None) -> str:
    """The base URL of the endpoint (``host`` from a sweep's host list, else llm.base_url)."""
    url = (host or config.base_url or "").strip().rstrip("/")
    if not url:
        raise LLMSetupError('llm.backend = "openai" needs llm.base_url, e.g. "http://gpu1:8000/v1"')
    split = urllib.parse.urlsplit(url)
    if split.scheme not in ("http", "https") or not split.hostname:
        raise LLMSetupError(f"llm.base_url {url!r} is not an http(s) URL")
    if split.username or split.password:
        raise LLMSetupError("llm.base_url must not hold credentials: put the key in the "
                            "environment variable named by llm.api_key_env")
    return url


def api_key(config: LLMConfig) -> str | None:
    """The key from the environment variable ``llm.api_key_env`` (None when no name is set)."""
    name = config.api_key_env
    if not name:
        return None
    if not _ENV_NAME.match(name):
        raise LLMSetupError(f"llm.api_key_env = {name!r} is not an environment variable name")
    value = os.environ.get(name, "").strip()
    if not value:
        raise LLMSetupError(f"llm.api_key_env names {name}, which is not set: export {name}=<key>")
    return value


def _response_format(fmt: Any) -> dict | None:
    if isinstance(fmt, dict):
        name = re.sub(r"[^A-Za-z0-9_-]", "_", str(fmt.get("title") or "answer"))[:64]
        return {"type": "json_schema", "json_schema": {"name": name, "schema": fmt}}
    if fmt == "json":
        return {"type": "json_object"}
    return None


class ChatResponse(ollama.ChatResponse):
    """Ollama's chat answer plus the prompt tokens the server read from its cache, which
    OpenAI-compatible servers report as ``usage.prompt_tokens_details.cached_tokens``."""

    prompt_eval_cached_count: int | None = None


def _cached_tokens(usage: Any) -> int | None:
    details = getattr(usage, "prompt_tokens_details", None)
    value = getattr(details, "cached_tokens", None)
    return value if isinstance(value, int) else None


class OpenAICompatClient:
    """The part of ``ollama.Client`` that ``LLMClient`` uses, over an OpenAI-compatible API."""

    def __init__(self, config: LLMConfig, host: str | None, timeout: httpx.Timeout | float,
                 call_log: Any = None) -> None:
        self.host = endpoint(config, host)
        key = api_key(config)
        if key and call_log is not None:
            call_log.add_secret(key)
        # No retries inside the openai client: the seam retries, counts and logs them itself.
        self._client = openai.OpenAI(base_url=self.host, api_key=key or NO_KEY, timeout=timeout,
                                     max_retries=0)

    # -- the ollama.Client surface -------------------------------------------------------------

    def list(self) -> ollama.ListResponse:
        page = self._call("GET /models", "", lambda: self._client.models.list())
        return ollama.ListResponse(models=[ollama.ListResponse.Model(model=m.id) for m in page.data])

    def chat(self, model: str, messages: list[dict], *, format: Any = None,
             options: dict | None = None, **_: Any) -> ollama.ChatResponse:
        options = options or {}
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "temperature": options.get("temperature"),
            "top_p": options.get("top_p"),
            "seed": options.get("seed"),
            # num_ctx is the server's setting on these endpoints; the seam still checks prompts
            # against llm.num_ctx before sending them.
            "max_tokens": options.get("num_predict"),
            "response_format": _response_format(format),
        }
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        reply = self._call("a chat call", model, lambda: self._client.chat.completions.create(**kwargs))
        choice = reply.choices[0]
        message = choice.message
        # vLLM's reasoning parser puts a thinking model's reasoning beside the answer.
        thinking = getattr(message, "reasoning_content", None) or getattr(message, "reasoning", None)
        usage = reply.usage
        return ChatResponse(
            model=reply.model or model,
            done=True,
            done_reason="length" if choice.finish_reason == "length" else "stop",
            message=ollama.Message(role="assistant", content=message.content or "",
                                   thinking=thinking if isinstance(thinking, str) else None),
            prompt_eval_count=usage.prompt_tokens if usage else None,
            prompt_eval_cached_count=_cached_tokens(usage),
            eval_count=usage.completion_tokens if usage else None,
        )

    def embed(self, model: str, input: list[str], **_: Any) -> ollama.EmbedResponse:
        reply = self._call("an embedding call", model,
                           lambda: self._client.embeddings.create(model=model, input=list(input)))
        rows = sorted(reply.data, key=lambda d: d.index)
        return ollama.EmbedResponse(
            model=model, embeddings=[list(r.embedding) for r in rows],
            prompt_eval_count=reply.usage.prompt_tokens if reply.usage else None,
        )

    def close(self) -> None:
        self._client.close()

    # -- errors, mapped onto the seam's ----------------------------------------------------------

    def _call(self, what: str, model: str, fn):
        try:
            return fn()
        except openai.APITimeoutError as err:
            raise httpx.ReadTimeout(f"{what} timed out ({err})") from None
        except openai.APIConnectionError as err:
            if type(err.__cause__).__name__ in ("ConnectError", "ConnectTimeout"):
                raise LLMSetupError(
                    f"cannot reach the OpenAI-compatible server at {self.host}: start it, or "
                    "check llm.base_url (it usually ends in /v1)"
                ) from None
            # The connection dropped mid-answer: worth another try.
            raise httpx.RemoteProtocolError(f"{what}: {err}") from None
        except (openai.AuthenticationError, openai.PermissionDeniedError) as err:
            raise LLMSetupError(
                f"{self.host} refused the API key (HTTP {err.status_code}): check the "
                "environment variable named by llm.api_key_env"
            ) from None
        except openai.NotFoundError as err:
            detail = _detail(err)
            raise LLMSetupError(
                f"{self.host} answered 404 to {what}{f' for {model}' if model else ''} "
                f"({detail}): check that it serves that model and that llm.base_url is right"
            ) from None
        except openai.APIStatusError as err:
            # 5xx and 429 are retried by the seam; other 4xx (e.g. a context-length refusal) are
            # reported with the server's own words.
            raise ollama.ResponseError(_detail(err), err.status_code) from None


def _detail(err: openai.APIStatusError) -> str:
    body = err.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return str(inner.get("message") or inner)[:300]
        return str(inner)[:300]
    return str(err.message)[:300]
