"""The panels of the live page. Each takes the ``LiveRun`` and draws its latest ``RoundView``.

They are plain functions: SolaraViz wraps them in components that redraw whenever the run
advances. Figures are rebuilt only when the view changes (its ``version``), so the frequent
redraws while Play waits on an LLM round cost little.
"""

from __future__ import annotations

import json
import threading
from collections import Counter

import solara
from mesa.visualization.utils import force_update, update_counter

from viz import palette as P
from viz import plots
from viz.live_run import LiveRun
from viz.snapshot import RoundView, Villager
from viz.style import CSS

POLL_S = 0.25  # how often the status bar refreshes while a round is in flight
ROW = {"align-items": "baseline"}  # badges keep their height beside text that wraps
TEXT_ON = {P.BLUE: "#FFFFFF", P.BLUISH_GREEN: "#FFFFFF", P.VERMILLION: "#FFFFFF"}


# -- small pieces ------------------------------------------------------------------------------


def Badge(v: Villager, suffix: str = ""):
    """A villager's label, coloured by kind and marked with its kind's symbol."""
    style = P.kind_style(v.kind, v.alive)
    return solara.Text(f"{style.symbol} {v.label}{suffix}", classes=["cl-badge"],
                       style={"background": style.color,
                              "color": TEXT_ON.get(style.color, "#000000")})


def _badge_for(view: RoundView, agent_id: int | None, suffix: str = ""):
    villager = view.villager(agent_id) if agent_id is not None else None
    if villager is None:
        return solara.Text(f"V{agent_id}" if agent_id is not None else "–")
    return Badge(villager, suffix)


def Stat(label: str, value: str, key: str):
    with solara.Column(gap="0px", classes=[f"cl-stat-{key}"]) as column:
        solara.Text(label, classes=["cl-stat-label"])
        solara.Text(value, classes=["cl-stat-value"])
    return column


def _figure(make, view: RoundView | None, error: str | None, key: str):
    figure = solara.use_memo(lambda: make(view) if view is not None else None,
                             [view.version if view is not None else None])
    with solara.Column(classes=["cl-panel", f"cl-fig-{key}"]) as column:
        solara.Style(CSS)
        if figure is None:
            solara.Error(error or "no run")
        else:
            solara.FigureMatplotlib(figure, dependencies=[view.version], format="png")
    return column


# -- panels ------------------------------------------------------------------------------------


def StatusPanel(run: LiveRun):
    """Round, stock, survivors, efficiency and survival; while a round runs, its progress."""
    _, set_tick = solara.use_state(0)

    def watch(cancel: threading.Event):
        waited = False
        while run.busy and not cancel.is_set():
            waited = True
            cancel.wait(POLL_S)
            set_tick(lambda t: t + 1)
        if waited and not cancel.is_set():
            force_update()  # the round is over: every panel draws the new view

    solara.use_thread(watch, dependencies=[id(run), run.rounds_started], intrusive_cancel=False)

    # The numbers change with the other panels (on the page's update signal), not when the
    # progress ticker happens to redraw this bar just after the round ended.
    view = solara.use_memo(lambda: run.view, [id(run), update_counter.value])
    progress = run.progress()
    with solara.Column(classes=["cl-panel", "cl-status"], gap="4px") as column:
        solara.Style(CSS)
        if run.error:
            solara.Error(run.error, classes=["cl-error"])
        if view is not None:
            with solara.Row(gap="40px", style={"flex-wrap": "wrap", "align-items": "flex-end"}):
                Stat("Round", f"{view.round} / {view.max_rounds}", "round")
                Stat("Stock", f"{view.current_stock:.1f} {view.resource}", "stock")
                Stat("Alive", f"{view.alive} / {len(view.villagers)}", "alive")
                mean = view.mean_efficiency
                Stat("Efficiency", "–" if mean != mean else f"{mean:.2f}", "efficiency")
                Stat("Survival", plots.survival_text(view), "survival")
                if view.llm_calls:
                    Stat("LLM calls", f"{view.llm_calls} ({view.llm_fallbacks} fallbacks)", "llm")
        if progress is not None:
            phase = progress.phase.replace("_", " ") or "starting"
            # The client counts a phase's calls when the phase's last answer is in.
            calls = f" · {progress.llm_calls} LLM calls done" if run.client is not None else ""
            solara.Text(f"Round {progress.round} in progress: {phase} "
                        f"(phase {max(1, progress.phase_index)} of {progress.phases}){calls} · "
                        f"{progress.elapsed_s:.0f} s", classes=["cl-progress"])
            solara.ProgressLinear(value=max(3.0, 100 * progress.fraction), color="primary")
        elif view is not None and view.running and view.round == 0:
            solara.Text("Press Step or ▶ to play. Controls on the left apply on Reset.",
                        classes=["cl-muted"])
    return column


def LakePanel(run: LiveRun):
    """The stock against its threshold, and efficiency, per round."""
    return _figure(plots.lake_figure, run.view, run.error, "lake")


def VillagersPanel(run: LiveRun):
    """Each villager's effort and wealth."""
    return _figure(plots.villagers_figure, run.view, run.error, "villagers")


def PunishmentPanel(run: LiveRun):
    """Who punished whom this round."""
    return _figure(plots.punishment_figure, run.view, run.error, "punishment")


def NormPanel(run: LiveRun):
    """The community's norm, and this round's proposals and votes."""
    view = run.view
    with solara.Column(classes=["cl-panel", "cl-norm"], gap="2px") as column:
        solara.Style(CSS)
        solara.HTML("h3", "Community norm")
        if view is None:
            solara.Error(run.error or "no run")
            return column
        solara.Text(view.norm_text, classes=["cl-norm-text"])
        if view.norm_round is not None:
            cap = f" · at most {view.norm_cap:.1f} {view.resource} each per round" \
                if view.norm_cap is not None else ""
            solara.Text(f"Adopted in round {view.norm_round}{cap}", classes=["cl-muted"])
        if not view.group_decision_on:
            solara.Info("Group decision is switched off in this run: no proposals, no votes."
                        if view.scenario == "norms" else "Villagers do not talk in this run.")
            return column
        if not view.proposals:
            solara.Text("Proposals and votes of the round appear here.", classes=["cl-muted"])
            return column
        votes = Counter(v.author for v in view.votes)
        solara.HTML("h3", f"{view.talk_title} in round {view.round}")
        for p in view.proposals:
            with solara.Row(classes=["cl-row", "cl-proposal"], gap="8px", style=ROW):
                _badge_for(view, p.agent)
                tally = f"  ({votes[p.agent]} vote{'s' if votes[p.agent] != 1 else ''})" \
                    if view.votes else ""
                solara.Text(f"{p.text}{tally}")
        if view.votes:
            solara.HTML("h3", "Votes")
            with solara.Row(style={"flex-wrap": "wrap"}, gap="10px", classes=["cl-votes"]):
                for v in view.votes:
                    _badge_for(view, v.agent, suffix=f" → V{v.author}" if v.author is not None
                               else " → ?")
        elif view.policy == "rule":
            solara.Text("Rule-based villagers adopt the median of the proposed caps.",
                        classes=["cl-muted"])
    return column


def MindsPanel(run: LiveRun):
    """Click a villager: its state and, for LLM villagers, its latest prompt and answer."""
    selected, set_selected = solara.use_state(None)
    view = run.view
    with solara.Column(classes=["cl-panel", "cl-minds"], gap="4px") as column:
        solara.Style(CSS)
        solara.HTML("h3", "Villagers' minds")
        if view is None:
            solara.Error(run.error or "no run")
            return column
        with solara.Row(style={"flex-wrap": "wrap"}, gap="6px"):
            for v in view.villagers:
                style = P.kind_style(v.kind, v.alive)
                solara.Button(f"{style.symbol} {v.label}", on_click=lambda i=v.id: set_selected(i),
                              outlined=v.id != selected, classes=["cl-villager-button"],
                              style={"font-size": "17px", "text-transform": "none"})
        villager = view.villager(selected) if selected is not None else None
        if villager is None:
            solara.Text("Click a villager to see what it knows and, for LLM villagers, the "
                        "latest prompt it got and the answer it gave.", classes=["cl-muted"])
            return column
        _villager_details(view, villager)
    return column


def _villager_details(view: RoundView, v: Villager) -> None:
    style = P.kind_style(v.kind, v.alive)
    state = "alive" if v.alive else "dead"
    model = f" · model {v.llm_model}" if v.llm_model else ""
    solara.Text(f"{style.symbol} {v.label} · {v.kind} · {state}{model}",
                classes=["cl-stat-value"], style={"font-size": "1.4rem"})
    if view.scenario == "govsim":
        solara.Text(f"this month: asked for {v.effort:g}, got {v.harvest:g} {view.resource} · "
                    f"total so far {v.wealth:g} {view.resource}")
    else:
        solara.Text(f"effort {v.effort:.2f} · harvest {v.harvest:.1f} · wealth {v.wealth:.1f} · "
                    f"punished others {v.given}× · was punished {v.received}× (this round)")
    if v.belief_text:
        solara.Text(f"Personal belief: “{v.belief_text}”", classes=["cl-norm-text"])
    exchange = v.exchange
    if exchange:
        fallback = " · the answer was unusable; the documented fallback was used" \
            if exchange.get("fallback") else ""
        solara.HTML("h3", f"Latest exchange: round {exchange.get('round')}, "
                          f"{exchange.get('phase')}{fallback}")
        for message in exchange.get("messages") or []:
            solara.Text(str(message.get("role", "?")), classes=["cl-stat-label"])
            solara.Text(str(message.get("content", "")), classes=["cl-pre", "cl-prompt"])
        solara.Text("answer", classes=["cl-stat-label"])
        solara.Text(str(exchange.get("answer", "")), classes=["cl-pre", "cl-answer"])
        if exchange.get("value") is not None:
            solara.Text("read as", classes=["cl-stat-label"])
            solara.Text(json.dumps(exchange["value"], ensure_ascii=False), classes=["cl-pre"])
    elif view.policy == "rule":
        traits = ", ".join(f"{k.replace('_', ' ')} {val:.2f}" for k, val in v.traits.items())
        solara.Text("Rule-based villagers decide by numbers, not words: " + traits,
                    classes=["cl-rule-traits"])
    else:
        solara.Text("No exchange yet: step a round.", classes=["cl-muted"])


def EventsPanel(run: LiveRun):
    """Everything that happened in the latest round, in order."""
    view = run.view
    with solara.Column(classes=["cl-panel", "cl-events"], gap="2px") as column:
        solara.Style(CSS)
        solara.HTML("h3", "This round's events" if view is None or view.round == 0
                    else f"Events of round {view.round}")
        if view is None:
            solara.Error(run.error or "no run")
            return column
        if not view.events:
            solara.Text("Nothing yet.", classes=["cl-muted"])
        for e in view.events:
            with solara.Row(classes=["cl-row"], gap="8px", style=ROW):
                solara.Text(e.kind, style={"min-width": "6.5em", "font-weight": "700"})
                if e.agent is not None:
                    _badge_for(view, e.agent)
                if e.target is not None:
                    solara.Text("→")
                    _badge_for(view, e.target)
                if e.text:
                    solara.Text(e.text)
                elif e.value is not None:
                    solara.Text(f"{e.value:g}")
    return column


# Panels per page: the status bar heads each, so progress shows whichever page is open.
PAGE_CLASS = [StatusPanel, LakePanel, VillagersPanel, NormPanel, PunishmentPanel]
PAGE_LAB = [StatusPanel, MindsPanel, EventsPanel]


def components() -> list:
    return [(c, 0) for c in PAGE_CLASS] + [(c, 1) for c in PAGE_LAB]
