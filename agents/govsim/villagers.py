"""GovSim villagers: fishermen, shepherds, factory owners or roommates, depending on the variant.

A villager holds state (name, model, memory, this month's request and catch, running total);
every decision is made by the model's GovSim policy. The persona names the goal text added to
its rules: "villager" (none, GovSim's baseline), "traditional" (the founders of a newcomer run)
or "newcomer". The greedy newcomer differs only by that goal and by joining late with an empty
memory.
"""

from __future__ import annotations

import mesa

from agents.govsim.memory import Memory


class GovSimVillager(mesa.Agent):
    persona = "villager"

    def __init__(self, model: mesa.Model, name: str, llm_model: str | None, joined: int = 1,
                 persona: str | None = None):
        super().__init__(model)
        if persona is not None:
            self.persona = persona
        self.name = name
        self.llm_model = llm_model
        self.human = False  # a person takes this villager's turns (config villagers.human)
        self.joined = joined  # first month present
        self.memory = Memory()
        self.wanted = 0  # this month's request
        self.collected = 0  # this month's allocation
        self.total = 0  # over the run: the gain (or, for trash, the loss)
        self.harvest_fallback = False  # this month's request came from the fallback
        self.last_request: int | None = None  # for the "last" harvest fallback
        self.last_exchange: dict | None = None  # latest prompt and answer, for the live page

    @property
    def is_newcomer(self) -> bool:
        return self.persona == "newcomer"

    def start_month(self) -> None:
        self.wanted = 0
        self.collected = 0
        self.harvest_fallback = False

    def receive(self, amount: int) -> None:
        self.collected = int(amount)
        self.total += int(amount)


class GreedyNewcomer(GovSimVillager):
    """GovSim's "outsider": wants money fast, ignores the village's customs."""

    persona = "newcomer"
