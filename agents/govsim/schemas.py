"""JSON schemas of GovSim's decisions, sent to the model as ``format``.

The first field of each schema plays the part of GovSim's assistant prefills ("Response: ",
"1."): the model starts writing there. Two text budgets (``govsim.text_budget``):

- "govsim" (GovSim's): free text has no length cap; an answer may run to the answer budget in
  tokens (GovSim's 8,000 new tokens), the same in every language;
- "compact": every string has a maximum length, shorter in Japanese, where a character costs
  several tokens, so a small model cannot ramble until the token limit cuts its JSON off.

Every number has a range. When over-stock requests are allocated as GovSim does
(``top=None``) a request may be any whole number up to ``MAX_REQUEST``, far above any stock,
which keeps it storable in the tables (GovSim's parser took any run of digits).
"""

from __future__ import annotations

import functools
from typing import Annotated, Literal

from pydantic import BaseModel, Field, create_model

# Characters per free-text field, by language, for the "compact" budget.
CHARS = {
    "en": {"reasoning": 300, "response": 300, "summary": 200, "note": 160},
    "ja": {"reasoning": 100, "response": 120, "summary": 80, "note": 60},
}
MAX_NOTES = 3
NAME_CHARS = 40
MAX_REQUEST = 2**31 - 1


def chars(language: str, field: str, budget: str = "compact") -> int | None:
    """Characters allowed in ``field``; None (no cap) under GovSim's budget."""
    if budget == "govsim":
        return None
    return CHARS.get(language, CHARS["en"])[field]


def predict_budget(language: str, text_chars: int | None, floor: int, tokens: int = 8000) -> int:
    """Tokens to allow for an answer with ``text_chars`` characters of free text plus JSON;
    ``tokens`` (the answer budget) when the text has no cap."""
    if text_chars is None:
        return tokens
    per_char = 0.4 if language == "en" else 2.5
    return max(floor, int(text_chars * per_char) + 48)


@functools.lru_cache(maxsize=None)
def harvest_schema(top: int | None, reasoning_chars: int | None) -> type[BaseModel]:
    """{"reasoning": ..., "answer": 0..top}: think first, then the number (GovSim's "Answer:").
    ``top=None``: any whole number from 0 to ``MAX_REQUEST``, as GovSim takes what is asked."""
    return create_model(
        "Harvest",
        reasoning=(str, Field(max_length=reasoning_chars)),
        answer=(int, Field(ge=0, le=MAX_REQUEST if top is None else top)),
    )


@functools.lru_cache(maxsize=None)
def utterance_schema(names: tuple[str, ...], response_chars: int | None) -> type[BaseModel]:
    """What the speaker says, whether it ends the talk, and who speaks next (a name or "").

    The next speaker is an enum of the participants, GovSim's constrained choice among names.
    """
    choice = Literal[tuple(names) + ("",)]  # type: ignore[valid-type]
    return create_model(
        "Utterance",
        response=(str, Field(min_length=1, max_length=response_chars)),
        ends_conversation=(bool, ...),
        next_speaker=(choice, ...),
    )



@functools.lru_cache(maxsize=None)
def summary_schema(summary_chars: int | None) -> type[BaseModel]:
    return create_model("Summary", summary=(str, Field(max_length=summary_chars)))


@functools.lru_cache(maxsize=None)
def limit_schema(top: int, reasoning_chars: int | None) -> type[BaseModel]:
    """{"reasoning": ..., "answer": 0..top or null}: null is GovSim's "N/A" (no agreement)."""
    return create_model(
        "Limit",
        reasoning=(str, Field(max_length=reasoning_chars)),
        answer=(int | None, Field(ge=0, le=top)),
    )


@functools.lru_cache(maxsize=None)
def notes_schema(note_chars: int | None) -> type[BaseModel]:
    """{"notes": [up to three sentences]}: GovSim's reflections, in one call."""
    note = Annotated[str, Field(min_length=1, max_length=note_chars)]
    return create_model("Notes", notes=(list[note], Field(max_length=MAX_NOTES)))


def nonblank(field: str):
    """A ``check`` that rejects an empty or blank text field (fed back to the model)."""

    def check(value: BaseModel) -> None:
        if not str(getattr(value, field)).strip():
            raise ValueError(f"{field} must not be empty")

    return check
