"""The live page: ``solara run viz.app`` (or ``commons-lab ui``) serves it.

A bar on top holds what a teacher presses (Reset, Back, Step, Play, the speed) and stays in
view on every tab. "Class" shows the round's essentials on one projector screen; "Lab" shows
each villager's latest prompt and answer; "Settings" holds the run's settings (applied on
Reset), the replay of a recorded run folder and the downloads; "About" explains the game.

Play is this page's own loop, bound to one run object: Reset stops it and cancels that run, so
a Play thread can never step the run that replaces it.
"""

from __future__ import annotations

import time
import uuid

import solara
import solara.lab

from viz import export
from viz.components import AboutTab, ClassTab, LabTab, ModelNote
from viz.human_panel import HumanPanel
from viz.live_run import CLASS_RUNS, LiveRun
from viz.player import Player
from viz.params import changed, controls, initial_values, on_scenario_change
from viz.recorded_run import unpack_upload
from viz.style import CSS

TITLE = "Commons lab: sharing a lake"
SPEEDS = (0.5, 1, 2, 4, 8)  # rounds per second Play aims at


def _bump(tick: solara.Reactive) -> None:
    tick.set(time.monotonic_ns())


@solara.component
def Toolbar(run: LiveRun, view, playing: bool, set_playing, speed: solara.Reactive, on_reset,
            on_step, on_back, pending: list[str]):
    with solara.Row(classes=["cl-toolbar"], gap="10px", style={"align-items": "center"}):
        solara.Text(TITLE, classes=["cl-title"])
        solara.Button("Reset", icon_name="mdi-restart", on_click=on_reset, classes=["cl-reset"])
        solara.Button("Back", icon_name="mdi-step-backward", on_click=on_back,
                      disabled=playing or run.shown == 0, classes=["cl-back"])
        solara.Button("Step", icon_name="mdi-step-forward", on_click=on_step,
                      disabled=playing or not run.can_advance, classes=["cl-step"])
        if playing:
            solara.Button("Pause", icon_name="mdi-pause", on_click=lambda: set_playing(False),
                          color="primary", classes=["cl-play"])
        else:
            solara.Button("Play", icon_name="mdi-play", on_click=lambda: set_playing(True),
                          disabled=not run.can_advance, color="primary", classes=["cl-play"])
        with solara.Div(classes=["cl-speed"]):
            solara.Select("Speed (rounds/s)", values=list(SPEEDS), value=speed)
        if view is not None:
            solara.Text(f"{view.round_word.capitalize()} {view.round} of {view.max_rounds}",
                        classes=["cl-round"])
        ModelNote(run)
        if pending:
            solara.Text(f"Changed: {', '.join(pending)}. Press Reset to apply.",
                        classes=["cl-changed"])


@solara.component
def JoinCard(run: LiveRun, on_join):
    """Other tabs' class runs (runs with a free human villager) this tab may join."""
    with solara.Card("Join a class run", classes=["cl-card"]):
        solara.Markdown("A run with human villagers, started in another tab, can be joined "
                        "here: each student's tab then holds one of its human villagers.")
        others = [r for r in CLASS_RUNS.open() if r is not run]
        if not others:
            solara.Text("No class run is waiting for players.", classes=["cl-help"])
        for i, other in enumerate(others):
            solara.Button(f"Join {other.label}", icon_name="mdi-account-multiple-plus",
                          on_click=lambda o=other: on_join(o), classes=[f"cl-join-{i}"])


@solara.component
def Settings(values: solara.Reactive, on_open_folder, on_upload, run: LiveRun, on_join):
    current = values.value

    def set_value(name, value):
        if name == "scenario":
            values.set(on_scenario_change(values.value, value))
        else:
            values.set({**values.value, name: value})

    with solara.Div(classes=["cl-settings"]):
        with solara.Card("Run settings (press Reset to apply)", classes=["cl-card"]):
            for c in controls():
                if not c.shown(current):
                    continue
                on = (lambda v, n=c.name: set_value(n, v))
                if c.kind == "select":
                    solara.Select(c.label, values=list(c.choices), value=current[c.name],
                                  on_value=on)
                elif c.kind == "switch":
                    solara.Switch(label=c.label, value=bool(current[c.name]), on_value=on)
                elif c.kind == "slider":
                    solara.SliderInt(c.label, value=int(current[c.name]), min=c.low,
                                     max=c.high, on_value=on, thumb_label="always")
                else:
                    solara.InputText(c.label, value=str(current[c.name]), on_value=on,
                                     continuous_update=True)
                if c.help:
                    solara.Text(c.help, classes=["cl-help"])
        JoinCard(run, on_join)
        with solara.Card("Replay a recorded run", classes=["cl-card"]):
            solara.Markdown("Open a run folder written by `commons-lab run` (or a .zip of "
                            "one) and step through it, back and forth. No model is asked: "
                            "every answer comes from the folder's call log.")
            folder, set_folder = solara.use_state("")
            solara.InputText("Run folder on this machine", value=folder, on_value=set_folder,
                             continuous_update=True)
            solara.Button("Open folder", icon_name="mdi-folder-open",
                          on_click=lambda: on_open_folder(folder), classes=["cl-open"])
            solara.FileDrop(label="…or drop a .zip of a run folder here", on_file=on_upload,
                            lazy=False)
        with solara.Card("Download this run", classes=["cl-card"]):
            stem = export.file_stem(run)
            with solara.Row(gap="8px", style={"flex-wrap": "wrap"}):
                for fmt in export.TABLE_FORMATS:
                    solara.FileDownload(lambda f=fmt: export.tables_zip(run, f),
                                        filename=f"{stem}-tables-{fmt}.zip",
                                        mime_type="application/zip",
                                        children=[solara.Button(f"Tables ({fmt.upper()})",
                                                                icon_name="mdi-table",
                                                                classes=[f"cl-dl-{fmt}"])])
                solara.FileDownload(lambda: export.config_toml(run), filename=f"{stem}.toml",
                                    mime_type="application/toml",
                                    children=[solara.Button("Run config (TOML)",
                                                            icon_name="mdi-file-cog",
                                                            classes=["cl-dl-toml"])])
                if run.folder is not None:
                    solara.FileDownload(lambda: export.call_log(run), filename=f"{stem}-calls.jsonl",
                                        mime_type="application/jsonl",
                                        children=[solara.Button("Call log (JSONL)",
                                                                icon_name="mdi-script-text",
                                                                classes=["cl-dl-calls"])])
            solara.Text("Each figure has its own PNG button.", classes=["cl-help"])


def make_page(**fixed):
    """The page component. ``fixed`` are run arguments without a control, e.g. ``llm_backend``."""

    @solara.component
    def Page():
        defaults = solara.use_memo(lambda: initial_values(**fixed), [])
        holder = solara.use_memo(lambda: uuid.uuid4().hex, [])  # this tab, for its villagers
        first = solara.use_memo(lambda: _owned(LiveRun(**defaults), holder), [])
        run = solara.use_reactive(first)
        # Created once: use_reactive(x) would follow x on every render.
        values = solara.use_memo(
            lambda: solara.reactive({k: v for k, v in defaults.items() if k not in fixed}), [])
        built_from = solara.use_memo(lambda: solara.reactive(dict(values.value)), [])
        values.value, built_from.value  # noqa: B018 - redraw when they change
        playing = solara.use_reactive(False)
        speed = solara.use_reactive(2)
        tick = solara.use_reactive(0)
        tab = solara.use_reactive(0)
        current = run.value
        tick.value  # noqa: B018 - redraw when the run moves
        player = solara.use_memo(lambda: Player(on_change=lambda: _bump(tick),
                                                on_stopped=lambda: playing.set(False)), [])
        follower = solara.use_memo(lambda: Player(on_change=lambda: _bump(tick),
                                                  on_stopped=lambda: None), [])

        def follow():
            if current.desk is not None:
                follower.follow(current)
            else:
                follower.stop()
            return follower.stop
        solara.use_effect(follow, [current])

        def set_playing(on: bool) -> None:
            # The run is taken before any redraw: a Reset handled during that redraw then
            # cancels this very run, and the new run is never played by this click.
            target = run.value
            if on and not target.cancelled:
                player.play(target, lambda: 1.0 / float(speed.value))
            else:
                player.stop()
            playing.set(on and not target.cancelled)

        def replace_run(new: LiveRun) -> None:
            old = run.value
            set_playing(False)
            if old.owner in (None, holder):
                old.cancel()  # its Play loop and its round stop; it can never step again
                new.after = old if old.busy else None
            elif old.desk is not None:
                old.desk.release(holder)  # a joined class run goes on without this tab
            run.set(new)
            _bump(tick)

        def reset():
            built_from.set(dict(values.value))
            replace_run(_owned(LiveRun(**values.value, **fixed), holder))

        def step():
            current.step()
            player.watch(current)
            _bump(tick)

        def back():
            current.back()
            _bump(tick)

        def open_folder(path: str):
            if path.strip():
                replace_run(LiveRun.recorded(path.strip()))

        def upload(file):
            try:
                folder = unpack_upload(file["name"], file["data"])
            except Exception as err:  # one line on the page; nothing else is touched
                replace_run(_failed_run(f"{file['name']}: {err}"))
                return
            replace_run(LiveRun.recorded(folder))

        view = current.view
        pending = [] if current.source else changed(values.value, built_from.value)
        stem = export.file_stem(current)
        solara.Title(TITLE)
        solara.Style(CSS)
        with solara.Column(classes=["cl-page"], gap="0px"):
            Toolbar(current, view, playing.value, set_playing, speed, reset, step, back,
                    pending)
            if current.error:
                solara.Error(current.error, dense=True, classes=["cl-error"])
            HumanPanel(current, holder, lambda: _bump(tick), tick.value)
            with solara.lab.Tabs(value=tab, lazy=True):
                with solara.lab.Tab("Class"):
                    ClassTab(current, view, stem)
                with solara.lab.Tab("Lab"):
                    LabTab(current, view)
                with solara.lab.Tab("Settings"):
                    Settings(values, open_folder, upload, current, replace_run)
                with solara.lab.Tab("About"):
                    AboutTab()

    return Page


def _owned(run: LiveRun, holder: str) -> LiveRun:
    run.owner = holder
    return run


def _failed_run(message: str) -> LiveRun:
    run = LiveRun(scenario="<recorded>")
    run.error = message
    return run


page = make_page()
