"""The engine both scenario families run on: a Mesa model that runs switchable modules in order.

A round is one Mesa ``step``: each enabled module runs in turn, the run ends at the first
collapse or at the round cap, and the DataCollector records the state after every round.
Scenario models (the norms lake, GovSim) subclass it with their resource, agents and modules.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Literal, Protocol

import mesa

from model.config import RunConfig, apply_overrides


class Module(Protocol):
    """One phase of a round. ``name`` is what ablations and the event log call it."""

    name: str

    def __call__(self, model: Engine) -> None: ...


@dataclass
class Event:
    """Something that happened in a round, kept as one row of the events table."""

    round: int
    kind: str
    agent: int | None = None
    target: int | None = None
    value: float | None = None
    text: str | None = None


class Engine(mesa.Model):
    """Base model: configuration, seeding, module pipeline, end conditions, events."""

    def __init__(self, config: RunConfig | None = None, rng: Any = None, *,
                 collect: Literal["every", "last"] = "every", **overrides: Any):
        """``collect = "last"`` records only the round that ends the run (batch runs that read
        the final state: the validation's survival times)."""
        config = config or RunConfig()
        if overrides:
            # batch_run and SolaraViz pass parameters as keyword arguments with dotted names.
            config = apply_overrides(config, overrides)
        if rng in (None, ""):
            rng = config.seed
        rng = int(rng)  # Solara's text input hands back strings
        if rng != config.seed:
            config = dataclasses.replace(config, seed=rng)
        super().__init__(rng=rng)
        self.config = config
        self.round = 0
        self.survival_time: int | None = None
        self.collapse_reason: str | None = None
        self.events: list[Event] = []
        self.modules: list[Module] = []
        self.collect_every_round = collect == "every"
        self.llm = None  # an LLM client, for runs whose villagers ask a language model
        self._round_hooks: list[Callable[[Engine], None]] = []

    # -- pipeline ---------------------------------------------------------------------------

    @property
    def max_rounds(self) -> int:
        return self.config.rounds

    @property
    def collapsed(self) -> bool:
        return self.collapse_reason is not None

    def end_round_checks(self) -> None:
        """Subclasses set ``collapse_reason`` here when the commons or a villager is lost."""

    def step(self) -> None:
        if not self.running:
            return
        self.round += 1
        for module in self.modules:
            if self.collapsed and not getattr(module, "runs_after_collapse", False):
                # The run ends at the first collapse; later modules of this round would act on
                # a society that no longer exists (and would cost LLM calls for nothing).
                # Bookkeeping modules (starvation) still run so the final state is consistent.
                continue
            module(self)
            self.end_round_checks()
        if self.collapsed:
            self.survival_time = self.round
            self.running = False
        elif self.round >= self.max_rounds:
            self.survival_time = self.round
            self.running = False
        for hook in self._round_hooks:
            hook(self)
        if self.collect_every_round or not self.running:
            self.datacollector.collect(self)

    def run(self) -> None:
        while self.running:
            self.step()

    def log(self, kind: str, **fields: Any) -> None:
        self.events.append(Event(self.round, kind, **fields))

    def on_round_end(self, hook: Callable[[Engine], None]) -> None:
        """Register a callback run after every round (the run writer uses it to save progress)."""
        self._round_hooks.append(hook)

    # -- tidy tables ---------------------------------------------------------------------------

    def tables(self) -> dict:
        """The run's tidy tables: one row per round, per villager-round, and per event."""
        import pandas as pd

        dc = self.datacollector
        rounds = dc.get_model_vars_dataframe().reset_index(drop=True)
        rounds.insert(0, "Round", range(len(rounds)))
        agents = dc.get_agent_vars_dataframe().reset_index()
        agents = agents.rename(columns={"Step": "Round"})
        agents["Round"] = agents["Round"].astype(int)
        events = pd.DataFrame([e.__dict__ for e in self.events],
                              columns=["round", "kind", "agent", "target", "value", "text"])
        events = events.astype({"agent": "Int64", "target": "Int64", "value": "float64"})
        return {"rounds": rounds, "agents": agents, "events": events}
