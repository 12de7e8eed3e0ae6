"""The pool's dynamics and the seeded allocation of over-demanded stock."""

import numpy as np
import pytest
from scipy import stats

from model.govsim.allocation import allocate_proportional, allocate_stochastic
from model.govsim.pool import CommonPool


def test_requests_that_fit_are_granted_exactly():
    rng = np.random.default_rng(0)
    assert allocate_stochastic([10, 0, 30], 100, rng) == [10, 0, 30]
    assert allocate_proportional([10, 0, 30], 40, rng) == [10, 0, 30]


def test_allocation_is_reproducible_from_the_seed():
    asks = [40, 101, 60, 75, 90]
    a = [allocate_stochastic(asks, 100, np.random.default_rng(42)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    assert sum(a[0]) == 100 and all(0 <= g <= r for g, r in zip(a[0], asks))
    b = allocate_stochastic(asks, 100, np.random.default_rng(43))
    assert b != a[0]  # another seed, another draw


def test_allocation_is_fair_in_expectation():
    rng = np.random.default_rng(2024)
    draws = np.array([allocate_stochastic([100] * 5, 100, rng) for _ in range(2000)])
    assert (draws.sum(axis=1) == 100).all()
    # Every unit goes to one of five identical over-demanders uniformly: counts ~ multinomial.
    chi2, p = stats.chisquare(draws.sum(axis=0))
    assert p > 0.001, (draws.mean(axis=0), chi2)
    assert np.allclose(draws.mean(axis=0), 20, atol=0.5)
    # A modest request is met in full when the others ask for far more than the fair share.
    modest = np.array([allocate_stochastic([8, 100, 100, 100, 100], 100, rng) for _ in range(500)])
    assert (modest[:, 0] == 8).all()
    assert np.allclose(modest[:, 1:].mean(axis=0), 23, atol=0.6)


def test_proportional_allocation_sums_to_stock():
    rng = np.random.default_rng(1)
    got = allocate_proportional([50, 30, 20, 7], 50, rng)
    assert sum(got) == 50
    assert got[0] in (23, 24) and got[1] in (14, 15)


def test_negative_requests_are_rejected():
    with pytest.raises(ValueError):
        allocate_stochastic([-1, 3], 10, np.random.default_rng(0))


def test_pool_doubles_capped_and_collapses_below_five():
    pool = CommonPool(100)
    assert pool.villager_threshold(5) == 10 and pool.collective_threshold() == 50
    assert pool.take([10, 10, 10]) == 70
    pool.end_month()
    assert pool.stock == 100
    pool.take([30, 30])
    pool.end_month()
    assert pool.stock == 80 and pool.villager_threshold(5) == 8
    assert pool.villager_threshold(4) == 10
    assert not pool.is_collapse(5) and pool.is_collapse(4)
    with pytest.raises(ValueError):
        pool.take([81])


def test_trash_pool_grows_by_inflow_and_collapses_when_overfull():
    pool = CommonPool(100, inverse=True, inflow=50)
    assert pool.villager_threshold(5) == 10 and pool.collective_threshold() == 50
    pool.take([10] * 4)
    pool.end_month()
    assert pool.stock == 100
    pool.take([20, 20, 20, 20, 20])
    pool.end_month()
    assert pool.stock == 50
    assert pool.is_collapse(96) and not pool.is_collapse(95)
