"""Turning a model's answer into a validated pydantic object, or a short reason why not.

Every function here is total: whatever text a model sends (broken JSON, wrong types, huge,
empty, half a ``<think>`` block) comes back as a value or as an error message that is fed back
to the model on the next attempt. Nothing raises except the caller's own bugs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydantic

_THINK_TAG = re.compile(r"<(/?)think\s*>", re.IGNORECASE)
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
# How many '{' positions to try when a JSON object is embedded in prose (bounds the work on
# huge answers).
_MAX_OBJECT_STARTS = 16
_MAX_ERROR_CHARS = 300
_MAX_ECHO_CHARS = 1000


def strip_think(text: str) -> str:
    """Remove ``<think>...</think>`` blocks of reasoning models.

    A closing tag before any opening one means the chat template opened the block, so everything
    before it is reasoning. An opening tag that is never closed (cut off while thinking) hides
    the rest of the text.
    """
    tags = list(_THINK_TAG.finditer(text))
    if not tags:
        return text.strip()
    inside = tags[0].group(1) == "/"
    pos = 0
    kept: list[str] = []
    for tag in tags:
        closing = tag.group(1) == "/"
        if not inside:
            kept.append(text[pos : tag.start()])
            inside = not closing  # a stray closing tag is dropped, we stay outside
        elif closing:
            inside = False
        pos = tag.end()
    if not inside:
        kept.append(text[pos:])
    return "".join(kept).strip()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)

_NOTHING = object()


def _loads(text: str) -> Any:
    return _DECODER.decode(text)


def extract_json(text: str) -> tuple[Any, str | None]:
    """The JSON value in ``text`` (or ``_NOTHING``) and, if none, why.

    Accepts a bare JSON document, a fenced ```json block, or the first JSON object embedded
    in prose (models that ignore the schema often add a sentence around it).
    """
    stripped = text.strip()
    if not stripped:
        return _NOTHING, "the answer was empty"
    try:
        return _loads(stripped), None
    except (ValueError, RecursionError) as err:
        first_error = err
    for match in _FENCE.finditer(stripped):
        try:
            return _loads(match.group(1)), None
        except (ValueError, RecursionError):
            continue
    start = stripped.find("{")
    for _ in range(_MAX_OBJECT_STARTS):
        if start == -1:
            break
        try:
            value, _end = _DECODER.raw_decode(stripped, start)
            if isinstance(value, dict):
                return value, None
        except (ValueError, RecursionError):
            pass
        start = stripped.find("{", start + 1)
    if isinstance(first_error, json.JSONDecodeError):
        return _NOTHING, f"the answer is not valid JSON ({first_error.msg} at char {first_error.pos})"
    if isinstance(first_error, RecursionError):
        return _NOTHING, "the answer is not valid JSON (nested too deeply)"
    return _NOTHING, f"the answer is not valid JSON ({first_error})"


def describe_validation(err: pydantic.ValidationError, limit: int = 3) -> str:
    """A short, model-readable summary of a pydantic error (the full one is long and noisy)."""
    errors = err.errors(include_url=False, include_input=False)
    parts = []
    for item in errors[:limit]:
        loc = ".".join(str(p) for p in item["loc"]) or "answer"
        parts.append(f"{loc}: {item['msg']}")
    if len(errors) > limit:
        parts.append(f"and {len(errors) - limit} more")
    return _clip("invalid fields: " + "; ".join(parts))


def _clip(text: str, limit: int = _MAX_ERROR_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class ParseResult:
    value: pydantic.BaseModel | None  # None when the answer was rejected
    error: str | None  # why it was rejected (fed back to the model)
    data: Any = None  # the JSON (or text-parser) value that was validated, for the call log

    @property
    def ok(self) -> bool:
        return self.value is not None


def parse_answer(
    text: str,
    schema: type[pydantic.BaseModel],
    *,
    text_parser: Callable[[str], dict | None] | None = None,
    check: Callable[[pydantic.BaseModel], None] | None = None,
    done_reason: str | None = None,
    num_predict: int | None = None,
    free_text: bool = False,
) -> ParseResult:
    """Validate one cleaned answer (``strip_think`` already applied).

    Order: a cut-off answer is rejected outright (its JSON is incomplete even if it happens to
    parse); then JSON; if no JSON value is found, the free-text parser; then the schema; then
    ``check``. With ``free_text`` (answers to plain-text output rules) the free-text parser
    comes first and JSON is the second try: "0.4" is an effort, not a JSON number.
    """
    if done_reason == "length":
        limit = f" ({num_predict} tokens)" if num_predict else ""
        shape = "a shorter answer" if free_text else "a shorter JSON object"
        return ParseResult(
            None, f"the answer was cut off at the token limit{limit}; answer with {shape}"
        )
    if free_text and text_parser is not None:
        try:
            parsed = text_parser(text)
        except ValueError as err:
            data, json_error = extract_json(text)
            if not isinstance(data, dict):
                return ParseResult(None, _clip(f"the answer does not follow the output rule: {err}"))
        else:
            data = parsed
        return _validate(data, schema, check)
    data, error = extract_json(text)
    if data is _NOTHING and text_parser is not None:
        try:
            parsed = text_parser(text)
        except ValueError as err:
            parsed = None
            error = _clip(f"{error}; free-text parsing failed: {err}")
        if parsed is not None:
            data, error = parsed, None
    if data is _NOTHING:
        return ParseResult(None, error)
    if not isinstance(data, dict):
        return ParseResult(
            None, f"the answer must be a JSON object, not {_json_kind(data)}", _jsonable(data)
        )
    return _validate(data, schema, check)


def _validate(
    data: dict,
    schema: type[pydantic.BaseModel],
    check: Callable[[pydantic.BaseModel], None] | None,
) -> ParseResult:
    if not isinstance(data, dict):
        return ParseResult(None, "the answer could not be read", _jsonable(data))
    try:
        value = schema.model_validate(data)
    except pydantic.ValidationError as err:
        return ParseResult(None, describe_validation(err), data)
    if check is not None:
        try:
            check(value)
        except pydantic.ValidationError as err:
            return ParseResult(None, describe_validation(err), data)
        except ValueError as err:
            return ParseResult(None, _clip(str(err) or "the answer failed the check"), data)
    return ParseResult(value, None, data)


def _json_kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _jsonable(value: Any) -> Any:
    # Values from json.loads are already JSON-safe; text parsers may return anything.
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def feedback_messages(answer: str, error: str, *, free_text: bool = False) -> list[dict]:
    """The two messages appended before a retry: the rejected answer and why it was rejected."""
    echoed = answer if len(answer) <= _MAX_ECHO_CHARS else answer[:_MAX_ECHO_CHARS] + "…"
    again = ("Reply again, following the output rule exactly." if free_text
             else "Reply again with only a JSON object in the required format.")
    return [
        {"role": "assistant", "content": echoed},
        {"role": "user", "content": f"Your answer was rejected: {error}. {again}"},
    ]
