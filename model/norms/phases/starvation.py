"""Starvation: villagers whose wealth is negative die. Always on: it is not a module to ablate."""

from model.engine import Module


class Starvation(Module):
    name = "starvation"
    runs_after_collapse = True  # villagers with negative wealth are dead however the run ended

    def __call__(self, model) -> None:
        for agent in model.living:
            if agent.wealth < 0:
                agent.starve(model.round)
                model.deaths += 1  # read by the end checks after every module: no scan
                model.log("death", agent=agent.unique_id, value=agent.wealth)
