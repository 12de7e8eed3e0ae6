"""Errors of the LLM layer: each one is a single line that says what to do next.

All of them are ``agents.errors.LabError``s. A run catches ``LLMError`` to stop cleanly: what was collected stays on disk and a resume
continues from the call log. Answers the model gets wrong are not errors: they are retried and
then replaced by the decision's fallback (see ``agents.llm.client``).
"""

from __future__ import annotations

import re

from agents.errors import BadInputError, ServiceError


class LLMError(ServiceError, RuntimeError):
    """Base class: the LLM layer cannot go on (exit status 3)."""


class LLMSetupError(LLMError):
    """The server is unreachable, a model is not pulled, or the configuration is incomplete."""


class LLMUnavailableError(LLMError):
    """The server timed out or failed (HTTP 5xx, dropped connection) on every retry."""


class LLMContextError(LLMError):
    """A prompt does not fit the model's context window (``num_ctx``)."""


class ReplayMissError(LLMError, BadInputError):
    """Strict replay was asked for a call the recorded log does not hold (exit status 2)."""

    exit_code = BadInputError.exit_code


class LLMCancelledError(LLMError):
    """The run was stopped while it waited for the model (the live page's Reset)."""


class CallLogError(LLMError, BadInputError):
    """A call log is damaged somewhere other than its last line (exit status 2)."""

    exit_code = BadInputError.exit_code


_USERINFO = re.compile(r"//[^/@\s]*@")


def display_host(host: str) -> str:
    """``host`` without any ``user:password@`` part, for messages and logs."""
    return _USERINFO.sub("//", host)


def unreachable(host: str) -> LLMSetupError:
    return LLMSetupError(
        f"cannot reach an Ollama server at {display_host(host)}: start `ollama serve`, "
        'or set llm.backend = "embedded" to use the built-in server'
    )


def not_pulled(model: str, host: str, embedded: bool = False) -> LLMSetupError:
    if embedded:  # its port is random and it can pull nothing: say what it does serve
        return LLMSetupError(
            f"model {model} is not one the built-in server serves (smollm2:135m, all-minilm): "
            f"start Ollama, `ollama pull {model}` and set llm.host, or replay a recorded run"
        )
    return LLMSetupError(
        f"model {model} is not pulled at {display_host(host)}: run `ollama pull {model}`"
    )


def context_too_long(tokens: int, num_ctx: int, model: str) -> LLMContextError:
    return LLMContextError(
        f"prompt of ~{tokens} tokens exceeds num_ctx={num_ctx} for {model}: "
        "shorten the prompt or raise llm.num_ctx"
    )


def context_cut(prompt_tokens: int, answer_tokens: int, num_ctx: int, model: str) -> LLMContextError:
    return LLMContextError(
        f"the server cut a prompt for {model} to fit num_ctx={num_ctx} (it counted "
        f"{prompt_tokens} prompt and {answer_tokens} answer tokens): the answer is not used; "
        "raise llm.num_ctx"
    )
