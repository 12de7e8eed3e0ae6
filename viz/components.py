"""The panels of the live page. Each draws the ``RoundView`` the run shows.

Figures are rebuilt only when the view changes (its ``version``), so the frequent redraws while
Play waits on an LLM round cost little. Every figure panel has its own PNG download.
"""

from __future__ import annotations

import json
from collections import Counter

import solara

from viz import palette as P
from viz import plots
from viz.caption import caption, efficiency_meaning
from viz.live_run import DEFAULT_LLM_MODEL, LiveRun
from viz.snapshot import RoundView, Villager

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
        return solara.Text(f"V{agent_id}{suffix}" if agent_id is not None else "–")
    return Badge(villager, suffix)


def Stat(label: str, value: str, key: str, note: str = ""):
    with solara.Column(gap="0px", classes=["cl-stat", f"cl-stat-{key}"]) as column:
        solara.Text(label, classes=["cl-stat-label"])
        solara.Text(value, classes=["cl-stat-value"])
        if note:
            solara.Text(note, classes=["cl-stat-note"])
    return column


@solara.component
def FigurePanel(make, view: RoundView | None, key: str, stem: str, size: str = "wide"):
    """A figure shown at (at least) the size it was drawn at, with a PNG download."""
    figure = solara.use_memo(lambda: make(view) if view is not None else None,
                             [view.version if view is not None else None, make])
    with solara.Column(classes=["cl-panel", "cl-fig", f"cl-fig-{size}", f"cl-fig-{key}"],
                       gap="0px"):
        if figure is None:
            solara.Text("No run to show.", classes=["cl-muted"])
            return
        solara.FigureMatplotlib(figure, dependencies=[view.version], format="png")
        solara.FileDownload(lambda: plots.png(figure), filename=f"{stem}-{key}.png",
                            label="PNG", mime_type="image/png",
                            children=[solara.Button("PNG", icon_name="mdi-download", text=True,
                                                    classes=["cl-png"])])


# -- the class tab -----------------------------------------------------------------------------


@solara.component
def StatusLine(run: LiveRun, view: RoundView | None):
    """The round's sentence, then round, stock, survivors, efficiency (in words) and survival;
    while a round runs, its progress."""
    progress = run.progress()
    with solara.Column(classes=["cl-status"], gap="2px"):
        if view is None:
            return
        solara.Text(caption(view), classes=["cl-caption"])
        with solara.Row(gap="28px", style={"flex-wrap": "wrap", "align-items": "flex-end"}):
            word = view.round_word.capitalize()
            Stat(word, f"{view.round} / {view.max_rounds}", "round")
            Stat(view.stock_label, f"{view.current_stock:.1f} {view.stock_unit}", "stock",
                 f"collapse at {view.threshold:g}")
            Stat("Alive", f"{view.alive} / {len(view.villagers)}", "alive")
            last = view.efficiency[-1] if len(view.efficiency) > 1 else float("nan")
            Stat("Efficiency", "–" if last != last else f"{last:.2f}", "efficiency",
                 efficiency_meaning(last).split(": ", 1)[-1])
            Stat("Survival", plots.survival_text(view), "survival")
            if view.llm_calls:
                Stat("LLM calls", f"{view.llm_calls}", "llm", f"{view.llm_fallbacks} fallbacks")
        if progress is not None:
            phase = progress.phase.replace("_", " ") or "starting"
            calls = f" · {progress.llm_calls} LLM calls done" if run.client is not None else ""
            solara.Text(f"{word} {progress.round} in progress: {phase} "
                        f"(phase {max(1, progress.phase_index)} of {progress.phases}){calls} · "
                        f"{progress.elapsed_s:.0f} s", classes=["cl-progress"])
            solara.ProgressLinear(value=max(3.0, 100 * progress.fraction), color="primary")
        elif run.after is not None and run.after.busy:
            solara.Text("Waiting for the previous run's LLM round to stop…",
                        classes=["cl-progress"])


@solara.component
def NormPanel(view: RoundView | None):
    """The community's norm, and this round's proposals and votes."""
    with solara.Column(classes=["cl-panel", "cl-norm"], gap="2px"):
        solara.HTML("h3", "The village's rule" if view is None or view.scenario == "norms"
                    else "The agreed limit")
        if view is None:
            return
        solara.Text(view.norm_text, classes=["cl-norm-text"])
        if view.norm_round is not None:
            cap = f" · at most {view.norm_cap:.1f} {view.resource} each" \
                if view.norm_cap is not None else ""
            solara.Text(f"Adopted in {view.round_word} {view.norm_round}{cap}",
                        classes=["cl-muted"])
        if not view.group_decision_on:
            solara.Text("Group decision is switched off in this run: no proposals, no votes."
                        if view.scenario == "norms" else "Villagers do not talk in this run.",
                        classes=["cl-muted"])
            return
        if view.scenario == "govsim":
            return  # the month's conversation has its own panel
        if not view.proposals:
            solara.Text("Proposals and votes of the round appear here.", classes=["cl-muted"])
            return
        votes = Counter(v.author for v in view.votes)
        solara.HTML("h4", f"{view.talk_title} in {view.round_word} {view.round}")
        for p in view.proposals:
            with solara.Row(classes=["cl-row", "cl-proposal"], gap="8px", style=ROW):
                _badge_for(view, p.agent)
                tally = f"  ({votes[p.agent]} vote{'s' if votes[p.agent] != 1 else ''})" \
                    if view.votes else ""
                solara.Text(f"{p.text}{tally}")
        if view.votes:
            solara.HTML("h4", "Votes")
            with solara.Row(style={"flex-wrap": "wrap"}, gap="10px", classes=["cl-votes"]):
                for v in view.votes:
                    _badge_for(view, v.agent, suffix=f" → V{v.author}" if v.author is not None
                               else " → ?")
        elif view.policy == "rule":
            solara.Text("Rule-based villagers adopt the median of the proposed caps.",
                        classes=["cl-muted"])


def _heading(view: RoundView | None, before: str, during: str) -> bool:
    """A panel's title: ``before`` until a round has been played, then ``during`` filled in
    with the round. False when there is no view to show yet."""
    solara.HTML("h3", before if view is None or view.round == 0
                else during.format(round=view.round, word=view.round_word))
    return view is not None


@solara.component
def ConversationPanel(view: RoundView | None):
    """GovSim: the month's conversation, the report first, as the villagers read it."""
    with solara.Column(classes=["cl-panel", "cl-conversation"], gap="2px"):
        if not _heading(view, "This month's conversation", "Conversation of month {round}"):
            return
        if not view.group_decision_on:
            solara.Text("Villagers do not talk in this run.", classes=["cl-muted"])
        elif not view.conversation:
            solara.Text("The report on the month's catches and what each villager says "
                        "appear here after a month.", classes=["cl-muted"])
        for speaker, words in view.conversation:
            with solara.Row(classes=["cl-row", "cl-utterance"], gap="8px", style=ROW):
                solara.Text(speaker, classes=["cl-speaker"])
                solara.Text(words)


def model_note(run: LiveRun) -> tuple[str, str] | None:
    """(heading, text) of the note on who plays: a replay, or the tiny embedded model, which
    demonstrates the plumbing, not what capable models do."""
    cfg = run.config
    if cfg is None or run.client is None:
        return None
    if run.source:
        return ("Replay", f"of {cfg.llm.model}: every answer from the call log")
    if cfg.llm.model == DEFAULT_LLM_MODEL:
        return ("Tiny model", f"{cfg.llm.model} shows the wiring, not real behaviour: "
                              "use Ollama, or replay a run")
    return None


def ModelNote(run: LiveRun):
    note = model_note(run)
    if note is None:
        return None
    return solara.Text(f"{note[0]} {note[1]}", classes=["cl-model-note"])


@solara.component
def ClassTab(run: LiveRun, view: RoundView | None, stem: str):
    StatusLine(run, view)
    with solara.Div(classes=["cl-grid"]):
        FigurePanel(plots.lake_figure, view, "lake", stem)
        NormPanel(view)
        with solara.Div(classes=["cl-scroll", "cl-villagers-box"]):
            FigurePanel(plots.villagers_figure, view, "villagers", stem)
        if view is not None and view.scenario == "govsim":
            ConversationPanel(view)
        else:
            FigurePanel(plots.punishment_figure, view, "punishment", stem, size="narrow")
    with solara.Div(classes=["cl-history"]):
        solara.HTML("h3", "The run so far")
        FigurePanel(plots.history_figure, view, "history", stem, size="full")


# -- the lab tab -------------------------------------------------------------------------------


@solara.component
def MindsPanel(view: RoundView | None):
    """Click a villager: its state and, for LLM villagers, its latest prompt and answer."""
    selected, set_selected = solara.use_state(None)
    with solara.Column(classes=["cl-panel", "cl-minds"], gap="4px"):
        solara.HTML("h3", "Villagers' minds")
        if view is None:
            return
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
            return
        _villager_details(view, villager)


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
        solara.HTML("h3", f"Latest exchange: {view.round_word} {exchange.get('round')}, "
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


@solara.component
def EventsPanel(view: RoundView | None):
    """Everything that happened in the round shown, in order."""
    with solara.Column(classes=["cl-panel", "cl-events"], gap="2px"):
        if not _heading(view, "Events", "Events of {word} {round}"):
            return
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


@solara.component
def LabTab(run: LiveRun, view: RoundView | None):
    StatusLine(run, view)
    with solara.Div(classes=["cl-lab"]):
        MindsPanel(view)
        EventsPanel(view)


# -- the introduction --------------------------------------------------------------------------

INTRODUCTION = """
### What you are looking at

A village shares a **lake**. Each round every villager chooses an **effort**: how hard to fish.
More effort means more fish today, but the lake only regrows what is left in it, and if the
stock falls to the **collapse threshold** (the dashed red line) the lake is lost for everyone.
Each villager must also eat every round; one whose **wealth** falls below zero starves.

- **Punishment**: a villager who sees a neighbour take more than the rule allows may pay a
  little to **fine** it (the arrows in *Who fined whom*).
- **The vote**: each round every villager proposes a rule ("at most 7 fish each") and the
  village adopts one. **Social learning**: villagers copy the habits of those doing better.
- **Efficiency** compares the round's catch with the most the lake can give for ever: above 1
  the village eats into its stock, below 1 it leaves fish it could have caught.

**What to look for**: does the village agree on a rule early, do the selfish (orange
triangles) keep it, does anyone fine them, and does the stock settle above the red line?
Try a harsh lake against a rich one, or switch punishment off, in *Settings*, then press
**Reset**.

This is the "norms" scenario of Gupta et al. (AAMAS 2026). The GovSim scenarios (Piatti et al.,
NeurIPS 2024) let villagers talk in words, a month at a time; the conversation panel shows
what they say.
"""


@solara.component
def AboutTab():
    with solara.Column(classes=["cl-panel", "cl-about"]):
        solara.Markdown(INTRODUCTION)
