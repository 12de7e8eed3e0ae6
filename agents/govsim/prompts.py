"""GovSim prompt templates: load a language's files and fill them in.

Everything a villager reads comes from ``agents/govsim/templates/<language>/``: one template per
decision and one word file per variant (fishery, pasture, pollution, trash), so a new framing or
language is a set of files, not code. Placeholders are ``${field}``; a missing field raises
``KeyError`` instead of leaving a gap in a prompt.

Two layouts (``govsim.layout``) carry the same information. "govsim", GovSim's order: the rules
open with the reader's name and the others' names, then the persona, place, date, memories,
(the conversation) and the task. "shared_first" puts first what every villager of the month
reads alike, so a server's prefix cache reuses it: the rules naming every villager, the place
and date (and the conversation so far), then the reader's name, persona and memories, then the
task. Its templates are ``<language>/shared_first/<decision>.txt``; the framework's summary and
limit prompts hold nothing of any villager and are the same in both.
"""

from __future__ import annotations

import calendar
import functools
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from string import Template
from typing import Iterable, Sequence

from agents.peer_text import one_line, quoted

PROMPT_DIR = Path(__file__).resolve().parent / "templates"
DECISIONS = ("harvest", "utterance", "summary", "limit", "reflection")
LAYOUTS = ("govsim", "shared_first")
START_YEAR = 2024  # GovSim's calendar starts on 2024-01-01
# Caps on text written by one villager (or the mayor's report) when another villager reads it.
UTTERANCE_CHARS = 1200
MEMORY_CHARS = 600


def month_date(month: int, when: str = "start") -> date:
    """The simulated date of a phase of 1-based ``month``: harvest on the first day, the
    discussion on the second-to-last day, reflection on the last day (GovSim's calendar)."""
    year = START_YEAR + (month - 1) // 12
    m = (month - 1) % 12 + 1
    last = calendar.monthrange(year, m)[1]
    day = {"start": 1, "discussion": last - 1, "end": last}[when]
    return date(year, m, day)


def fill(template: str, /, **fields: object) -> str:
    return Template(template).substitute({k: str(v) for k, v in fields.items()})


@dataclass(frozen=True)
class PromptBook:
    language: str
    variant: str
    templates: dict
    words: dict  # the variant's wording
    common: dict  # language-wide wording
    layout: str = "govsim"

    @classmethod
    @functools.lru_cache(maxsize=None)
    def load(cls, language: str, variant: str, layout: str = "govsim") -> PromptBook:
        folder = PROMPT_DIR / language
        if not folder.is_dir():
            raise ValueError(f"no GovSim prompts for language {language!r} in {PROMPT_DIR}")
        if layout not in LAYOUTS:
            raise ValueError(f"no GovSim prompt layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
        variant_file = folder / "variants" / f"{variant}.toml"
        if not variant_file.is_file():
            raise ValueError(f"no GovSim wording for variant {variant!r} in {folder / 'variants'}")
        templates = {}
        for d in DECISIONS:
            own = folder / layout / f"{d}.txt"
            path = own if layout != "govsim" and own.is_file() else folder / f"{d}.txt"
            templates[d] = path.read_text(encoding="utf-8").strip()
        with variant_file.open("rb") as fh:
            words = tomllib.load(fh)
        with (folder / "common.toml").open("rb") as fh:
            common = tomllib.load(fh)
        return cls(language, variant, templates, words, common, layout)

    # -- words ------------------------------------------------------------------------------

    def word(self, key: str, **fields: object) -> str:
        return fill(self.words[key], **fields)

    def render(self, decision: str, **fields: object) -> str:
        return fill(self.templates[decision], **fields)

    @property
    def reporter(self) -> str:
        """Who opens the discussion with everyone's figures (GovSim's Mayor)."""
        return self.words.get("reporter", self.common["mayor"])

    def names(self, count: int) -> list[str]:
        names = list(self.common["names"])
        if count > len(names):
            raise ValueError(f"only {len(names)} villager names for language {self.language}")
        return names[:count]

    def join(self, names: Sequence[str]) -> str:
        names = list(names)
        if len(names) <= 1:
            return "".join(names)
        return self.common["list_sep"].join(names[:-1]) + self.common["list_and"] + names[-1]

    def date(self, month: int, when: str = "start") -> str:
        return month_date(month, when).strftime(self.common["date_format"])

    def persona(self, kind: str, name: str) -> str:
        return fill(self.common["persona"][kind], name=name, resource=self.words["resource"])

    def rules(self, *, name: str, present: Sequence[str], communication: bool, capacity: int,
              inflow: int, overfull: int, example: tuple[int, int, int, int]) -> str:
        """The rules as ``name`` reads them among the ``present`` villagers (``name`` included).
        Under "shared_first" they name everyone and are the same for every reader."""
        key = "rules" if communication else "rules_nocom"
        start, taken, left, nxt = example
        body = self.word(key, capacity=capacity, inflow=inflow, overfull=overfull, ex_start=start,
                         ex_taken=taken, ex_left=left, ex_next=nxt)
        sep = " " if self.language == "en" else ""
        if self.layout == "shared_first":
            return self.word("company", everyone=self.join(present), n_all=len(present)) + sep + body
        others = [n for n in present if n != name]
        opening = self.word("opening", name=name, others=self.join(others), n_others=len(others))
        return opening + sep + body

    def identity(self, name: str) -> str:
        """Who the reader is, where the rules do not say it ("shared_first")."""
        return self.word("identity", name=name)

    def memory_list(self, items: Iterable[tuple[str, str]], numbered: bool = False) -> str:
        """``items`` are (date, text) pairs, oldest first.

        Memories hold model output (summaries, notes), so each stays one capped line.
        """
        key = "numbered_memory_line" if numbered else "memory_line"
        lines = [fill(self.common[key], number=i, date=d, text=one_line(t, MEMORY_CHARS))
                 for i, (d, t) in enumerate(items, start=1)]
        return "\n".join(lines) if lines else self.common["no_memories"]

    def conversation(self, lines: Iterable[tuple[str, str]]) -> str:
        """One line per utterance, the words quoted: a villager cannot add lines, speakers or
        a mayor's report to the conversation others read."""
        return "\n".join(fill(self.common["conversation_line"], speaker=s, text=quoted(t, UTTERANCE_CHARS))
                         for s, t in lines)

    def mayor_report(self, catches: Sequence[tuple[str, int]]) -> str:
        sep = " " if self.language == "en" else ""
        parts = [self.words["mayor_opening"]]
        parts += [self.word("mayor_line", name=n, caught=c) for n, c in catches]
        return sep.join(parts)

    def limit_thought(self, limit: int) -> str:
        return fill(self.common["limit_thought"], limit_sentence=self.word("limit_sentence", limit=limit))
