"""Speed of the Mesa engine beside a plain numpy kernel of the same dynamics.

Runs a batch of rule-based runs (default 100 runs x 100 rounds x 10 villagers) through
``NormsModel`` (with its DataCollector, as every run has it) and through a kernel written only
for this comparison: the same round (harvest, punishment, starvation, imitation, median norm,
regrowth) on numpy arrays, one run at a time, vectorised over the villagers. Both are timed in
this one process, alternating, and the figures are printed as agent-rounds per second and their
ratio. A second kernel figure, vectorised over all runs at once, is printed for context.

    .venv/bin/python benchmarks/engine.py [--runs 100] [--rounds 100] [--agents 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.norms.model import NormsModel  # noqa: E402
from model.config import RunConfig  # noqa: E402

# A society that survives the whole horizon, so every run does the full number of rounds.
BENCH_OVERRIDES = {"norms.population": "mixed", "norms.environment": "rich",
                   "norms.consumption": 0.5, "norms.collapse_threshold": 0.0}


def engine_batch(config: RunConfig, runs: int) -> int:
    agent_rounds = 0
    for seed in range(runs):
        model = NormsModel(config, rng=seed)
        while model.running:
            agent_rounds += len(model.living)
            model.step()
    return agent_rounds


def _traits(cfg, rng, n):
    n_alt = int(round(n * cfg.norms.altruist_share))
    alt = np.arange(n) < n_alt
    effort = np.where(alt, rng.uniform(0.2, 0.5, n), rng.uniform(0.7, 1.0, n))
    belief = np.where(alt, rng.uniform(4, 8, n), rng.uniform(10, 14, n))
    monitor = rng.uniform(0.5, 1.0, n)
    punish = np.where(alt, rng.uniform(0.4, 0.5, n), rng.uniform(0.0, 0.1, n))
    return effort, belief, monitor, punish


def kernel_batch(config: RunConfig, runs: int) -> int:
    """The same dynamics with arrays over the villagers of one run."""
    c, lc = config.norms, config.learning
    n = c.n_agents
    agent_rounds = 0
    idx = np.arange(n)
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        effort, belief, monitor, punish = _traits(config, rng, n)
        wealth = np.full(n, c.initial_wealth)
        smooth = np.zeros(n)
        alive = np.ones(n, dtype=bool)
        stock, cap = c.stock0, np.nan
        for _ in range(config.rounds):
            live = idx[alive]
            k = live.size
            agent_rounds += k
            demand = c.catchability * effort[live] * stock
            total = demand.sum()
            if total > stock:
                demand *= stock / total
                total = stock
            stock -= total
            payoff = demand - c.consumption
            # punishment: one random other villager each, inspected and punished by chance
            j = rng.integers(k - 1, size=k)
            peer = j + (j >= np.arange(k))
            limit = np.where(np.isnan(cap), belief[live], cap)
            hit = (rng.random(k) < monitor[live]) & (demand[peer] > limit) & (rng.random(k) < punish[live])
            payoff -= hit * c.punish_cost
            punished = np.zeros(k, dtype=bool)
            punished[peer[hit]] = True
            payoff -= punished * c.penalty
            wealth[live] += payoff
            if (wealth[live] < 0).any() or stock <= c.collapse_threshold:
                break
            # imitation by the Fermi rule, synchronous, with mutation
            smooth[live] = (1 - lc.payoff_smoothing) * smooth[live] + lc.payoff_smoothing * payoff
            revise = rng.random(k) < lc.revision_prob
            j = rng.integers(k - 1, size=k)
            other = live[j + (j >= np.arange(k))]
            p_copy = 1 / (1 + np.exp(-lc.selection_strength * (smooth[other] - smooth[live])))
            copy = revise & (rng.random(k) < p_copy)
            if copy.any():
                who, src = live[copy], other[copy]
                noise = rng.normal(0, lc.mutation_sd, size=(who.size, 4))
                effort[who] = np.clip(effort[src] + noise[:, 0], 0, 1)
                monitor[who] = np.clip(monitor[src] + noise[:, 1], 0, 1)
                belief[who] = np.maximum(0, belief[src] + noise[:, 2] * c.catchability * c.capacity)
                punish[who] = np.clip(punish[src] + noise[:, 3], 0, 1)
            cap = float(np.median(belief[live]))
            stock = min(c.capacity, stock + c.r * stock * (1 - stock / c.capacity))
    return agent_rounds


def kernel_batch_all_runs(config: RunConfig, runs: int) -> int:
    """Harvest, consumption and regrowth only, vectorised over runs and villagers at once."""
    c = config.norms
    rng = np.random.default_rng(0)
    effort = rng.uniform(0, 1, size=(runs, c.n_agents))
    stock = np.full(runs, c.stock0)
    wealth = np.full((runs, c.n_agents), c.initial_wealth)
    for _ in range(config.rounds):
        demand = c.catchability * effort * stock[:, None]
        total = demand.sum(axis=1)
        scale = np.where(total > stock, stock / np.maximum(total, 1e-12), 1.0)
        demand *= scale[:, None]
        stock = stock - demand.sum(axis=1)
        wealth += demand - c.consumption
        stock = np.minimum(c.capacity, stock + c.r * stock * (1 - stock / c.capacity))
    return runs * config.rounds * c.n_agents


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--agents", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    config = RunConfig(rounds=args.rounds).replace(**BENCH_OVERRIDES, **{"norms.n_agents": args.agents})

    best = {"engine": float("inf"), "kernel": float("inf"), "kernel_all": float("inf")}
    counts = {}
    for _ in range(args.repeat):  # alternate, so both see the same machine load
        for name, fn in (("engine", engine_batch), ("kernel", kernel_batch),
                         ("kernel_all", kernel_batch_all_runs)):
            t0 = time.perf_counter()
            counts[name] = fn(config, args.runs)
            best[name] = min(best[name], time.perf_counter() - t0)
    rate = {k: counts[k] / best[k] for k in best}
    print(f"batch: {args.runs} runs x {args.rounds} rounds x {args.agents} villagers "
          f"(best of {args.repeat})")
    print(f"engine (Mesa NormsModel + DataCollector): {counts['engine']:>9,} agent-rounds "
          f"in {best['engine']:.3f} s = {rate['engine']:>12,.0f} agent-rounds/s")
    print(f"numpy kernel, one run at a time:           {counts['kernel']:>9,} agent-rounds "
          f"in {best['kernel']:.3f} s = {rate['kernel']:>12,.0f} agent-rounds/s")
    print(f"ratio kernel/engine: {rate['kernel'] / rate['engine']:.2f}x (target <= 3x)")
    print(f"context: harvest+regrowth only, vectorised over all runs: "
          f"{rate['kernel_all']:,.0f} agent-rounds/s "
          f"({rate['kernel_all'] / rate['engine']:.0f}x the engine)")


if __name__ == "__main__":
    main()
