"""Errors of the LLM layer: each one is a single line that says what to do next.

A run catches ``LLMError`` to stop cleanly: what was collected stays on disk and a resume
continues from the call log. Answers the model gets wrong are not errors: they are retried and
then replaced by the decision's fallback (see ``agents.llm.client``).
"""

from __future__ import annotations

import re


class LLMError(RuntimeError):
    """Base class: the LLM layer cannot go on."""


class LLMSetupError(LLMError):
    """The server is unreachable, a model is not pulled, or the configuration is incomplete."""


class LLMUnavailableError(LLMError):
    """The server timed out or failed (HTTP 5xx, dropped connection) on every retry."""


class LLMContextError(LLMError):
    """A prompt does not fit the model's context window (``num_ctx``)."""


class ReplayMissError(LLMError):
    """Strict replay was asked for a call the recorded log does not hold."""


class LLMCancelledError(LLMError):
    """The run was stopped while it waited for the model (the live page's Reset)."""


class CallLogError(LLMError):
    """A call log is damaged somewhere other than its last line."""


_USERINFO = re.compile(r"//[^/@\s]*@")


def display_host(host: str) -> str:
    """``host`` without any ``user:password@`` part, for messages and logs."""
    return _USERINFO.sub("//", host)


def unreachable(host: str) -> LLMSetupError:
    return LLMSetupError(
        f"cannot reach an Ollama server at {display_host(host)}: start `ollama serve`, "
        'or set llm.backend = "embedded" to use the built-in server'
    )


def not_pulled(model: str, host: str) -> LLMSetupError:
    return LLMSetupError(
        f"model {model} is not pulled at {display_host(host)}: run `ollama pull {model}`"
    )


def context_too_long(tokens: int, num_ctx: int, model: str) -> LLMContextError:
    return LLMContextError(
        f"prompt of ~{tokens} tokens exceeds num_ctx={num_ctx} for {model}: "
        "shorten the prompt or raise llm.num_ctx"
    )
