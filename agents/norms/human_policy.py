"""Human villagers of the norms scenario: a person decides effort, whom to punish, a proposal
and a vote, seeing what an LLM villager's prompt holds, as readable content.

What is shown comes from the same ``View`` the prompts are rendered from (agents/norms/view.py)
and the same switches (``Shown``, the run's ``[prompt]`` settings): without social learning no
peers' table, without group decision no norm; the punisher's watched sample is drawn as for an
LLM villager. Answers are bounded by the LLM answers' schemas (agents/norms/schemas.py). In a
rule-based society a proposal is a cap in fish (the rule-based kind of norm, pooled by the
median); in an LLM society it is text (a personal belief and a community policy, then a vote).

Fallbacks when the time runs out are the LLM villagers': effort = the previous effort (0.5 on
day 1); punish = nobody; propose = keep the belief and propose it (a rule-based society: the
villager's current cap belief); belief update = keep it; vote = its own proposal (the first on
the ballot if it proposed none).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from agents.human.forms import Choice, Field, fields_for
from agents.norms.llm_policy import FIRST_EFFORT
from agents.norms.policy import Proposal
from agents.norms.prompts import NormPrompts, Shown
from agents.norms.rule_policy import norm_text
from agents.norms.schemas import (
    NOBODY,
    EffortAnswer,
    belief_schema,
    cap_schema,
    check_nonblank,
    propose_schema,
    punish_schema,
    vote_schema,
)
from agents.norms.view import Chronicle, View, view_for, watch_sample
from agents.peer_text import one_line

LABELS = {"effort": "Effort today (0 = stay home, 1 = fish as hard as you can)",
          "punish": "Punish", "cap": "Proposed cap (fish per villager per day)",
          "personal": "Your personal belief", "community": "Proposed community policy",
          "policy": "Your vote"}
TITLES = {"effort": "How hard do you fish today?", "punish": "Whom do you punish today?",
          "propose": "Propose a community policy", "belief": "Rewrite your personal belief",
          "vote": "Vote for a community policy"}


class HumanPolicy:
    """Decisions of the human villagers of a norms run (``model.humans`` asks them)."""

    def __init__(self, model):
        self.prompts = NormPrompts(model.config)
        self.show = self.prompts.show
        self.words = model.config.policy == "llm"  # an LLM society: norms in words
        self.text_max = self.prompts.text_max
        self.chronicle = Chronicle()
        self.own: dict[int, str] = {}  # this round's proposals of the humans, for the fallback

    # -- the decisions -------------------------------------------------------------------------

    def choose_efforts(self, model, agents: Sequence) -> list[float]:
        fields = fields_for(EffortAnswer, LABELS, steps={"effort": 0.01})

        def ask(agent):
            past = self.chronicle.records.get(agent.unique_id)
            fallback = EffortAnswer(effort=past[-1].effort if past else FIRST_EFFORT)
            return self._ask(model, agent, "effort", fields, EffortAnswer, fallback).effort
        return [float(e) for e in self._each(agents, ask)]

    def choose_targets(self, model, agents: Sequence) -> list[int | None]:
        living = model.living

        def ask(agent):
            ids = [str(p.unique_id) for p in living if p is not agent]
            schema = punish_schema((*ids, NOBODY))
            fields = fields_for(schema, LABELS, choice_labels={"punish": {
                NOBODY: "nobody", **{i: f"villager {i}" for i in ids}}})
            watched = watch_sample(model, agent, living, self.show.punish_sample)
            answer = self._ask(model, agent, "punish", fields, schema, schema(punish=NOBODY),
                               watched=watched, choices=ids)
            target = None if answer.punish == NOBODY else int(answer.punish)
            self.chronicle.targets[agent.unique_id] = target
            return target
        return self._each(agents, ask)

    def propose(self, model, agents: Sequence) -> list[Proposal]:
        if not self.words:
            top = float(model.config.norms.capacity)
            schema = cap_schema(top)
            fields = fields_for(schema, LABELS, steps={"cap": 0.1})

            def ask_cap(agent):
                keep = schema(cap=min(top, max(0.0, float(agent.belief))))
                cap = float(self._ask(model, agent, "propose", fields, schema, keep).cap)
                agent.belief = cap  # a rule-based peer imitating this villager copies its cap
                return Proposal(agent.unique_id, norm_text(cap), cap=cap)
            return self._each(agents, ask_cap)
        schema = propose_schema(self.text_max)
        fields = fields_for(schema, LABELS)

        def ask_text(agent):
            old = self._old_belief(agent)
            answer = self._ask(model, agent, "propose", fields, schema,
                               schema(personal=old, community=old), check=check_nonblank)
            agent.belief_text = one_line(answer.personal, self.text_max)
            community = one_line(answer.community, self.text_max)
            self.own[agent.unique_id] = community
            return Proposal(agent.unique_id, community, personal=agent.belief_text)
        return self._each(agents, ask_text)

    def vote(self, model, agents: Sequence, ballot: Sequence[str]) -> dict[int, int]:
        """Each human's vote: villager id -> index on ``ballot``."""
        schema = vote_schema(self.text_max)
        fields = (Field("policy", LABELS["policy"], "choice",
                        choices=tuple(Choice(t, f"{i + 1}. {t}") for i, t in enumerate(ballot))),)

        def ask(agent):
            own = self.own.get(agent.unique_id)
            fallback = schema(policy=own if own in ballot else ballot[0])
            answer = self._ask(model, agent, "vote", fields, schema, fallback, ballot=ballot)
            return ballot.index(answer.policy)
        votes = self._each(agents, ask)
        self.own = {}
        return {a.unique_id: v for a, v in zip(agents, votes)}

    def update_beliefs(self, model, agents: Sequence) -> None:
        schema = belief_schema(self.text_max)
        fields = fields_for(schema, LABELS)

        def ask(agent):
            answer = self._ask(model, agent, "belief", fields, schema,
                               schema(personal=self._old_belief(agent)), check=check_nonblank)
            agent.belief_text = one_line(answer.personal, self.text_max)
        self._each(agents, ask)

    def end_round(self, model) -> None:
        self.chronicle.close_round(model)

    # -- what a human sees ---------------------------------------------------------------------

    def shown(self, model, agent, phase: str, *, watched=(), choices=(), ballot=()) -> dict:
        """The readable content of one turn (recorded with the answer)."""
        shown_parts = Shown.for_model(model)
        belief = agent.belief_text or ""
        view = view_for(model, agent, phase, self.chronicle, belief,
                        model.norm.text if model.norm.text and _adopted(model) else None,
                        watched)
        return content(view, shown_parts, self.show, self.prompts.numbers,
                       words=self.words, phase=phase, choices=choices, ballot=ballot,
                       cap=model.norm.cap)

    # -- plumbing ------------------------------------------------------------------------------

    def _ask(self, model, agent, phase, fields, schema, fallback, *, check=None, **shown_kw):
        return model.humans.ask(
            agent=agent.unique_id, round=model.round, phase=phase,
            title=f"Day {model.round}, villager {agent.unique_id}: {TITLES[phase]}",
            shown=self.shown(model, agent, phase, **shown_kw), fields=fields, schema=schema,
            fallback=fallback, check=check).value

    def _old_belief(self, agent) -> str:
        return one_line(agent.belief_text or "", self.text_max) or "Fish with care."

    @staticmethod
    def _each(agents: Sequence, ask: Callable) -> list:
        """``ask`` for every human villager; several humans answer at the same time (each at
        their own screen), results in villager-id order."""
        if len(agents) <= 1:
            return [ask(a) for a in agents]
        with ThreadPoolExecutor(max_workers=len(agents), thread_name_prefix="human") as pool:
            return list(pool.map(ask, agents))


def _adopted(model) -> bool:
    """A norm has been voted on (the model starts with a placeholder text and no cap)."""
    return any(e.kind == "norm" for e in model.events)


def content(view: View, shown: Shown, show, numbers: dict, *, words: bool, phase: str,
            choices=(), ballot=(), cap: float | None = None) -> dict:
    """``View`` as the sections a form shows: the lake, the villager's record, the peers'
    table, the norm, the ballot. Parts the run keeps from its LLM villagers are left out."""
    out: dict = {"day": view.day, "villager": view.id, "phase": phase,
                 "lake": {"stock": round(view.stock, 1)},
                 "rules": {"eat_per_day": float(numbers["consumption"]),
                           **({"fine": float(numbers["penalty"]),
                               "punish_cost": float(numbers["punish_cost"])}
                              if shown.punishment else {})}}
    if show.capacity:
        out["lake"]["capacity"] = round(view.capacity, 1)
    if show.lake_history and view.lake_history:
        out["lake"]["history"] = [[d, round(s, 1)] for d, s in view.lake_history]
    record = []
    for rec in view.record:
        row = {"day": rec.day, "effort": round(rec.effort, 2), "punished_by": rec.received,
               "you_punished": rec.target, "payoff_after": round(rec.payoff, 1)}
        if show.catch:
            row["catch"] = round(rec.catch, 1)
        record.append(row)
    out["record"] = record
    if view.today is not None:
        out["today"] = {"effort": round(view.today[0], 2),
                        **({"catch": round(view.today[1], 1)} if show.catch else {})}
    out["payoff"] = round(view.payoff, 1)
    if words:
        out["belief"] = view.belief
    if shown.norm:
        out["norm"] = view.norm if words else (None if cap is None else view.norm)
    if shown.peers:
        out["peers"] = [{"id": p.id, "you": p.id == view.id, "alive": p.alive,
                         "effort": None if p.effort is None or not p.alive else round(p.effort, 2),
                         "payoff": round(p.payoff, 1), "died_day": p.died_day}
                        for p in view.peers]
    if view.watched:
        out["watched"] = [{"id": i, "effort": round(e, 2)} for i, e in view.watched]
    if choices:
        out["choices"] = list(choices)
    if ballot:
        out["ballot"] = list(ballot)
    return out
