"""Rendering the norms scenario's prompts from the template files in agents/norms/templates/.

A prompt is two chat messages, laid out for a server's prefix cache: what more villagers share
comes first. The system message is the same for every villager and every day of a run
(preamble, then the phase's task). The user message opens with what every villager of the
phase sees today (the day, the lake, the norm, the peers' table with no row marked as the
reader's, the ballot), then what is this villager's own ("You are villager N.", its belief,
its record, the peers it watched), then the phase's question. Villagers are never told the
catch rule, the catchability, the growth rate or how the lake regrows.

Ablations change what is shown (see ``Shown``): without social learning the table of peers'
efforts and payoffs is left out (a villager sees only its own outcomes); without group decision
the community policy is never mentioned. The punishment prompt always lists the few peers the
punisher watched today, whatever the ablation. The answer protocol (``llm.protocol``) picks each
phase's output rule ("paper": free text; "schema": a JSON object) and, through ``[prompt]``,
whether the capacity, the stock history and the catch in fish are shown (see
agents/norms/prompt_settings.py). Text written by villagers enters only through
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

from agents.norms.view import View
from agents.peer_text import quoted

PROMPT_DIR = Path(__file__).parent / "templates"
PHASES = ("effort", "punish", "propose", "belief", "vote")
PROTOCOLS = ("paper", "schema")


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
    rule: dict[str, Template]  # per protocol
    ask: Template
    reminder: dict[str, Template]  # per protocol


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
def templates() -> tuple[Template, dict[str, Template], dict[str, Template], dict[str, _Phase]]:
    """(preamble, observation layout by part, blocks, phases), read once per process."""
    blocks = {k: Template(v) for k, v in tomllib.loads(_read("blocks.toml")).items()}
    phases = {}
    for phase in PHASES:
        parts = _sections(f"{phase}.txt")
        phases[phase] = _Phase(Template(parts["task"]),
                               {p: Template(parts["rule_" + p]) for p in PROTOCOLS},
                               Template(parts["ask"]),
                               {p: Template(parts["reminder_" + p]) for p in PROTOCOLS})
    layout = {part: Template(text) for part, text in _sections("observation.txt").items()}
    return Template(_read("preamble.txt")), layout, blocks, phases


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
        self.protocol = config.llm.protocol
        self.show = config.prompt.resolved(self.protocol)
        self.text_max = self.show.text_max  # longest villager text shown in a prompt
        self.numbers = {"consumption": _fish(n.consumption), "penalty": _fish(n.penalty),
                        "punish_cost": _fish(n.punish_cost), "max_chars": str(self.text_max)}
        self.preamble, self.layout, self.blocks, self.phases = templates()

    def _block(self, name: str, **values) -> str:
        return self.blocks[name].substitute(self.numbers, **values)

    # -- system message -------------------------------------------------------------------------

    def system(self, phase: str, shown: Shown) -> str:
        pre = self.preamble.substitute(
            self.numbers,
            punishment_rule=self._block("punishment_rule") if shown.punishment else "",
            belief_rule=self._block("belief_rule_norm" if shown.norm else "belief_rule_alone"),
            observe_rule=self._block(self._observe_rule(shown)),
        )
        guide = self._block("guide_norm" if shown.norm else "guide_alone")
        spec = self.phases[phase]
        task = spec.task.substitute(self.numbers, guide=guide)
        rule = spec.rule[self.protocol].substitute(self.numbers)
        return _tidy(pre) + "\n\n" + task + "\n" + rule

    def _observe_rule(self, shown: Shown) -> str:
        if shown.peers:
            return "observe_peers"
        watching = shown.punishment and self.show.punish_sample > 0
        return "observe_self_watch" if watching else "observe_self"

    # -- user message ---------------------------------------------------------------------------

    def shared(self, view: View, shown: Shown, ballot: Sequence[str] = ()) -> str:
        """The part of the observation every villager of this phase and day reads alike."""
        if shown.norm:
            norm = (self._block("norm", text=quoted(view.norm, self.text_max)) if view.norm is not None
                    else self._block("no_norm"))
        else:
            norm = ""
        return _tidy(self.layout["shared"].substitute(
            day=view.day,
            lake=self._lake(view),
            norm=norm,
            peers=self._peers(view) if shown.peers else "",
            ballot=self._ballot(ballot),
        ))

    def own(self, view: View) -> str:
        """The part of the observation that is this villager's alone."""
        return _tidy(self.layout["own"].substitute(
            id=view.id,
            belief=self._block("belief", text=quoted(view.belief, self.text_max)),
            record=self._record(view),
            watched=self._watched(view),
        ))

    def _lake(self, view: View) -> str:
        line = self._block("lake", stock=_fish(view.stock))
        if self.show.capacity:
            line += " " + self._block("lake_capacity", capacity=_fish(view.capacity))
        lines = [line]
        if self.show.lake_history and view.lake_history:
            items = ", ".join(self._block("lake_history_item", day=d, stock=_fish(s))
                              for d, s in view.lake_history)
            lines.append(self._block("lake_history", history=items))
        return "\n".join(lines)

    def _record(self, view: View) -> str:
        lines = [self._block("record_header")]
        for rec in view.record:
            given = (self._block("punished_villager", id=rec.target) if rec.target is not None
                     else self._block("punished_nobody"))
            if self.show.catch:
                lines.append(self._block("record_day", day=rec.day, effort=_effort(rec.effort),
                                         catch=_fish(rec.catch), received=rec.received,
                                         given=given))
            else:
                lines.append(self._block("record_day_effort", day=rec.day,
                                         effort=_effort(rec.effort), received=rec.received,
                                         given=given, payoff=_fish(rec.payoff)))
        if view.today is not None:
            if self.show.catch:
                lines.append(self._block("record_fished", effort=_effort(view.today[0]),
                                         catch=_fish(view.today[1])))
            else:
                lines.append(self._block("record_fished_effort", effort=_effort(view.today[0])))
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
            if row.effort is None:
                lines.append(self._block("peer_row_new", id=row.id, payoff=_fish(row.payoff)))
                continue
            lines.append(self._block("peer_row", id=row.id, effort=_effort(row.effort),
                                     payoff=_fish(row.payoff)))
        return "\n".join(lines)

    def _watched(self, view: View) -> str:
        if not view.watched:
            return ""
        lines = [self._block("watched_header")]
        lines += [self._block("watched_row", id=i, effort=_effort(e)) for i, e in view.watched]
        return "\n".join(lines)

    def _ballot(self, ballot: Sequence[str]) -> str:
        if not ballot:
            return ""
        lines = [self._block("ballot_header")]
        lines += [self._block("ballot_item", text=quoted(t, self.text_max)) for t in ballot]
        return "\n".join(lines)

    def user(self, phase: str, view: View, shown: Shown, *, choices: Sequence[str] = (),
             ballot: Sequence[str] = ()) -> str:
        """The user message; ``choices`` (punish) and ``ballot`` (vote) are what may be picked."""
        spec = self.phases[phase]
        ask = spec.ask.substitute(self.numbers, choices=", ".join(choices))
        reminder = spec.reminder[self.protocol].substitute(self.numbers)
        shared = self.shared(view, shown, ballot if phase == "vote" else ())
        return shared + "\n\n" + self.own(view) + "\n\n" + ask + " " + reminder

    def messages(self, phase: str, view: View, shown: Shown, **kw) -> list[dict]:
        return [{"role": "system", "content": self.system(phase, shown)},
                {"role": "user", "content": self.user(phase, view, shown, **kw)}]
