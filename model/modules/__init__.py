"""The modules of a norms round, in the SPEC's order. Each can be switched off (ablations)."""

from model.modules.group_decision import GroupDecision
from model.modules.harvest import Harvest
from model.modules.punishment import Punishment
from model.modules.regeneration import Regeneration
from model.modules.social_learning import SocialLearning
from model.modules.starvation import Starvation

__all__ = ["GroupDecision", "Harvest", "Punishment", "Regeneration", "SocialLearning", "Starvation"]
