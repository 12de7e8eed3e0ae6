"""The desk where human villagers' turns wait for an answer: one per run, thread-safe.

The run's thread opens a turn (what the villager sees, the form's fields, the schema that
bounds the answer) and waits; a front-end (the terminal, a browser tab) lists the pending turns,
shows one and calls ``answer``. A refused answer returns the reason and the turn stays open, so
bad input is never passed on; an accepted one wakes the run. ``claim`` lets several front-ends
share a run: each holds the villagers it claimed, and sees only their turns.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pydantic

from agents.errors import BadInputError
from agents.human.forms import Field


@dataclass
class Turn:
    """One decision a person owes: shown content, form, and (once given) the answer."""

    id: int
    agent: int
    round: int
    phase: str
    title: str
    shown: dict  # readable content: see agents/norms/human_policy.py and agents/govsim/human.py
    fields: tuple[Field, ...]
    schema: type[pydantic.BaseModel]
    check: Callable[[pydantic.BaseModel], None] | None = None
    timeout_s: float = 0.0  # 0: no limit
    opened: float = field(default_factory=time.monotonic)
    value: pydantic.BaseModel | None = None
    closed: bool = False
    refusals: int = 0  # answers refused so far (shown as a count; each is logged)

    @property
    def seconds_left(self) -> float | None:
        if not self.timeout_s:
            return None
        return max(0.0, self.timeout_s - (time.monotonic() - self.opened))

    def validate(self, values: dict[str, Any]) -> pydantic.BaseModel:
        """The answer as the schema's value, or ValueError with one line."""
        parsed = {}
        for f in self.fields:
            parsed[f.name] = f.parse(values.get(f.name))
        try:
            value = self.schema.model_validate(parsed)
            if self.check is not None:
                self.check(value)
        except pydantic.ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "answer"
            label = next((f.label for f in self.fields if f.name == where), where)
            raise ValueError(f"{label}: {first.get('msg', 'not allowed')}") from None
        return value


class DeskClosed(BadInputError):
    """The desk closed before a turn was answered (the input ended, the page was reset): the
    run stops there and can be resumed without asking again for what was answered."""


class HumanDesk:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._turns: dict[int, Turn] = {}
        self._ids = itertools.count(1)
        self._claims: dict[int, str] = {}  # villager id -> holder (a tab, the terminal)
        self._closed = False
        self.why = ""
        self.version = 0  # bumped on every change, for front-ends that poll

    # -- the run's side ------------------------------------------------------------------------

    def open(self, **turn: Any) -> Turn:
        with self._cond:
            if self._closed:
                raise DeskClosed(self._closed_message(turn["agent"]))
            t = Turn(id=next(self._ids), **turn)
            self._turns[t.id] = t
            self._changed()
            return t

    def wait(self, turn: Turn) -> pydantic.BaseModel | None:
        """Block until ``turn`` is answered (its value) or its time is up (None)."""
        with self._cond:
            while turn.value is None and not self._closed:
                left = turn.seconds_left
                if left is not None and left <= 0:
                    break
                self._cond.wait(timeout=0.5 if left is None else min(0.5, left))
            turn.closed = True
            self._turns.pop(turn.id, None)
            self._changed()
            if turn.value is None and self._closed:
                raise DeskClosed(self._closed_message(turn.agent))
            return turn.value

    def close(self, why: str = "the run ended") -> None:
        """Stop waiting for anyone; front-ends see no more turns, a waiting run stops."""
        with self._cond:
            self._closed = True
            self.why = why
            self._turns.clear()
            self._changed()

    # -- the front-ends' side ------------------------------------------------------------------

    def pending(self, agents: set[int] | None = None) -> list[Turn]:
        """Open turns, oldest first; only those of ``agents`` when given."""
        with self._cond:
            return [t for t in self._turns.values()
                    if t.value is None and (agents is None or t.agent in agents)]

    def answer(self, turn_id: int, values: dict[str, Any]) -> str | None:
        """None when the answer is accepted; else the reason it was refused (the turn stays
        open, nothing is passed on)."""
        with self._cond:
            turn = self._turns.get(turn_id)
            if turn is None or turn.closed or turn.value is not None:
                return "this turn has closed (its time ran out, or it was answered)"
            try:
                value = turn.validate(values)
            except ValueError as err:
                turn.refusals += 1
                self._changed()
                return str(err)
            turn.value = value
            self._changed()
            return None

    def next_turn(self, agents: set[int] | None = None, timeout: float | None = None) -> Turn | None:
        """The oldest open turn of ``agents``, waiting up to ``timeout`` seconds for one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                for t in self._turns.values():
                    if t.value is None and (agents is None or t.agent in agents):
                        return t
                if self._closed:
                    return None
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._cond.wait(timeout=left)

    def is_open(self, turn: Turn) -> bool:
        with self._cond:
            return turn.id in self._turns and turn.value is None

    def _closed_message(self, agent: int) -> str:
        return (f"the human villagers' desk closed ({self.why}) before villager {agent} "
                "answered; continue with --resume: recorded answers are not asked again")

    @property
    def closed(self) -> bool:
        return self._closed

    # -- several front-ends ----------------------------------------------------------------------

    def claim(self, agent: int, holder: str) -> bool:
        """Hold ``agent`` for ``holder``; False when someone else holds it."""
        with self._cond:
            if self._claims.get(agent, holder) != holder:
                return False
            self._claims[agent] = holder
            self._changed()
            return True

    def release(self, holder: str) -> None:
        with self._cond:
            for agent in [a for a, h in self._claims.items() if h == holder]:
                del self._claims[agent]
            self._changed()

    def holder(self, agent: int) -> str | None:
        with self._cond:
            return self._claims.get(agent)

    def _changed(self) -> None:
        self.version += 1
        self._cond.notify_all()
