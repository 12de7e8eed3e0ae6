"""Initial personal beliefs of LLM villagers.

Altruistic and selfish LLM villagers differ only in the sentence they start from, drawn from a
bank of eight per type (agents/norms/templates/beliefs_<kind>.txt). Within a type the sentences
are dealt without replacement from a seeded shuffle, so a society gets as many different
starting beliefs as the bank allows; a type with more than eight villagers starts a new shuffle.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Sequence

import numpy as np

BELIEF_DIR = Path(__file__).parent / "templates"


@cache
def belief_bank(kind: str) -> tuple[str, ...]:
    """The sentences of ``kind`` ("altruistic" or "selfish"); ``#`` lines are comments."""
    path = BELIEF_DIR / f"beliefs_{kind}.txt"
    if not path.is_file():
        raise ValueError(f"no belief bank for villager kind {kind!r} (expected {path})")
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    sentences = tuple(line for line in lines if line and not line.startswith("#"))
    if not sentences:
        raise ValueError(f"belief bank {path} holds no sentences")
    return sentences


def draw_initial_beliefs(agents: Sequence, rng: np.random.Generator) -> list[str]:
    """One starting belief per villager (in the given order), dealt per kind from the bank."""
    decks: dict[str, list[str]] = {}
    beliefs = []
    for agent in agents:
        deck = decks.get(agent.kind)
        if not deck:
            bank = belief_bank(agent.kind)
            deck = [bank[i] for i in rng.permutation(len(bank))]
            decks[agent.kind] = deck
        beliefs.append(deck.pop())
    return beliefs
