"""The seam between villagers and whatever makes their decisions.

A policy decides for a whole phase at once, so an LLM policy can send the villagers' calls
concurrently and still apply the answers in a fixed order. The model never knows which kind of
policy it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Sequence

if TYPE_CHECKING:
    from agents.norms.villagers import CPRAgent


@dataclass(frozen=True)
class Norm:
    """The community's adopted norm: words for everyone, and a numeric cap where one exists."""

    text: str
    cap: float | None = None  # fish per villager per round (rule-based villagers)


@dataclass(frozen=True)
class Proposal:
    agent: int
    community: str  # the proposed norm, as shown to voters
    cap: float | None = None
    personal: str | None = None  # the villager's rewritten personal belief (LLM)


class DecisionPolicy(Protocol):
    """Decisions of one phase for the living villagers ``agents`` (in a fixed order)."""

    def choose_efforts(self, model, agents: Sequence[CPRAgent]) -> list[float]: ...

    def choose_targets(self, model, agents: Sequence[CPRAgent]) -> list[int | None]: ...

    def learn_alone(self, model, agents: Sequence[CPRAgent]) -> None: ...

    def learn(self, model, agents: Sequence[CPRAgent]) -> None: ...

    def propose(self, model, agents: Sequence[CPRAgent]) -> list[Proposal]: ...

    def adopt(self, model, agents: Sequence[CPRAgent], proposals: list[Proposal]) -> Norm: ...

    def end_round(self, model) -> None:
        """After the round's modules, before it is recorded (LLM villagers: memory, norm
        similarity, whose embedding calls then count in this round)."""
