"""Play and the wait for a background LLM round: plain threads bound to one run object.

Solara's ``use_thread`` joins the old thread when its dependencies change; a Reset pressed
while that thread redraws the page then waits on a redraw that waits on it. These threads are
never joined: ``stop()`` sets a flag, and the thread, which only ever steps the run it was
started with, ends at its next look at the flag. Reset can therefore never step the new run.
"""

from __future__ import annotations

import threading
from typing import Callable

from viz.live_run import LiveRun

POLL_S = 0.25  # how often the page refreshes while an LLM round is in flight


def _kernel_context():
    """The browser session's Solara context, so a thread's redraw reaches that session."""
    try:
        from solara.server import kernel_context

        if kernel_context.has_current_context():
            return kernel_context.get_current_context()
    except ImportError:
        pass
    return None


class Player:
    """Drives one page's run: ``play`` a round per beat, or ``watch`` a Step's LLM round."""

    def __init__(self, on_change: Callable[[], None], on_stopped: Callable[[], None]):
        self._on_change = on_change
        self._on_stopped = on_stopped
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def stop(self) -> None:
        self._stop.set()

    def play(self, run: LiveRun, seconds_per_round: Callable[[], float]) -> None:
        self._start(lambda stop: self._play(run, seconds_per_round, stop))

    def watch(self, run: LiveRun) -> None:
        """Refresh the page while the round started by Step runs, and once when it ends."""
        if run.busy:
            self._start(lambda stop: self._watch(run, stop))

    def _start(self, loop) -> None:
        self._stop.set()  # whatever ran before ends at its next look
        stop = self._stop = threading.Event()
        context = _kernel_context()

        def target():
            if context is None:
                loop(stop)
            else:
                with context:
                    loop(stop)

        self._thread = threading.Thread(target=target, daemon=True, name="live-player")
        self._thread.start()

    def follow(self, run: LiveRun) -> None:
        """Refresh the page whenever ``run`` moves, whoever moves it: a human villager's turn
        opens or closes, or a round ends (a tab that joined another tab's class run)."""
        self._start(lambda stop: self._follow(run, stop))

    def _follow(self, run: LiveRun, stop: threading.Event) -> None:
        seen = None
        while not stop.is_set() and not run.cancelled:
            desk = run.desk
            now = (desk.version if desk is not None else 0, len(run.views), run.busy,
                   bool(desk is not None and desk.pending()))
            # While a turn is open, a redraw a second keeps its countdown current.
            if now != seen or now[3]:
                seen = now
                self._on_change()
            stop.wait(POLL_S if not now[3] else 1.0)
        if not stop.is_set():
            self._on_change()  # the run was reset: its open turns are gone

    def _watch(self, run: LiveRun, stop: threading.Event) -> None:
        while run.busy and not stop.is_set():
            stop.wait(POLL_S)
            self._on_change()
        if not stop.is_set():
            self._on_change()

    def _play(self, run: LiveRun, seconds_per_round, stop: threading.Event) -> None:
        while not stop.is_set() and not run.cancelled:
            previous = run.after
            if run.busy or (previous is not None and previous.busy):
                run.wait(POLL_S)
                stop.wait(POLL_S)
                self._on_change()
                continue
            if not run.can_advance:
                break
            run.step()
            if stop.is_set() or run.cancelled:
                break
            self._on_change()
            stop.wait(seconds_per_round())
        if not stop.is_set():
            self._on_stopped()
