"""The page's controls: SolaraViz ``model_params`` for ``LiveRun``'s constructor.

Changes take effect on Reset (SolaraViz rebuilds the run from the current values then).
"""

from __future__ import annotations

import importlib.util
import typing

from model.config import Ablation, Environment, GovSimConfig, Population
from viz.live_run import DEFAULT_LLM_MODEL

MAX_VILLAGERS = 20  # the page draws every villager; GovSim allows at most 20
MAX_ROUNDS = 100


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


def _select(label: str, value, values) -> dict:
    return {"type": "Select", "label": label, "value": value, "values": list(values)}


def model_params(**fixed) -> dict:
    """Controls with their defaults; ``fixed`` adds parameters without a widget (for example
    ``llm_backend="embedded"``)."""
    params = {
        "scenario": _select("Scenario", "norms", scenario_choices()),
        "environment": _select("Environment", "rich", typing.get_args(Environment)),
        "population": _select("Population", "mixed", typing.get_args(Population)),
        "ablation": _select("Modules (ablation)", "full", typing.get_args(Ablation)),
        "punishment": {"type": "Checkbox", "label": "Punishment", "value": True},
        "villagers": {"type": "SliderInt", "label": "Villagers", "value": 6, "min": 2,
                      "max": MAX_VILLAGERS, "step": 1},
        "rounds": {"type": "SliderInt", "label": "Rounds", "value": 50, "min": 5,
                   "max": MAX_ROUNDS, "step": 5},
        "policy": _select("Policy", "rule", ("rule", "llm")),
        "llm_model": {"type": "InputText", "label": "LLM model", "value": DEFAULT_LLM_MODEL},
        "seed": {"type": "InputText", "label": "Seed", "value": "0"},
    }
    params.update(fixed)
    return params


def initial_values(params: dict) -> dict:
    """The constructor arguments the controls start with."""
    return {k: (v["value"] if isinstance(v, dict) and "type" in v else v)
            for k, v in params.items()}
