"""The shared pool of a GovSim society: integer units, a hard capacity, monthly renewal.

Fishery, pasture and pollution share one rule: what is left after the harvest doubles, capped at
the capacity, and the commons collapses when fewer than ``collapse_below`` units are left. The
inverse "trash" framing turns the pool into a bad: villagers remove units, a fixed inflow arrives
every month (capped), and the house becomes unlivable when more than ``capacity - collapse_below``
units remain after the take-out (the Curvo et al. fork's numbers: +50 a month, collapse above 95).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CommonPool:
    stock: int
    capacity: int = 100
    collapse_below: int = 5
    inverse: bool = False  # True: the units are a bad (trash) that villagers remove
    inflow: int = 50  # inverse only: units added each month

    def __post_init__(self) -> None:
        self.stock = int(min(self.stock, self.capacity))

    # -- thresholds ---------------------------------------------------------------------------

    def collective_threshold(self, stock: int | None = None) -> int:
        """f(t) of the paper: the most the group can take so the pool is back to ``stock``.

        For the inverse framing it is the removal that balances the monthly inflow (the cap makes
        "does not grow" trivially true in a full house, so the fork's fixed 50 is kept).
        """
        h = self.stock if stock is None else int(stock)
        if self.inverse:
            return min(self.inflow, h)
        best = 0
        for x in range(h + 1):  # h <= capacity, at most a few hundred steps
            if self.renew(h - x) >= h:
                best = x
        return best

    def villager_threshold(self, n_present: int, stock: int | None = None) -> int:
        """Per-villager threshold told to agents: (h // 2) // N, or inflow // N for trash.

        N is the number of villagers actually present this month (GovSim kept the configured
        number, which is wrong in the newcomer experiment's first months).
        """
        h = self.stock if stock is None else int(stock)
        n = max(1, int(n_present))
        if self.inverse:
            return self.inflow // n
        return (h // 2) // n

    # -- dynamics -----------------------------------------------------------------------------

    def renew(self, remaining: int) -> int:
        """Next month's stock from what is left after the harvest."""
        if self.inverse:
            return min(self.capacity, int(remaining) + self.inflow)
        return min(self.capacity, 2 * int(remaining))

    def is_collapse(self, remaining: int) -> bool:
        if self.inverse:
            return int(remaining) > self.capacity - self.collapse_below
        return int(remaining) < self.collapse_below

    def take(self, amounts: list[int]) -> int:
        """Remove the allocated amounts; return what is left (the allocation never overdraws)."""
        total = int(sum(amounts))
        if total > self.stock:
            raise ValueError(f"allocated {total} units from a pool of {self.stock}")
        self.stock -= total
        return self.stock

    def end_month(self) -> None:
        self.stock = self.renew(self.stock)
