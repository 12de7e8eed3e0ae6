"""Typed run configuration, read from TOML files under ``runs/``.

Every value has a default (from the SPEC, or from calibration where the papers are silent).
Loading rejects unknown keys, wrong types and out-of-range values with one line that names the
key and what is allowed, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agents.errors import BadInputError
from agents.fields import bounded
from agents.llm.settings import LLMConfig
from agents.norms.prompt_settings import PromptConfig


class ConfigError(BadInputError, ValueError):
    """A configuration value is missing, unknown, mistyped or out of range (one line)."""


Population = Literal["selfish", "mixed", "altruistic"]
Environment = Literal["harsh", "rich"]
Ablation = Literal["full", "social_learning_only", "group_decision_only", "neither"]

# Growth rates of the two named environments (Gupta et al., App. B).
ENVIRONMENT_GROWTH = {"harsh": 0.2, "rich": 0.6}

# Which modules each named ablation keeps (the paper's Fig. 7 conditions).
ABLATION_MODULES = {
    "full": (True, True),
    "social_learning_only": (True, False),
    "group_decision_only": (False, True),
    "neither": (False, False),
}


@dataclass(frozen=True)
class ModulesConfig:
    """Switches for the round's modules. ``ablation`` sets social learning and group decision."""

    punishment: bool = True
    ablation: Ablation = "full"
    # Round after which punishment is switched off (0 = never); finding (a) uses 15.
    punishment_off_after: int = bounded(0, 0, 10_000)

    @property
    def social_learning(self) -> bool:
        return ABLATION_MODULES[self.ablation][0]

    @property
    def group_decision(self) -> bool:
        return ABLATION_MODULES[self.ablation][1]


@dataclass(frozen=True)
class NormsConfig:
    """The lake of the norms scenario (Gupta et al.) and its economy."""

    n_agents: int = bounded(10, 2, 200)
    population: Population = "mixed"
    environment: Environment = "rich"
    # None = take the environment's growth rate (harsh 0.2, rich 0.6).
    growth_rate: float | None = bounded(None, 0.0, 1.0)
    capacity: float = bounded(300.0, 1.0, 1e6)
    initial_stock: float | None = bounded(None, 0.0, 1e6)
    # alpha, c, P(0) and R_min are not in the paper: calibrated (analysis/calibration.py) so the
    # rule-based villagers reproduce the human-study findings; README, "Modelling choices".
    catchability: float = bounded(0.0625, 0.0, 1.0, "alpha: catch per unit effort and fish")
    consumption: float = bounded(2.2, 0.0, 1e4, "c: fish each villager eats per round")
    initial_wealth: float = bounded(20.0, 0.0, 1e6, "P(0)")
    collapse_threshold: float = bounded(15.0, 0.0, 1e6, "R_min (5 % of K)")
    penalty: float = bounded(10.0, 0.0, 1e4, "beta")
    punish_cost: float = bounded(1.0, 0.0, 1e4, "gamma")
    # True: a villager punished by k peers loses k * beta (the paper's indicator says once).
    stack_penalties: bool = False
    # "text": altruists punish more (App. B text); "table": the reversed Table 3 ranges.
    punish_reading: Literal["text", "table"] = "text"

    @property
    def r(self) -> float:
        return ENVIRONMENT_GROWTH[self.environment] if self.growth_rate is None else self.growth_rate

    @property
    def stock0(self) -> float:
        return self.capacity if self.initial_stock is None else self.initial_stock

    @property
    def altruist_share(self) -> float:
        return {"selfish": 0.0, "mixed": 0.5, "altruistic": 1.0}[self.population]


@dataclass(frozen=True)
class LearningConfig:
    """Payoff-biased imitation of rule-based villagers (values the paper leaves open)."""

    # Calibrated with alpha, c, P(0), R_min (analysis/calibration.py): weak selection on payoffs
    # in fish, 30 % of the villagers revising each round, sizeable copying errors, long memory.
    selection_strength: float = bounded(0.04, 0.0, 100.0, "delta of the Fermi rule, per fish")
    revision_prob: float = bounded(0.3, 0.0, 1.0, "chance a villager revises each round")
    mutation_sd: float = bounded(0.12, 0.0, 1.0, "s.d. of mutation, in units of each trait's range")
    payoff_smoothing: float = bounded(0.2, 0.0, 1.0, "weight of the newest round in the payoff EMA")
    copy_punish_prob: bool = True
    # A fined villager whose excess catch did not pay for the fine cuts its effort to the norm
    # (individual learning from consequences; needed for finding (a), see analysis/validation).
    learn_from_punishment: bool = True
    # Deterrence: villagers know beta, the stock and that negative wealth is death (the paper's
    # prompts show all three) and learn the chance a norm-breaker is fined from the fines they
    # see; one whose excess catch is worth less than the expected fine, or whom a fine would
    # kill, holds its catch to the norm. Needed for finding (b): without it a larger fine only
    # kills sooner, since survival ends at the first death. False: no deterrence.
    deterrence: bool = True
    fine_rate_prior: float = bounded(0.25, 0.0, 1.0, "deterrence: guessed chance a breaker is fined")
    # Proposals scale each villager's cap (its belief: a catch at a full lake) by R/K; the
    # paper's proposal g* = f_G(O_i(t)) may use the stock R(t). With deterrence it makes the
    # norm, and so punishment, bind at every stock rather than only near K, which is what lets
    # a larger beta improve survival at moderate r (finding (b)). False: the cap is the belief.
    cap_follows_stock: bool = True


@dataclass(frozen=True)
class GovSimConfig:
    """GovSim (Piatti et al.): five villagers, 12 months, doubling stock capped at 100."""

    variant: Literal["fishery", "pasture", "pollution", "trash"] = "fishery"
    language: Literal["en", "ja"] = "en"
    n_agents: int = bounded(5, 2, 20)
    months: int = bounded(12, 1, 120)
    initial_stock: int = bounded(100, 1, 10_000)
    capacity: int = bounded(100, 1, 10_000)
    collapse_below: int = bounded(5, 0, 10_000)
    universalization: bool = False
    communication: bool = True
    max_utterances: int = bounded(9, 0, 50)
    newcomer_month: int = bounded(0, 0, 120, "month a greedy newcomer joins (0 = none)")
    allocation: Literal["stochastic", "proportional"] = "stochastic"
    reflection: bool = True
    memory_top_k: int = bounded(10, 0, 100)
    # Request used when every attempt of a harvest call fails (counted and logged):
    # "threshold" = the per-villager sustainable amount, "last" = last month's request
    # (threshold in month 1), "zero" = nothing.
    harvest_fallback: Literal["threshold", "last", "zero"] = "threshold"
    trash_inflow: int = bounded(50, 0, 10_000, "trash variant: units of new trash each month")


@dataclass(frozen=True)
class OutputConfig:
    format: Literal["parquet", "csv", "both"] = "parquet"


@dataclass(frozen=True)
class RunConfig:
    """One simulation run."""

    scenario: Literal["norms", "govsim"] = "norms"
    name: str = "run"
    seed: int = bounded(0, 0, 2**63 - 1)
    # Round cap: the SPEC's 50 for LLM runs, 100 for rule-based validation runs.
    rounds: int = bounded(100, 1, 100_000)
    policy: Literal["rule", "llm"] = "rule"
    norms: NormsConfig = field(default_factory=NormsConfig)
    modules: ModulesConfig = field(default_factory=ModulesConfig)
    learning: LearningConfig = field(default_factory=LearningConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    govsim: GovSimConfig = field(default_factory=GovSimConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **dotted: Any) -> RunConfig:
        """A copy with dotted keys replaced, e.g. ``replace(**{"norms.penalty": 14})``."""
        return apply_overrides(self, dotted)


# ---------------------------------------------------------------------------------------------
# Loading and validation


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if origin is tuple:
        return "a list of " + _describe(typing.get_args(tp)[0])
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false",
            type(None): "omitted"}.get(tp, getattr(tp, "__name__", str(tp)))


def _coerce(key: str, value: Any, tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(key, value, arg)
            except ConfigError:
                continue
        raise ConfigError(f"{key} = {value!r} has the wrong type; expected {_describe(tp)}")
    if origin is Literal:
        if value in typing.get_args(tp):
            return value
        raise ConfigError(f"{key} = {value!r} is not allowed; expected {_describe(tp)}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} = {value!r} has the wrong type; expected {_describe(tp)}")
        inner = typing.get_args(tp)[0]
        return tuple(_coerce(f"{key}[{i}]", v, inner) for i, v in enumerate(value))
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    raise ConfigError(f"{key} = {value!r} has the wrong type; expected {_describe(tp)}")


def _check_range(key: str, value: Any, meta: dict) -> None:
    lo, hi = meta.get("range", (None, None))
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        lo_s = "-inf" if lo is None else f"{lo:g}"
        hi_s = "inf" if hi is None else f"{hi:g}"
        raise ConfigError(f"{key} = {value!r} is out of range; allowed {lo_s} <= {key} <= {hi_s}")


def build(cls: type, data: dict, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a nested dict, validating every key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a table, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown key {prefix}{unknown[0]}; allowed keys here: {', '.join(sorted(fields))}"
        )
    kwargs = {}
    for name, value in data.items():
        key = prefix + name
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            kwargs[name] = build(tp, value, key + ".")
            continue
        coerced = _coerce(key, value, tp)
        _check_range(key, coerced, dict(fields[name].metadata))
        kwargs[name] = coerced
    return cls(**kwargs)


def _nest(dotted: dict[str, Any]) -> dict:
    out: dict = {}
    for key, value in dotted.items():
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {key} conflicts with another override")
        node[parts[-1]] = value
    return out


def _merge(base: dict, extra: dict) -> dict:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def apply_overrides(config: RunConfig, dotted: dict[str, Any]) -> RunConfig:
    return build(RunConfig, _merge(config.to_dict(), _nest(dotted)))


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` from the command line; the value is read as TOML, else as a string."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r} must look like key=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def read_toml(path: str | Path, what: str = "config") -> dict:
    """The table in a TOML file, or ConfigError with one line saying what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} file not found: {path}")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read and validate a TOML run config; raise ConfigError with one line on any problem."""
    path = Path(path)
    data = read_toml(path)
    data = _merge(data, _nest(overrides or {}))
    data.setdefault("name", path.stem)
    return build(RunConfig, data)
