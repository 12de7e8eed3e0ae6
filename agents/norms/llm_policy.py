"""LLM villagers of the norms scenario (Gupta et al., Sec. 4.2): every decision is a prompt.

Each living villager makes at most four calls a round: effort, whom to punish, a proposal (its
rewritten personal belief and a community policy) and a vote. Each phase's calls go to the LLM
layer together (``LLMClient.decide_all``: concurrent, answers in villager-id order), so a run is
reproducible and replayable. Social learning happens in context, through the table of peers'
efforts and payoffs in every prompt; there is no strategy copying.

Fallbacks when every attempt of a call fails (counted by the client, logged as warnings):
effort = the villager's previous effort (``FIRST_EFFORT`` on day 1); punish = nobody;
propose = keep the old belief and propose it; vote = its own proposal (first on the ballot if
it proposed nothing).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from agents import llm_exchange
from agents.norms.beliefs import draw_initial_beliefs
from agents.norms.prompts import NormPrompts, Shown
from agents.norms.schemas import (BELIEF_MAX, MIN_PREDICT, NOBODY, POLICY_MAX, TEXT_MIN,
                                 EffortAnswer, ProposeAnswer, VoteAnswer, check_nonblank,
                                 parse_effort_text, parse_propose_text, parse_vote_text,
                                 punish_schema, punish_text_parser)
from agents.norms.view import Chronicle, view_for
from agents.peer_text import one_line
from agents.norms.policy import Norm, Proposal
from agents.norms.voting import distinct, match_vote, plurality
from agents.norms.similarity import norm_similarity

FIRST_EFFORT = 0.5  # effort fallback on day 1, when a villager has no previous effort
EMBED_PHASE = "norms"  # call-log phase of the round's belief and norm embeddings


class LLMPolicy:
    """The ``DecisionPolicy`` of LLM villagers; ``model.llm`` is the client it calls."""

    def __init__(self, model):
        self.prompts = NormPrompts(model.config)
        self.chronicle = Chronicle()
        self.norm_text: str | None = None  # the adopted community policy, verbatim
        self.ballot: list = []  # this round's distinct proposals (voting.Candidate)
        self.tally: list[int] = []  # their vote counts
        self._embedded: tuple[tuple[str, ...], np.ndarray] | None = None
        villagers = sorted(model.agents, key=lambda a: a.unique_id)
        self.initial_beliefs = {}
        for agent, belief in zip(villagers, draw_initial_beliefs(villagers, model.rng)):
            agent.belief_text = self.initial_beliefs[agent.unique_id] = belief
        self.measure_norms(model)  # day 0: similarity of the initial beliefs

    # -- the four decisions ------------------------------------------------------------------

    def choose_efforts(self, model, agents: Sequence) -> list[float]:
        shown = Shown.for_model(model)
        requests = [self._request(model, a, "effort", shown, EffortAnswer,
                                  EffortAnswer(effort=self._previous_effort(a)),
                                  parse_effort_text) for a in agents]
        return [float(d.value.effort) for d in self._decide_all(model, agents, requests)]

    def choose_targets(self, model, agents: Sequence) -> list[int | None]:
        shown = Shown.for_model(model)
        requests = []
        for agent in agents:
            ids = [str(p.unique_id) for p in agents if p is not agent]
            choices = (*ids, NOBODY)
            schema = punish_schema(choices)
            requests.append(self._request(model, agent, "punish", shown, schema,
                                          schema(punish=NOBODY), punish_text_parser(choices),
                                          choices=ids))
        targets = []
        for agent, d in zip(agents, self._decide_all(model, agents, requests)):
            target = None if d.value.punish == NOBODY else int(d.value.punish)
            self.chronicle.targets[agent.unique_id] = target
            targets.append(target)
        return targets

    def learn_alone(self, model, agents: Sequence) -> None:
        """In-context learning needs no step: each villager's own record is in every prompt."""

    def learn(self, model, agents: Sequence) -> None:
        """In-context learning needs no step: the peers' table is in every prompt."""

    def propose(self, model, agents: Sequence) -> list[Proposal]:
        shown = Shown.for_model(model)
        requests = []
        for agent in agents:
            old = one_line(agent.belief_text or "", min(BELIEF_MAX, POLICY_MAX))
            if len(old) < TEXT_MIN:  # cannot happen with validated answers; keep the schema's bound
                old = self.initial_beliefs[agent.unique_id]
            keep = ProposeAnswer(personal=old, community=old)
            requests.append(self._request(model, agent, "propose", shown, ProposeAnswer, keep,
                                          parse_propose_text, check=check_nonblank))
        proposals = []
        for agent, d in zip(agents, self._decide_all(model, agents, requests)):
            # Stored as shown to others: one line, capped (see agents/peer_text.py).
            agent.belief_text = one_line(d.value.personal, BELIEF_MAX)
            community = one_line(d.value.community, POLICY_MAX)
            proposals.append(Proposal(agent.unique_id, community, personal=agent.belief_text))
        return proposals

    def adopt(self, model, agents: Sequence, proposals: list[Proposal]) -> Norm:
        self.ballot = distinct([(p.agent, p.community) for p in proposals])
        if not self.ballot:
            return Norm(self.norm_text, None) if self.norm_text else model.norm
        if len(self.ballot) == 1:
            # Everyone proposed the same policy: nothing to vote on, no calls.
            self.tally = [len(agents)]
            self.norm_text = self.ballot[0].text
            return Norm(self.norm_text, None)
        shown = Shown.for_model(model)
        texts = [c.text for c in self.ballot]
        own = {p.agent: p.community for p in proposals}
        requests = [self._request(model, a, "vote", shown, VoteAnswer,
                                  VoteAnswer(policy=own.get(a.unique_id, texts[0])),
                                  parse_vote_text, check=check_nonblank, ballot=texts)
                    for a in agents]
        decisions = self._decide_all(model, agents, requests)
        matches = [match_vote(d.value.policy, self.ballot) for d in decisions]
        winner, self.tally = plurality([m.index for m in matches], len(self.ballot), model.rng)
        for agent, m in zip(agents, matches):
            chosen = self.ballot[m.index]
            model.log("vote", agent=agent.unique_id, target=chosen.authors[0], value=m.score,
                      text=chosen.text)
        self.norm_text = self.ballot[winner].text
        return Norm(self.norm_text, None)

    # -- end of round: memory and norm similarity ------------------------------------------

    def end_round(self, model) -> None:
        """After the round's modules, before the model takes its LLM counters and records."""
        self.chronicle.close_round(model)
        self.measure_norms(model)

    def measure_norms(self, model) -> None:
        """S_ind and S_align of the living villagers' beliefs; S_norm, their mean cosine to the
        adopted norm. Embeddings come from ``config.llm.embedding_model``."""
        living = model.living
        if model.llm is None or not living:
            return
        texts = tuple(a.belief_text or "" for a in living)
        if self.norm_text is not None:
            texts += (self.norm_text,)
        if self._embedded is not None and self._embedded[0] == texts:
            vectors = self._embedded[1]  # nothing changed (e.g. group decision switched off)
        else:
            vectors = model.llm.embed(list(texts), round=model.round, phase=EMBED_PHASE)
            self._embedded = (texts, vectors)
        beliefs = vectors[: len(living)]
        model.s_ind, model.s_align = norm_similarity(beliefs)
        if self.norm_text is not None:
            model.s_norm = float(np.mean(beliefs @ vectors[-1]))

    # -- plumbing ---------------------------------------------------------------------------

    def _previous_effort(self, agent) -> float:
        past = self.chronicle.records.get(agent.unique_id)
        return past[-1].effort if past else FIRST_EFFORT

    def _request(self, model, agent, phase: str, shown: Shown, schema, fallback,
                 text_parser: Callable[[str], dict] | None, *, check=None, **ask):
        from agents.llm.requests import DecisionRequest

        view = view_for(model, agent, phase, self.chronicle, agent.belief_text or "",
                        self.norm_text)
        return DecisionRequest(
            agent_id=agent.unique_id, round=model.round, phase=phase,
            model=agent.llm_model or model.config.llm.model,
            messages=self.prompts.messages(phase, view, shown, **ask),
            schema=schema, fallback=fallback, text_parser=text_parser, check=check,
            num_predict=max(MIN_PREDICT[phase], model.config.llm.num_predict),
        )

    def _decide_all(self, model, agents: Sequence, requests: list) -> list:
        return llm_exchange.ask(model, agents, requests)
