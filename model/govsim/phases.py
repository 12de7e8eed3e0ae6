"""The phases of a GovSim month, in order, as engine modules.

arrival (the newcomer joins) -> harvest (simultaneous requests, allocation, each villager learns
its own result) -> discussion (the reporter's figures, villagers' utterances, the framework's
summary and limit extraction) -> reflection (notes into memory) -> month end (collapse check,
then renewal). As in GovSim, the collapse is judged at the month's end, so the discussion and
reflection of the collapsing month still happen.
"""

from __future__ import annotations

from model.engine import Module
from model.govsim.allocation import allocate


def observe_pool(model, villagers) -> None:
    """Start of a month: each villager is told the stock (and, with universalization, the
    per-villager threshold (h // 2) // N for the N villagers actually present)."""
    book, pool = model.book, model.pool
    for v in villagers:
        v.start_month()
    model.stock_before = pool.stock
    model.threshold = pool.villager_threshold(len(villagers))
    date = book.date(model.round)
    for v in villagers:
        v.memory.add(model.round, date, "observation",
                     book.word("pool_observation", stock=pool.stock), always=True)
        if model.config.govsim.universalization:
            v.memory.add(model.round, date, "observation",
                         book.word("universalization", threshold=model.threshold), always=True)


class Arrival(Module):
    name = "arrival"

    def __call__(self, model) -> None:
        if model.round == model.newcomer_month:
            model.add_newcomer()


class HarvestPhase(Module):
    name = "harvest"

    def __call__(self, model) -> None:
        g, book, pool = model.config.govsim, model.book, model.pool
        villagers = model.present
        observe_pool(model, villagers)
        date = book.date(model.round)
        if pool.stock == 0:
            # Nothing to take: GovSim skips the call and records a request of 0.
            decisions = [None] * len(villagers)
            requests = [0] * len(villagers)
            model.log("skip", text="empty pool: no harvest calls")
        else:
            decisions = model.policy.harvest(model, villagers)
            requests = [int(d.value.answer) for d in decisions]
        got = allocate(g.allocation, requests, pool.stock, model.rng)
        pool.take(got)
        model.stock_after_harvest = pool.stock
        for v, wanted, amount, d in zip(villagers, requests, got, decisions):
            v.wanted = wanted
            v.last_request = wanted
            v.harvest_fallback = bool(d is not None and d.fallback)
            v.receive(amount)
            v.memory.add(model.round, date, "observation",
                         book.word("own_result", name=v.name, wanted=wanted, caught=amount),
                         always=True)
            model.log("harvest", agent=v.unique_id, value=amount, text=f"wanted {wanted}")
            model.harvest_rows.append({
                "round": model.round, "agent": v.unique_id, "name": v.name,
                "persona": v.persona, "model": v.llm_model, "pool_before": model.stock_before,
                "pool_after": pool.stock, "threshold": model.threshold,
                "present": len(villagers), "wanted": wanted, "collected": amount,
                "fallback": v.harvest_fallback,
                "prompt": None if d is None else v.last_exchange["messages"][-1]["content"],
                "completion": None if d is None else d.raw,
            })


class DiscussionPhase(Module):
    name = "discussion"

    def __call__(self, model) -> None:
        talk = model.policy.discuss(model, model.present)
        book = model.book
        for row in talk.rows:
            model.utterance_rows.append({"round": model.round, **row})
            if row["agent"] is not None and not row["fallback"]:
                model.log("utterance", agent=row["agent"], text=row["text"])
        model.utterances = talk.villager_utterances
        model.agreed_limit = talk.limit
        model.summary_text = talk.summary
        date = book.date(model.round, "discussion")
        for v in model.present:
            if talk.summary:
                v.memory.add(model.round, date, "summary", talk.summary)
            if talk.limit is not None:
                v.memory.add(model.round, date, "agreement", book.limit_thought(talk.limit),
                             always=True)
        if talk.limit is not None:
            model.log("limit", value=talk.limit)
        model.discussion_rows.append({
            "round": model.round, "utterances": talk.villager_utterances,
            "summary": talk.summary, "limit": talk.limit,
            **{k: talk.framework.get(k) for k in ("summary_prompt", "summary_completion",
                                                  "summary_fallback", "limit_prompt",
                                                  "limit_completion", "limit_fallback")},
        })


class ReflectionPhase(Module):
    name = "reflection"

    def __call__(self, model) -> None:
        villagers = model.present
        decisions = model.policy.reflect(model, villagers)
        date = model.book.date(model.round, "end")
        for v, d in zip(villagers, decisions):
            for note in d.value.notes:
                v.memory.add(model.round, date, "note", note.strip())


class MonthEnd(Module):
    name = "month_end"

    def __call__(self, model) -> None:
        if model.pool.is_collapse(model.stock_after_harvest):
            model.collapse_reason = "overfull" if model.pool.inverse else "stock"
            model.log("collapse", value=model.stock_after_harvest)
        else:
            model.pool.end_month()
