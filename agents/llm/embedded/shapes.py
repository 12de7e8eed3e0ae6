"""Translate between Ollama's REST JSON and llama.cpp's (OpenAI-style) server JSON.

Pure functions, no I/O: the routes in ``routes`` call them. Field names and
defaults follow Ollama's API documentation (docs/api.md) and its ``api/types.go``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


class ApiError(Exception):
    """An error answered as ``{"error": message}`` with the given HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def not_found(name: str) -> ApiError:
    # Ollama's exact wording; the official client raises ResponseError(status_code=404).
    return ApiError(404, f"model '{name}' not found")


def now_rfc3339() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")


# Ollama's runtime defaults (api/types.go DefaultOptions); llama.cpp's differ (top_p 0.95,
# min_p 0.05, repeat_penalty 1.0), so they are sent explicitly to sample like Ollama does.
OLLAMA_DEFAULTS: dict[str, Any] = {
    "temperature": 0.8,
    "top_k": 40,
    "top_p": 0.9,
    "min_p": 0.0,
    "typical_p": 1.0,
    "repeat_penalty": 1.1,
    "repeat_last_n": 64,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
}

# Ollama option -> (llama.cpp field, expected type).
_SAMPLING: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "temperature": ("temperature", (int, float)),
    "top_k": ("top_k", int),
    "top_p": ("top_p", (int, float)),
    "min_p": ("min_p", (int, float)),
    "typical_p": ("typical_p", (int, float)),
    "repeat_penalty": ("repeat_penalty", (int, float)),
    "repeat_last_n": ("repeat_last_n", int),
    "presence_penalty": ("presence_penalty", (int, float)),
    "frequency_penalty": ("frequency_penalty", (int, float)),
    "mirostat": ("mirostat", int),
    "mirostat_tau": ("mirostat_tau", (int, float)),
    "mirostat_eta": ("mirostat_eta", (int, float)),
    "num_keep": ("n_keep", int),
}

# Options that configure loading in Ollama. Here the model is loaded once with the
# server's settings, so they are accepted and ignored (as are unknown options, which
# Ollama only warns about).
LOAD_TIME_OPTIONS = frozenset(
    "num_ctx num_batch num_gpu main_gpu low_vram f16_kv logits_all vocab_only use_mmap "
    "use_mlock embedding_only num_thread numa penalize_newline tfs_z".split()
)


def _typed(name: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ApiError(400, f"option {name!r} has the wrong type: {value!r}")
    return value


def sampling_params(options: Any, max_tokens_cap: int, max_predict: int | None = None) -> dict[str, Any]:
    """llama.cpp sampling fields for an Ollama ``options`` object.

    ``max_tokens_cap`` is the answer length when none is asked for; ``max_predict`` the most
    a request may ask for (a larger num_predict is refused, not silently cut).
    """
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise ApiError(400, "options must be a JSON object")
    params: dict[str, Any] = dict(OLLAMA_DEFAULTS)
    for name, value in options.items():
        if value is None:
            continue
        if name in _SAMPLING:
            target, kind = _SAMPLING[name]
            params[target] = _typed(name, value, kind)
        elif name == "seed":
            seed = _typed(name, value, int)
            if seed >= 0:  # Ollama: a negative seed means "random", llama.cpp's default
                params["seed"] = seed % (1 << 32)
        elif name == "stop":
            stops = [value] if isinstance(value, str) else value
            if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
                raise ApiError(400, "option 'stop' must be a string or a list of strings")
            params["stop"] = stops
        elif name == "num_predict":
            n = _typed(name, value, int)
            if max_predict is not None and n > max_predict:
                raise ApiError(400, f"num_predict {n} is above this server's limit of "
                                    f"{max_predict} tokens")
            if n >= 0:
                params["max_tokens"] = n
    # -1 (Ollama: "until done") or absent: cap it, so a rambling small model cannot
    # hold a slot for thousands of tokens.
    params.setdefault("max_tokens", max_tokens_cap)
    return params


def response_format(fmt: Any) -> dict[str, Any] | None:
    """Ollama ``format`` -> llama.cpp ``response_format`` (grammar-constrained decoding)."""
    if fmt is None or fmt == "":
        return None
    if fmt == "json":
        return {"type": "json_object"}
    if isinstance(fmt, dict):
        return {"type": "json_schema", "json_schema": {"schema": fmt}}
    raise ApiError(400, f"invalid format {fmt!r}: use \"json\" or a JSON schema object")


_ROLES = ("system", "user", "assistant", "tool")


def chat_messages(messages: Any, model: str) -> list[dict[str, str]]:
    if not isinstance(messages, list):
        raise ApiError(400, "messages must be a list")
    out = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ApiError(400, f"messages[{i}] must be an object")
        role, content = message.get("role"), message.get("content") or ""
        if role not in _ROLES:
            raise ApiError(400, f"messages[{i}].role must be one of {', '.join(_ROLES)}")
        if not isinstance(content, str):
            raise ApiError(400, f"messages[{i}].content must be a string")
        if message.get("images"):
            raise ApiError(400, f'"{model}" does not support images')
        out.append({"role": role, "content": content})
    return out


def reject_unsupported(body: dict[str, Any], model: str) -> None:
    """Refuse features the served models lack, as Ollama does, instead of ignoring them."""
    if body.get("tools"):
        raise ApiError(400, f'"{model}" does not support tools')
    if body.get("think") not in (None, False):
        raise ApiError(400, f'"{model}" does not support thinking')
    if body.get("suffix"):
        raise ApiError(400, f'"{model}" does not support insert')
    if body.get("template"):
        raise ApiError(400, "template overrides are not supported by the embedded server")
    if body.get("images"):
        raise ApiError(400, f'"{model}" does not support images')


def done_reason(finish_reason: str | None) -> str:
    return "length" if finish_reason == "length" else "stop"


def counters(result: dict[str, Any], started_ns: int, now_ns: int) -> dict[str, Any]:
    """Ollama's timing and token counters from llama.cpp's ``timings``/``usage``."""
    timings = result.get("timings") or {}
    usage = result.get("usage") or {}
    prompt_n = usage.get("prompt_tokens")
    if prompt_n is None:
        prompt_n = int(timings.get("prompt_n", 0)) + int(timings.get("cache_n", 0))
    eval_n = usage.get("completion_tokens", timings.get("predicted_n", 0))
    return {
        "total_duration": now_ns - started_ns,
        "load_duration": 0,  # the model stays resident for the server's lifetime
        "prompt_eval_count": int(prompt_n),
        # Of those, the tokens read from the slot's prefix cache (Ollama's field of that name).
        "prompt_eval_cached_count": int(timings.get("cache_n", 0)),
        "prompt_eval_duration": int(float(timings.get("prompt_ms", 0.0)) * 1e6),
        "eval_count": int(eval_n),
        "eval_duration": int(float(timings.get("predicted_ms", 0.0)) * 1e6),
    }


def translate_llama_error(payload: dict[str, Any], model: str, context_size: int) -> ApiError:
    """A llama.cpp error object -> ApiError with a message that says what to change."""
    err = payload.get("error", payload)
    if not isinstance(err, dict):
        return ApiError(500, str(err))
    code = int(err.get("code", 500) or 500)
    if err.get("type") == "exceed_context_size_error":
        n_prompt = err.get("n_prompt_tokens", "?")
        n_ctx = err.get("n_ctx", context_size)
        return ApiError(
            400,
            f"prompt is too long for {model}: {n_prompt} prompt tokens, but the context size "
            f"is {n_ctx} tokens (the embedded server does not truncate prompts: shorten the "
            f"prompt or start the server with a larger n_ctx)",
        )
    message = err.get("message") or "llama.cpp error"
    return ApiError(code if 400 <= code < 600 else 500, message)
