"""Individual learning: each villager learns from its own round (the fines it saw or paid).

Not one of the paper's ablatable modules, so it runs whatever the ablation: switching social
learning off removes the imitation of peers and nothing else. The paper's model specifies no
individual learning for rule-based villagers; the ``extended`` profile's deterrence and lesson
of a fine live here (agents/norms/rule_policy.py).
"""

from model.engine import Module


class IndividualLearning(Module):
    name = "individual_learning"

    def __call__(self, model) -> None:
        model.policy.learn_alone(model, model.living)
