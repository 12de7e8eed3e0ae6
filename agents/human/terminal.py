"""The terminal front-end of the human villagers' desk (``commons-lab run --human ID``).

A thread beside the run prints each turn's content, asks field by field, refuses what is out of
bounds with the reason and asks again, and submits the answer; a turn whose time runs out while
the person is typing is reported and skipped. When the input ends (a closed pipe, Ctrl-D) the
desk closes: the run stops and can be resumed without asking again for what was answered.
"""

from __future__ import annotations

import select
import sys
import threading
from typing import TextIO

from agents.human.desk import HumanDesk, Turn
from agents.human.forms import Field
from agents.human.render import as_text

POLL_S = 0.25


class TerminalFrontEnd:
    def __init__(self, desk: HumanDesk, stdin: TextIO | None = None,
                 stdout: TextIO | None = None) -> None:
        self.desk = desk
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self._thread = threading.Thread(target=self._loop, daemon=True, name="human-terminal")

    def start(self) -> TerminalFrontEnd:
        self._thread.start()
        return self

    def _say(self, text: str = "") -> None:
        print(text, file=self.stdout, flush=True)

    def _loop(self) -> None:
        while not self.desk.closed:
            turn = self.desk.next_turn(timeout=POLL_S)
            if turn is not None and not self._play(turn):
                return

    def _play(self, turn: Turn) -> bool:
        """One turn; False when the input has ended."""
        self._say()
        self._say(f"### {turn.title}")
        self._say(as_text(turn.shown))
        if turn.timeout_s:
            self._say(f"(you have {turn.timeout_s:g} s; then the default answer is used)")
        while True:
            values = {}
            for f in turn.fields:
                line = self._field(turn, f)
                if line is None:
                    return not self.desk.closed
                values[f.name] = line
            error = self.desk.answer(turn.id, values)
            if error is None:
                self._say("accepted")
                return True
            self._say(f"refused: {error}")
            if not self.desk.is_open(turn) and turn.value is None:
                return True

    def _field(self, turn: Turn, f: Field) -> str | None:
        """A valid text for field ``f``; None when the turn closed or the input ended."""
        while True:
            self._say(f"{f.label} [{_hint(f)}]:")
            line = self._readline(turn)
            if line is None:
                return None
            try:
                f.parse(line)
            except ValueError as err:
                self._say(f"refused: {err}")
                continue
            return line

    def _readline(self, turn: Turn) -> str | None:
        while True:
            if not self.desk.is_open(turn):
                self._say("time is up: the default answer was used")
                return None
            ready, _, _ = select.select([self.stdin], [], [], POLL_S)
            if ready:
                line = self.stdin.readline()
                if line == "":
                    self.desk.close("the input ended")
                    return None
                return line.rstrip("\r\n")


def _hint(f: Field) -> str:
    if f.kind == "choice" and f.choices and not any(c.value.isdigit() or not c.value
                                                   for c in f.choices):
        return "; ".join(c.label for c in f.choices) + " (type its number)"
    if f.kind == "choice":
        return ", ".join(c.value if c.label == c.value else f"{c.value or '(empty)'} = {c.label}"
                         for c in f.choices)
    if f.kind in ("number", "integer"):
        return f.bounds_text()
    if f.kind == "yes/no":
        return "yes or no"
    limit = f" up to {f.max_length} characters" if f.max_length else ""
    return f"text{limit}" + ("" if f.required or f.min_length else ", may be empty")
