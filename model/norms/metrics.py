"""Metrics of the norms scenario's rounds."""

from __future__ import annotations


def gini(values) -> float:
    """Gini coefficient of non-negative values (0 = equal); negative wealth is floored at 0.

    Plain Python on purpose: it runs every round on ~10 values, where numpy's call overhead
    costs more than the arithmetic.
    """
    x = sorted(max(0.0, float(v)) for v in values)
    n = len(x)
    total = sum(x)
    if n == 0 or total == 0:
        return 0.0
    return sum((2 * i - n - 1) * v for i, v in enumerate(x, start=1)) / (n * total)
