"""What a villager (or the framework) asks the LLM layer, and what it gets back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pydantic


@dataclass(frozen=True)
class DecisionRequest:
    """One structured decision. ``(agent_id, round, phase)`` is unique within a run: it keys the
    call log, the per-call seed and replay."""

    agent_id: int  # villager unique_id, or -1 for framework calls (e.g. limit extraction)
    round: int
    phase: str  # "effort", "punish", "propose", "vote", "harvest", "utterance:3", ...
    model: str
    messages: list[dict]  # ollama chat messages: {"role": ..., "content": ...}
    schema: type[pydantic.BaseModel]  # bounded schema, sent as ``format``
    fallback: pydantic.BaseModel  # the documented value used when every attempt fails
    # Free-text parser for models that ignore the schema; returns a dict for ``schema`` or None.
    # It may raise ValueError to mean "cannot parse"; any other exception is a bug and propagates.
    text_parser: Callable[[str], dict | None] | None = None
    # Extra semantic validation; raise ValueError with a short message fed back to the model.
    check: Callable[[pydantic.BaseModel], None] | None = None
    num_predict: int | None = None  # overrides config.num_predict for this call
    # True: the answer is free text (no ``format`` sent; ``text_parser`` reads it first, a JSON
    # object is still accepted); False: ``schema`` is sent as the answer's format.
    free_text: bool = False

    def __post_init__(self) -> None:
        if self.free_text and self.text_parser is None:
            raise TypeError(f"a free-text request ({self.phase!r}) needs a text_parser")
        if not isinstance(self.fallback, self.schema):
            raise TypeError(
                f"fallback of {self.phase!r} must be a {self.schema.__name__}, "
                f"got {type(self.fallback).__name__}"
            )

    @property
    def key(self) -> tuple[int, int, str]:
        return (self.agent_id, self.round, self.phase)


@dataclass(frozen=True)
class Decision:
    """The validated answer (or the fallback) and what it cost, summed over attempts."""

    value: pydantic.BaseModel
    fallback: bool  # True when ``value`` is the request's fallback
    attempts: int  # 1 + retries
    prompt_tokens: int
    answer_tokens: int
    latency_s: float
    raw: str  # last raw answer, as the server sent it
    clean: str = ""  # last answer with <think> blocks removed
    error: str | None = None  # why the last attempt failed (None when it succeeded)
    cached_tokens: int = 0  # prompt tokens the server read from its prefix cache (where told)
    cache_hits: int = 0  # attempts answered by the response cache (llm.cache)

    @property
    def retries(self) -> int:
        return self.attempts - 1

    @property
    def parse_failures(self) -> int:
        """Attempts whose answer was rejected (cut off, not JSON, invalid, failed the check)."""
        return self.attempts if self.fallback else self.attempts - 1
