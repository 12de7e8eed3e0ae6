"""Group decision: every living villager proposes a norm; the policy aggregates the proposals
(median cap for rule-based villagers, a plurality vote for LLM villagers)."""

from model.engine import Module


class GroupDecision(Module):
    name = "group_decision"

    def __call__(self, model) -> None:
        living = model.living
        proposals = model.policy.propose(model, living)
        for p in proposals:
            model.log("proposal", agent=p.agent, value=p.cap, text=p.community)
        model.proposals = proposals
        model.norm = model.policy.adopt(model, living, proposals)
        model.log("norm", value=model.norm.cap, text=model.norm.text)
