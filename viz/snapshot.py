"""What the page shows, copied out of a model after each round.

The panels never read the model itself: an LLM round mutates it for many seconds in another
thread, so they read a ``RoundView`` taken between rounds, which stays consistent while they draw.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Villager:
    id: int
    kind: str  # "altruistic", "selfish", or "villager" for untyped (GovSim) villagers
    alive: bool
    effort: float
    harvest: float
    wealth: float
    given: int  # punishments handed out this round
    received: int  # times punished this round
    belief: float | None = None  # a rule-based villager's cap belief (fish per round)
    belief_text: str | None = None  # an LLM villager's personal belief, in words
    llm_model: str | None = None
    traits: dict[str, float] = field(default_factory=dict)
    exchange: dict | None = None  # the latest prompt and answer (LLM villagers)

    name: str | None = None  # GovSim villagers have names

    @property
    def label(self) -> str:
        return self.name or f"V{self.id}"


@dataclass(frozen=True)
class Proposal:
    agent: int
    text: str
    cap: float | None


@dataclass(frozen=True)
class Vote:
    agent: int
    author: int | None  # whose proposal the vote went to
    text: str | None


@dataclass(frozen=True)
class Event:
    kind: str
    agent: int | None
    target: int | None
    value: float | None
    text: str | None


@dataclass(frozen=True)
class RoundView:
    """The state after round ``round`` (0 = before the first round)."""

    version: int  # increases with every snapshot; panels redraw when it changes
    scenario: str
    policy: str
    round: int
    max_rounds: int
    running: bool
    collapse_reason: str | None
    survival_time: int | None
    stock: tuple[float, ...]  # per round, round 0 first
    threshold: float
    capacity: float
    efficiency: tuple[float, ...]  # per round, round 0 first (NaN: no harvest yet)
    villagers: tuple[Villager, ...]
    events: tuple[Event, ...]  # this round's, in the order they happened
    punishments: tuple[tuple[int, int], ...]  # (punisher, target) in this round
    proposals: tuple[Proposal, ...]  # this round's
    votes: tuple[Vote, ...]  # this round's
    norm_text: str
    norm_cap: float | None
    norm_round: int | None  # round the current norm was adopted in (None: none adopted yet)
    punishment_on: bool
    group_decision_on: bool
    resource: str = "fish"  # the unit figures are in
    effort_label: str = "Effort"
    effort_max: float | None = 1.0  # None: the effort axis scales to the data
    wealth_label: str = "Wealth"
    talk_title: str = "Proposals"  # what this round's proposals are called (GovSim: discussion)
    no_punishment: str = "Punishment is switched off"
    llm_calls: int = 0  # over the whole run
    llm_fallbacks: int = 0
    llm_model: str | None = None  # the run's model, for LLM runs
    round_word: str = "round"  # GovSim counts months
    stock_label: str = "Stock"  # what the stock is: fish in the lake, clean water, ...
    stock_unit: str = "fish"
    # Per round, round 1 first: share of villagers within the norm, the adopted cap, fines.
    compliance: tuple[float, ...] = ()
    caps: tuple[float, ...] = ()  # NaN where no numeric cap held
    punish_counts: tuple[float, ...] = ()
    conversation: tuple[tuple[str, str], ...] = ()  # (speaker, words) of this month (GovSim)

    @property
    def alive(self) -> int:
        return sum(v.alive for v in self.villagers)

    @property
    def mean_efficiency(self) -> float:
        values = [e for e in self.efficiency[1:] if not math.isnan(e)]
        return sum(values) / len(values) if values else float("nan")

    @property
    def current_stock(self) -> float:
        return self.stock[-1] if self.stock else float("nan")

    def villager(self, agent_id: int) -> Villager | None:
        return next((v for v in self.villagers if v.id == agent_id), None)


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _run_state(model, version: int) -> dict[str, Any]:
    """The fields every scenario's view shares: where the run is and its stock so far."""
    return dict(version=version, round=model.round, max_rounds=model.max_rounds,
                running=bool(model.running), collapse_reason=model.collapse_reason,
                survival_time=model.survival_time, stock=_series(model, "Stock"))


def _series(model, name: str) -> tuple[float, ...]:
    values = model.datacollector.model_vars.get(name, [])
    return tuple(_float(v) for v in values)


def _per_round(model, name: str) -> tuple[float, ...]:
    """A model reporter's values from round 1 on (round 0 is the state before any round)."""
    return _series(model, name)[1:]


def _exchange(agent) -> dict | None:
    exchange = getattr(agent, "last_exchange", None)
    # Copied: the villager's next call replaces it while the page may still be drawing this one.
    return copy.deepcopy(exchange) if exchange else None


def _traits(agent) -> dict[str, float]:
    names = ("effort", "belief", "monitoring", "punish_prob")
    return {n: float(getattr(agent, n)) for n in names if isinstance(getattr(agent, n, None), (int, float))}


def _norm_round(events, kinds=("norm",)) -> int | None:
    for event in reversed(events):
        if event.kind in kinds:
            return event.round
    return None


def _punishing(cfg, round_: int) -> bool:
    off_after = cfg.modules.punishment_off_after
    return cfg.modules.punishment and not (off_after and round_ > off_after)


def take(model, version: int) -> RoundView:
    """A ``RoundView`` of either scenario's model after a round."""
    if model.config.scenario == "govsim":
        return take_govsim(model, version)
    return take_norms(model, version)


def _llm_counts(model) -> dict:
    stats = getattr(model.llm, "stats", None)
    uses_llm = model.config.scenario == "govsim" or model.config.policy == "llm"
    return {"llm_calls": int(getattr(stats, "calls", 0) or 0),
            "llm_fallbacks": int(getattr(stats, "fallbacks", 0) or 0),
            "llm_model": model.config.llm.model if uses_llm else None}


def take_norms(model, version: int) -> RoundView:
    """A ``RoundView`` of a norms model (``model.norms.model.NormsModel``) after a round."""
    cfg = model.config
    villagers = tuple(
        Villager(
            id=a.unique_id, kind=a.kind, alive=a.alive, effort=float(a.effort),
            harvest=float(a.harvest), wealth=float(a.wealth), given=int(a.given),
            received=int(a.received), belief=float(a.belief), belief_text=a.belief_text,
            llm_model=a.llm_model, traits=_traits(a), exchange=_exchange(a),
        )
        for a in sorted(model.agents, key=lambda a: a.unique_id)
    )
    now = [e for e in model.events if e.round == model.round]
    return RoundView(
        **_run_state(model, version),
        scenario=cfg.scenario,
        policy=cfg.policy,
        threshold=float(cfg.norms.collapse_threshold),
        capacity=float(cfg.norms.capacity),
        efficiency=_series(model, "Efficiency"),
        villagers=villagers,
        events=tuple(Event(e.kind, e.agent, e.target, e.value, e.text) for e in now),
        punishments=tuple((e.agent, e.target) for e in now if e.kind == "punish"),
        proposals=tuple(Proposal(e.agent, e.text or "", e.value) for e in now
                        if e.kind == "proposal"),
        votes=tuple(Vote(e.agent, e.target, e.text) for e in now if e.kind == "vote"),
        norm_text=model.norm.text,
        norm_cap=model.norm.cap,
        norm_round=_norm_round(model.events),
        punishment_on=_punishing(cfg, model.round),
        group_decision_on=cfg.modules.group_decision,
        stock_label="Fish in the lake",
        compliance=_per_round(model, "Compliance"),
        caps=_per_round(model, "NormCap"),
        punish_counts=_per_round(model, "Punishments"),
        **_llm_counts(model),
    )


def take_govsim(model, version: int) -> RoundView:
    """A ``RoundView`` of a GovSim model (``model.govsim.model.GovSimModel``).

    The request is shown as the villager's effort, its running total as its wealth, the
    month's discussion as its proposals, and the agreed limit as the community's norm.
    """
    g, pool, book = model.config.govsim, model.pool, model.book
    unit = book.words.get("unit_short", "units")
    villagers = tuple(
        Villager(
            id=a.unique_id, kind="newcomer" if a.is_newcomer else "villager", alive=True,
            effort=float(a.wanted), harvest=float(a.collected), wealth=float(a.total),
            given=0, received=0, llm_model=a.llm_model, exchange=_exchange(a), name=a.name,
        )
        for a in model.present
    )
    now = [e for e in model.events if e.round == model.round]
    limits = [e for e in model.events if e.kind == "limit" and e.value is not None]
    if limits:
        norm_text = book.word("limit_sentence", limit=int(limits[-1].value))
        norm_text = norm_text[:1].upper() + norm_text[1:]
    else:
        norm_text = "No limit has been agreed yet."
    sustainable = pool.collective_threshold(g.initial_stock) or 1
    harvests = model.datacollector.model_vars.get("Harvest", [])
    efficiency = tuple(_float(h) / sustainable if h is not None else float("nan")
                       for h in harvests)
    threshold = pool.capacity - pool.collapse_below if pool.inverse else pool.collapse_below
    # The month's conversation as the villagers read it: the report, then who said what.
    conversation = tuple((str(r["name"]), str(r["text"])) for r in model.utterance_rows
                         if r["round"] == model.round and r.get("text"))
    caps = [float("nan")] * model.round
    for e in limits:
        for month in range(e.round, model.round + 1):
            caps[month - 1] = float(e.value)
    return RoundView(
        **_run_state(model, version),
        scenario="govsim",
        policy="llm",
        threshold=float(threshold),
        capacity=float(pool.capacity),
        efficiency=efficiency,
        villagers=villagers,
        events=tuple(Event(e.kind, e.agent, e.target, e.value, e.text) for e in now),
        punishments=(),
        proposals=tuple(Proposal(e.agent, e.text or "", None) for e in now
                        if e.kind == "utterance"),
        votes=(),
        norm_text=norm_text,
        norm_cap=float(limits[-1].value) if limits else None,
        norm_round=limits[-1].round if limits else None,
        punishment_on=False,
        group_decision_on=g.communication,
        resource=unit,
        effort_label="Requested this month",
        effort_max=None,
        wealth_label="Total so far",
        talk_title="Discussion",
        no_punishment="GovSim has no punishment",
        round_word="month",
        stock_label=book.words.get("stock_label", "Stock"),
        stock_unit=book.words.get("stock_unit", unit),
        caps=tuple(caps),
        conversation=conversation,
        **_llm_counts(model),
    )
