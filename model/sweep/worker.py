"""What a sweep worker does with one run: the worker-side half of ``model.sweep.run``.

Rule-based runs go through ``mesa.batch_run`` with ``SweepModel``, a norms model that writes its
own run folder when it ends (batch_run hands back reporter rows, not tables). LLM runs go through
``model.runner.run`` so each gets its call log and can resume from it. Everything here is
importable by a spawned process or a Dask worker and takes only picklable arguments.

A run folder is locked (``flock``) while a process works on it: a worker orphaned by a killed
sweep may still be finishing a run when the next sweep command starts, and two processes must
never write one folder or append to one call log.
"""

from __future__ import annotations

import contextlib
import ctypes
import copy
import dataclasses
import fcntl
import functools
import multiprocessing
import os
import signal
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from agents.llm.errors import LLMSetupError, LLMUnavailableError
from model.norms.model import NormsModel
from model.config import RunConfig
from model.run_folder import COMPLETED, RunContext, RunFolder, new_manifest, now, read_manifest
from model.sweep.config import Condition

# Errors after which an LLM run may go on from its call log on another host.
SERVER_ERRORS = (LLMUnavailableError, LLMSetupError)


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    status: str  # "completed", "failed", "skipped" (another process had completed it)
    host: str | None = None
    error_type: str | None = None  # the error's class name, for the sweep's report
    error: str | None = None
    seconds: float = 0.0
    server_error: bool = False  # the host failed: the run may go on elsewhere from its call log


def die_with_parent() -> None:
    """Run in each worker process first: the kernel ends it when the sweep that started it
    ends, even by SIGKILL (Linux's PR_SET_PDEATHSIG), so no orphan keeps a run folder locked or
    a server busy. Elsewhere a worker ends when it next finds its pipe to the sweep closed."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the sweep died before the call took effect
        os._exit(1)


_PR_SET_PDEATHSIG = 1


def _lock(path: Path) -> int:
    """An exclusive lock on ``path``, waiting while another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


@contextlib.contextmanager
def run_lock(path: Path) -> Iterator[None]:
    fd = _lock(path)
    try:
        yield
    finally:
        os.close(fd)  # closing drops the lock


# ---------------------------------------------------------------------------------------------
# Rule-based runs, through mesa.batch_run


class SweepModel(NormsModel):
    """The norms model as a sweep runs it: one condition, the seed from batch_run's ``rng``,
    and its own run folder, written when the run ends (completed or failed)."""

    def __init__(self, condition: Condition, context: RunContext, rng: Any = None):
        seed = int(rng)
        self.run_id = condition.run_id(seed)
        config = dataclasses.replace(condition.config, seed=seed, name=self.run_id)
        super().__init__(config, rng=seed)
        self.outcome: str | None = None
        self._lock_fd = _lock(context.lock_path(self.run_id))
        run_dir = context.run_dir(self.run_id)
        previous = read_manifest(run_dir)
        if previous is not None and previous.get("status") == COMPLETED:
            # Completed meanwhile by a process of an earlier sweep command that outlived it.
            self.outcome = "skipped"
            self.running = False
            self._unlock()
            return
        # A rule-based run is cheap and deterministic: an unfinished one starts again from a
        # clean folder, so nothing of the broken attempt is kept or counted.
        shutil.rmtree(run_dir, ignore_errors=True)
        self._folder = RunFolder(run_dir)
        self._folder.create()
        self._manifest = _manifest(config, context.command)
        self._manifest["sweep"] = {"name": context.sweep, "run_id": self.run_id}
        self._folder.write_manifest(self._manifest)
        if not self.running:  # a config that ends before its first round
            self._finish(COMPLETED)

    def step(self) -> None:
        try:
            super().step()
        except Exception as err:  # one broken run must not take the sweep's other runs down
            self.running = False
            self._finish("failed", f"{type(err).__name__}: {err}")
            return
        if not self.running:
            self._finish(COMPLETED)

    def _finish(self, status: str, error: str | None = None) -> None:
        self._folder.finish(self._manifest, status, self, self.config.output.format, error)
        self.outcome = status
        self._unlock()

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


@functools.lru_cache(maxsize=1)
def _manifest_template(command: tuple[str, ...]) -> dict:
    # The git commit and package versions cost ~0.1 s to look up and cannot change under a
    # running worker: look them up once per process, not once per (short) rule-based run.
    return new_manifest(RunConfig(), list(command))


def _manifest(config: RunConfig, command: tuple[str, ...]) -> dict:
    manifest = copy.deepcopy(_manifest_template(command))
    manifest.update(name=config.name, scenario=config.scenario, seed=config.seed,
                    status="running", started=now(), finished=None, config=config.public_dict())
    return manifest


def batch_groups(pairs: list[tuple[Condition, int]]) -> list[tuple[list[Condition], list[int]]]:
    """Cover exactly the (condition, seed) pairs with few Cartesian blocks for batch_run.

    A fresh sweep is one block (all conditions x all seeds); after an interruption the
    unfinished pairs usually form two or three blocks.
    """
    by_cond: dict[str, list[int]] = {}
    conds: dict[str, Condition] = {}
    for cond, seed in pairs:
        by_cond.setdefault(cond.key, []).append(seed)
        conds[cond.key] = cond
    by_seeds: dict[tuple[int, ...], list[Condition]] = {}
    for key, seeds in by_cond.items():
        by_seeds.setdefault(tuple(seeds), []).append(conds[key])
    # The transposed grouping (seeds that share their set of conditions) may need fewer blocks.
    by_seed: dict[int, list[str]] = {}
    for cond, seed in pairs:
        by_seed.setdefault(seed, []).append(cond.key)
    by_keys: dict[tuple[str, ...], list[int]] = {}
    for seed, keys in by_seed.items():
        by_keys.setdefault(tuple(keys), []).append(seed)
    if len(by_keys) < len(by_seeds):
        return [([conds[k] for k in keys], seeds) for keys, seeds in by_keys.items()]
    return [(cs, list(seeds)) for seeds, cs in by_seeds.items()]


def run_rule_pairs(pairs: list[tuple[Condition, int]], context: RunContext,
                   processes: int | None = 1) -> list[str]:
    """Run rule-based (condition, seed) pairs with ``mesa.batch_run``; seeds go in as ``rng``.

    ``processes``: batch_run's ``number_processes`` (None = every core). Returns
    the run ids; each run's outcome is in its folder. Used locally with all cores, and inside
    Dask tasks with one process.
    """
    from mesa.batchrunner import batch_run

    # batch_run forces the "spawn" start method on the whole process; give the caller back its own.
    start_method = multiprocessing.get_start_method(allow_none=True)
    try:
        return _batch_runs(batch_run, pairs, context, processes)
    finally:
        multiprocessing.set_start_method(start_method, force=True)


def _batch_runs(batch_run, pairs, context, processes) -> list[str]:
    outcomes = []
    for conds, seeds in batch_groups(pairs):
        n_runs = len(conds) * len(seeds)
        rows = batch_run(
            SweepModel,
            parameters={"condition": conds, "context": context},
            rng=seeds,
            number_processes=1 if n_runs == 1 else processes,
            data_collection_period=-1,
            max_steps=max(c.config.rounds for c in conds) + 1,
            display_progress=False,
        )
        # One row per villager of the last round; the run ids are what the caller needs.
        outcomes += list(dict.fromkeys(r["condition"].run_id(int(r["rng"])) for r in rows))
    return outcomes


# ---------------------------------------------------------------------------------------------
# LLM runs, through model.runner.run


@dataclass(frozen=True)
class LLMTask:
    run_id: str
    config: RunConfig  # seed and name set; host not yet
    context: RunContext
    host: str | None = None  # from the sweep's host list (None: the config's own)


def with_host(config: RunConfig, host: str | None) -> RunConfig:
    if host is None:
        return config
    key = "llm.base_url" if config.llm.backend == "openai" else "llm.host"
    return config.replace(**{key: host})


def execute_llm_run(task: LLMTask) -> RunOutcome:
    """One LLM run to its end in its folder, continuing an unfinished one from its call log."""
    from model.runner import run

    start = time.perf_counter()
    run_dir = task.context.run_dir(task.run_id)
    with run_lock(task.context.lock_path(task.run_id)):
        previous = read_manifest(run_dir)
        if previous is not None and previous.get("status") == COMPLETED:
            return RunOutcome(task.run_id, "skipped", task.host)
        resume = previous is not None
        try:
            run(with_host(task.config, task.host), run_dir, resume=resume, overwrite=not resume,
                progress=False)
        except Exception as err:  # reported to the sweep, which may move the run to another host
            return RunOutcome(task.run_id, "failed", task.host, type(err).__name__,
                              str(err).splitlines()[0][:500] if str(err) else "",
                              time.perf_counter() - start,
                              server_error=isinstance(err, SERVER_ERRORS))
    return RunOutcome(task.run_id, COMPLETED, task.host, seconds=time.perf_counter() - start)
