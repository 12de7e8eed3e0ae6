"""The norms scenario (Gupta et al., AAMAS 2026) as a Mesa model."""

from __future__ import annotations


from mesa import DataCollector

from agents.norms.villagers import AltruisticAgent, SelfishAgent
from agents.norms.policy import Norm
from model.engine import Engine
from model.norms.lake import Lake
from model.norms.metrics import gini
from model.norms.phases import (BeliefUpdate, GroupDecision, Harvest, IndividualLearning,
                                Punishment, Regeneration, SocialLearning, Starvation)

NO_NORM = Norm("No community policy has been adopted yet.", None)

MODEL_REPORTERS = {
    "Stock": lambda m: m.lake.stock,
    "StockAfterHarvest": "stock_after_harvest",
    "Harvest": "round_harvest",
    "Efficiency": "efficiency",
    "Alive": lambda m: len(m.living),
    "Gini": lambda m: gini([a.wealth for a in m.living]),
    "MeanEffort": "mean_effort",
    "Compliance": "compliance",
    "Punishments": "round_punishments",
    "SurvivalTime": "survival_time",
    "Norm": lambda m: m.norm.text,
    "NormCap": lambda m: m.norm.cap,
    "SInd": "s_ind",
    "SAlign": "s_align",
    "SNorm": "s_norm",  # LLM villagers: mean cosine of their beliefs to the adopted norm
}

AGENT_REPORTERS = {
    "Kind": "kind",
    "Alive": "alive",
    "Effort": "effort",
    "Harvest": "harvest",
    "Wealth": "wealth",
    "Given": "given",
    "Received": "received",
    "Belief": "belief",
    "BeliefText": "belief_text",
    "Monitoring": "monitoring",
    "PunishProb": "punish_prob",
    "LLMModel": "llm_model",
}


def make_policy(config, model):
    """The run's policy; with human villagers, a mixed society that routes them to theirs."""
    if config.policy == "rule":
        from agents.norms.rule_policy import RuleBasedPolicy

        base = RuleBasedPolicy(config)
    else:
        from agents.norms.llm_policy import LLMPolicy

        base = LLMPolicy(model)
    if not config.humans:
        return base
    from agents.norms.human_policy import HumanPolicy
    from agents.norms.mixed_policy import MixedPolicy

    return MixedPolicy(base, HumanPolicy(model), set(config.humans),
                       words=config.policy == "llm")


class NormsModel(Engine):
    """A lake shared by altruistic and selfish villagers; rounds run the SPEC's modules."""

    def __init__(self, config=None, rng: int | None = None, llm_client=None, *,
                 collect: str = "every", humans=None):
        super().__init__(config, rng, llm_client, collect=collect, humans=humans)
        cfg = self.config.norms
        self.lake = Lake(cfg.capacity, cfg.r, cfg.stock0, cfg.catchability)
        self.norm = NO_NORM
        self.proposals = []
        self.round_harvest = 0.0
        self.round_punishments = 0
        self.stock_after_harvest = self.lake.stock
        self.s_ind = float("nan")
        self.s_align = float("nan")
        self.s_norm = float("nan")
        self.deaths = 0

        n_altruists = int(round(cfg.n_agents * cfg.altruist_share))
        kinds = [AltruisticAgent] * n_altruists + [SelfishAgent] * (cfg.n_agents - n_altruists)
        llm = self.config.policy == "llm"
        humans = set(self.config.humans)
        self._villagers = [
            cls(self, llm_model=self.config.llm.model_for(i) if llm and i + 1 not in humans
                else None)
            for i, cls in enumerate(kinds)
        ]  # created in id order (ids 1, 2, ...)
        for villager in self._villagers:
            villager.human = villager.unique_id in humans
        if self.config.policy == "llm":
            # The traits were drawn all the same, so the RNG stream does not depend on the
            # policy; but an LLM villager's strategy is in its words, not in numbers, and a
            # number shown for it in the tables would be a rule-based draw it never used.
            for villager in self._villagers:
                villager.effort = villager.belief = float("nan")
                villager.monitoring = villager.punish_prob = float("nan")
        self.policy = make_policy(self.config, self)

        mods = self.config.modules
        # LLM villagers without a vote still rewrite their beliefs, where the vote would be.
        rewrite = self.config.policy == "llm" and not mods.group_decision
        self.modules = [Harvest(), *( [Punishment()] if mods.punishment else []), Starvation(),
                        IndividualLearning(),
                        *([SocialLearning()] if mods.social_learning else []),
                        *([GroupDecision()] if mods.group_decision else []),
                        *([BeliefUpdate()] if rewrite else []), Regeneration()]

        self.datacollector = DataCollector(
            model_reporters={**MODEL_REPORTERS, **self.llm_reporters()},
            agent_reporters={**AGENT_REPORTERS, **({"Human": "human"} if humans else {})})
        self.datacollector.collect(self)

    # -- state derived each round ------------------------------------------------------------

    @property
    def villagers(self) -> list:
        """Every villager, dead or alive, in id order (a plain list: cheaper to walk each round
        than Mesa's weak-referencing AgentSet)."""
        return self._villagers

    @property
    def present(self) -> list:
        """Villagers alive at the start of this round (the living and those who died in it)."""
        return [a for a in self._villagers if a.alive or a.died_round == self.round]

    @property
    def living(self) -> list:
        """Living villagers in id order: the fixed order every phase applies decisions in."""
        alive = [a for a in self._villagers if a.alive]
        return alive

    @property
    def efficiency(self) -> float:
        """eta(t) = sum h / H_opt with H_opt = r K / 4."""
        opt = self.lake.optimal_harvest
        return self.round_harvest / opt if opt > 0 else float("nan")

    @property
    def compliance(self) -> float:
        """Share of villagers alive at the round's start who harvested within the norm.

        Before any norm is adopted each villager is judged by its own belief. A norm in words
        (LLM villagers) has no numeric cap to judge a catch by: NaN, not a guess.
        """
        present = self.present
        if not present or self.round == 0:
            return float("nan")
        cap = self.norm.cap
        if cap is None and self.config.policy == "llm":
            return float("nan")
        within = sum(a.harvest <= (cap if cap is not None else a.belief) + 1e-9 for a in present)
        return within / len(present)

    @property
    def mean_effort(self) -> float:
        living = self.living
        return sum(a.effort for a in living) / len(living) if living else 0.0

    def end_round_checks(self) -> None:
        if self.collapse_reason:
            return
        if self.deaths:
            self.collapse_reason = "death"
        elif self.lake.stock <= self.config.norms.collapse_threshold:
            self.collapse_reason = "stock"

    def step(self) -> None:
        self.stock_after_harvest = float("nan")
        super().step()

    def end_round(self) -> None:
        # The LLM policy closes the round (memory, norm similarity) before the counters are
        # taken, so its embedding calls count in this round.
        self.policy.end_round(self)
        super().end_round()

    # -- run summary ---------------------------------------------------------------------------

    def summary(self) -> dict:
        rounds = self.datacollector.get_model_vars_dataframe().iloc[1:]
        return {
            "scenario": "norms",
            "survival_time": self.survival_time,
            "collapse_reason": self.collapse_reason,
            "rounds_run": self.round,
            "mean_efficiency": float(rounds["Efficiency"].mean()) if len(rounds) else float("nan"),
            "final_stock": self.lake.stock,
            "alive": len(self.living),
            "punishments": int(rounds["Punishments"].sum()) if len(rounds) else 0,
            "final_norm": self.norm.text,
            **{"llm_" + k: int(rounds["LLM_" + k].sum()) if len(rounds) else 0
               for k in self.LLM_COUNTERS},
            **({"human_villagers": list(self.config.humans),
                **{"human_" + k: int(rounds["Human_" + k].sum()) if len(rounds) else 0
                   for k in self.HUMAN_COUNTERS}} if self.humans is not None else {}),
        }
