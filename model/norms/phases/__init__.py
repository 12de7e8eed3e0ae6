"""The modules of a norms round, in the SPEC's order. Each can be switched off (ablations)."""

from model.norms.phases.belief_update import BeliefUpdate
from model.norms.phases.group_decision import GroupDecision
from model.norms.phases.harvest import Harvest
from model.norms.phases.individual_learning import IndividualLearning
from model.norms.phases.punishment import Punishment
from model.norms.phases.regeneration import Regeneration
from model.norms.phases.social_learning import SocialLearning
from model.norms.phases.starvation import Starvation

__all__ = ["BeliefUpdate", "GroupDecision", "Harvest", "IndividualLearning", "Punishment",
           "Regeneration", "SocialLearning", "Starvation"]
