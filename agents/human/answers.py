"""Human answers of one run: asked at the desk, bounded by the decision's schema, recorded.

Every answer becomes a call-log record of kind ``human``: agent, round, phase, what was shown,
the form's fields, the answer (the schema's value, or null when the time ran out), whether it
timed out, the refused attempts and the seconds it took. Recorded answers are served again under
the same (agent, round, phase) key: a strict replay needs nobody at the desk, and a resumed run
does not ask again for what was answered before the interruption.

Time limit: ``timeout_s`` per turn (0: none); when it runs out the decision's documented
fallback is used (the value an LLM villager gets when every attempt fails), counted in the
round's ``Human_timeouts`` and logged as a warning.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pydantic

from agents.errors import BadInputError
from agents.human.desk import HumanDesk
from agents.human.forms import Field
from agents.llm.errors import CallLogError, ReplayMissError

log = logging.getLogger(__name__)

KIND = "human"
COUNTERS = ("turns", "timeouts")  # per-round columns Human_turns, Human_timeouts


class NoHumanError(BadInputError):
    """A human villager's turn came and nobody can answer it (no desk, no recorded answer)."""


@dataclass(frozen=True)
class HumanAnswer:
    value: pydantic.BaseModel
    timed_out: bool
    seconds: float
    replayed: bool


class HumanAnswers:
    """The human villagers of a run and their answers.

    ``recorded``: call-log records to serve (other kinds are ignored); ``strict``: a turn the
    records lack is an error even with a desk (a strict replay reproduces, it does not play);
    ``relog``: write served records into ``call_log`` too (a replay into a new folder; a resume
    appends to the log it serves from, which already holds them).
    """

    def __init__(self, ids: Iterable[int], *, desk: HumanDesk | None = None, call_log=None,
                 recorded: Iterable[dict] = (), strict: bool = False, relog: bool = True,
                 timeout_s: float = 0.0, source: str = "the call log") -> None:
        self.ids = frozenset(int(i) for i in ids)
        self.desk = desk
        self.call_log = call_log
        self.strict = strict
        self.relog = relog
        self.timeout_s = float(timeout_s)
        self.source = source
        self._recorded: dict[tuple[int, int, str], dict] = {}
        for number, record in enumerate(recorded, start=1):
            if record.get("kind") != KIND:
                continue
            try:
                key = (int(record["agent"]), int(record["round"]), str(record["phase"]))
            except (KeyError, TypeError, ValueError):
                raise CallLogError(f"{source}: human record {number} lacks a valid agent, round "
                                   "or phase") from None
            self._recorded.setdefault(key, record)
        self._lock = threading.Lock()
        self.counts = dict.fromkeys(COUNTERS, 0)

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self.ids

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)

    def ask(self, *, agent: int, round: int, phase: str, title: str, shown: dict,
            fields: tuple[Field, ...], schema: type[pydantic.BaseModel],
            fallback: pydantic.BaseModel,
            check: Callable[[pydantic.BaseModel], None] | None = None) -> HumanAnswer:
        """The person's answer to one decision (or the recorded one, or the fallback)."""
        shown = json.loads(json.dumps(shown, ensure_ascii=False))  # as it is recorded
        record = self._recorded.get((agent, round, phase))
        if record is not None:
            answer = self._served(record, shown, schema, fallback, check)
        else:
            answer = self._asked(agent, round, phase, title, shown, fields, schema, fallback,
                                 check)
        with self._lock:
            self.counts["turns"] += 1
            self.counts["timeouts"] += int(answer.timed_out)
        return answer

    # -- recorded ------------------------------------------------------------------------------

    def _served(self, record: dict, shown: dict, schema, fallback, check) -> HumanAnswer:
        key = (record["agent"], record["round"], record["phase"])
        if "shown" in record and record["shown"] != shown:
            if self.strict:
                raise ReplayMissError(
                    f"{self.source}: the human answer for villager {key[0]}, round {key[1]}, "
                    f"phase {key[2]!r} was given to another situation: strict replay needs the "
                    "config and seed of the recorded run")
            log.warning("recorded human answer for villager %s, round %s, phase %s was given "
                        "to a different situation; the run may diverge", *key)
        timed_out = bool(record.get("timed_out"))
        if timed_out:
            value = fallback
        else:
            try:
                value = schema.model_validate(record.get("answer"))
                if check is not None:
                    check(value)
            except (pydantic.ValidationError, ValueError):
                raise CallLogError(f"{self.source}: the human answer for villager {key[0]}, "
                                   f"round {key[1]}, phase {key[2]!r} is not a valid answer"
                                   ) from None
        if self.relog and self.call_log is not None:
            self.call_log.append({**record, "replayed": True})
        return HumanAnswer(value, timed_out, float(record.get("seconds") or 0.0), True)

    # -- asked ---------------------------------------------------------------------------------

    def _asked(self, agent, round, phase, title, shown, fields, schema, fallback,
               check) -> HumanAnswer:
        if self.strict or self.desk is None:
            why = ("strict replay serves recorded answers only" if self.strict
                   else "nobody is at the desk to answer (run it with --human, or on the page)")
            raise (ReplayMissError if self.strict else NoHumanError)(
                f"{self.source} holds no human answer for villager {agent}, round {round}, "
                f"phase {phase!r}: {why}")
        start = time.monotonic()
        turn = self.desk.open(agent=agent, round=round, phase=phase, title=title, shown=shown,
                              fields=fields, schema=schema, check=check,
                              timeout_s=self.timeout_s)
        value = self.desk.wait(turn)
        seconds = round_seconds(time.monotonic() - start)
        timed_out = value is None
        if timed_out:
            log.warning("human turn timed out: villager %s, round %s, phase %s after %.0f s; "
                        "using %s", agent, round, phase, seconds, fallback.model_dump_json())
            value = fallback
        if self.call_log is not None:
            self.call_log.append({
                "kind": KIND, "agent": agent, "round": round, "phase": phase, "title": title,
                "shown": shown, "fields": [f.to_dict() for f in fields],
                "answer": None if timed_out else value.model_dump(mode="json"),
                "timed_out": timed_out, "refusals": turn.refusals, "seconds": seconds,
                "timeout_s": self.timeout_s, "time": round_seconds(time.time()),
            })
        return HumanAnswer(value, timed_out, seconds, False)


def round_seconds(x: float) -> float:
    return round(float(x), 3)


def human_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("kind") == KIND]
