"""The LLM villagers' group decision: distinct proposals, matching votes to them, plurality.

Two proposals are the same when they are equal after normalising Unicode, quote characters,
whitespace and letter case; the first author's wording is the one shown and adopted. A vote is
matched to a proposal exactly (after the same normalisation), else to the closest proposal by
difflib's similarity ratio. The proposal with most votes wins; a tie is broken by the model's
seeded RNG, which is only drawn from when there is a tie.
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass
from typing import Sequence

import numpy as np

# Straight, curly and angle quotes all count as the same (absent) character.
_QUOTES = str.maketrans({c: None for c in "\"'`«»‹›“”„‟‘’‚‛〈〉《》「」『』"})


def normalise(text: str) -> str:
    """The comparison key of a proposal or vote: no quotes, single spaces, case-folded."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Candidate:
    """One distinct proposal: the wording shown to voters and the villagers who proposed it."""

    text: str
    authors: tuple[int, ...]

    @property
    def key(self) -> str:
        return normalise(self.text)


def distinct(proposals: Sequence[tuple[int, str]]) -> list[Candidate]:
    """Distinct proposals in order of first appearance, from ``(author, text)`` pairs."""
    order: list[str] = []
    texts: dict[str, str] = {}
    authors: dict[str, list[int]] = {}
    for author, text in proposals:
        key = normalise(text)
        if key not in texts:
            order.append(key)
            texts[key] = text
            authors[key] = []
        authors[key].append(author)
    return [Candidate(texts[k], tuple(authors[k])) for k in order]


@dataclass(frozen=True)
class Match:
    index: int  # position in the candidate list
    exact: bool  # False when the vote was matched to the closest proposal
    score: float  # similarity ratio in [0, 1] (1.0 for an exact match)


def match_vote(answer: str, candidates: Sequence[Candidate]) -> Match:
    """The candidate a vote ``answer`` means: exact after normalising, else the closest."""
    if not candidates:
        raise ValueError("no proposals to vote for")
    key = normalise(answer)
    for i, cand in enumerate(candidates):
        if cand.key == key:
            return Match(i, True, 1.0)
    best, best_score = 0, -1.0
    for i, cand in enumerate(candidates):
        score = difflib.SequenceMatcher(None, key, cand.key, autojunk=False).ratio()
        if score > best_score:  # strict: on equal scores the earlier proposal wins
            best, best_score = i, score
    return Match(best, False, best_score)


def plurality(choices: Sequence[int], n_candidates: int, rng: np.random.Generator) -> tuple[int, list[int]]:
    """The winning candidate index and the vote counts; ties are drawn with ``rng``."""
    if n_candidates < 1:
        raise ValueError("no proposals to choose from")
    counts = [0] * n_candidates
    for c in choices:
        counts[c] += 1
    top = max(counts)
    leaders = [i for i, c in enumerate(counts) if c == top]
    if len(leaders) == 1:
        return leaders[0], counts
    return leaders[int(rng.integers(len(leaders)))], counts
