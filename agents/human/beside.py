"""One phase decided by people and by the run's other villagers at once, merged in order.

Both scenarios route a phase the same way: the humans' turns are asked in the calling thread
while the other villagers' decisions (LLM calls, or rule-based ones) run in a worker thread, so
nobody waits for the slower half; the results come back in the villagers' fixed order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any


def decide_beside(villagers: Sequence, is_human: Callable[[Any], bool],
                  for_humans: Callable[[list], Sequence], for_others: Callable[[list], Sequence],
                  pool: Executor) -> list:
    """``for_humans(humans)`` here and ``for_others(others)`` on ``pool``, merged in
    ``villagers`` order (each returns one result per villager it was given, in order)."""
    humans = [v for v in villagers if is_human(v)]
    others = [v for v in villagers if not is_human(v)]
    if not humans:
        return list(for_others(others))
    if not others:
        return list(for_humans(humans))
    pending = pool.submit(for_others, others)
    try:
        from_humans = for_humans(humans)
    finally:
        from_others = pending.result()  # the others' calls finish (and are logged) either way
    by_id = dict(zip([v.unique_id for v in others], from_others))
    by_id.update(zip([v.unique_id for v in humans], from_humans))
    return [by_id[v.unique_id] for v in villagers]
