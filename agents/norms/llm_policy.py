"""LLM villagers of the norms scenario (Gupta et al., Sec. 4.2): every decision is a prompt.

Each living villager makes at most four calls a round: effort, whom to punish, a proposal (its
rewritten personal belief and a community policy) and a vote; without group decision the last
two become one belief update (its personal belief alone), so a villager still learns from its
own history. Each phase's calls go to the LLM layer together (``LLMClient.decide_all``:
concurrent, answers in villager-id order), so a run is reproducible and replayable. Social
learning happens in context, through the table of peers' efforts and payoffs in every prompt;
there is no strategy copying. Under ``llm.protocol = "paper"`` the villagers answer in free text
to the paper's output rules; under "schema" in bounded JSON.

Fallbacks when every attempt of a call fails (counted by the client, logged as warnings):
effort = the villager's previous effort (``FIRST_EFFORT`` on day 1); punish = nobody;
propose = keep the old belief and propose it; belief = keep it; vote = its own proposal (first
on the ballot if it proposed nothing).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from agents import llm_exchange
from agents.norms.beliefs import draw_initial_beliefs
from agents.norms.prompts import NormPrompts, Shown
from agents.norms.schemas import (MIN_PREDICT, NOBODY, TEXT_MIN, EffortAnswer, belief_schema,
                                 belief_text_parser, check_nonblank, parse_effort_text,
                                 propose_schema, propose_text_parser, punish_schema,
                                 punish_text_parser, vote_schema, vote_text_parser)
from agents.norms.view import Chronicle, view_for, watch_sample
from agents.peer_text import one_line
from agents.norms.policy import Norm, Proposal
from agents.norms.voting import Match, distinct, match_vote, plurality
from agents.norms.similarity import norm_similarity

FIRST_EFFORT = 0.5  # effort fallback on day 1, when a villager has no previous effort
EMBED_PHASE = "norms"  # call-log phase of the round's belief and norm embeddings


class LLMPolicy:
    """The ``DecisionPolicy`` of LLM villagers; ``model.llm`` is the client it calls."""

    def __init__(self, model):
        self.prompts = NormPrompts(model.config)
        self.text_max = self.prompts.text_max
        self.free_text = model.config.llm.protocol == "paper"
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
        living = model.living  # whom one may punish: every living peer, whoever decides
        for agent in agents:
            ids = [str(p.unique_id) for p in living if p is not agent]
            choices = (*ids, NOBODY)
            schema = punish_schema(choices)
            requests.append(self._request(model, agent, "punish", shown, schema,
                                          schema(punish=NOBODY), punish_text_parser(choices),
                                          choices=ids,
                                          watched=self._watch(model, agent, living)))
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

    def _watch(self, model, agent, living: Sequence) -> tuple[tuple[int, float], ...]:
        return watch_sample(model, agent, living, self.prompts.show.punish_sample)

    def _old_belief(self, agent) -> str:
        old = one_line(agent.belief_text or "", self.text_max)
        if len(old) < TEXT_MIN:  # cannot happen with validated answers; keep the schema's bound
            old = self.initial_beliefs[agent.unique_id]
        return old

    def propose(self, model, agents: Sequence) -> list[Proposal]:
        shown = Shown.for_model(model)
        schema = propose_schema(self.text_max)
        requests = []
        for agent in agents:
            old = self._old_belief(agent)
            keep = schema(personal=old, community=old)
            requests.append(self._request(model, agent, "propose", shown, schema, keep,
                                          propose_text_parser(self.text_max),
                                          check=check_nonblank))
        proposals = []
        for agent, d in zip(agents, self._decide_all(model, agents, requests)):
            # Stored as shown to others: one line, capped (see agents/peer_text.py).
            agent.belief_text = one_line(d.value.personal, self.text_max)
            community = one_line(d.value.community, self.text_max)
            proposals.append(Proposal(agent.unique_id, community, personal=agent.belief_text))
        return proposals

    def update_beliefs(self, model, agents: Sequence) -> None:
        """Without group decision: each villager rewrites its personal belief from what it saw
        (no proposal, no vote), as the paper's villagers learn from their own history."""
        shown = Shown.for_model(model)
        schema = belief_schema(self.text_max)
        requests = [self._request(model, a, "belief", shown, schema,
                                  schema(personal=self._old_belief(a)),
                                  belief_text_parser(self.text_max), check=check_nonblank)
                    for a in agents]
        for agent, d in zip(agents, self._decide_all(model, agents, requests)):
            agent.belief_text = one_line(d.value.personal, self.text_max)

    def adopt(self, model, agents: Sequence, proposals: list[Proposal],
              cast: dict[int, int] | None = None) -> Norm:
        """The plurality vote of ``agents`` on the distinct proposals; ``cast`` holds votes
        already given by other voters (human villagers): villager id -> ballot index."""
        cast = cast or {}
        self.ballot = distinct([(p.agent, p.community) for p in proposals])
        if not self.ballot:
            return Norm(self.norm_text, None) if self.norm_text else model.norm
        if len(self.ballot) == 1:
            # Everyone proposed the same policy: nothing to vote on, no calls.
            self.tally = [len(agents) + len(cast)]
            self.norm_text = self.ballot[0].text
            return Norm(self.norm_text, None)
        shown = Shown.for_model(model)
        texts = [c.text for c in self.ballot]
        own = {p.agent: p.community for p in proposals}
        schema = vote_schema(self.text_max)
        requests = [self._request(model, a, "vote", shown, schema,
                                  schema(policy=own.get(a.unique_id, texts[0])),
                                  vote_text_parser(self.text_max), check=check_nonblank,
                                  ballot=texts)
                    for a in agents]
        decisions = self._decide_all(model, agents, requests)
        votes = {a.unique_id: match_vote(d.value.policy, self.ballot)
                 for a, d in zip(agents, decisions)}
        votes.update({vid: Match(index, True, 1.0) for vid, index in cast.items()})
        voters = sorted(votes)  # every vote in villager-id order, whoever cast it
        winner, self.tally = plurality([votes[v].index for v in voters], len(self.ballot),
                                       model.rng)
        for vid in voters:
            m = votes[vid]
            chosen = self.ballot[m.index]
            model.log("vote", agent=vid, target=chosen.authors[0], value=m.score,
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
                 text_parser: Callable[[str], dict] | None, *, check=None, watched=(), **ask):
        from agents.llm.requests import DecisionRequest

        view = view_for(model, agent, phase, self.chronicle, agent.belief_text or "",
                        self.norm_text, watched)
        budget = model.config.llm.num_predict
        return DecisionRequest(
            agent_id=agent.unique_id, round=model.round, phase=phase,
            model=agent.llm_model or model.config.llm.model,
            messages=self.prompts.messages(phase, view, shown, **ask),
            schema=schema, fallback=fallback, text_parser=text_parser, check=check,
            # Free text: the model's answer budget as configured (reasoning needs room);
            # a grammar ends short answers itself, so the schema keeps a floor per phase.
            num_predict=budget if self.free_text else max(MIN_PREDICT[phase], budget),
            free_text=self.free_text,
        )

    def _decide_all(self, model, agents: Sequence, requests: list) -> list:
        return llm_exchange.ask(model, agents, requests)
