"""The run the page drives: one simulation, built from the page's controls, stepped a round at a
time, LLM rounds in a background thread.

The page's controls call ``LiveRun(**parameters)`` on Reset, ``step()`` on Step and Play and
``back()`` on Back. ``LiveRun`` is not itself the model: it builds the scenario's model
(``model.runner.build_model``), so the scenario can change on Reset, and it keeps a slow LLM
round off the thread that handles the browser's clicks, so the page stays responsive while the
villagers think. The panels read ``view``, a snapshot taken after each round, never the model;
every snapshot is kept, so Back and Step move through rounds already played without replaying
them. ``LiveRun.recorded(folder)`` replays a run folder's call log with no LLM server at all.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

from pathlib import Path

from agents.errors import LabError
from model.config import ConfigError, RunConfig, apply_overrides
from model.engine import Module
from viz import snapshot

log = logging.getLogger(__name__)

DEFAULT_LLM_MODEL = RunConfig().llm.model
# While a round is in flight, Play keeps calling step(); each call waits this long for the round
# to end, so Play polls about once a second instead of redrawing the page many times a second.
BUSY_WAIT_S = 1.0


def parse_seed(value: Any) -> int:
    """The seed typed into the page (a string after editing) as an integer."""
    text = str(value).strip()
    try:
        seed = int(text)
    except ValueError:
        raise ConfigError(f"seed = {text!r} must be a whole number, e.g. 42") from None
    if seed < 0:
        raise ConfigError(f"seed = {seed} must not be negative")
    return seed


def parse_humans(value: Any) -> list[int]:
    """The human villagers typed into the page ("1" or "1, 3"; empty: none) as ids."""
    text = str(value or "").replace(";", ",").strip()
    ids = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if not part.isdigit():
            raise ConfigError(f"human villagers = {text!r} must be villager ids, e.g. 1 or 1, 3")
        ids.append(int(part))
    return ids


def build_config(*, scenario: str = "norms", environment: str = "rich", population: str = "mixed",
                 ablation: str = "full", punishment: bool = True, villagers: int = 6,
                 rounds: int = 50, policy: str = "rule", llm_model: str = DEFAULT_LLM_MODEL,
                 seed: Any = 0, llm_backend: str = "auto", humans: Any = "",
                 human_timeout: Any = 120) -> RunConfig:
    """The ``RunConfig`` the page's controls describe.

    ``scenario`` is "norms" or "govsim:<variant>". GovSim villagers always ask a language model,
    and the norms controls (environment, population, modules) do not apply to it.
    """
    overrides: dict[str, Any] = {
        "name": "live",
        "seed": parse_seed(seed),
        "rounds": int(rounds),
        "llm.model": str(llm_model).strip() or DEFAULT_LLM_MODEL,
        "llm.backend": llm_backend,
        "villagers.human": parse_humans(humans),
        "villagers.human_timeout_s": float(human_timeout),
    }
    if scenario == "norms":
        overrides.update({
            "scenario": "norms",
            "policy": policy,
            "norms.environment": environment,
            "norms.population": population,
            "norms.n_agents": int(villagers),
            "modules.ablation": ablation,
            "modules.punishment": bool(punishment),
        })
    elif scenario.startswith("govsim:"):
        overrides.update({
            "scenario": "govsim",
            "policy": "llm",
            "govsim.variant": scenario.split(":", 1)[1],
            "govsim.n_agents": int(villagers),
            "govsim.months": int(rounds),
        })
    else:
        raise ConfigError(f"scenario = {scenario!r} is not one the page knows")
    return apply_overrides(RunConfig(), overrides)


@dataclass(frozen=True)
class Progress:
    """Where the round in flight is."""

    round: int
    phase: str
    phase_index: int  # 1-based
    phases: int
    elapsed_s: float
    llm_calls: int  # chat attempts so far in this round

    @property
    def fraction(self) -> float:
        """Phases begun, as a share of the round: a step per phase, since calls per phase vary."""
        return max(0.0, min(1.0, (self.phase_index - 1) / self.phases)) if self.phases else 0.0


class _TrackedPhase(Module):
    """A round module that tells the run when it starts, so the page can show the phase."""

    def __init__(self, module: Module, index: int, on_start):
        self.module = module
        self.name = module.name
        self.runs_after_collapse = module.runs_after_collapse
        self.index = index
        self._on_start = on_start

    def __call__(self, model) -> None:
        self._on_start(self.index, self.name)  # raises RoundCancelled after cancel()
        self.module(model)


class RoundCancelled(Exception):
    """The page's Reset stopped this run between two phases."""


class LiveRun:
    """One run of the page. Constructor arguments are the page's controls (see viz/params.py).

    ``error`` holds one line when the run cannot be built (bad seed, no LLM server, model not
    pulled) or a round failed; the page shows it instead of raising in the browser's face.
    """

    def __init__(self, scenario: str = "norms", environment: str = "rich",
                 population: str = "mixed", ablation: str = "full", punishment: bool = True,
                 villagers: int = 6, rounds: int = 50, policy: str = "rule",
                 llm_model: str = DEFAULT_LLM_MODEL, seed: Any = 0, llm_backend: str = "auto",
                 humans: Any = "", human_timeout: Any = 120):
        # Named "setting", not "scenario": SolaraViz treats a ``scenario`` attribute as a Mesa
        # Scenario object when it rebuilds the model on Reset.
        self.setting = scenario
        self.error: str | None = None
        self.config: RunConfig | None = None
        self.sim = None
        self.client = None
        self._session = contextlib.ExitStack()  # the run's LLM session, closed with the run
        weakref.finalize(self, self._session.close)
        self.threaded = False  # LLM rounds run in a background thread
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._version = 0
        self._phase = (0, "", 0)  # (index, name, count) of the phase in flight
        self._phase_count = 0
        self._round_started: float | None = None
        self._calls_at_start = 0
        self._failed = False
        self._cancelled = threading.Event()
        self.rounds_started = 0
        self.source: str | None = None  # the run folder a recorded run replays
        self._views: list[snapshot.RoundView] = []
        self.shown = 0  # index in _views of the round the page shows
        self.after: LiveRun | None = None  # a previous run whose round must end first
        # Human villagers: their turns wait at ``desk``; answers and calls are recorded in
        # ``folder`` (calls.jsonl), so the run replays without the page.
        self.desk = None
        self.folder: Path | None = None
        self.owner: str | None = None  # the page session that started it (it may Reset it)
        if scenario == "<recorded>":
            return  # LiveRun.recorded fills in the rest
        try:
            self.config = build_config(
                scenario=scenario, environment=environment, population=population,
                ablation=ablation, punishment=punishment, villagers=villagers, rounds=rounds,
                policy=policy, llm_model=llm_model, seed=seed, llm_backend=llm_backend,
                humans=humans, human_timeout=human_timeout)
            self._build()
        except Exception as err:  # shown on the page; a bad control must not crash it
            if not isinstance(err, LabError):
                log.exception("could not build the run")
            self.error = _one_line(err)
            self._close_client()
        self._keep(self._snapshot())

    @classmethod
    def recorded(cls, folder: str | Path) -> LiveRun:
        """A run that replays ``folder`` (a run folder: manifest.json, tables, calls.jsonl)
        round by round, serving every LLM answer from the folder's call log: no server."""
        from model.llm_session import open_run, uses_llm
        from model.runner import build_model
        from viz.recorded_run import recorded_config

        run = cls(scenario="<recorded>")
        run.source = str(folder)
        try:
            run.config = recorded_config(folder)
            run.setting = "norms" if run.config.scenario == "norms" else \
                f"govsim:{run.config.govsim.variant}"
            kwargs = {}
            if uses_llm(run.config) or run.config.humans:
                # Strict replay of the folder's call log: no server, nobody asked.
                session = run._session.enter_context(open_run(run.config))
                run.client = session.llm
                kwargs.update(llm_client=session.llm, humans=session.humans)
            run.sim = build_model(run.config, **kwargs)
            run._track_phases()
        except Exception as err:  # a damaged or foreign folder: one line on the page
            if not isinstance(err, (LabError, OSError, ValueError)):
                log.exception("could not open the recorded run %s", folder)
            run.error = _one_line(err)
            run._close_client()
        run._keep(run._snapshot())
        return run

    # -- the rounds kept for the page --------------------------------------------------------

    @property
    def view(self) -> snapshot.RoundView | None:
        """The round the page shows (the latest, unless Back was pressed)."""
        return self._views[self.shown] if self._views else None

    @property
    def latest(self) -> snapshot.RoundView | None:
        return self._views[-1] if self._views else None

    @property
    def views(self) -> tuple[snapshot.RoundView, ...]:
        return tuple(self._views)

    def _keep(self, view: snapshot.RoundView | None) -> None:
        if view is None:
            return
        follow = self.shown == len(self._views) - 1 or not self._views
        self._views.append(view)
        if follow:
            self.shown = len(self._views) - 1

    def back(self) -> None:
        """Show the round before the one shown (the run itself is not undone)."""
        if self.shown > 0:
            self.shown -= 1

    @property
    def can_advance(self) -> bool:
        """Step would show something new: a kept later round, or a new round to play."""
        return self.shown < len(self._views) - 1 or self.running

    def _build(self) -> None:
        from model.llm_session import open_run, uses_llm
        from model.runner import build_model

        kwargs = {}
        call_log = None
        if self.config.humans:
            import tempfile

            from agents.human.desk import HumanDesk
            from model.run_folder import CALL_LOG

            self.desk = HumanDesk()
            self.folder = Path(tempfile.mkdtemp(prefix="commons-lab-page-"))
            call_log = self.folder / CALL_LOG
            self.threaded = True  # a round waits for people: never on the browser's thread
        if uses_llm(self.config) or self.config.humans:
            host = None
            if uses_llm(self.config):
                from viz.llm_link import shared_host

                host = shared_host(self.config)
                self.threaded = True
            session = self._session.enter_context(
                open_run(self.config, host=host, call_log=call_log, desk=self.desk))
            self.client = session.llm
            kwargs.update(llm_client=session.llm, humans=session.humans)
        self.sim = build_model(self.config, **kwargs)
        self._track_phases()
        if self.desk is not None:
            CLASS_RUNS.add(self)

    def _track_phases(self) -> None:
        modules = list(self.sim.modules)
        self.sim.modules = [_TrackedPhase(m, i, self._enter_phase)
                            for i, m in enumerate(modules, start=1)]
        self._phase_count = len(modules)

    def _close_client(self) -> None:
        self._session.close()
        self.client = None

    # -- what SolaraViz's controls call and read -------------------------------------------

    @property
    def running(self) -> bool:
        """False once the run has ended (collapse, round cap), failed or been cancelled."""
        return (self.sim is not None and bool(self.sim.running) and not self._failed
                and not self._cancelled.is_set())

    @property
    def time(self) -> int:
        """The round shown."""
        return self.view.round if self.view else 0

    def step(self) -> None:
        """Show the next round: a kept one after Back, else play one. An LLM round starts in a
        background thread and ``step`` returns at once; a call while a round is still in flight
        starts nothing (Play keeps calling): it waits up to ``BUSY_WAIT_S`` for that round to
        end, then returns."""
        in_flight = self._thread
        if in_flight is not None and in_flight.is_alive():
            in_flight.join(BUSY_WAIT_S)
            return
        if self.shown < len(self._views) - 1:
            self.shown += 1
            return
        previous = self.after
        if previous is not None and previous.busy:
            previous.wait(BUSY_WAIT_S)  # the old run's LLM round still holds the server
            return
        self.after = None
        with self._lock:
            if not self.running or self.busy:
                return
            self.rounds_started += 1
            self._round_started = time.monotonic()
            self._calls_at_start = self._llm_calls()
            self._phase = (0, "", self._phase_count)
            if not self.threaded:
                self._thread = None
            else:
                self._thread = threading.Thread(target=self._play_round, daemon=True,
                                                name=f"live-round-{self.rounds_started}")
        if self._thread is None:
            self._play_round()
        else:
            self._thread.start()

    # -- state for the panels --------------------------------------------------------------

    @property
    def busy(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def cancel(self) -> None:
        """Stop this run for good (Reset): no new round starts, the round in flight stops at
        its next phase or LLM call, and calls in flight lose their connection. Returns at once;
        ``wait()`` blocks until the round has ended."""
        self._cancelled.set()
        if self.desk is not None:
            self.desk.close("the run was reset")
        if self.client is not None and hasattr(self.client, "cancel"):
            self.client.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the round in flight ends; True if none is left running."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.busy

    def progress(self) -> Progress | None:
        started = self._round_started
        if started is None or self.sim is None:
            return None
        index, name, count = self._phase
        return Progress(round=self.latest.round + 1 if self.latest else 1, phase=name,
                        phase_index=index, phases=count,
                        elapsed_s=time.monotonic() - started,
                        llm_calls=self._llm_calls() - self._calls_at_start)

    # -- the round -------------------------------------------------------------------------

    def _enter_phase(self, index: int, name: str) -> None:
        if self._cancelled.is_set():
            raise RoundCancelled()
        self._phase = (index, name, self._phase_count)

    def _llm_calls(self) -> int:
        stats = getattr(self.client, "stats", None)
        return int(getattr(stats, "calls", 0) or 0)

    def _play_round(self) -> None:
        try:
            self.sim.step()
        except Exception as err:  # e.g. the LLM server went away: stop, say why
            self._failed = True
            if self._cancelled.is_set():  # whatever the cancelled round raised: not an error
                return
            log.exception("round %s failed", self.sim.round)
            self.error = f"round {self.sim.round} failed: {_one_line(err)}"
        finally:
            with self._lock:
                self._round_started = None
                if not self._cancelled.is_set():
                    self._keep(self._snapshot())

    # -- human villagers ------------------------------------------------------------------------

    @property
    def humans(self) -> tuple[int, ...]:
        return self.config.humans if self.config is not None else ()

    def free_humans(self) -> list[int]:
        """Human villagers nobody holds yet."""
        if self.desk is None:
            return []
        return [i for i in self.humans if self.desk.holder(i) is None]

    def human_counts(self) -> dict[str, int]:
        humans = getattr(self.sim, "humans", None)
        return humans.snapshot() if humans is not None else {}

    @property
    def label(self) -> str:
        """How other tabs name this run when they join it."""
        c = self.config
        return f"{c.scenario} seed {c.seed}, {len(self.humans)} human villager(s)" if c else ""

    def _snapshot(self) -> snapshot.RoundView | None:
        if self.sim is None:
            return None
        self._version += 1
        return snapshot.take(self.sim, self._version)


class _ClassRuns:
    """The page's runs with human villagers, which other browser tabs may join (a class run:
    one tab started it, each student's tab holds one of its human villagers)."""

    def __init__(self) -> None:
        self._runs: weakref.WeakSet[LiveRun] = weakref.WeakSet()
        self._lock = threading.Lock()

    def add(self, run: LiveRun) -> None:
        with self._lock:
            self._runs.add(run)

    def open(self) -> list[LiveRun]:
        """Runs still going that have a free human villager, newest first."""
        with self._lock:
            runs = list(self._runs)
        return [r for r in runs if r.running and not r.cancelled and r.free_humans()]


CLASS_RUNS = _ClassRuns()


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
