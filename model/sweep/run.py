"""run_sweep: every run of a grid x seeds, one folder each, resumable, local or on Dask.

Rule-based runs go through ``mesa.batch_run`` (seeds as ``rng=[...]``, all cores), with a model
that writes its own run folder. LLM runs go through ``model.runner.run`` one folder at a time,
spread over the sweep's LLM hosts. Running the same command again resumes: completed runs
(manifest status "completed") are skipped, an unfinished rule-based run starts again from a
clean folder, and an unfinished LLM run continues from its call log without repeating a
recorded call. The index is rebuilt from the run folders, so nothing is counted twice.

    from model.sweep.config import load_sweep
    from model.sweep.run import run_sweep
    result = run_sweep(load_sweep("runs/sweep-demo.toml"))
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import sys
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool as BrokenExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from model.run_folder import COMPLETED, RunContext, read_manifest
from model.sweep.config import SweepConfig
from model.sweep.hosts import COOLDOWN_S, HostPool, display_host
from model.sweep.index import rebuild_index
from model.sweep.plan import RunSpec, SweepPlan, check_output, make_plan
from model.sweep.worker import (LLMTask, RunOutcome, die_with_parent, execute_llm_run,
                                run_rule_pairs)

log = logging.getLogger(__name__)

POLL_S = 0.5


@dataclass
class SweepResult:
    root: Path
    planned: int
    completed: int  # completed runs in the folder now
    before: int  # of which were completed before this command
    failed: dict[str, str] = field(default_factory=dict)  # run id -> error, from this command
    stopped: str | None = None  # why the sweep stopped before its end
    seconds: float = 0.0
    engine: str = "local"
    index: pd.DataFrame | None = None

    @property
    def ran(self) -> int:
        return self.completed - self.before

    @property
    def ok(self) -> bool:
        return self.completed == self.planned


class _Bar:
    """One tqdm bar over the whole sweep (time left from the rate of this command's runs)."""

    def __init__(self, name: str, total: int, done: int, enabled: bool):
        from tqdm.auto import tqdm

        tty = sys.stderr.isatty()
        self.failed = 0
        self._lock = threading.Lock()
        self._tqdm = tqdm(total=total, initial=done, desc=name, unit="run", file=sys.stderr,
                          disable=not enabled, dynamic_ncols=True, smoothing=0.1,
                          mininterval=0.2 if tty else 5.0)

    def advance(self, status: str, n: int = 1) -> None:
        with self._lock:
            if status != COMPLETED and status != "skipped":
                self.failed += n
                self._tqdm.set_postfix_str(f"failed={self.failed}", refresh=False)
            self._tqdm.update(n)

    def note(self, text: str) -> None:
        self._tqdm.write(text, file=sys.stderr)

    def close(self) -> None:
        self._tqdm.close()


def run_sweep(sweep: SweepConfig, out: str | Path | None = None, *, progress: bool = True,
              command: list[str] | None = None) -> SweepResult:
    """Run (or resume) every run of ``sweep`` into ``out`` (default out/<name>)."""
    start = time.perf_counter()
    plan = make_plan(sweep, out)
    check_output(plan)
    index = rebuild_index(plan)
    done = set(index.loc[index["status"] == COMPLETED, "run_id"])
    todo = [r for r in plan.runs if r.run_id not in done]
    settings = sweep.settings
    result = SweepResult(plan.root, len(plan.runs), len(done), len(done), engine=settings.engine)
    context = plan.context(command if command is not None else sys.argv)
    bar = _Bar(sweep.name, len(plan.runs), len(done), progress)
    try:
        if todo:
            with ExitStack() as stack:
                cluster = None
                if settings.engine == "dask":
                    from model.sweep.dask_engine import dask_cluster

                    cluster = stack.enter_context(
                        dask_cluster(settings.workers, settings.scheduler, plan.root))
                    result.engine = cluster.description
                rule = [r for r in todo if not r.llm]
                llm = [r for r in todo if r.llm]
                if rule and cluster is None:
                    _rule_local(plan, rule, context, settings.workers, bar)
                elif rule:
                    _rule_executor(plan, rule, context, cluster.executor, cluster.slots, bar)
                if llm:
                    result.stopped = _llm_runs(plan, llm, context, bar, result,
                                               cluster.executor if cluster else None,
                                               stack)
    finally:
        bar.close()
        result.index = rebuild_index(plan)
        result.completed = int((result.index["status"] == COMPLETED).sum())
        for row in result.index[result.index["status"] == "failed"].to_dict("records"):
            result.failed.setdefault(row["run_id"], row.get("error") or "failed")
        result.seconds = time.perf_counter() - start
    return result


# ---------------------------------------------------------------------------------------------
# Rule-based runs


def _rule_local(plan: SweepPlan, runs: list[RunSpec], context: RunContext, workers: int,
                bar: _Bar) -> None:
    """batch_run on this machine (all cores unless ``workers`` says otherwise); the bar follows
    the run folders, which the worker processes write."""
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(plan, runs, bar, stop), daemon=True)
    watcher.start()
    try:
        run_rule_pairs([(r.condition, r.seed) for r in runs], context,
                       processes=workers or None)
    finally:
        stop.set()
        watcher.join()


def _watch(plan: SweepPlan, runs: list[RunSpec], bar: _Bar, stop: threading.Event) -> None:
    left = {r.run_id: plan.run_dir(r) for r in runs}
    started = {r.run_id: (read_manifest(plan.run_dir(r)) or {}).get("started") for r in runs}
    while left:
        final = stop.is_set()
        for run_id, run_dir in list(left.items()):
            manifest = read_manifest(run_dir)
            # A manifest left by an earlier, killed command is not this command's result.
            if manifest and manifest.get("finished") and manifest.get("started") != started[run_id]:
                bar.advance(manifest.get("status", "failed"))
                del left[run_id]
        if final:
            return
        stop.wait(POLL_S)


def _rule_executor(plan: SweepPlan, runs: list[RunSpec], context: RunContext,
                   executor: Executor, slots: int, bar: _Bar) -> None:
    """batch_run inside cluster tasks, one process each; small chunks keep every slot busy."""
    size = max(1, min(50, math.ceil(len(runs) / (4 * max(1, slots)))))
    chunks = [runs[i:i + size] for i in range(0, len(runs), size)]
    futures = {executor.submit(run_rule_pairs, [(r.condition, r.seed) for r in chunk], context, 1):
               chunk for chunk in chunks}
    pending = set(futures)
    try:
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                future.result()  # a task that raised is a bug: stop the sweep and show it
                for run in futures[future]:
                    bar.advance((read_manifest(plan.run_dir(run)) or {}).get("status", "failed"))
    finally:
        for future in pending:
            future.cancel()


# ---------------------------------------------------------------------------------------------
# LLM runs


def _llm_runs(plan: SweepPlan, runs: list[RunSpec], context: RunContext, bar: _Bar,
              result: SweepResult, executor: Executor | None, stack: ExitStack) -> str | None:
    """Hand LLM runs to hosts as slots free up; move a run whose server failed to another host.

    Returns why the sweep stopped early (every host down), or None.
    """
    settings = plan.sweep.settings
    backend = runs[0].config.llm.backend
    if settings.hosts:
        slots = settings.runs_per_host
    else:
        # No host list: each run reaches the server its config names (or starts the embedded
        # one); parallel runs only help if that server serves parallel requests.
        slots = settings.workers or 1
    pool = HostPool(settings.hosts, slots, settings.host_assignment, backend)
    if executor is None:
        width = slots * len(pool.keys)
        if settings.workers:
            width = min(width, settings.workers)
        executor = stack.enter_context(ProcessPoolExecutor(
            max_workers=width, mp_context=multiprocessing.get_context("spawn"),
            initializer=die_with_parent))
    queue = deque(runs)
    tries: dict[str, int] = {}
    inflight = {}
    while queue or inflight:
        pool.refresh()
        for run in list(queue):
            try:
                host = pool.take(run.index)
            except LookupError:
                if settings.host_assignment == "fixed":
                    continue  # this run's host is busy; another run's host may be free
                break
            queue.remove(run)
            tries[run.run_id] = tries.get(run.run_id, 0) + 1
            task = LLMTask(run.run_id, run.config, context, host)
            inflight[executor.submit(execute_llm_run, task)] = (run, host)
        if not inflight:
            # Runs are waiting and every host is set aside: wait out the pause, probe once more.
            time.sleep(pool.next_probe_in())
            pool.refresh()
            if pool.all_down():
                return (f"no LLM host answers ({', '.join(settings.hosts)}); "
                        f"{len(queue)} runs wait; rerun the same command to resume")
            continue
        # Wake up now and then to probe hosts that were set aside.
        finished, _ = wait(inflight, timeout=COOLDOWN_S, return_when=FIRST_COMPLETED)
        for future in finished:
            run, host = inflight.pop(future)
            pool.release(host)
            try:
                outcome = future.result()
            except BrokenExecutor as err:  # a worker process was killed (e.g. out of memory)
                return (f"a worker process died ({type(err).__name__}); "
                        "rerun the same command to resume")
            except Exception as err:  # e.g. Dask's KilledWorker after its own retries
                outcome = RunOutcome(run.run_id, "failed", host, type(err).__name__, str(err)[:300])
            if outcome.status in (COMPLETED, "skipped"):
                bar.advance(COMPLETED)
                continue
            if (outcome.server_error and pool.moves_runs
                    and tries[run.run_id] < settings.max_attempts):
                pool.set_aside(host)
                bar.note(f"{run.run_id}: {outcome.error_type} on {display_host(host)}; the run "
                         "continues from its call log on another host")
                queue.appendleft(run)
                continue
            result.failed[run.run_id] = f"{outcome.error_type}: {outcome.error}"
            bar.note(f"{run.run_id} failed: {outcome.error_type}: {outcome.error}")
            bar.advance("failed")
    return None

