"""The lake of the norms scenario: a stock with logistic regrowth (Gupta et al., Sec. 3.1.2)."""

from __future__ import annotations

import numpy as np


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

    def harvest(self, efforts: np.ndarray) -> np.ndarray:
        """Remove the catches for ``efforts`` and return them.

        The paper does not say how a shortfall is shared when the demand exceeds the stock;
        scaling every catch by the same factor keeps each villager's share of the demand.
        """
        efforts = np.clip(np.asarray(efforts, dtype=float), 0.0, 1.0)
        self.stock_before_harvest = self.stock
        demand = self.catchability * efforts * self.stock
        total = demand.sum()
        if total > self.stock > 0:
            demand *= self.stock / total
        elif self.stock <= 0:
            demand[:] = 0.0
        self.stock = max(0.0, self.stock - demand.sum())
        return demand

    def regrow(self) -> None:
        """R(t+1) = R+ + r R+ (1 - R+/K), clamped to [0, K]."""
        s = self.stock
        self.stock = float(min(self.capacity, max(0.0, s + self.growth_rate * s * (1 - s / self.capacity))))
