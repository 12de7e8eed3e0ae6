"""What a human turn shows, as readable sections: one renderer for the terminal and the page.

A turn's ``shown`` content (agents/norms/human_policy.py, agents/govsim/human.py) becomes a list
of ``Section``s, each lines of text or a small table: the lake, the rules, one's record, the
peers' table, the norm, the ballot; in GovSim the pool, the rules, the memories and the
conversation. Front-ends only lay the sections out.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[str, ...] = ()
    header: tuple[str, ...] = ()  # a table when set
    rows: tuple[tuple[str, ...], ...] = field(default=())
    key: str = ""  # a stable name (tests, the page's element ids)


def _n(x) -> str:
    return "—" if x is None else (f"{x:.2f}" if isinstance(x, float) and abs(x) < 10 else
                                  f"{x:.1f}" if isinstance(x, float) else str(x))


def sections(shown: dict) -> list[Section]:
    return _norms(shown) if "lake" in shown else _govsim(shown)


def _norms(s: dict) -> list[Section]:
    out = []
    lake = s.get("lake", {})
    lines = [f"The lake holds {lake.get('stock', 0):.1f} fish."]
    if "capacity" in lake:
        lines.append(f"It can hold at most {lake['capacity']:.1f} fish.")
    if lake.get("history"):
        lines.append("Earlier days: " + ", ".join(f"day {d}: {x:.1f}" for d, x in lake["history"]))
    out.append(Section("Lake", tuple(lines), key="lake"))
    rules = s.get("rules", {})
    rule_lines = [(f"Each villager eats {rules.get('eat_per_day', 0):g} fish a day; "
                   "a villager whose payoff falls below zero dies.")]
    if "fine" in rules:
        rule_lines.append(f"A punished villager pays a fine of {rules['fine']:g}; "
                          f"punishing costs the punisher {rules['punish_cost']:g}.")
    out.append(Section("Rules", tuple(rule_lines), key="rules"))
    record = s.get("record", [])
    catch = any("catch" in r for r in record)
    header = ("day", "effort", *(("catch",) if catch else ()), "punished by", "you punished",
              "payoff after")
    rows = tuple((str(r["day"]), _n(r["effort"]), *((_n(r.get("catch")),) if catch else ()),
                  str(r["punished_by"]),
                  "nobody" if r["you_punished"] is None else f"villager {r['you_punished']}",
                  _n(r["payoff_after"])) for r in record)
    lines = []
    if "today" in s:
        today = s["today"]
        lines.append(f"Today you fished with effort {today['effort']:.2f}"
                     + (f" and caught {today['catch']:.1f} fish." if "catch" in today else "."))
    elif not record:
        lines.append("You have not fished yet.")
    lines.append(f"Your total payoff now: {s.get('payoff', 0):.1f}.")
    out.append(Section(f"Your record (villager {s.get('villager')})", tuple(lines),
                       header if rows else (), rows, key="record"))
    if "belief" in s:
        out.append(Section("Your personal belief", (s["belief"] or "—",), key="belief"))
    if "norm" in s:
        text = s["norm"] or "The village has not adopted a community policy yet."
        out.append(Section("Community policy", (text,), key="norm"))
    if "peers" in s:
        rows = tuple((f"{p['id']}{' (you)' if p['you'] else ''}",
                      (f"died on day {p['died_day']}" if not p["alive"] else
                       "not fished yet" if p["effort"] is None else _n(p["effort"])),
                      _n(p["payoff"])) for p in s["peers"])
        out.append(Section("Villagers", (), ("villager", "latest effort", "total payoff"), rows,
                           key="peers"))
    if "watched" in s:
        rows = tuple((str(w["id"]), _n(w["effort"])) for w in s["watched"])
        out.append(Section("Villagers you watched today", (), ("villager", "effort today"), rows,
                           key="watched"))
    if "ballot" in s:
        out.append(Section("Ballot", tuple(f"{i}. {t}" for i, t in enumerate(s["ballot"], 1)),
                           key="ballot"))
    return out


def _govsim(s: dict) -> list[Section]:
    out = [Section("Where and when", (f"{s.get('date')}, {s.get('place')}. You are {s.get('name')}.",),
                   key="when"),
           Section("Pool", (f"It holds {s.get('stock')} {s.get('unit', 'units')} now.",),
                   key="lake"),
           Section("Rules", tuple(line for line in str(s.get("rules", "")).splitlines()
                                  if line.strip()), key="rules")]
    if s.get("persona"):
        out.append(Section("Your goal", (s["persona"],), key="persona"))
    memories = s.get("memories") or []
    out.append(Section("What you remember", tuple(f"{d}: {t}" for d, t in memories)
                       or ("nothing yet",), key="memories"))
    if "conversation" in s:
        out.append(Section("The discussion so far",
                           tuple(f"{who}: {text}" for who, text in s["conversation"]),
                           key="conversation"))
    return out


def as_text(shown: dict) -> str:
    """The sections as plain text (the terminal)."""
    parts = []
    for sec in sections(shown):
        lines = [f"== {sec.title} =="]
        lines += list(sec.lines)
        if sec.header:
            widths = [max(len(h), *(len(r[i]) for r in sec.rows)) for i, h in enumerate(sec.header)]
            lines.append("  ".join(h.ljust(w) for h, w in zip(sec.header, widths)))
            lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in sec.rows]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
