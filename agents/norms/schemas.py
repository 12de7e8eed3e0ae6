"""Bounded answer schemas of the LLM decisions, their free-text parsers and fallbacks.

Every string has a maximum length and every number a range. Under the "schema" protocol the
schema is sent to the server as the answer's format (small models ramble without such bounds);
under the "paper" protocol villagers answer in free text, the parsers below read it and the
schema validates the result. The parsers return a dict for the schema or raise ValueError.
Text bounds depend on the protocol (``agents.norms.prompt_settings.TEXT_MAX``), so the text
schemas are built per bound.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

TEXT_MIN = 12  # characters of a belief or policy: a grammar-bound 135M model otherwise says "True"
VOTE_SLACK = 30  # a vote may exceed the longest policy by this much (stray quotes, a label)
NOBODY = "none"

# Answer tokens a phase gets at least under the "schema" protocol, whatever llm.num_predict
# says: room for a full-length answer (the grammar ends short answers by itself).
MIN_PREDICT = {"effort": 0, "punish": 0, "propose": 256, "belief": 160, "vote": 160}

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


def _text(limit: int):
    return (str, Field(min_length=TEXT_MIN, max_length=limit))


@cache
def propose_schema(limit: int) -> type[BaseModel]:
    """The proposal: a rewritten personal belief and a community policy, each <= ``limit``."""
    return create_model("ProposeAnswer", __config__=_STRICT, personal=_text(limit),
                        community=_text(limit))


@cache
def belief_schema(limit: int) -> type[BaseModel]:
    """The belief update of villagers who do not vote (no group decision): the personal
    belief alone."""
    return create_model("BeliefAnswer", __config__=_STRICT, personal=_text(limit))


@cache
def vote_schema(limit: int) -> type[BaseModel]:
    return create_model("VoteAnswer", __config__=_STRICT,
                        policy=(str, Field(min_length=1, max_length=limit + VOTE_SLACK)))


@cache
def cap_schema(top: float) -> type[BaseModel]:
    """A proposed cap in fish per villager per round, 0..``top``: the rule-based kind of norm,
    proposed by a human villager of a rule-based society."""
    return create_model("CapAnswer", __config__=_STRICT,
                        cap=(float, Field(ge=0.0, le=top, description="fish per villager per round")))


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


def _labelled(text: str) -> dict[str, str]:
    return {m.group(1).lower(): m.group(2).strip() for m in _LABELLED.finditer(text)}


@cache
def propose_text_parser(limit: int):
    """``Personal: ...`` and ``Community: ...`` lines, the paper's own answer format."""
    def parse(text: str) -> dict:
        found = _labelled(text)
        if "personal" not in found or "community" not in found:
            raise ValueError("expected a 'Personal:' line and a 'Community:' line")
        return {"personal": found["personal"][:limit], "community": found["community"][:limit]}
    return parse


@cache
def belief_text_parser(limit: int):
    """A ``Personal: ...`` line; a bare one-line answer is taken as the belief itself."""
    def parse(text: str) -> dict:
        found = _labelled(text)
        if "personal" in found:
            return {"personal": found["personal"][:limit]}
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        if len(lines) != 1:
            raise ValueError("expected a 'Personal:' line")
        return {"personal": lines[0][:limit]}
    return parse


@cache
def vote_text_parser(limit: int):
    """The answer itself is the vote (matching to a proposal happens later)."""
    def parse(text: str) -> dict:
        text = text.strip()
        if not text:
            raise ValueError("the answer is empty")
        return {"policy": text[: limit + VOTE_SLACK]}
    return parse


def check_nonblank(answer: BaseModel) -> None:
    """Reject strings that are only spaces or punctuation (they carry no belief or policy)."""
    for name, value in answer.model_dump().items():
        if isinstance(value, str) and not any(ch.isalnum() for ch in value):
            raise ValueError(f"{name} must contain words")
