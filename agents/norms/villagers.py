"""Villagers of the norms scenario: a base class and the altruistic and selfish types.

Types differ only in the ranges their initial traits are drawn from (Gupta et al., Table 3 and
App. B). Every decision is delegated to the model's policy (rule-based or LLM), so the agent
class holds state, not behaviour.
"""

from __future__ import annotations

import mesa


class CPRAgent(mesa.Agent):
    """A villager: wealth, alive flag, strategy traits and this round's record."""

    kind = "generic"
    # Trait ranges of a generic villager (Table 3); subclasses narrow them.
    effort_range = (0.0, 1.0)
    belief_range = (2.0, 8.0)
    punish_range = {"text": (0.0, 1.0), "table": (0.0, 1.0)}

    def __init__(self, model: mesa.Model, llm_model: str | None = None):
        super().__init__(model)
        cfg = model.config.norms
        rng = model.random
        self.alive = True
        self.wealth = float(cfg.initial_wealth)
        self.effort = float(rng.uniform(*self.effort_range))
        self.belief = float(rng.uniform(*self.belief_range))
        # Not in the paper's table: a calibrated range (README, Modelling choices).
        self.monitoring = float(rng.uniform(cfg.monitoring_low, cfg.monitoring_high))
        self.punish_prob = float(rng.uniform(*self.punish_range[cfg.punish_reading]))
        self.belief_text: str | None = None  # LLM villagers: their personal belief in words
        self.llm_model = llm_model
        self.human = False  # a person takes this villager's turns (config villagers.human)
        self.smoothed_payoff = 0.0
        self.round_payoff = 0.0
        self.harvest = 0.0
        self.given = 0  # punishments handed out this round (0 or 1)
        self.received = 0  # times punished this round
        self.total_given = 0
        self.total_received = 0
        self.died_round: int | None = None
        self.last_exchange: dict | None = None  # latest LLM prompt and answer, for the live page

    def start_round(self) -> None:
        self.harvest = 0.0
        self.given = 0
        self.received = 0
        self.round_payoff = 0.0

    def earn(self, amount: float) -> None:
        """Add ``amount`` (negative for costs) to wealth and to this round's payoff."""
        self.wealth += amount
        self.round_payoff += amount

    def starve(self, round_: int) -> None:
        self.alive = False
        self.effort = 0.0
        self.died_round = round_


class AltruisticAgent(CPRAgent):
    """Harvests less, believes in a lower cap, punishes more (App. B text reading)."""

    kind = "altruistic"
    effort_range = (0.2, 0.5)
    belief_range = (4.0, 8.0)
    punish_range = {"text": (0.4, 0.5), "table": (0.0, 0.1)}


class SelfishAgent(CPRAgent):
    """Harvests more, believes in a higher cap, punishes less (second-order free riding)."""

    kind = "selfish"
    effort_range = (0.7, 1.0)
    belief_range = (10.0, 14.0)
    punish_range = {"text": (0.0, 0.1), "table": (0.4, 0.5)}
