"""Rendering the norms scenario's prompts from the template files in agents/norms/templates/.

A prompt is two chat messages. The system message is the same for every villager and every day
of a run (preamble, then the phase's task), so a server's prefix cache can reuse it; the user
message holds what this villager sees today, then the phase's question. Villagers are never
told the catch rule, the catchability, the growth rate or how the lake regrows.

Ablations change what is shown (see ``Shown``): without social learning the table of peers'
efforts and payoffs is left out (a villager sees only its own outcomes); without group decision
the community policy is never mentioned. Text written by villagers enters only through
``agents.peer_text.quoted``; all substitution is single-pass ``string.Template``, so a ``$`` in
such text is never expanded.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template
from typing import Sequence

from agents.norms.schemas import BELIEF_MAX, POLICY_MAX
from agents.norms.view import View
from agents.peer_text import quoted

PROMPT_DIR = Path(__file__).parent / "templates"
PHASES = ("effort", "punish", "propose", "vote")
QUOTE_MAX = max(BELIEF_MAX, POLICY_MAX)  # longest villager text shown in a prompt


@dataclass(frozen=True)
class Shown:
    """Which optional parts the prompts of a run contain."""

    peers: bool  # the table of every villager's latest effort and total payoff
    norm: bool  # the community policy (and the vote on it)
    punishment: bool  # the rule that villagers may punish each other

    @classmethod
    def for_model(cls, model) -> Shown:
        mods = model.config.modules
        off_after = mods.punishment_off_after
        punishing = mods.punishment and not (off_after and model.round > off_after)
        return cls(mods.social_learning, mods.group_decision, punishing)


@dataclass(frozen=True)
class _Phase:
    task: Template
    ask: Template


def _read(name: str) -> str:
    return (PROMPT_DIR / name).read_text(encoding="utf-8")


def _sections(name: str) -> dict[str, str]:
    """``[section]`` blocks of a phase file; ``#`` lines before the first section are comments."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in _read(name).splitlines():
        header = re.fullmatch(r"\[(\w+)\]", line.strip())
        if header:
            current = sections.setdefault(header.group(1), [])
        elif current is not None:
            current.append(line)
    return {k: "\n".join(v).strip() for k, v in sections.items()}


@cache
def templates() -> tuple[Template, Template, dict[str, Template], dict[str, _Phase]]:
    """(preamble, observation layout, blocks, phases), read once per process."""
    blocks = {k: Template(v) for k, v in tomllib.loads(_read("blocks.toml")).items()}
    phases = {}
    for phase in PHASES:
        parts = _sections(f"{phase}.txt")
        phases[phase] = _Phase(Template(parts["task"]), Template(parts["ask"]))
    return Template(_read("preamble.txt")), Template(_read("observation.txt")), blocks, phases


def _tidy(text: str) -> str:
    """Drop the lines that empty blocks left behind, keeping single blank lines between blocks."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _fish(x: float) -> str:
    return f"{x:.1f}"


def _effort(x: float) -> str:
    return f"{x:.2f}"


class NormPrompts:
    """The prompts of one run: numbers the villagers are told are fixed by its config."""

    def __init__(self, config):
        n = config.norms
        self.numbers = {"consumption": _fish(n.consumption), "penalty": _fish(n.penalty),
                        "punish_cost": _fish(n.punish_cost), "max_chars": str(QUOTE_MAX)}
        self.preamble, self.layout, self.blocks, self.phases = templates()

    def _block(self, name: str, **values) -> str:
        return self.blocks[name].substitute(self.numbers, **values)

    # -- system message -------------------------------------------------------------------------

    def system(self, phase: str, shown: Shown) -> str:
        pre = self.preamble.substitute(
            self.numbers,
            punishment_rule=self._block("punishment_rule") if shown.punishment else "",
            belief_rule=self._block("belief_rule_norm" if shown.norm else "belief_rule_alone"),
            observe_rule=self._block("observe_peers" if shown.peers else "observe_self"),
        )
        guide = self._block("guide_norm" if shown.norm else "guide_alone")
        task = self.phases[phase].task.substitute(self.numbers, guide=guide)
        return _tidy(pre) + "\n\n" + task

    # -- user message ---------------------------------------------------------------------------

    def observation(self, view: View, shown: Shown) -> str:
        if shown.norm:
            norm = (self._block("norm", text=quoted(view.norm, QUOTE_MAX)) if view.norm is not None
                    else self._block("no_norm"))
        else:
            norm = ""
        return _tidy(self.layout.substitute(
            day=view.day, id=view.id,
            belief=self._block("belief", text=quoted(view.belief, QUOTE_MAX)),
            norm=norm,
            lake=self._lake(view),
            record=self._record(view),
            peers=self._peers(view) if shown.peers else "",
        ))

    def _lake(self, view: View) -> str:
        lines = [self._block("lake", stock=_fish(view.stock), capacity=_fish(view.capacity))]
        if view.lake_history:
            items = ", ".join(self._block("lake_history_item", day=d, stock=_fish(s))
                              for d, s in view.lake_history)
            lines.append(self._block("lake_history", history=items))
        return "\n".join(lines)

    def _record(self, view: View) -> str:
        lines = [self._block("record_header")]
        for rec in view.record:
            given = (self._block("punished_villager", id=rec.target) if rec.target is not None
                     else self._block("punished_nobody"))
            lines.append(self._block("record_day", day=rec.day, effort=_effort(rec.effort),
                                     catch=_fish(rec.catch), received=rec.received, given=given))
        if view.today is not None:
            lines.append(self._block("record_fished", effort=_effort(view.today[0]),
                                     catch=_fish(view.today[1])))
        elif not view.record:
            lines.append(self._block("record_none"))
        lines.append(self._block("record_payoff", payoff=_fish(view.payoff)))
        return "\n".join(lines)

    def _peers(self, view: View) -> str:
        lines = [self._block("peers_header")]
        for row in view.peers:
            if not row.alive:
                lines.append(self._block("peer_row_dead", id=row.id, day=row.died_day))
                continue
            you = self._block("peer_you") if row.is_self else ""
            if row.effort is None:
                lines.append(self._block("peer_row_new", id=row.id, you=you,
                                         payoff=_fish(row.payoff)))
                continue
            lines.append(self._block("peer_row", id=row.id, you=you, effort=_effort(row.effort),
                                     payoff=_fish(row.payoff)))
        return "\n".join(lines)

    def user(self, phase: str, view: View, shown: Shown, *, choices: Sequence[str] = (),
             ballot: Sequence[str] = ()) -> str:
        """The user message; ``choices`` (punish) and ``ballot`` (vote) are what may be picked."""
        ask = self.phases[phase].ask.substitute(
            self.numbers,
            choices=", ".join(choices),
            ballot="\n".join(self._block("ballot_item", text=quoted(t, QUOTE_MAX)) for t in ballot),
        )
        return self.observation(view, shown) + "\n\n" + ask

    def messages(self, phase: str, view: View, shown: Shown, **kw) -> list[dict]:
        return [{"role": "system", "content": self.system(phase, shown)},
                {"role": "user", "content": self.user(phase, view, shown, **kw)}]
