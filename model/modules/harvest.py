"""Harvest and consumption: every living villager picks an effort, catches, then eats c."""

import numpy as np


class Harvest:
    name = "harvest"

    def __call__(self, model) -> None:
        living = model.living
        for agent in model.agents:
            agent.start_round()
        efforts = np.asarray(model.policy.choose_efforts(model, living), dtype=float)
        efforts = np.clip(np.nan_to_num(efforts, nan=0.0), 0.0, 1.0)
        catches = model.lake.harvest(efforts)
        consumption = model.config.norms.consumption
        for agent, effort, catch in zip(living, efforts, catches):
            agent.effort = float(effort)
            agent.harvest = float(catch)
            agent.earn(float(catch) - consumption)
        model.round_harvest = float(catches.sum())
        model.stock_after_harvest = model.lake.stock
