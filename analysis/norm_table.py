"""The adopted norm, in words, every ten rounds: the paper's Table 4.

Gupta et al. show, for one run per model, the norm in force at steps 0, 10, ..., 50. Step s is
read here as the norm in force after round max(s, 1) (round 1 is the first with a vote; the
paper counts its steps from 0). One run stands for each cell (environment, population, model,
ablation): the one that survived longest, the lowest seed on a tie, as the paper picks an
example run. A step the run did not reach is left empty.
"""

from __future__ import annotations

import pandas as pd

CELL = ["environment", "population", "model", "ablation"]
EVERY = 10


def steps(cap: int) -> list[int]:
    return list(range(0, int(cap) + 1, EVERY))


def norm_table(runs: pd.DataFrame, rounds: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: the example run and its norm text at each step."""
    if runs.empty or "Norm" not in rounds:
        return pd.DataFrame()
    cap = int(runs["round_cap"].max()) if "round_cap" in runs else int(rounds["Round"].max())
    cells = [c for c in CELL if c in runs]
    ranked = runs.assign(_seed=runs["seed"].fillna(0)).sort_values(
        ["survival_time", "_seed"], ascending=[False, True])
    chosen = ranked.groupby(cells, observed=True, sort=True).head(1)
    by_run = {rid: df.set_index("Round")["Norm"] for rid, df in rounds.groupby("run_id")}
    rows = []
    for _, run in chosen.sort_values(cells).iterrows():
        norms = by_run.get(run["run_id"], pd.Series(dtype=object))
        row = {c: run[c] for c in cells} | {"run": run["run_id"]}
        for s in steps(cap):
            r = max(s, 1)
            row[f"step {s}"] = str(norms[r]) if r in norms.index and pd.notna(norms[r]) else ""
        rows.append(row)
    return pd.DataFrame(rows)
