"""Harvest and consumption: every living villager picks an effort, catches, then eats c."""

import math


class Harvest:
    name = "harvest"

    def __call__(self, model) -> None:
        living = model.living
        for agent in model.villagers:
            agent.start_round()
        # A missing or non-finite effort counts as no fishing; the policy logs why.
        efforts = [min(1.0, max(0.0, e)) if math.isfinite(e) else 0.0
                   for e in map(float, model.policy.choose_efforts(model, living))]
        catches = model.lake.harvest(efforts)
        consumption = model.config.norms.consumption
        for agent, effort, catch in zip(living, efforts, catches):
            agent.effort = float(effort)
            agent.harvest = catch
            agent.earn(catch - consumption)
        model.round_harvest = sum(catches)
        model.stock_after_harvest = model.lake.stock
