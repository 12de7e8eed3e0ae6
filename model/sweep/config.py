"""Typed sweep configuration, read from TOML files under ``runs/``.

A sweep is a base run config, a grid of dotted config keys (their Cartesian product), optional
named variants (overrides that do not form a product, e.g. GovSim's newcomer needs 15 months)
and a list of seeds. Every run of the plan is built and validated when the file is loaded, so a
typo in the grid fails before the first run, with one line, like ``model.config`` does.

    name = "llm-grid"
    base = "demo.toml"            # a run config, relative to this file; or an inline [base] table
    seeds = [1, 2, 3]             # or seeds = { first = 1, count = 100 }
    hosts = ["http://gpu1:11434", "http://gpu2:11434"]

    [set]                         # overrides of the base for every run
    policy = "llm"

    [grid]
    "norms.environment" = ["harsh", "rich"]
    "llm.model" = ["qwen3:8b", "llama3.1:8b"]
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agents.fields import bounded
from model.config import (ConfigError, RunConfig, apply_overrides, build, load_config,
                          read_toml)

# Keys a grid or a variant may not vary: the seed has its own list, the name is the run id.
_RESERVED = {"seed", "name"}
_SPECIAL = {"base", "set", "grid", "variants", "seeds"}
MAX_SEED = 2**63 - 1
# Every condition's config is built and checked when the file loads (about 15 ms each): a
# larger design would validate for minutes in silence, and belongs in several sweep files.
MAX_CONDITIONS = 10_000
MAX_RUNS = 1_000_000


@dataclass(frozen=True)
class SweepSettings:
    """The plain settings of a sweep (everything but base, set, grid, variants and seeds)."""

    name: str = "sweep"
    description: str = ""
    # Output folder; empty = out/<name>. The same folder is what a rerun resumes.
    out: str = ""
    # Parallel runs: 0 = every core for rule-based runs, one per host slot for LLM runs.
    workers: int = bounded(0, 0, 4096)
    engine: Literal["local", "dask"] = "local"
    # A Dask scheduler address (tcp://host:8786); empty = a LocalCluster of ``workers`` processes.
    scheduler: str = ""
    # LLM servers the runs are spread over (Ollama hosts, or base URLs for backend "openai").
    hosts: tuple[str, ...] = ()
    # "available": a free, answering host takes the next run, and a run whose server died moves
    # to another host; "fixed": run i always goes to hosts[i % len(hosts)].
    host_assignment: Literal["available", "fixed"] = "available"
    runs_per_host: int = bounded(1, 1, 64)
    # Tries of one LLM run in one sweep command when its server fails (each try resumes).
    max_attempts: int = bounded(3, 1, 20)


@dataclass(frozen=True)
class Variant:
    label: str
    overrides: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Condition:
    """One cell of the design: a variant and one value per grid key (no seed)."""

    key: str  # the run id without its seed, e.g. "environment-harsh_population-selfish"
    variant: str | None
    params: tuple[tuple[str, Any], ...]  # grid values (dotted key, value), in grid order
    config: RunConfig  # the base with the variant and the params applied

    def run_id(self, seed: int) -> str:
        return f"{self.key}_seed-{seed}" if self.key else f"seed-{seed}"


@dataclass(frozen=True)
class SweepConfig:
    settings: SweepSettings
    base: RunConfig
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    variants: tuple[Variant, ...]
    seeds: tuple[int, ...]
    source: Path | None = None
    # The file's content after --set and command-line settings, kept in the sweep index.
    definition: dict = field(default_factory=dict, compare=False)

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def grid_keys(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.grid)

    @functools.cached_property
    def _conditions(self) -> tuple[Condition, ...]:
        return tuple(self._build_conditions())

    def conditions(self) -> list[Condition]:
        """Every (variant, grid cell), in file order, each with its validated run config."""
        return list(self._conditions)

    def _build_conditions(self) -> list[Condition]:
        out = []
        variants = self.variants or (Variant("", ()),)
        values = [vals for _, vals in self.grid]
        for variant in variants:
            varied = _apply(self.base, dict(variant.overrides), f"variant {variant.label!r}")
            for combo in itertools.product(*values):
                params = tuple(zip(self.grid_keys, combo))
                config = _apply(varied, dict(params), "grid")
                out.append(Condition("", variant.label or None, params, config))
        return _name_conditions(out)


# ---------------------------------------------------------------------------------------------
# Loading


def load_sweep(path: str | Path, overrides: dict[str, Any] | None = None,
               settings: dict[str, Any] | None = None) -> SweepConfig:
    """Read and validate a sweep TOML; ``overrides`` are dotted run-config keys applied to the
    base (like [set]); ``settings`` replace plain settings (e.g. from the command line)."""
    path = Path(path)
    data = read_toml(path, "sweep")
    data.setdefault("name", path.stem)
    return sweep_from_dict(data, base_dir=path.parent, source=path, overrides=overrides,
                           settings=settings)


def sweep_from_dict(data: dict, *, base_dir: Path | None = None, source: Path | None = None,
                    overrides: dict[str, Any] | None = None,
                    settings: dict[str, Any] | None = None) -> SweepConfig:
    allowed = {f for f in SweepSettings.__dataclass_fields__} | _SPECIAL
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"unknown sweep key {unknown[0]}; allowed keys: {', '.join(sorted(allowed))}")
    plain = {k: v for k, v in data.items() if k not in _SPECIAL}
    plain.update({k: v for k, v in (settings or {}).items() if v is not None})
    sweep_settings = build(SweepSettings, plain)
    if any(not h.strip() for h in sweep_settings.hosts):
        raise ConfigError("hosts lists an empty address")
    if len(set(sweep_settings.hosts)) != len(sweep_settings.hosts):
        raise ConfigError("hosts lists the same address twice")

    base = _base(data.get("base"), base_dir or Path.cwd())
    set_table = data.get("set", {})
    if not isinstance(set_table, dict):
        raise ConfigError(f"set must be a table of run-config keys, got {set_table!r}")
    base_overrides = {**_flatten(set_table), **(overrides or {})}
    for key in base_overrides:
        _check_key(key, "set")
    base = _apply(base, base_overrides, "set")

    grid = _grid(data.get("grid", {}))
    variants = _variants(data.get("variants", []))
    seeds = _seeds(data.get("seeds", [base.seed]))
    conditions = math.prod(len(values) for _, values in grid) * max(1, len(variants))
    if conditions > MAX_CONDITIONS or conditions * len(seeds) > MAX_RUNS:
        raise ConfigError(
            f"the sweep has {conditions:,} conditions x {len(seeds):,} seeds; at most "
            f"{MAX_CONDITIONS:,} conditions and {MAX_RUNS:,} runs per sweep file: split the "
            "design into several sweeps")
    definition = json.loads(json.dumps({**data, **plain, "set": _flatten(set_table)
                                        | (overrides or {})}, default=str))
    sweep = SweepConfig(sweep_settings, base, grid, variants, seeds, source, definition)
    sweep.conditions()  # builds and validates every run config now
    return sweep


def _base(value: Any, base_dir: Path) -> RunConfig:
    if value is None:
        return RunConfig()
    if isinstance(value, str):
        path = Path(value)
        if not path.is_absolute():
            path = base_dir / path
        return load_config(path)
    if isinstance(value, dict):
        return build(RunConfig, value, "base.")
    raise ConfigError(f"base must be a run-config path or a table, got {value!r}")


def _flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    """{"norms": {"environment": [...]}} -> {"norms.environment": [...]} (TOML dotted keys)."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        inner = _flatten(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key: value}
        for dotted in inner:
            if dotted in out:  # "norms.environment" quoted beside norms.environment
                raise ConfigError(f"{dotted} is given twice (once as a quoted dotted key)")
        out.update(inner)
    return out


def _check_key(key: str, where: str) -> None:
    if key in _RESERVED:
        hint = "list seeds in `seeds`" if key == "seed" else "run names are made from the grid"
        raise ConfigError(f"{where} may not set {key}: {hint}")


def _apply(config: RunConfig, dotted: dict[str, Any], where: str) -> RunConfig:
    if not dotted:
        return config
    try:
        return apply_overrides(config, dotted)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None


def _grid(table: Any) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    if not isinstance(table, dict):
        raise ConfigError(f"grid must be a table of dotted keys to lists, got {table!r}")
    out = []
    for key, values in _flatten(table).items():
        _check_key(key, "grid")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"grid {key} must be a non-empty list of values, got {values!r}")
        seen = set()
        for value in values:
            marker = json.dumps(_same_number(value), sort_keys=True)  # 10 and 10.0 are one value
            if marker in seen:
                raise ConfigError(f"grid {key} lists {value!r} twice")
            seen.add(marker)
        out.append((key, tuple(tuple(v) if isinstance(v, list) else v for v in values)))
    return tuple(out)


def _same_number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_same_number(v) for v in value]
    return value


def _variants(items: Any) -> tuple[Variant, ...]:
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ConfigError("variants must be an array of tables ([[variants]] with a label)")
    out, labels = [], set()
    for i, item in enumerate(items):
        label = item.get("label")
        if not isinstance(label, str) or not label.strip():
            raise ConfigError(f"variants[{i}] needs a label (a short name used in run ids)")
        if _slug(label) != label:
            raise ConfigError(f"variants[{i}] label {label!r} may use only letters, digits, . + -")
        if label in labels:
            raise ConfigError(f"variants label {label!r} is used twice")
        labels.add(label)
        overrides = _flatten({k: v for k, v in item.items() if k != "label"})
        for key in overrides:
            _check_key(key, f"variant {label!r}")
        out.append(Variant(label, tuple(overrides.items())))
    return tuple(out)


def _seeds(value: Any) -> tuple[int, ...]:
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"first", "count"})
        if unknown:
            raise ConfigError(f"unknown key seeds.{unknown[0]}; allowed keys here: count, first")
        first, count = value.get("first", 0), value.get("count")
        for key, v, lo, hi in (("first", first, 0, MAX_SEED), ("count", count, 1, 1_000_000)):
            if not isinstance(v, int) or isinstance(v, bool):
                raise ConfigError(f"seeds.{key} = {v!r} has the wrong type; expected an integer")
            if not lo <= v <= hi:
                raise ConfigError(f"seeds.{key} = {v!r} is out of range; allowed {lo} <= seeds.{key} <= {hi}")
        if first + count - 1 > MAX_SEED:
            raise ConfigError("seeds.first + seeds.count runs past the largest seed")
        return tuple(range(first, first + count))
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ConfigError(f"seeds must be a non-empty list of integers or {{first, count}}, got {value!r}")
    for i, seed in enumerate(value):
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ConfigError(f"seeds[{i}] = {seed!r} has the wrong type; expected an integer")
        if not 0 <= seed <= MAX_SEED:
            raise ConfigError(f"seeds[{i}] = {seed!r} is out of range; allowed 0 <= seed <= {MAX_SEED}")
    if len(set(value)) != len(value):
        raise ConfigError("seeds lists the same seed twice")
    return tuple(value)


# ---------------------------------------------------------------------------------------------
# Run ids: readable, deterministic, unique within the sweep

_MAX_ID = 120
_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+-")


def _slug(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return "+".join(_slug(v) for v in value)
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float):
        text = repr(value)
    else:
        text = str(value)
    text = "".join(c if c in _SAFE else "-" for c in text).strip("-.")
    return text or "none"


def _short_names(keys: tuple[str, ...]) -> dict[str, str]:
    """The last part of each dotted key, unless two keys share it (then the whole key)."""
    lasts = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: (last if lasts.count(last) == 1 else k) for k, last in zip(keys, lasts)}


def _name_conditions(conditions: list[Condition]) -> list[Condition]:
    import hashlib

    keys = tuple(k for k, _ in conditions[0].params) if conditions else ()
    short = _short_names(keys)
    names = []
    for cond in conditions:
        parts = [cond.variant] if cond.variant else []
        parts += [f"{short[k]}-{_slug(v)}" for k, v in cond.params]
        names.append("_".join(parts))
    counts = {n: names.count(n) for n in names}
    out = []
    for cond, name in zip(conditions, names):
        if counts[name] > 1 or len(name) > _MAX_ID:
            # Two cells read the same once slugged (or the name is too long): a short hash of
            # the exact values keeps run ids unique and still deterministic.
            exact = json.dumps([cond.variant, cond.params], sort_keys=True, default=str)
            digest = hashlib.sha256(exact.encode()).hexdigest()[:8]
            name = f"{name[:_MAX_ID - 9]}-{digest}"
        out.append(Condition(name, cond.variant, cond.params, cond.config))
    return out

