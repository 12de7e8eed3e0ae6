"""Social learning. Rule-based villagers imitate; LLM villagers learn in context (a no-op here:
switching the module off removes the peers' rows from their prompts instead)."""

from model.engine import Module


class SocialLearning(Module):
    name = "social_learning"

    def __call__(self, model) -> None:
        model.policy.learn(model, model.living)
