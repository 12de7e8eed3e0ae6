"""Human villagers beside model villagers: their own rows in the survival and effort summaries.

Runs with human villagers (config ``villagers.human``) mark each villager in the agents table
(``Human``). Per scenario and kind of villager ("human", or the run's model: "rule-based" or an
LLM), the survival summary counts villagers, the share alive at the run's end and the rounds
they lived; the effort summary gives the mean effort (norms) or request (GovSim), the mean catch
and the final wealth (GovSim: the total). Model villagers of the same runs are the comparison:
they shared the lake with the humans.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.load import RunSet, read_table

SURVIVAL_COLUMNS = ["scenario", "villagers_are", "runs", "villagers", "alive_at_end",
                    "mean_rounds_alive"]
EFFORT_COLUMNS = ["scenario", "villagers_are", "villagers", "mean_effort", "mean_request",
                  "mean_catch", "mean_final_wealth"]


def human_runs(rs: RunSet) -> pd.DataFrame:
    runs = rs.runs
    if "human_turns" not in runs:
        return runs.iloc[0:0]
    return runs[runs["human_turns"].notna()]


def villager_rows(rs: RunSet) -> pd.DataFrame:
    """One row per villager of every run with human villagers."""
    rows = []
    for run in human_runs(rs).itertuples():
        agents = read_table(Path(run.path), "agents")
        if agents is None or "Human" not in agents:
            continue
        agents = agents[agents["Round"] > 0]
        model = str(run.model) if isinstance(run.model, str) else "model"
        for agent_id, own in agents.groupby("AgentID"):
            human = bool(own["Human"].iloc[-1])
            row = {"run_id": run.run_id, "scenario": run.scenario, "agent": int(agent_id),
                   "villagers_are": "human" if human else f"model ({model})"}
            if run.scenario == "norms":
                alive = own[own["Alive"].astype(bool)]
                row.update(alive_at_end=bool(own["Alive"].iloc[-1]), rounds_alive=len(alive),
                           effort=float(alive["Effort"].mean()) if len(alive) else float("nan"),
                           catch=float(alive["Harvest"].mean()) if len(alive) else float("nan"),
                           final_wealth=float(own["Wealth"].iloc[-1]))
            else:
                row.update(alive_at_end=True, rounds_alive=len(own),
                           request=float(own["Wanted"].mean()),
                           catch=float(own["Collected"].mean()),
                           final_wealth=float(own["Total"].iloc[-1]))
            rows.append(row)
    return pd.DataFrame(rows)


def summaries(rs: RunSet) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(survival, effort): one row per scenario and kind of villager."""
    rows = villager_rows(rs)
    if rows.empty:
        return pd.DataFrame(columns=SURVIVAL_COLUMNS), pd.DataFrame(columns=EFFORT_COLUMNS)
    for col in ("effort", "request", "catch"):
        if col not in rows:
            rows[col] = float("nan")
    groups = rows.groupby(["scenario", "villagers_are"], sort=True)
    survival = groups.agg(runs=("run_id", "nunique"), villagers=("agent", "size"),
                          alive_at_end=("alive_at_end", "mean"),
                          mean_rounds_alive=("rounds_alive", "mean")).reset_index()
    effort = groups.agg(villagers=("agent", "size"), mean_effort=("effort", "mean"),
                        mean_request=("request", "mean"), mean_catch=("catch", "mean"),
                        mean_final_wealth=("final_wealth", "mean")).reset_index()
    return survival[SURVIVAL_COLUMNS], effort[EFFORT_COLUMNS]
