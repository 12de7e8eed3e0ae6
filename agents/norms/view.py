"""What an LLM villager may see when it decides: the lake, its own record, its peers' outcomes.

``Chronicle`` remembers, round by round, the lake's stock at the start of each day and every
villager's effort, catch and punishments (the agents reset those at the start of a round).
``view_for`` turns the model's current state into a ``View`` for one villager and one phase;
the prompt renderer (agents/norms/prompts.py) decides which parts of it an ablation shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# How far back a villager's prompt reaches: the paper shows a snapshot, not a transcript; a
# few days of one's own record let a villager see a trend at little cost. The lake's history is
# a prompt switch (prompt.show_lake_history), off under the paper's protocol.
LAKE_DAYS = 5
RECORD_DAYS = 3


@dataclass(frozen=True)
class DayRecord:
    """One villager's finished day."""

    day: int
    effort: float
    catch: float
    received: int  # how many villagers punished it
    target: int | None  # whom it punished (None: nobody)
    payoff: float = float("nan")  # total payoff at the day's end


@dataclass(frozen=True)
class PeerRow:
    id: int
    effort: float | None  # latest effort (None before anyone has fished)
    payoff: float  # total payoff (wealth)
    alive: bool = True
    died_day: int | None = None


@dataclass(frozen=True)
class View:
    """Everything one villager is allowed to know at one decision."""

    day: int
    id: int
    belief: str
    norm: str | None  # the adopted community policy; None before the first vote
    stock: float
    capacity: float
    lake_history: tuple[tuple[int, float], ...]  # (day, stock at its start), oldest first
    record: tuple[DayRecord, ...]  # its own finished days, oldest first
    today: tuple[float, float] | None  # (effort, catch) once it has fished today
    payoff: float
    peers: tuple[PeerRow, ...]  # every villager, itself included, in id order, unmarked
    # Punishment: the peers it watched today, (id, today's effort), drawn with the run's RNG.
    watched: tuple[tuple[int, float], ...] = ()


@dataclass
class Chronicle:
    """The village's memory of finished days (filled at the end of every round)."""

    lake: list[tuple[int, float]] = field(default_factory=list)
    records: dict[int, list[DayRecord]] = field(default_factory=dict)
    targets: dict[int, int | None] = field(default_factory=dict)  # this round's punish answers

    def close_round(self, model) -> None:
        """Record the round that just ended (call once per round, after all modules ran)."""
        day = model.round
        self.lake.append((day, float(model.lake.stock_before_harvest)))
        for agent in model.agents:
            if not (agent.alive or agent.died_round == day):
                continue  # died earlier: nothing new to record
            target = self.targets.get(agent.unique_id) if agent.given else None
            self.records.setdefault(agent.unique_id, []).append(
                DayRecord(day, float(agent.effort), float(agent.harvest), int(agent.received), target,
                          float(agent.wealth)))
        self.targets = {}


WATCH_STREAM = 0x77A7C4  # tags the punishers' sample stream among the run's seeded streams


def watch_sample(model, agent, living, size: int) -> tuple[tuple[int, float], ...]:
    """The few peers a punisher watched today, (id, today's effort) in id order. Drawn from a
    stream seeded by the run's seed, the day and the villager: reproducible, whoever decides
    for the villager, and the model's own draws (tie breaks) stay where they were."""
    others = [p for p in living if p is not agent]
    size = min(size, len(others))
    if size == 0:
        return ()
    rng = np.random.default_rng([model.config.seed, model.round, agent.unique_id, WATCH_STREAM])
    picked = sorted(rng.choice(len(others), size=size, replace=False))
    return tuple((others[i].unique_id, float(others[i].effort)) for i in picked)


def view_for(model, agent, phase: str, chronicle: Chronicle, belief: str, norm: str | None,
             watched: tuple[tuple[int, float], ...] = ()) -> View:
    """The ``View`` of ``agent`` for ``phase`` ("effort" comes before today's harvest)."""
    fished = phase != "effort"
    peers = []
    for other in sorted(model.agents, key=lambda a: a.unique_id):
        past = chronicle.records.get(other.unique_id)
        if fished and (other.alive or other.died_round == model.round):
            effort = float(other.effort)
        else:
            effort = past[-1].effort if past else None
        peers.append(PeerRow(other.unique_id, effort, float(other.wealth), bool(other.alive),
                             other.died_round))
    own = chronicle.records.get(agent.unique_id, [])
    return View(
        day=model.round,
        id=agent.unique_id,
        belief=belief,
        norm=norm,
        stock=float(model.lake.stock),
        capacity=float(model.lake.capacity),
        lake_history=tuple(chronicle.lake[-LAKE_DAYS:]),
        record=tuple(own[-RECORD_DAYS:]),
        today=(float(agent.effort), float(agent.harvest)) if fished else None,
        payoff=float(agent.wealth),
        peers=tuple(peers),
        watched=watched,
    )
