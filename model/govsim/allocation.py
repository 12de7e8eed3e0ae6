"""Sharing out a pool among simultaneous integer requests.

When the requests fit in the pool everyone gets what they asked for. Otherwise GovSim's default
("stochastic") hands the units out one at a time, each to a villager drawn uniformly among those
still short of their request, so over-demanders end up with about equal shares. The alternative
("proportional") gives floor(stock * request / total) and hands the few remaining units to
rounded-down villagers with probability proportional to what they still lack.

Both draw from the model's seeded generator (GovSim's own generator was never seeded, so its
allocations could not be reproduced).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def _check(requests: Sequence[int], stock: int) -> list[int]:
    asked = [int(r) for r in requests]
    if any(r < 0 for r in asked):
        raise ValueError(f"negative request in {asked}")
    if stock < 0:
        raise ValueError(f"negative stock {stock}")
    return asked


def allocate_stochastic(requests: Sequence[int], stock: int, rng: np.random.Generator) -> list[int]:
    """Unit-by-unit random allocation; each unit goes to a uniformly drawn unsatisfied villager."""
    asked = _check(requests, stock)
    if sum(asked) <= stock:
        return asked
    got = [0] * len(asked)
    open_ = [i for i, r in enumerate(asked) if r > 0]
    for _ in range(int(stock)):
        k = int(rng.integers(len(open_)))
        i = open_[k]
        got[i] += 1
        if got[i] == asked[i]:
            open_.pop(k)
    return got


def allocate_proportional(requests: Sequence[int], stock: int, rng: np.random.Generator) -> list[int]:
    """Floor of the proportional share; leftover units drawn by outstanding request."""
    asked = _check(requests, stock)
    total = sum(asked)
    if total <= stock:
        return asked
    got = [stock * r // total for r in asked]
    left = stock - sum(got)
    short = [i for i in range(len(asked)) if got[i] < asked[i]]
    while left > 0 and short:
        need = np.array([asked[i] - got[i] for i in short], dtype=float)
        k = int(rng.choice(len(short), p=need / need.sum()))
        i = short.pop(k)  # one extra unit per villager at most, like rounding up
        got[i] += 1
        left -= 1
    return got


ALLOCATORS = {"stochastic": allocate_stochastic, "proportional": allocate_proportional}


def allocate(strategy: str, requests: Sequence[int], stock: int, rng: np.random.Generator) -> list[int]:
    return ALLOCATORS[strategy](requests, stock, rng)
