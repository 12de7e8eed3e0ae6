"""GovSim (Piatti et al., NeurIPS 2024) as a Mesa model on the commons-lab engine.

A round is a month. Villagers share an integer pool (fishery, pasture, pollution; or trash in
the inverse framing), request amounts simultaneously, are told their own result, talk after
the reporter reads out everyone's figures, reflect, and the pool renews. Variants come from
``config.govsim``: universalization, no communication, a greedy newcomer, one model per
villager (``config.llm.models``), English or Japanese prompts.

Output is the engine's: ``tables()`` (rounds, agents, events, plus harvests, utterances,
discussions and memories) and ``summary()`` with GovSim's metrics.
"""

from __future__ import annotations


from mesa import DataCollector

from agents.govsim.villagers import GovSimVillager, GreedyNewcomer
from agents.govsim.policy import GovSimPolicy
from agents.govsim.prompts import PromptBook
from model.config import ConfigError, RunConfig, build
from model.engine import Engine
from model.govsim.metrics import Trajectory, newcomer_metrics, run_metrics
from model.govsim.phases import (Arrival, DiscussionPhase, HarvestPhase, MonthEnd,
                                 ReflectionPhase)
from model.govsim.pool import CommonPool

MODEL_REPORTERS = {
    "Stock": lambda m: m.pool.stock,
    "StockBefore": "stock_before",
    "StockAfterHarvest": "stock_after_harvest",
    "Threshold": "threshold",
    "Requested": lambda m: sum(v.wanted for v in m.present) if m.round else None,
    "Harvest": lambda m: sum(v.collected for v in m.present) if m.round else None,
    "Present": lambda m: len(m.present),
    "OverThreshold": "over_threshold",
    "Utterances": "utterances",
    "AgreedLimit": "agreed_limit",
    "Summary": "summary_text",
    "Defaults": "month_defaults",
    "SurvivalTime": "survival_time",
}

AGENT_REPORTERS = {
    "Name": "name",
    "Persona": "persona",
    "Joined": "joined",
    "Wanted": "wanted",
    "Collected": "collected",
    "Total": "total",
    "Fallback": "harvest_fallback",
    "LLMModel": "llm_model",
}


class GovSimModel(Engine):
    LLM_COUNTERS = ("decisions", *Engine.LLM_COUNTERS)

    def __init__(self, config: RunConfig | None = None, rng: int | None = None,
                 llm_client=None, humans=None):
        super().__init__(config or build(RunConfig, {"scenario": "govsim"}), rng, llm_client,
                         humans=humans)
        g = self.config.govsim
        if g.newcomer_month > g.months:
            raise ConfigError(f"govsim.newcomer_month = {g.newcomer_month} is after the last "
                              f"month (govsim.months = {g.months})")
        if g.newcomer_month and g.n_agents < 2:
            raise ConfigError("govsim.newcomer_month needs govsim.n_agents >= 2")
        self.book = PromptBook.load(g.language, g.variant, g.layout)
        self.pool = CommonPool(g.initial_stock, g.capacity, g.collapse_below,
                               inverse=g.variant == "trash", inflow=g.trash_inflow)
        self.names = self.book.names(g.n_agents)
        self.newcomer_month = g.newcomer_month or None
        founders = g.n_agents - 1 if self.newcomer_month else g.n_agents
        # GovSim's newcomer runs give the founders the "traditional villager" goal.
        persona = "traditional" if self.newcomer_month and g.founder_persona else None
        for i in range(founders):
            self._seat(GovSimVillager(self, self.names[i], self._model_for(i), persona=persona))
        self.policy = GovSimPolicy(self)

        self.modules = [Arrival(), HarvestPhase(),
                        *([DiscussionPhase()] if g.communication else []),
                        *([ReflectionPhase()] if g.reflection else []), MonthEnd()]

        # This month's figures (None before the first month).
        self.stock_before: int | None = None
        self.stock_after_harvest: int | None = None
        self.threshold: int | None = None
        self.utterances = 0
        self.agreed_limit: int | None = None
        self.summary_text: str | None = None
        self.defaults = 0  # next-speaker defaults over the run
        self.month_defaults = 0
        self.harvest_rows: list[dict] = []
        self.utterance_rows: list[dict] = []
        self.discussion_rows: list[dict] = []
        self.datacollector = DataCollector(
            model_reporters={**MODEL_REPORTERS, **self.llm_reporters()},
            agent_reporters={**AGENT_REPORTERS,
                             **({"Human": "human"} if self.config.humans else {})})
        self.datacollector.collect(self)

    # -- the society ---------------------------------------------------------------------------

    @property
    def present(self) -> list[GovSimVillager]:
        """Villagers of this month in seating order (id order): the order decisions apply in."""
        return sorted(self.agents, key=lambda a: a.unique_id)

    def _model_for(self, i: int) -> str | None:
        """The LLM of the villager in seat ``i`` (0-based); None for a human villager."""
        return None if i + 1 in self.config.humans else self.config.llm.model_for(i)

    def _seat(self, villager: GovSimVillager) -> GovSimVillager:
        villager.human = villager.unique_id in self.config.humans
        return villager

    def add_newcomer(self) -> GreedyNewcomer:
        i = self.config.govsim.n_agents - 1
        v = self._seat(GreedyNewcomer(self, self.names[i], self._model_for(i), joined=self.round))
        self.log("join", agent=v.unique_id, text=f"{v.name} joins ({v.persona})")
        return v

    @property
    def max_rounds(self) -> int:
        return self.config.govsim.months

    @property
    def rules_example(self) -> tuple[int, int, int, int]:
        """The worked example of the rules, computed from the pool's own maths."""
        cap = self.pool.capacity
        if self.pool.inverse:
            start, taken = cap, round(0.6 * cap)
        else:
            start, taken = round(0.9 * cap), round(0.3 * cap)
        return start, taken, start - taken, self.pool.renew(start - taken)

    @property
    def over_threshold(self) -> int | None:
        if not self.round or self.threshold is None:
            return None
        if self.pool.inverse:
            return sum(v.collected < self.threshold for v in self.present)
        return sum(v.collected > self.threshold for v in self.present)

    def fallback_request(self, villager: GovSimVillager) -> int:
        rule = self.config.govsim.harvest_fallback
        if rule == "zero":
            return 0
        if rule == "last" and getattr(villager, "last_request", None) is not None:
            return int(villager.last_request)
        return int(self.threshold or 0)

    def note_fallback(self, villager, phase: str, decision) -> None:
        self.log("fallback", agent=None if villager is None else villager.unique_id,
                 text=f"{phase}: {decision.error}")

    def note_default(self, villager, text: str) -> None:
        self.defaults += 1
        self.month_defaults += 1
        self.log("default", agent=villager.unique_id, text=text)

    # -- pipeline --------------------------------------------------------------------------------

    def step(self) -> None:
        if self.running and self.llm is None:
            raise RuntimeError("GovSim villagers need an LLM client: run them through "
                               "model.runner.run, or pass llm_client= to GovSimModel")
        self.utterances = 0
        self.agreed_limit = None
        self.summary_text = None
        self.month_defaults = 0
        super().step()

    # -- output ----------------------------------------------------------------------------------

    def tables(self) -> dict:
        import pandas as pd

        tables = super().tables()
        tables["harvests"] = pd.DataFrame(self.harvest_rows, columns=[
            "round", "agent", "name", "persona", "model", "pool_before", "pool_after",
            "threshold", "present", "wanted", "collected", "fallback", "prompt", "completion"])
        tables["utterances"] = pd.DataFrame(self.utterance_rows, columns=[
            "round", "turn", "agent", "name", "model", "text", "ends", "next_speaker",
            "next_default", "fallback", "prompt", "completion"]).astype({"agent": "Int64"})
        tables["discussions"] = pd.DataFrame(self.discussion_rows, columns=[
            "round", "utterances", "summary", "limit", "summary_prompt", "summary_completion",
            "summary_fallback", "limit_prompt", "limit_completion", "limit_fallback"]
        ).astype({"limit": "Int64"})
        memories = [{"agent": v.unique_id, "name": v.name, **item}
                    for v in self.present for item in v.memory.dump()]
        tables["memories"] = pd.DataFrame(memories, columns=[
            "agent", "name", "month", "date", "kind", "text", "importance", "always", "expires"])
        return tables

    def trajectory(self) -> Trajectory:
        import pandas as pd

        g = self.config.govsim
        harvests = pd.DataFrame(self.harvest_rows, columns=[
            "round", "agent", "pool_before", "pool_after", "collected"])
        talk = pd.DataFrame(self.utterance_rows, columns=["round", "agent", "fallback"])
        talk = talk[talk["agent"].notna() & ~talk["fallback"].astype(bool)]
        return Trajectory.from_table(harvests, talk, months=g.months,
                                     initial_stock=g.initial_stock, capacity=g.capacity,
                                     collapse_below=g.collapse_below, inverse=self.pool.inverse,
                                     inflow=g.trash_inflow)

    def summary(self) -> dict:
        g = self.config.govsim
        metrics = run_metrics(self.trajectory()) if self.harvest_rows else {}
        if self.harvest_rows and self.newcomer_month:
            metrics.update(newcomer_metrics(self.trajectory(), self.newcomer_month))
        out = {
            "scenario": "govsim",
            "variant": g.variant,
            "language": g.language,
            "universalization": g.universalization,
            "communication": g.communication,
            "newcomer_month": self.newcomer_month,
            "survival_time": self.survival_time,
            "collapse_reason": self.collapse_reason,
            "rounds_run": self.round,
            "months": g.months,
            **metrics,
            "final_stock": self.pool.stock,
            "villagers": [{"name": v.name, "persona": v.persona, "model": v.llm_model,
                           "joined": v.joined, "total": v.total,
                           **({"human": v.human} if self.config.humans else {})}
                          for v in self.present],
            "defaults": self.defaults,
            **({"human_villagers": list(self.config.humans),
                "human_turns": self.humans.counts["turns"],
                "human_timeouts": self.humans.counts["timeouts"]}
               if self.humans is not None else {}),
            "framework_model": self.config.llm.model,
            "embedding_model": self.config.llm.embedding_model,
        }
        if self.llm is not None:
            stats = self.llm.stats
            out.update({"llm_" + k: v for k, v in stats.totals().items()})
            out["llm_per_phase"] = {k: v.totals() for k, v in sorted(stats.per_phase.items())}
            villager_months = len(self.harvest_rows)
            out["villager_months"] = villager_months
            if villager_months:
                out["tokens_per_villager_month"] = {
                    "prompt": stats.prompt_tokens / villager_months,
                    "answer": stats.answer_tokens / villager_months,
                }
        return out
