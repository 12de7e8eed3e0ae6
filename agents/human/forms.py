"""Form fields of a human turn, with the bounds of the decision's answer schema.

A field is built from the same pydantic schema an LLM answer is validated against
(agents/norms/schemas.py, agents/govsim/schemas.py), so a person is held to the same ranges,
choices and lengths. ``Field.parse`` reads what was typed into a field (text from a terminal or a
browser) and raises ValueError with a short message when it is out of bounds; the whole answer is
then validated by the schema itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pydantic

TRUE_WORDS = {"y", "yes", "true", "1", "on"}
FALSE_WORDS = {"n", "no", "false", "0", "off"}


@dataclass(frozen=True)
class Choice:
    value: str  # what the schema receives
    label: str  # what the person reads


@dataclass(frozen=True)
class Field:
    """One input of a turn's form."""

    name: str  # the schema field it fills
    label: str
    kind: str  # "number", "integer", "choice", "text" or "yes/no"
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[Choice, ...] = ()
    min_length: int = 0
    max_length: int | None = None
    required: bool = True

    def parse(self, text: Any) -> Any:
        """The value for the schema, or ValueError saying what is allowed."""
        raw = "" if text is None else str(text).strip()
        if self.kind in ("number", "integer"):
            return self._number(raw)
        if self.kind == "choice":
            for choice in self.choices:
                if raw == choice.value or raw.lower() == choice.label.lower():
                    return choice.value
            # Choices that are not numbers themselves (a ballot) may be picked by number.
            if raw.isdigit() and not any(c.value.isdigit() for c in self.choices) \
                    and 1 <= int(raw) <= len(self.choices):
                return self.choices[int(raw) - 1].value
            allowed = ", ".join(c.value for c in self.choices)
            raise ValueError(f"{self.label}: choose one of {allowed}")
        if self.kind == "yes/no":
            if raw.lower() in TRUE_WORDS:
                return True
            if raw.lower() in FALSE_WORDS:
                return False
            raise ValueError(f"{self.label}: answer yes or no")
        text = " ".join(raw.split())
        if len(text) < self.min_length:
            raise ValueError(f"{self.label}: write at least {self.min_length} characters")
        if self.max_length is not None and len(text) > self.max_length:
            raise ValueError(f"{self.label}: at most {self.max_length} characters "
                             f"({len(text)} written)")
        return text

    def _number(self, raw: str) -> float | int:
        bounds = self.bounds_text()
        try:
            value = float(raw.replace(",", "."))
        except ValueError:
            raise ValueError(f"{self.label}: {raw!r} is not a number; enter {bounds}") from None
        if not math.isfinite(value):
            raise ValueError(f"{self.label}: enter {bounds}")
        if self.kind == "integer":
            if value != int(value):
                raise ValueError(f"{self.label}: enter a whole number, {bounds}")
            value = int(value)
        if (self.minimum is not None and value < self.minimum) or \
                (self.maximum is not None and value > self.maximum):
            raise ValueError(f"{self.label}: {raw} is out of range; enter {bounds}")
        return value

    def bounds_text(self) -> str:
        lo = "" if self.minimum is None else _number_text(self.minimum)
        # A bound that only keeps a number representable (GovSim's request) is no help to a
        # person: say "at least 0" rather than "from 0 to 2147483647".
        plain = self.maximum is not None and self.maximum < _NO_REAL_BOUND
        hi = _number_text(self.maximum) if plain else ""
        whole = "a whole number" if self.kind == "integer" else "a number"
        if lo and hi:
            return f"{whole} from {lo} to {hi}"
        return f"{whole} of at least {lo}" if lo else whole

    def to_dict(self) -> dict:
        return {"name": self.name, "label": self.label, "kind": self.kind,
                "minimum": self.minimum, "maximum": self.maximum, "step": self.step,
                "choices": [[c.value, c.label] for c in self.choices],
                "min_length": self.min_length, "max_length": self.max_length,
                "required": self.required}


_NO_REAL_BOUND = 1e9


def _number_text(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def fields_for(schema: type[pydantic.BaseModel], labels: dict[str, str], *,
               choice_labels: dict[str, dict[str, str]] | None = None,
               steps: dict[str, float] | None = None,
               skip: tuple[str, ...] = ()) -> tuple[Field, ...]:
    """The form of ``schema``: one field per schema field (except ``skip``), its bounds read from
    the schema's JSON schema (minimum, maximum, enum, lengths)."""
    spec = schema.model_json_schema()
    props = spec.get("properties", {})
    required = set(spec.get("required", ()))
    out = []
    for name, prop in props.items():
        if name in skip:
            continue
        prop = _plain(prop)
        label = labels.get(name, name)
        kind = prop.get("type")
        if "enum" in prop and kind != "number":
            names = (choice_labels or {}).get(name, {})
            choices = tuple(Choice(str(v), names.get(str(v), str(v))) for v in prop["enum"])
            out.append(Field(name, label, "choice", choices=choices))
        elif kind in ("number", "integer"):
            out.append(Field(name, label, kind, minimum=prop.get("minimum"),
                             maximum=prop.get("maximum"), step=(steps or {}).get(name)))
        elif kind == "boolean":
            out.append(Field(name, label, "yes/no"))
        else:
            out.append(Field(name, label, "text", min_length=int(prop.get("minLength", 0)),
                             max_length=prop.get("maxLength"), required=name in required))
    return tuple(out)


def _plain(prop: dict) -> dict:
    """The one non-null alternative of an ``anyOf`` (an optional number)."""
    if "anyOf" in prop:
        options = [p for p in prop["anyOf"] if p.get("type") != "null"]
        if len(options) == 1:
            return {**options[0], **{k: v for k, v in prop.items() if k != "anyOf"}}
    return prop
