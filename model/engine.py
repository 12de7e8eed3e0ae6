"""The engine both scenario families run on: a Mesa model that runs switchable modules in order.

A round is one Mesa ``step``: each enabled module runs in turn, the run ends at the first
collapse or at the round cap, and the DataCollector records the state after every round.
Scenario models (the norms lake, GovSim) subclass it with their resource, agents and modules.
"""

from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Literal

import mesa

from model.config import RunConfig


class Module(abc.ABC):
    """One phase of a round. ``name`` is what ablations and the event log call it.

    The round stops at the first collapse; a module with ``runs_after_collapse`` (bookkeeping
    such as starvation) still runs in that round, so the final state is consistent.
    """

    name: str = ""
    runs_after_collapse: bool = False

    @abc.abstractmethod
    def __call__(self, model: Engine) -> None:
        """Play this phase of the current round on ``model``."""


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
    """Base model: configuration, seeding, module pipeline, end conditions, events, and the
    per-round counters of the LLM layer.

    ``rng``: the run's seed when it differs from ``config.seed`` (``mesa.batch_run`` hands each
    run its seed this way). ``llm_client``: the run's LLM session, for villagers that ask a
    language model (``model.llm_session.open_session``). ``collect = "last"`` records only the
    round that ends the run (batch runs that read the final state: the validation's survival
    times).
    """

    # LLM counters recorded per round as ``LLM_<name>`` columns (``agents.llm.stats``).
    # cached_tokens: prompt tokens the server read from its prefix cache; cache_hits and
    # embed_cache_hits: calls answered by the response cache (llm.cache), not by a server.
    LLM_COUNTERS: tuple[str, ...] = ("calls", "prompt_tokens", "cached_tokens", "answer_tokens",
                                     "retries", "fallbacks", "parse_failures", "embed_calls",
                                     "cache_hits", "embed_cache_hits")

    # Human villagers' counters recorded per round as ``Human_<name>`` columns, in runs that
    # have human villagers (agents/human/answers.py).
    HUMAN_COUNTERS: tuple[str, ...] = ("turns", "timeouts")

    def __init__(self, config: RunConfig | None = None, rng: int | None = None, llm_client=None,
                 *, collect: Literal["every", "last"] = "every", humans=None):
        config = config or RunConfig()
        if rng is not None and rng != config.seed:
            config = dataclasses.replace(config, seed=int(rng))
        super().__init__(rng=config.seed)
        self.config = config
        self.round = 0
        self.survival_time: int | None = None
        self.collapse_reason: str | None = None
        self.events: list[Event] = []
        self.modules: list[Module] = []
        self.llm = llm_client
        self.llm_round = dict.fromkeys(self.LLM_COUNTERS, 0)
        self._llm_before = llm_client.stats.snapshot() if llm_client is not None else None
        self.collect_every_round = collect == "every"
        # Who answers for the human villagers (``agents.human.answers.HumanAnswers``); without
        # one, a human villager's turn fails with a one-line error saying how to run it.
        if humans is None and config.humans:
            from agents.human.answers import HumanAnswers

            humans = HumanAnswers(config.humans, timeout_s=config.villagers.human_timeout_s)
        self.humans = humans
        self.human_round = dict.fromkeys(self.HUMAN_COUNTERS, 0)
        self._human_before = humans.snapshot() if humans is not None else None
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

    def end_round(self) -> None:
        """The round's last bookkeeping, before it is recorded: the LLM calls it cost.
        Subclasses that make calls of their own here do so before calling this."""
        if self.humans is not None:
            now = self.humans.snapshot()
            self.human_round = {k: now[k] - self._human_before[k] for k in self.HUMAN_COUNTERS}
            self._human_before = now
        if self.llm is None:
            return
        spent = self.llm.stats.since(self._llm_before)
        self._llm_before = self.llm.stats.snapshot()
        self.llm_round = {key: getattr(spent, key) for key in self.LLM_COUNTERS}

    def llm_reporters(self) -> dict[str, Callable[[Engine], Any]]:
        """DataCollector reporters of the per-round LLM counters (zero without an LLM), and of
        the human villagers' turns and timeouts in a run that has them."""
        reporters = {f"LLM_{key}": (lambda k: lambda m: m.llm_round[k])(key)
                     for key in self.LLM_COUNTERS}
        if self.humans is not None:
            reporters.update({f"Human_{key}": (lambda k: lambda m: m.human_round[k])(key)
                              for key in self.HUMAN_COUNTERS})
        return reporters

    def step(self) -> None:
        if not self.running:
            return
        self.round += 1
        for module in self.modules:
            if self.collapsed and not module.runs_after_collapse:
                # The run ends at the first collapse; later modules of this round would act on
                # a society that no longer exists (and would cost LLM calls for nothing).
                continue
            module(self)
            self.end_round_checks()
        if self.collapsed:
            self.survival_time = self.round
            self.running = False
        elif self.round >= self.max_rounds:
            self.survival_time = self.round
            self.running = False
        self.end_round()
        if self.collect_every_round or not self.running:
            self.datacollector.collect(self)
        for hook in self._round_hooks:
            hook(self)

    def run(self) -> None:
        while self.running:
            self.step()

    def log(self, kind: str, **fields: Any) -> None:
        self.events.append(Event(self.round, kind, **fields))

    def on_round_end(self, hook: Callable[[Engine], None]) -> None:
        """Register a callback run after every round has been recorded (the run writer uses it
        to save progress)."""
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
