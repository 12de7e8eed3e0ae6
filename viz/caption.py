"""One sentence per round, built from the round's events, so a class can follow the story
without reading the figures: "Round 12: the village agreed to at most 7 fish each; V4 took 11
and V2 fined it." Also the plain meaning of the efficiency figure."""

from __future__ import annotations

import math

from viz.snapshot import RoundView

CAP_SLACK = 1e-6  # a catch equal to the cap keeps the norm


def _names(labels: list[str]) -> str:
    if len(labels) <= 2:
        return " and ".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def _amount(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 or value >= 10 else f"{value:.1f}"


def caption(view: RoundView) -> str:
    if view.scenario == "govsim":
        return _govsim(view)
    return _norms(view)


def _norms(view: RoundView) -> str:
    if view.round == 0:
        return (f"Before round 1: {len(view.villagers)} villagers, {view.current_stock:.0f} fish "
                "in the lake. Press Step to play a round.")
    parts = []
    adopted = [e for e in view.events if e.kind == "norm"]
    cap = view.norm_cap
    if adopted and cap is not None:
        parts.append(f"the village agreed to at most {_amount(cap)} fish each")
    elif adopted:
        parts.append("the village adopted a policy in words")
    elif cap is not None:
        parts.append(f"the rule is at most {_amount(cap)} fish each")
    labels = {v.id: v.label for v in view.villagers}
    if cap is not None:
        over = sorted((v for v in view.villagers if v.harvest > cap + CAP_SLACK),
                      key=lambda v: -v.harvest)
        if over:
            worst = over[0]
            fined_by = [labels.get(p, f"V{p}") for p, t in view.punishments if t == worst.id]
            others = f" ({len(over) - 1} more took too much)" if len(over) > 1 else ""
            fine = f"{_names(fined_by)} fined it" if fined_by else "nobody fined it"
            took = _amount(worst.harvest)
            if took == _amount(cap):  # over by less than the rounding shows
                took = f"{worst.harvest:.2f}"
            parts.append(f"{worst.label} took {took} and {fine}{others}")
        elif view.villagers:
            parts.append("everyone kept to it")
    elif view.punishments:
        parts.append(f"{len(view.punishments)} fines before any rule was agreed")
    fines = len(view.punishments)
    if fines > 1 and cap is not None:
        parts.append(f"{fines} fines in all")
    dead = [labels.get(e.agent, f"V{e.agent}") for e in view.events if e.kind == "death"]
    if dead:
        parts.append(f"{_names(dead)} starved and the run ends")
    elif view.collapse_reason == "stock":
        parts.append(f"the stock fell to {view.current_stock:.1f}, at or below "
                     f"{view.threshold:g}: the lake collapsed")
    if not parts:
        parts.append(f"the lake holds {view.current_stock:.0f} fish")
    return f"Round {view.round}: " + "; ".join(parts) + "."


def _govsim(view: RoundView) -> str:
    word = view.round_word.capitalize()
    unit = view.resource
    if view.round == 0:
        return (f"Before month 1: {len(view.villagers)} villagers; {view.stock_label.lower()}: "
                f"{view.current_stock:.0f} {view.stock_unit}. Press Step to play a month.")
    taken = sum(v.harvest for v in view.villagers)
    most = max(view.villagers, key=lambda v: v.harvest, default=None)
    parts = [f"they took {taken:.0f} {unit} in all"]
    if most is not None and most.harvest > 0:
        parts[0] += f", {most.label} most ({most.harvest:.0f})"
    limits = [e for e in view.events if e.kind == "limit" and e.value is not None]
    if limits:
        parts.append(f"they agreed to at most {limits[-1].value:.0f} {unit} each")
    elif view.group_decision_on:
        parts.append("they agreed on no limit")
    if view.collapse_reason:
        parts.append("the resource collapsed")
    return f"{word} {view.round}: " + "; ".join(parts) + "."


def efficiency_meaning(value: float) -> str:
    """What a round's (or the mean) harvest efficiency says, in words."""
    if math.isnan(value):
        return "no harvest yet"
    if value > 1.05:
        return f"{value:.2f}: caught more than the lake can regrow; the stock shrinks"
    if value < 0.95:
        return f"{value:.2f}: caught less than the lake could give for ever"
    return f"{value:.2f}: about the most the lake can give for ever"
