"""The runs of a sweep, in a fixed order, each with its folder, and the checks that make a rerun
of the same command a resume rather than a second sweep on top of the first."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from model.config import RunConfig
from model.run_folder import OutputExistsError, RunContext, check_writable, read_manifest
from model.llm_session import uses_llm
from model.sweep.config import Condition, SweepConfig

SWEEP_JSON = "sweep.json"
INDEX = "index.parquet"
# Where a run's model is served is not part of the run: a resumed run may use another host.
_NOT_IDENTITY = {"llm.host", "llm.base_url"}


@dataclass(frozen=True)
class RunSpec:
    index: int  # position in the plan: seeds outermost, so early runs cover every condition
    run_id: str
    condition: Condition
    seed: int
    config: RunConfig  # seed and name set

    @property
    def llm(self) -> bool:
        return uses_llm(self.config)


@dataclass
class SweepPlan:
    sweep: SweepConfig
    root: Path
    runs: list[RunSpec]

    def run_dir(self, run: RunSpec) -> Path:
        return self.root / "runs" / run.run_id

    def context(self, command: list[str] | tuple[str, ...]) -> RunContext:
        return RunContext(str(self.root.resolve()), self.sweep.name, tuple(command))


def default_out(sweep: SweepConfig) -> Path:
    return Path(sweep.settings.out) if sweep.settings.out else Path("out") / sweep.name


def make_plan(sweep: SweepConfig, out: str | Path | None = None) -> SweepPlan:
    hosts = sweep.settings.hosts
    conditions = []
    for cond in sweep.conditions():
        if hosts and uses_llm(cond.config) and cond.config.llm.backend in ("auto", "embedded"):
            # The sweep's host list says where models are served; a host that is down must be
            # reported (and its run moved), not replaced by a local embedded server.
            cond = dataclasses.replace(cond, config=cond.config.replace(**{"llm.backend": "ollama"}))
        conditions.append(cond)
    runs = []
    for seed in sweep.seeds:
        for cond in conditions:
            run_id = cond.run_id(seed)
            # Seeds were range-checked when the sweep was loaded; the name is free text.
            config = dataclasses.replace(cond.config, seed=seed, name=run_id)
            runs.append(RunSpec(len(runs), run_id, cond, seed, config))
    return SweepPlan(sweep, Path(out) if out else default_out(sweep), runs)


def check_output(plan: SweepPlan) -> None:
    """Refuse a folder that holds something other than this sweep, and run folders made with
    another config (a changed base or grid would otherwise mix two experiments)."""
    root = plan.root
    if root.exists() and not root.is_dir():
        raise OutputExistsError(f"output folder {root} is a file; choose another --out")
    check_writable(root)
    marker = root / SWEEP_JSON
    if marker.is_file():
        try:
            recorded = json.loads(marker.read_text(encoding="utf-8")).get("name")
        except ValueError:
            recorded = None
        if recorded is not None and recorded != plan.sweep.name:
            raise OutputExistsError(
                f"output folder {root} holds sweep {recorded!r}, not {plan.sweep.name!r}; "
                "choose another --out"
            )
    elif root.exists() and any(p.name != ".locks" for p in root.iterdir()):
        raise OutputExistsError(f"output folder {root} exists and holds no sweep; choose another --out")
    for run in plan.runs:
        manifest = read_manifest(plan.run_dir(run))
        if manifest is None or "config" not in manifest:
            continue
        diff = config_difference(_plain(run.config.public_dict()), manifest["config"])
        if diff:
            raise OutputExistsError(
                f"run folder {plan.run_dir(run)} was made with another config ({diff}); "
                "use another --out, or remove that folder to run it again"
            )


def _plain(obj):
    return json.loads(json.dumps(obj))


def config_difference(planned: dict, recorded: dict, prefix: str = "") -> str | None:
    """The first dotted key whose value differs (host addresses excepted), or None."""
    for key in sorted(set(planned) | set(recorded)):
        dotted = prefix + key
        if dotted in _NOT_IDENTITY:
            continue
        a, b = planned.get(key), recorded.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found = config_difference(a, b, dotted + ".")
            if found:
                return found
        elif a != b:
            return f"{dotted}: {b!r} there, {a!r} now"
    return None
