"""Bounded answer schemas of the four LLM decisions, their free-text parsers and fallbacks.

Every string has a maximum length and every number a range: the schema is sent to the server as
the answer's format, and small models ramble without such bounds. The free-text parsers serve
models that ignore the format; they return a dict for the schema or raise ValueError.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

TEXT_MIN = 12  # characters of a belief or policy: a grammar-bound 135M model otherwise says "True"
BELIEF_MAX = 150  # characters of a personal belief
POLICY_MAX = 150  # characters of a proposed community policy
VOTE_MAX = 180  # characters of a vote (a copied policy, with room for stray quotes)
NOBODY = "none"

# Answer tokens a phase gets at least, whatever llm.num_predict says: room for a full-length
# answer (the schema's grammar ends short answers by itself).
MIN_PREDICT = {"effort": 0, "punish": 0, "propose": 256, "vote": 160}

_STRICT = ConfigDict(extra="forbid")


# The effort values the answer format offers. llama.cpp (Ollama, the embedded server) turns a
# JSON schema into a grammar but ignores minimum/maximum on numbers, and a 135M model then
# answers 3.5 or 4.6e-0; an enum keeps every constrained answer in range. Validation still
# accepts any number in [0, 1] (e.g. from the free-text parser).
EFFORT_STEPS = tuple(round(i * 0.05, 2) for i in range(21))


class EffortAnswer(BaseModel):
    model_config = _STRICT
    effort: float = Field(ge=0.0, le=1.0, description="fishing effort today, 0.0 to 1.0",
                          json_schema_extra={"enum": list(EFFORT_STEPS)})


class ProposeAnswer(BaseModel):
    model_config = _STRICT
    personal: str = Field(min_length=TEXT_MIN, max_length=BELIEF_MAX)
    community: str = Field(min_length=TEXT_MIN, max_length=POLICY_MAX)


class VoteAnswer(BaseModel):
    model_config = _STRICT
    policy: str = Field(min_length=1, max_length=VOTE_MAX)


@cache
def punish_schema(choices: tuple[str, ...]) -> type[BaseModel]:
    """Schema whose only field is one of ``choices`` (peer ids as strings, and "none")."""
    return create_model("PunishAnswer", __config__=_STRICT,
                        punish=(Literal[choices], Field(description="villager id, or none")))


# -- free-text parsers ---------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?|\.\d+)\s*(%?)")
_INTEGER = re.compile(r"(?<![\d.])\d+(?!\d)(?!\.\d)")  # whole numbers, not parts of 0.5
_NOBODY = re.compile(r"\b(none|nobody|no one|n/a|no punishment)\b", re.IGNORECASE)
_LABELLED = re.compile(r"^\W*(personal|community)\W*:\s*(.+)$", re.IGNORECASE | re.MULTILINE)


def parse_effort_text(text: str) -> dict:
    """The first number in the answer; a percentage is read as a share."""
    match = _NUMBER.search(text)
    if match is None:
        raise ValueError("no number in the answer")
    value = float(match.group(1))
    return {"effort": value / 100 if match.group(2) else value}


def punish_text_parser(choices: tuple[str, ...]):
    ids = {c for c in choices if c != NOBODY}

    def parse(text: str) -> dict:
        for match in _INTEGER.finditer(text):
            if str(int(match.group(0))) in ids:
                return {"punish": str(int(match.group(0)))}
        if _NOBODY.search(text):
            return {"punish": NOBODY}
        raise ValueError("no villager id from the list and no 'none'")
    return parse


def parse_propose_text(text: str) -> dict:
    """``Personal: ...`` and ``Community: ...`` lines, the paper's own answer format."""
    found = {m.group(1).lower(): m.group(2).strip() for m in _LABELLED.finditer(text)}
    if "personal" not in found or "community" not in found:
        raise ValueError("expected a 'Personal:' line and a 'Community:' line")
    return {"personal": found["personal"][:BELIEF_MAX], "community": found["community"][:POLICY_MAX]}


def parse_vote_text(text: str) -> dict:
    """The answer itself is the vote (matching to a proposal happens later)."""
    text = text.strip()
    if not text:
        raise ValueError("the answer is empty")
    return {"policy": text[:VOTE_MAX]}


def check_nonblank(answer: BaseModel) -> None:
    """Reject strings that are only spaces or punctuation (they carry no belief or policy)."""
    for name, value in answer.model_dump().items():
        if isinstance(value, str) and not any(ch.isalnum() for ch in value):
            raise ValueError(f"{name} must contain words")
