"""The lake of the norms scenario: a stock with logistic regrowth (Gupta et al., Sec. 3.1.2)."""

from __future__ import annotations

from typing import Sequence


class Lake:
    """Stock R in [0, K]. Catches follow h_i = alpha * e_i * R, shared pro rata when short."""

    def __init__(self, capacity: float, growth_rate: float, stock: float, catchability: float):
        self.capacity = float(capacity)
        self.growth_rate = float(growth_rate)
        self.stock = float(min(max(stock, 0.0), capacity))
        self.catchability = float(catchability)
        self.stock_before_harvest = self.stock

    @property
    def optimal_harvest(self) -> float:
        """H_opt = r K / 4, the maximum sustainable yield of logistic growth."""
        return self.growth_rate * self.capacity / 4.0

    def harvest(self, efforts: Sequence[float]) -> list[float]:
        """Remove the catches for ``efforts`` (each clipped to [0, 1]) and return them.

        The paper does not say how a shortfall is shared when the demand exceeds the stock;
        scaling every catch by the same factor keeps each villager's share of the demand.
        Plain Python: about ten villagers, where numpy's per-call overhead dominates.
        """
        self.stock_before_harvest = self.stock
        stock = self.stock
        demand = [self.catchability * min(1.0, max(0.0, e)) * stock for e in efforts]
        total = sum(demand)
        if total > stock:
            demand = [d * stock / total for d in demand]
            total = stock
        self.stock = max(0.0, stock - total)
        return demand

    def regrow(self) -> None:
        """R(t+1) = R+ + r R+ (1 - R+/K), clamped to [0, K]."""
        s = self.stock
        self.stock = float(min(self.capacity, max(0.0, s + self.growth_rate * s * (1 - s / self.capacity))))
