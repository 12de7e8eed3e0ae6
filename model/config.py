"""Typed run configuration, read from TOML files under ``runs/``.

Every value has a default (from the SPEC, or from calibration where the papers are silent).
Loading rejects unknown keys, wrong types and out-of-range values with one line that names the
key and what is allowed, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agents.errors import BadInputError
from agents.fields import bounded
from agents.llm.errors import display_host
from agents.llm.settings import LLMConfig
from agents.norms.prompt_settings import PromptConfig
from model.profiles import ADDITIONS, PAPER, PROFILE_ADDITIONS, fill_profile_values


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
    # alpha, c, P(0), R_min and the monitoring range are not in the paper: calibrated per
    # profile (model/profiles.py); the defaults are the paper profile's.
    catchability: float = bounded(PAPER["norms.catchability"], 0.0, 1.0,
                                  "alpha: catch per unit effort and fish")
    consumption: float = bounded(PAPER["norms.consumption"], 0.0, 1e4,
                                 "c: fish each villager eats per round")
    initial_wealth: float = bounded(PAPER["norms.initial_wealth"], 0.0, 1e6, "P(0)")
    collapse_threshold: float = bounded(PAPER["norms.collapse_threshold"], 0.0, 1e6,
                                        "R_min (5 % of K)")
    penalty: float = bounded(10.0, 0.0, 1e4, "beta")
    punish_cost: float = bounded(1.0, 0.0, 1e4, "gamma")
    # True: a villager punished by k peers loses k * beta (the paper's indicator says once).
    stack_penalties: bool = False
    # "text": altruists punish more (App. B text); "table": the reversed Table 3 ranges.
    punish_reading: Literal["text", "table"] = "text"
    # Initial monitoring propensity m_i ~ U(low, high) for every villager (not in Table 3).
    monitoring_low: float = bounded(PAPER["norms.monitoring_low"], 0.0, 1.0,
                                    "lowest initial monitoring propensity")
    monitoring_high: float = bounded(PAPER["norms.monitoring_high"], 0.0, 1.0,
                                     "highest initial monitoring propensity")

    def __post_init__(self) -> None:
        _within_capacity("norms", self.capacity, self.initial_stock, self.collapse_threshold)
        if self.monitoring_low > self.monitoring_high:
            raise ConfigError(f"norms.monitoring_low = {self.monitoring_low:g} must not exceed "
                              f"norms.monitoring_high = {self.monitoring_high:g}")

    @property
    def r(self) -> float:
        return ENVIRONMENT_GROWTH[self.environment] if self.growth_rate is None else self.growth_rate

    @property
    def stock0(self) -> float:
        return self.capacity if self.initial_stock is None else self.initial_stock

    @property
    def altruist_share(self) -> float:
        return {"selfish": 0.0, "mixed": 0.5, "altruistic": 1.0}[self.population]


Profile = Literal["paper", "extended"]


@dataclass(frozen=True)
class Additions:
    """The additions in force for a run (the profile's, with any switched one by one)."""

    learn_from_punishment: bool
    deterrence: bool
    cap_follows_stock: bool


@dataclass(frozen=True)
class LearningConfig:
    """How rule-based villagers learn: the profile, the imitation rates, the additions.

    ``profile = "paper"`` is Gupta et al.'s model and nothing else: payoff-biased imitation of
    (effort, monitoring, belief) by the Fermi rule with mutation, the median of the beliefs as
    the norm. ``"extended"`` adds the three mechanisms below. Each addition left unset follows
    the profile; set true or false, it overrides it.
    """

    profile: Profile = "paper"
    # Values the paper leaves open, calibrated per profile (analysis/calibration.py).
    selection_strength: float = bounded(PAPER["learning.selection_strength"], 0.0, 100.0,
                                        "delta of the Fermi rule, per fish")
    revision_prob: float = bounded(PAPER["learning.revision_prob"], 0.0, 1.0,
                                   "chance a villager revises each round")
    mutation_sd: float = bounded(PAPER["learning.mutation_sd"], 0.0, 1.0,
                                 "s.d. of mutation, in units of each trait's range")
    payoff_smoothing: float = bounded(PAPER["learning.payoff_smoothing"], 0.0, 1.0,
                                      "weight of the newest round in the payoff EMA")
    # The paper's strategy s_i = (e, m, g) leaves the punish propensity out; true copies it too.
    copy_punish_prob: bool = False
    # A fined villager whose excess catch did not pay for the fine cuts its effort to the norm
    # (individual learning from consequences, the abstract's wording; not in the model section).
    learn_from_punishment: bool | None = None
    # Deterrence: villagers know beta, the stock and that negative wealth is death (the paper's
    # prompts show all three) and learn the chance a norm-breaker is fined from the fines they
    # see; one whose excess catch is worth less than the expected fine, or whom a fine would
    # kill, holds its catch to the norm.
    deterrence: bool | None = None
    fine_rate_prior: float = bounded(PAPER["learning.fine_rate_prior"], 0.0, 1.0,
                                     "deterrence: guessed chance a breaker is fined")
    # Proposals scale each villager's cap (its belief: a catch at a full lake) by R/K, so the
    # norm binds at every stock rather than only near K.
    cap_follows_stock: bool | None = None

    @functools.cached_property
    def active(self) -> Additions:
        """The additions in force (read once per run by the rule-based policy)."""
        on = PROFILE_ADDITIONS[self.profile]
        return Additions(**{name: (name in on) if getattr(self, name) is None
                            else bool(getattr(self, name)) for name in ADDITIONS})


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
    # GovSim parity by default; each project variant is a named switch (README, "GovSim").
    # A request above the stock: "allocate" = kept as asked and shared out by the allocation
    # (GovSim); "retry" = the schema bounds it to 0..stock, a larger answer is retried.
    over_stock: Literal["allocate", "retry"] = "allocate"
    # Retrieval: "govsim" = always-shown memories count inside the top k and chat summaries are
    # never retrieved; "pinned_extra" = always-shown on top of k others, summaries retrievable.
    retrieval: Literal["govsim", "pinned_extra"] = "govsim"
    # Newcomer runs: the founders carry GovSim's "traditional villager" goal (False: none).
    founder_persona: bool = True
    # Prompt order, same information: "govsim" = GovSim's (the reader's name first);
    # "shared_first" = what every villager of the month reads alike first, for prefix caching.
    layout: Literal["govsim", "shared_first"] = "govsim"
    # How much a villager may write: "govsim" = free text bounded only by ``answer_tokens``,
    # the same in every language; "compact" = short per-language character caps.
    text_budget: Literal["govsim", "compact"] = "govsim"
    answer_tokens: int = bounded(8000, 64, 32_768, "tokens per answer (GovSim: 8000)")
    # Per-model answer budgets, "MODEL=TOKENS", e.g. ["smollm2:135m=600"]; others use
    # ``answer_tokens``.
    answer_tokens_by_model: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _within_capacity("govsim", self.capacity, self.initial_stock, self.collapse_below,
                         threshold_key="collapse_below")
        for i, item in enumerate(self.answer_tokens_by_model):
            model, sep, tokens = item.rpartition("=")
            if not sep or not model.strip() or not tokens.strip().isdigit() \
                    or not 64 <= int(tokens) <= 32_768:
                raise ConfigError(f"govsim.answer_tokens_by_model[{i}] = {item!r} must look like "
                                  f'"MODEL=TOKENS" with 64 <= TOKENS <= 32768')

    def tokens_for(self, model: str | None) -> int:
        """The answer budget of ``model``: its entry in ``answer_tokens_by_model``, else
        ``answer_tokens``."""
        for item in self.answer_tokens_by_model:
            name, _, tokens = item.rpartition("=")
            if name.strip() == model:
                return int(tokens)
        return self.answer_tokens


@dataclass(frozen=True)
class VillagersConfig:
    """Who decides for which villager: by default every villager follows the run's policy;
    ``human`` lists villager ids (1-based, as shown everywhere) whose turns a person takes."""

    human: tuple[int, ...] = ()
    # Seconds a person has for one turn; then the decision's documented fallback is used (the
    # one an unparseable LLM answer gets), counted and logged. 0 = no limit.
    human_timeout_s: float = bounded(120.0, 0.0, 86_400.0, "seconds per human turn (0 = none)")


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
    villagers: VillagersConfig = field(default_factory=VillagersConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    def __post_init__(self) -> None:
        # The name becomes a folder (out/<name>/...): one plain path component, never a way out.
        if self.name in ("", ".", "..") or any(c in self.name for c in "/\\\0"):
            raise ConfigError(f"name = {self.name!r} must be a plain name (no path separators, "
                              "not '.' or '..'), e.g. \"demo\"")
        self._check_humans()

    def _check_humans(self) -> None:
        """Human villagers are ids of this scenario's villagers, each named once."""
        n = self.govsim.n_agents if self.scenario == "govsim" else self.norms.n_agents
        table = "govsim" if self.scenario == "govsim" else "norms"
        seen: set[int] = set()
        for i, vid in enumerate(self.villagers.human):
            if not 1 <= vid <= n:
                raise ConfigError(f"villagers.human[{i}] = {vid} is not a villager: ids run from "
                                  f"1 to {table}.n_agents = {n}")
            if vid in seen:
                raise ConfigError(f"villagers.human[{i}] = {vid} is named twice")
            seen.add(vid)

    @property
    def humans(self) -> tuple[int, ...]:
        """The human villagers' ids, sorted."""
        return tuple(sorted(self.villagers.human))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def public_dict(self) -> dict:
        """``to_dict`` without credentials: a ``user:password@`` in a host is never written."""
        data = self.to_dict()
        for key in ("host", "base_url"):
            if data["llm"][key]:
                data["llm"][key] = display_host(data["llm"][key])
        return data

    def replace(self, **dotted: Any) -> RunConfig:
        """A copy with dotted keys replaced, e.g. ``replace(**{"norms.penalty": 14})``."""
        return apply_overrides(self, dotted)


# ---------------------------------------------------------------------------------------------
# Loading and validation


def _within_capacity(table: str, capacity: float, stock: float | None, threshold: float,
                     threshold_key: str = "collapse_threshold") -> None:
    """The stock starts at most at the capacity, and the collapse line lies below it."""
    if stock is not None and stock > capacity:
        raise ConfigError(f"{table}.initial_stock = {stock:g} is above {table}.capacity = "
                          f"{capacity:g}")
    if threshold >= capacity:
        raise ConfigError(f"{table}.{threshold_key} = {threshold:g} must lie below "
                          f"{table}.capacity = {capacity:g}")


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
        if float in args and isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{key} = {value!r} must be a finite number")
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
            if not math.isfinite(value):  # nan passes every range check; inf is no quantity
                raise ConfigError(f"{key} = {value!r} must be a finite number")
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


# Defaults that differ by scenario, laid under what a config sets. GovSim decodes greedily
# (temperature 0, top_p 1) and its prompts need room: a five-villager month of discussion in
# Japanese is several thousand tokens.
SCENARIO_DEFAULTS: dict[str, dict] = {
    "govsim": {"llm": {"temperature": 0.0, "top_p": 1.0, "num_ctx": 8192}},
}


def build(cls: type, data: dict, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a nested dict, validating every key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a table, got {data!r}")
    if cls is RunConfig and isinstance(data.get("scenario"), str):
        data = _merge(SCENARIO_DEFAULTS.get(data["scenario"], {}), data)
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


def _flat(config: RunConfig) -> dict[str, Any]:
    return {f"{section}.{key}": value for section in ("norms", "learning")
            for key, value in dataclasses.asdict(getattr(config, section)).items()}


def _scenario_value(scenario: str, section: str, key: str) -> Any:
    """What ``section.key`` defaults to in ``scenario``."""
    table = SCENARIO_DEFAULTS.get(scenario, {}).get(section, {})
    if key in table:
        return table[key]
    return getattr(getattr(RunConfig(), section), key)


def apply_overrides(config: RunConfig, dotted: dict[str, Any]) -> RunConfig:
    base = config.to_dict()
    scenario = dotted.get("scenario", config.scenario)
    if scenario != config.scenario:
        # A value still at the old scenario's default takes the new scenario's default.
        for table in SCENARIO_DEFAULTS.values():
            for section, keys in table.items():
                for key in keys:
                    if base[section].get(key) == _scenario_value(config.scenario, section, key):
                        base[section].pop(key, None)
    # A profile switched here brings its calibrated values, except those set in ``dotted``.
    data = fill_profile_values(_merge(base, _nest(dotted)), set(dotted),
                               previous=config.learning.profile, current=_flat(config))
    return build(RunConfig, data)


def differences(a: RunConfig, b: RunConfig) -> dict[str, tuple[Any, Any]]:
    """The dotted keys whose values differ between two configs, with both values."""
    def flat(data: dict, prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, dict):
                out.update(flat(value, f"{prefix}{key}."))
            else:
                out[prefix + key] = value
        return out

    fa, fb = flat(a.to_dict()), flat(b.to_dict())
    return {k: (fa.get(k), fb.get(k)) for k in sorted(fa.keys() | fb.keys()) if fa.get(k) != fb.get(k)}


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
    given = {f"{section}.{key}" for section, table in data.items() if isinstance(table, dict)
             for key in table}
    data = _merge(data, _nest(overrides or {}))
    data.setdefault("name", path.stem)
    return build(RunConfig, fill_profile_values(data, given | set(overrides or {})))
