"""A society of several kinds of decision-makers: each villager's phase goes to its own policy.

``MixedPolicy`` is a ``DecisionPolicy`` that routes the human villagers of each phase to the
human policy and the others to the run's policy (rule-based or LLM), then merges the answers in
villager-id order, so the phase applies them exactly as a single policy's. Where a phase allows,
both halves run at the same time: the LLM villagers' calls go out while a person is answering.
The vote cannot: the humans' votes are cast first, then the LLM villagers vote and the
plurality counts all of them.

The run's policy keeps its view of the whole society: a rule-based villager may inspect a
human, and imitates a human's effort and latest cap as it would a peer's. Whatever a rule-based
step would change in a human villager's own traits (imitation, deterrence, the lesson of a
fine) is undone: a person's effort is their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from agents.human.beside import decide_beside
from agents.norms.policy import Norm, Proposal
from agents.norms.voting import distinct

TRAITS = ("effort", "monitoring", "belief", "punish_prob")


class MixedPolicy:
    def __init__(self, base, human, human_ids: set[int], *, words: bool):
        self.base = base  # the run's policy (rule-based or LLM)
        self.human = human
        self.ids = frozenset(human_ids)
        self.words = words  # an LLM society: proposals in words, a vote
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="society")

    def __getattr__(self, name: str):
        # What the page and the model read of the run's policy (ballot, tally, chronicle).
        return getattr(self.__dict__["base"], name)

    # -- routing --------------------------------------------------------------------------------

    def _split(self, agents: Sequence) -> tuple[list, list]:
        humans = [a for a in agents if a.unique_id in self.ids]
        others = [a for a in agents if a.unique_id not in self.ids]
        return humans, others

    def _both(self, agents: Sequence, for_base: Callable, for_humans: Callable) -> list:
        """Run both halves (the base's in a worker thread), merge in ``agents`` order."""
        return decide_beside(agents, lambda a: a.unique_id in self.ids, for_humans, for_base,
                             self._pool)

    def _keeping_humans(self, agents: Sequence, step: Callable[[], None]) -> None:
        """Run a rule-based step over everyone, then give the humans their own traits back."""
        humans, _ = self._split(agents)
        saved = {a.unique_id: tuple(getattr(a, t) for t in TRAITS) for a in humans}
        step()
        for a in humans:
            for trait, value in zip(TRAITS, saved[a.unique_id]):
                setattr(a, trait, value)

    # -- the DecisionPolicy's phases ------------------------------------------------------------

    def choose_efforts(self, model, agents: Sequence) -> list[float]:
        return self._both(agents, lambda o: self.base.choose_efforts(model, o),
                          lambda h: self.human.choose_efforts(model, h))

    def choose_targets(self, model, agents: Sequence) -> list[int | None]:
        return self._both(agents, lambda o: self.base.choose_targets(model, o),
                          lambda h: self.human.choose_targets(model, h))

    def learn_alone(self, model, agents: Sequence) -> None:
        _, others = self._split(agents)
        self.base.learn_alone(model, others)

    def learn(self, model, agents: Sequence) -> None:
        # Everyone takes part in imitation, so a rule-based villager may copy a human.
        self._keeping_humans(agents, lambda: self.base.learn(model, agents))

    def propose(self, model, agents: Sequence) -> list[Proposal]:
        return self._both(agents, lambda o: self.base.propose(model, o),
                          lambda h: self.human.propose(model, h))

    def update_beliefs(self, model, agents: Sequence) -> None:
        self._both(agents, lambda o: self.base.update_beliefs(model, o) or [None] * len(o),
                   lambda h: self.human.update_beliefs(model, h) or [None] * len(h))

    def adopt(self, model, agents: Sequence, proposals: list[Proposal]) -> Norm:
        if not self.words:
            return self.base.adopt(model, agents, proposals)  # the median of every cap
        humans, others = self._split(agents)
        ballot = [c.text for c in distinct([(p.agent, p.community) for p in proposals])]
        # A ballot of one needs no vote; the humans count towards its tally all the same.
        cast = (self.human.vote(model, humans, ballot) if len(ballot) > 1
                else {a.unique_id: 0 for a in humans})
        return self.base.adopt(model, others, proposals, cast=cast)

    def end_round(self, model) -> None:
        self.human.end_round(model)
        self.base.end_round(model)
