"""Asking the LLM for one phase of villagers' decisions, and keeping each villager's exchange."""

from __future__ import annotations

from typing import Sequence


def ask(model, villagers: Sequence, requests: list) -> list:
    """Decide ``requests`` (one per villager, same order) concurrently through ``model.llm``.

    Each villager keeps its latest prompt and answer in ``last_exchange`` (the live page shows
    it on click).
    """
    if model.llm is None:
        raise RuntimeError("LLM villagers need an LLM client: run them through "
                           "model.runner.run, or pass llm_client= to the model")
    decisions = model.llm.decide_all(requests)
    for villager, req, d in zip(villagers, requests, decisions):
        villager.last_exchange = {"round": req.round, "phase": req.phase, "model": req.model,
                                  "messages": req.messages, "answer": d.raw,
                                  "value": d.value.model_dump(), "fallback": d.fallback}
    return decisions
