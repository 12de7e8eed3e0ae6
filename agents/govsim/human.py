"""Human villagers of GovSim: a person requests a harvest and speaks in the discussion.

The person sees what the villager's prompt holds, as readable parts: the rules of the pool
(the prompt book's own rendering), the villager's retrieved memories, the stock, and in the
discussion the conversation so far and who may speak next. Answers are bounded by the LLM
answers' schemas (agents/govsim/schemas.py): a request from 0 to the schema's top, an utterance
of bounded length, a next speaker among the participants. The limit is not the villagers' to
answer: the framework extracts it from the conversation, and the human reads the agreement among
their memories as an LLM villager does. A human villager writes no reflection notes (a person
keeps their own).

Time-limit fallbacks are the LLM villagers': the harvest fallback (``govsim.harvest_fallback``,
capped at the stock); silence for an utterance, which ends the discussion. Each is a
``fallback`` event, as for an LLM villager.
"""

from __future__ import annotations

import json

from agents.human.forms import fields_for
from agents.llm.requests import Decision

HARVEST_LABELS = {"reasoning": "Your reasoning (optional, kept in the record)",
                  "answer": "How much do you take"}
UTTERANCE_LABELS = {"response": "What you say", "ends_conversation": "End the discussion? (yes/no)",
                    "next_speaker": "Who speaks next"}
TIMED_OUT = "the human villager's time ran out"


def memory_items(policy, model, villager, query) -> list[list[str]]:
    """(date, text) of the memories the villager's prompt would list, oldest first."""
    return [[m.date, m.text] for m in policy.memory_items(model, villager, query)]


def harvest_shown(policy, model, villager, query) -> dict:
    book = policy.book
    return {"month": model.round, "name": villager.name, "date": book.date(model.round),
            "place": book.words["location"], "stock": model.pool.stock,
            "unit": book.words["unit_short"], "question": book.words["harvest_question"],
            "rules": policy.rules(model, villager), "persona": policy.persona(villager),
            "memories": memory_items(policy, model, villager, query)}


def utterance_shown(policy, model, speaker, lines, candidates, query) -> dict:
    book = policy.book
    return {"month": model.round, "name": speaker.name,
            "date": book.date(model.round, "discussion"), "place": book.words["meeting_place"],
            "stock": model.pool.stock, "unit": book.words["unit_short"],
            "rules": policy.rules(model, speaker),
            "persona": policy.persona(speaker),
            "memories": memory_items(policy, model, speaker, query),
            "participants": [v.name for v in model.present],
            "conversation": [[s, t] for s, t in lines], "candidates": list(candidates)}


def ask(model, villager, phase: str, title: str, shown: dict, schema, fallback, *, labels,
        check=None, choice_labels=None) -> Decision:
    """The person's answer as a ``Decision`` (no LLM attempt, no tokens), so the phase uses it
    as it uses an LLM villager's; ``fallback`` is True when the time ran out."""
    fields = fields_for(schema, labels, choice_labels=choice_labels)
    answer = model.humans.ask(agent=villager.unique_id, round=model.round, phase=phase,
                              title=title, shown=shown, fields=fields, schema=schema,
                              fallback=fallback, check=check)
    raw = json.dumps(answer.value.model_dump(mode="json"), ensure_ascii=False)
    villager.last_exchange = {"round": model.round, "phase": phase, "model": "human",
                              "messages": [{"role": "human", "content": json.dumps(
                                  shown, ensure_ascii=False)}],
                              "answer": raw, "value": answer.value.model_dump(),
                              "fallback": answer.timed_out}
    return Decision(value=answer.value, fallback=answer.timed_out, attempts=1, prompt_tokens=0,
                    answer_tokens=0, latency_s=0.0, raw=raw, clean=raw,
                    error=TIMED_OUT if answer.timed_out else None)
