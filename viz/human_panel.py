"""The human villagers' panel of the page: hold a villager, and answer its turns in a form.

When a held villager's turn comes the panel shows what the villager sees (the sections of
``agents.human.render``: the lake, the rules, one's record, the peers' table, the norm, the
ballot) beside a form whose inputs carry the answer schema's bounds. The desk refuses an answer
out of bounds with its reason, shown under the form; nothing is passed on until it is accepted.
The seconds left and the run's time-outs (the default answer used) are shown too.
"""

from __future__ import annotations

import html

import solara

from agents.human.render import sections
from viz.live_run import LiveRun

CSS = """
.cl-human { border: 3px solid #009E73; border-radius: 6px; padding: 6px 10px; margin: 6px 0; }
.cl-human-bar { font-size: 17px; align-items: center; flex-wrap: wrap; }
.cl-human-title { font-size: 20px; font-weight: 700; }
.cl-human-shown { max-height: 470px; overflow-y: auto; font-size: 16px; line-height: 1.3;
                  padding-right: 8px; }
.cl-human-shown h4 { font-size: 16px; margin: 6px 0 2px 0; color: #0072B2; }
.cl-human-shown p { margin: 0 0 2px 0; }
.cl-human-table { border-collapse: collapse; font-size: 15px; }
.cl-human-table td, .cl-human-table th { border-bottom: 1px solid #ccc; padding: 1px 8px;
                                         text-align: left; }
.cl-human-form { min-width: 380px; max-width: 520px; font-size: 17px; }
.cl-human-form .v-label, .cl-human-form input { font-size: 16px !important; }
.cl-human-form .v-btn { text-transform: none; font-size: 16px !important; }
.cl-human-form .v-btn-toggle { flex-wrap: wrap; }
.cl-human-refused { font-size: 16px; }
.cl-human-left { font-size: 16px; font-weight: 700; color: #D55E00; }
"""


def shown_html(shown: dict) -> str:
    """The turn's sections as escaped HTML: villagers' words never become markup."""
    parts = []
    for sec in sections(shown):
        parts.append(f'<div class="cl-sec-{html.escape(sec.key)}"><h4>{html.escape(sec.title)}</h4>')
        parts += [f"<p>{html.escape(line)}</p>" for line in sec.lines]
        if sec.header:
            head = "".join(f"<th>{html.escape(h)}</th>" for h in sec.header)
            body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                           for row in sec.rows)
            parts.append(f'<table class="cl-human-table"><tr>{head}</tr>{body}</table>')
        parts.append("</div>")
    return "".join(parts)


@solara.component
def TurnForm(run: LiveRun, turn, on_change, beat: int = 0):
    values, set_values = solara.use_state({})
    error, set_error = solara.use_state(None)

    def put(name, value):
        set_values({**values, name: value})

    def submit():
        refused = run.desk.answer(turn.id, values)
        set_error(refused)
        on_change()

    with solara.Row(gap="16px", style={"align-items": "flex-start"}):
        with solara.Div(classes=["cl-human-shown"], style={"flex": "1 1 0"}):
            solara.HTML(tag="div", unsafe_innerHTML=shown_html(turn.shown))
        with solara.Column(classes=["cl-human-form"], gap="6px"):
            solara.Text(turn.title, classes=["cl-human-title"])
            for f in turn.fields:
                if f.kind in ("choice", "yes/no"):
                    options = ([c.label for c in f.choices] if f.kind == "choice"
                               else ["yes", "no"])
                    by_label = ({c.label: c.value for c in f.choices} if f.kind == "choice"
                                else {"yes": "yes", "no": "no"})
                    chosen = next((k for k, v in by_label.items() if v == values.get(f.name)),
                                  None)
                    solara.Text(f.label)
                    solara.ToggleButtonsSingle(
                        value=chosen, values=options,
                        on_value=lambda label, n=f.name, m=by_label: put(n, m.get(label)),
                        classes=[f"cl-field-{f.name}"])
                else:
                    hint = (f.bounds_text() if f.kind in ("number", "integer")
                            else f"up to {f.max_length} characters" if f.max_length else "")
                    solara.InputText(f"{f.label} ({hint})" if hint else f.label,
                                     value=str(values.get(f.name, "")),
                                     on_value=lambda v, n=f.name: put(n, v),
                                     continuous_update=True, classes=[f"cl-field-{f.name}"])
            missing = [f for f in turn.fields
                       if (f.required or f.min_length) and values.get(f.name) in (None, "")]
            if not missing:
                # What Send will send, as the page holds it (the desk still checks it).
                solara.Text("You answer: " + "; ".join(
                    _shown_value(f, values.get(f.name)) for f in turn.fields),
                    classes=["cl-human-preview"])
            solara.Button("Send answer", icon_name="mdi-send", color="primary",
                          on_click=submit, disabled=bool(missing), classes=["cl-human-send"])
            if error:
                solara.Error(f"Refused: {error}", dense=True, classes=["cl-human-refused"])
            left = turn.seconds_left
            if left is not None:
                solara.Text(f"{left:.0f} s left, then the default answer is used",
                            classes=["cl-human-left"])


def _shown_value(f, value) -> str:
    label = next((c.label for c in f.choices if c.value == value), value)
    return f"{f.name} {label if label not in (None, '') else '(empty)'}"


@solara.component
def HumanPanel(run: LiveRun, holder: str, on_change, beat: int = 0):
    """Nothing for a run without human villagers. ``beat`` changes whenever the page is told
    the run moved, so the panel is drawn again (its other arguments stay the same)."""
    if run.desk is None or run.config is None:
        return
    desk = run.desk
    held = {i for i in run.humans if desk.holder(i) == holder}
    counts = run.human_counts()
    solara.Style(CSS)
    with solara.Div(classes=["cl-human"]):
        with solara.Row(classes=["cl-human-bar"], gap="10px"):
            if held:
                solara.Text(f"You play villager {', '.join(map(str, sorted(held)))}.",
                            classes=["cl-human-held"])
            else:
                free = run.free_humans()
                solara.Text("Play a villager:" if free else "Every human villager is held.")
                for i in free:
                    solara.Button(f"Villager {i}", icon_name="mdi-account",
                                  on_click=lambda i=i: (desk.claim(i, holder), on_change()),
                                  classes=[f"cl-hold-{i}"])
            solara.Text(f"Human turns: {counts.get('turns', 0)}, timed out: "
                        f"{counts.get('timeouts', 0)} (the default answer was used)",
                        classes=["cl-human-counts"])
        if run.cancelled:
            solara.Text("This run has ended (it was reset in the tab that started it).",
                        classes=["cl-human-wait"])
            return
        turns = desk.pending(held) if held else []
        if turns:
            TurnForm(run, turns[0], on_change, beat).key(f"turn-{turns[0].id}")
        elif held and run.busy:
            solara.Text("The other villagers are deciding…", classes=["cl-human-wait"])
        elif held:
            solara.Text("Press Step or Play: your villager's turns appear here.",
                        classes=["cl-human-wait"])
