"""The page's run settings: one ``Control`` per constructor argument of ``LiveRun``.

Changes take effect on Reset; a control is shown only for the scenario (and policy) it
applies to, so the class never sees a switch that does nothing.
"""

from __future__ import annotations

import importlib.util
import typing
from dataclasses import dataclass
from typing import Any

from model.config import Ablation, Environment, GovSimConfig, Population
from viz.live_run import DEFAULT_LLM_MODEL

MAX_VILLAGERS = 20  # the page draws every villager; GovSim allows at most 20
MAX_ROUNDS = 100
NORMS_ROUNDS = 50  # the SPEC's LLM round cap
GOVSIM_MONTHS = GovSimConfig().months  # 12, as in GovSim
GOVSIM_VILLAGERS = GovSimConfig().n_agents


def govsim_available() -> bool:
    """True when this installation has the GovSim model."""
    try:
        return importlib.util.find_spec("model.govsim.model") is not None
    except ModuleNotFoundError:
        return False


def scenario_choices() -> list[str]:
    """"norms" and, where GovSim is installed, one "govsim:<variant>" per GovSim variant."""
    choices = ["norms"]
    if govsim_available():
        variants = typing.get_args(typing.get_type_hints(GovSimConfig)["variant"])
        choices += [f"govsim:{v}" for v in variants]
    return choices


@dataclass(frozen=True)
class Control:
    """One setting: ``kind`` is "select", "switch", "slider" or "text"; ``applies`` names when
    it is shown: "all", "norms", or "llm" (LLM villagers: GovSim, or norms with policy llm)."""

    name: str
    label: str
    kind: str
    default: Any
    choices: tuple = ()
    low: int = 0
    high: int = 0
    applies: str = "all"
    help: str = ""

    def shown(self, values: dict) -> bool:
        norms = values.get("scenario", "norms") == "norms"
        if self.applies == "norms":
            return norms
        if self.applies == "llm":
            return not norms or values.get("policy") == "llm"
        return True


def controls() -> tuple[Control, ...]:
    return (
        Control("scenario", "Scenario", "select", "norms", tuple(scenario_choices()),
                help="norms: Gupta et al.'s lake; govsim: GovSim's framings"),
        Control("environment", "Lake", "select", "rich", typing.get_args(Environment),
                applies="norms", help="harsh: regrows slowly (r = 0.2); rich: fast (r = 0.6)"),
        Control("population", "Villagers' kind", "select", "mixed", typing.get_args(Population),
                applies="norms"),
        Control("ablation", "Modules", "select", "full", typing.get_args(Ablation),
                applies="norms", help="which of social learning and the group vote run"),
        Control("punishment", "Punishment", "switch", True, applies="norms"),
        Control("villagers", "Villagers", "slider", 6, low=2, high=MAX_VILLAGERS),
        Control("rounds", "Rounds (months in GovSim)", "slider", NORMS_ROUNDS, low=5,
                high=MAX_ROUNDS),
        Control("policy", "Villagers decide by", "select", "rule", ("rule", "llm"),
                applies="norms", help="rule: the paper's numeric strategies; llm: a model"),
        Control("llm_model", "LLM model", "text", DEFAULT_LLM_MODEL, applies="llm"),
        Control("seed", "Seed", "text", "0", help="the same seed plays the same run"),
        Control("humans", "Human villagers", "text", "",
                help="ids of the villagers people play, e.g. 1 or 1, 3 (empty: none); other "
                     "tabs can join the run and hold one each"),
        Control("human_timeout", "Seconds per human turn", "slider", 120, low=10, high=600,
                help="then the villager's default answer is used (counted and shown)"),
    )


def initial_values(**fixed) -> dict:
    """The constructor arguments the controls start with, plus ``fixed`` ones without a control
    (for example ``llm_backend="embedded"``)."""
    return {**{c.name: c.default for c in controls()}, **fixed}


def on_scenario_change(values: dict, scenario: str) -> dict:
    """New values when the scenario changes: GovSim's own defaults (12 months, five
    villagers) replace the norms ones, and back, unless the user had changed them."""
    was_govsim = values.get("scenario", "norms") != "norms"
    to_govsim = scenario != "norms"
    values = {**values, "scenario": scenario}
    if to_govsim and not was_govsim:
        if values.get("rounds") == NORMS_ROUNDS:
            values["rounds"] = GOVSIM_MONTHS
        if values.get("villagers") == 6:
            values["villagers"] = GOVSIM_VILLAGERS
    elif was_govsim and not to_govsim:
        if values.get("rounds") == GOVSIM_MONTHS:
            values["rounds"] = NORMS_ROUNDS
        if values.get("villagers") == GOVSIM_VILLAGERS:
            values["villagers"] = 6
    return values


def changed(values: dict, built_from: dict) -> list[str]:
    """Labels of the shown controls whose value differs from the run's (press Reset)."""
    return [c.label for c in controls()
            if c.shown(values) and str(values.get(c.name)) != str(built_from.get(c.name))]
