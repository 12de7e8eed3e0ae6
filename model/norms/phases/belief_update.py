"""Belief update of LLM villagers without group decision: each rewrites its personal belief
from what it saw, with no proposal and no vote (the "social learning only" and "neither"
ablations), so a villager's belief is not frozen just because the village does not vote."""

from model.engine import Module


class BeliefUpdate(Module):
    name = "belief_update"

    def __call__(self, model) -> None:
        model.policy.update_beliefs(model, model.living)
