"""One report over a set of run folders: the papers' tables and figures in a self-contained HTML
file (figures embedded as base64 PNG), the same in Markdown beside it, plus the PNG files and
every table as CSV.

Norms runs (Gupta et al.): survival per model and condition with s.e.m. and Tukey letters, the
two-way ANOVA of Table 1 per environment, stock and efficiency trajectories, the S_ind vs S_align
scatter, ablation bars. GovSim runs (Piatti et al.): the metric table and Kaplan-Meier curves.
"""

from __future__ import annotations

import base64
import html
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from agents.errors import BadInputError
from analysis import figures as F
from analysis import stats as S
from analysis.load import ABLATION_LABEL, RunSet, load_runs


@dataclass
class Section:
    title: str
    blocks: list[tuple[str, object]] = field(default_factory=list)  # (kind, payload)

    def text(self, s: str) -> None:
        self.blocks.append(("text", s))

    def table(self, name: str, df: pd.DataFrame, caption: str = "") -> None:
        self.blocks.append(("table", (name, df, caption)))

    def figure(self, name: str, caption: str) -> None:
        self.blocks.append(("figure", (name, caption)))


class FigureStore(dict):
    """name -> PNG path of the figures drawn so far, and the time spent drawing them."""

    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder
        self.seconds = 0.0

    def add(self, name: str, draw) -> Path:
        t0 = time.perf_counter()
        self[name] = F.save(draw(), self.folder / f"{name}.png")
        self.seconds += time.perf_counter() - t0
        return self[name]


@dataclass
class Report:
    """What ``build_report`` produced: file paths, the tables (as computed) and timings."""

    html: Path
    markdown: Path
    figures: dict[str, Path]
    tables: dict[str, pd.DataFrame]
    runs: RunSet
    notes: list[str]
    timings: dict[str, float]


# ---------------------------------------------------------------------------------------------
# Formatting


def fmt_p(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _fmt_value(col: str, v) -> str:
    if isinstance(v, float) and v == np.inf:
        return "∞"  # an exact fit's F
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if col == "p" or col.startswith("p_") or col == "p_adj":
            return fmt_p(float(v))
        if col in ("eta_sq", "η²"):
            return f"{v:.3f}"
        if float(v).is_integer() and col in ("df", "n", "runs"):
            return str(int(v))
        return f"{v:.2f}"
    return str(v)


def formatted(df: pd.DataFrame) -> pd.DataFrame:
    """Every cell as the text the report shows."""
    out = pd.DataFrame({c: [_fmt_value(str(c), v) for v in df[c]] for c in df.columns})
    return out


def markdown_table(df: pd.DataFrame) -> str:
    shown = formatted(df)
    cells = lambda row: "| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |"
    lines = [cells(shown.columns), "|" + "|".join("---" for _ in shown.columns) + "|"]
    lines += [cells(r) for r in shown.itertuples(index=False)]
    return "\n".join(lines)


def html_table(df: pd.DataFrame) -> str:
    shown = formatted(df)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>"
                   for r in shown.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# ---------------------------------------------------------------------------------------------
# Sections


def _main_runs(norms: pd.DataFrame) -> pd.DataFrame:
    """The main grid: runs with both social channels (ablation "full")."""
    return norms[norms["ablation"] == "full"] if "ablation" in norms else norms


def norms_sections(rs: RunSet, alpha: float, figs: FigureStore, tables: dict,
                   notes: list[str]) -> list[Section]:
    runs = rs.runs
    main = _main_runs(runs)
    sections = []

    overview = Section("Norms scenario: runs")
    # Runs per cell, one column per model: the design at a glance.
    counts = runs.pivot_table(
        index=["environment", "population", "ablation"], columns="model", values="run_id",
        aggfunc="count", fill_value=0, observed=True)
    counts.columns = [str(c) for c in counts.columns]
    counts = counts.reset_index()
    overview.text(f"{len(runs)} completed runs of the norms scenario; the main grid (both social "
                  f"channels, ablation “full”) has {len(main)}. The “model” factor is "
                  + ("the villagers' LLM (“rule-based” for rule-based villagers)."
                     if rs.model_key == "auto" else f"read from <code>{rs.model_key}</code>."))
    overview.table("runs_per_condition", counts)
    sections.append(overview)
    tables["runs_per_condition"] = counts

    if main.empty:
        notes.append("No norms runs with ablation “full”: no survival bars, ANOVA or "
                     "trajectories.")
    else:
        sections.append(_survival_section(main, alpha, figs, tables, notes))
        sections.append(_trajectory_section(rs, main, figs, tables))
    scatter = _scatter_section(runs, figs, tables)
    if scatter:
        sections.append(scatter)
    if ablation_runs(runs)["ablation"].nunique() > 1:
        sections.append(_ablation_section(runs, alpha, figs, tables))
    norms_in_words = _norm_section(rs, tables)
    if norms_in_words:
        sections.append(norms_in_words)
    return sections


def _norm_section(rs: RunSet, tables) -> Section | None:
    from analysis.norm_table import norm_table

    table = norm_table(rs.runs, rs.rounds)
    if table.empty:
        return None
    tables["norms_every_10_rounds"] = table
    sec = Section("Adopted norms every ten rounds (the paper's Table 4)")
    sec.text("The norm in force after round max(s, 1) for steps s = 0, 10, ...; one run per "
             "environment, population, model and ablation condition: the longest-surviving "
             "(lowest seed on a tie). Empty: the run had ended.")
    sec.table("norms_every_10_rounds", table)
    return sec


def _survival_section(main, alpha, figs, tables, notes) -> Section:
    sec = Section("Survival time per model and condition")
    several_models = main["model"].nunique() > 1
    x, hue = ("model", "population") if several_models else ("population", None)
    desc = S.describe(main, ["environment", "model", "population"])
    tables["survival"] = desc
    sec.table("survival", desc, "Survival time (rounds): n, mean, s.d. and s.e.m. per "
              "environment, model and population.")

    tukey = S.tukey_by(main, x, ["environment"], alpha=alpha)
    letters = {(k[0], _parse_level(main, x, g)): res.letters[g]
               for k, res in tukey.items() if res is not None for g in res.order}
    lt = S.letters_table(tukey, ["environment"], x)
    tables["tukey_letters"] = lt
    bars = S.describe(main, ["environment", x] + ([hue] if hue else []))
    figs.add("survival_bars", lambda: F.grouped_bars(
        bars, x=x, hue=hue, panel="environment", letters=letters,
        title=f"Survival time, mean ± s.e.m.; Tukey letters (α = {alpha:g})"))
    sec.figure("survival_bars",
               f"Mean survival time ± s.e.m. per {x}" + (f" and {hue}" if hue else "")
               + f" in each environment. Letters above each {x}: Tukey HSD over the {x}s "
               f"(pooled over {'populations' if hue else 'runs'}, α = {alpha:g}); {x}s that share "
               "a letter do not differ significantly.")
    if not lt.empty:
        sec.table("tukey_letters", lt, f"Compact letters of the {x}s (Tukey HSD, α = {alpha:g}).")
    skipped = [k[0] for k, r in tukey.items() if r is None]
    if skipped:
        notes.append("Tukey HSD not possible (fewer than two groups or one run per group) in: "
                     + ", ".join(map(str, skipped)))

    # Two-way ANOVA per environment (Table 1 of Gupta et al.).
    aov = S.anova_table(main, factors=("model", "altruist_share"), by="environment")
    notes.extend(aov.notes)
    if not aov.table.empty:
        t1 = aov.table[["environment", "effect", "df", "F", "p", "eta_sq"]].rename(
            columns={"eta_sq": "η²"})
        tables["anova"] = aov.table
        sec.table("anova", t1, "Two-way ANOVA of survival time with model and altruistic ratio "
                  "as fixed factors, per environment (Type II sums of squares; η² = SS_effect / "
                  "SS_total), as in Table 1 of Gupta et al.")
    else:
        sec.text("No two-way ANOVA: " + " ".join(aov.notes))

    # Cell-level letters: which model × condition combinations differ.
    if several_models and main["population"].nunique() > 1:
        cells = S.tukey_by(main, ["model", "population"], ["environment"], alpha=alpha)
        ct = S.letters_table(cells, ["environment"], "model | population")
        if not ct.empty:
            tables["tukey_cells"] = ct
            sec.table("tukey_cells", ct, "Compact letters of every model × population cell "
                      f"(Tukey HSD within each environment, α = {alpha:g}).")
    return sec


def _parse_level(df: pd.DataFrame, col: str, text: str):
    # Tukey groups are strings; map back to the column's own level.
    for level in df[col].dropna().unique():
        if str(level) == text:
            return level
    return text


def _trajectory_section(rs: RunSet, main, figs, tables) -> Section:
    sec = Section("Stock and efficiency trajectories")
    rounds = rs.rounds[rs.rounds["run_id"].isin(set(main["run_id"]))]
    by = ["environment", "model", "population"]
    stock = S.trajectory(rounds, "Stock", by, first_round=0)
    eff = S.trajectory(rounds, "Efficiency", by, first_round=1)
    tables["trajectory_stock"] = stock
    tables["trajectory_efficiency"] = eff
    col = "model" if main["model"].nunique() > 1 else None
    figs.add("stock_trajectories", lambda: F.trajectories(
        stock, ylabel="stock R(t)", row="environment", col=col, hue="population",
        title="Stock per round, mean ± s.e.m."))
    figs.add("efficiency_trajectories", lambda: F.trajectories(
        eff, ylabel="efficiency η(t)", row="environment", col=col, hue="population",
        reference=1.0, title="Efficiency η(t) = Σh / H_opt per round, mean ± s.e.m."))
    sec.figure("stock_trajectories", "Stock at the start of each round (round 0 = initial "
               "stock), mean ± s.e.m. over the runs still going at that round; rows are "
               "environments" + (", columns models" if col else "") + ".")
    sec.figure("efficiency_trajectories", "Efficiency η(t) = total harvest / (rK/4) per round, "
               "mean ± s.e.m. over the runs still going; the dashed line is the optimum η = 1 "
               "(above it the lake is over-harvested).")
    last = rounds.sort_values("Round").groupby("run_id").tail(1)
    sec.text(f"Runs last between {int(last['Round'].min())} and {int(last['Round'].max())} "
             "rounds; late rounds average over fewer runs (the trajectory tables give n).")
    return sec


def _scatter_section(runs, figs, tables) -> Section | None:
    sec = Section("Norm similarity: S_ind vs S_align")
    data = runs.dropna(subset=["final_s_ind", "final_s_align"])
    if data.empty:
        sec.text("No run recorded S_ind / S_align (rule-based villagers hold numeric caps, not "
                 "norm texts, so only LLM runs have norm vectors).")
        return sec
    table = data.groupby(["environment", "model", "population"], observed=True)[
        ["final_s_ind", "final_s_align"]].agg(["mean", "sem", "count"])
    table.columns = [f"{a.replace('final_', '')}_{b}" for a, b in table.columns]
    table = table.reset_index()
    tables["norm_similarity"] = table
    figs.add("norm_scatter", lambda: F.norm_scatter(data, panel="environment"))
    sec.figure("norm_scatter", "End-of-run S_ind (mean pairwise cosine of the villagers' norm "
               "vectors) against S_align (mean cosine to the normalised mean norm), one point per "
               "run; colour = model, marker = population.")
    sec.table("norm_similarity", table, "Mean, s.e.m. and number of runs of the end-of-run "
              "S_ind and S_align.")
    return sec


def ablation_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs of the cells (environment, model, population) that have an ablated condition.

    Full runs of other cells are left out, so every condition is compared on the same cells.
    """
    key = ["environment", "model", "population"]
    ablated = runs[runs["ablation"] != "full"][key].drop_duplicates()
    return runs.merge(ablated, on=key, how="inner")[runs.columns]


def _ablation_section(runs, alpha, figs, tables) -> Section:
    sec = Section("Ablations")
    runs = ablation_runs(runs)
    several_models = runs["model"].nunique() > 1
    x = "model" if several_models else "population"
    desc = S.describe(runs, ["environment", x, "ablation"])
    cells = S.describe(runs, ["environment", "model", "population", "ablation"])
    tables["ablation"] = cells
    tukey = S.tukey_by(runs, "ablation", ["environment", x], alpha=alpha)
    letters = {(k[0], _parse_level(runs, x, k[1]), _parse_level(runs, "ablation", g)):
               res.letters[g] for k, res in tukey.items() if res is not None for g in res.order}
    figs.add("ablation_bars", lambda: F.grouped_bars(
        desc, x=x, hue="ablation", panel="environment", letters=letters, letters_per_bar=True,
        title=f"Survival time by ablation, mean ± s.e.m.; Tukey letters (α = {alpha:g})"))
    sec.figure("ablation_bars", "Survival time per ablation condition (All = social learning + "
               "group decision; OSL = social learning only; OGD = group decision only; Neither), "
               "mean ± s.e.m., pooled over the populations that have ablated runs (full runs "
               "of other cells are left out). Letters: "
               f"Tukey HSD across the conditions within each {x} and environment.")
    shown = cells.assign(ablation=cells["ablation"].map(lambda a: ABLATION_LABEL.get(a, a)))
    sec.table("ablation", shown, "Survival time per environment, model, population and "
              "ablation condition.")
    lt = S.letters_table(tukey, ["environment", x], "ablation")
    if not lt.empty:
        tables["ablation_letters"] = lt
        sec.table("ablation_letters", lt.assign(ablation=lt["ablation"].map(
            lambda a: ABLATION_LABEL.get(a, a))), "Compact letters of the ablation conditions.")
    from analysis.ablation_tests import ablation_tests

    welch = ablation_tests(runs)
    if not welch.empty:
        tables["ablation_t_tests"] = welch
        label = lambda a: ABLATION_LABEL.get(a, a)
        sec.table("ablation_t_tests", welch.assign(
            group=welch["group"].map(label), within=welch["within"].map(label)),
            "Welch t-tests of mean survival time, in the paper's form: each condition against "
            "all other ablation runs; each population (and each model) of a condition against "
            "the condition's others. df: Welch-Satterthwaite; df_pooled = n + n_rest - 2, the "
            "form of the paper's t(898), t(238), t(178).")
    return sec


def with_ci(table: pd.DataFrame) -> pd.DataFrame:
    """Each metric and its ``±CI95`` column as one "mean ± half-width" cell, as in the paper."""
    out = table.copy()
    for col in [c for c in table.columns if c.endswith(" ±CI95")]:
        base = col[: -len(" ±CI95")]
        out[base] = [_fmt_value(base, m) + ("" if not np.isfinite(h) else f" ± {h:.2f}")
                     for m, h in zip(table[base], table[col].astype(float))]
        out = out.drop(columns=col)
    return out


def govsim_sections(rs: RunSet, figs: FigureStore, tables: dict,
                    notes: list[str]) -> list[Section]:
    runs = rs.runs
    sec = Section("GovSim: metrics per model")
    if "survival_time" not in runs or runs["survival_time"].isna().all():
        sec.text("The GovSim runs' summaries carry no survival_time: no metric table and no "
                 "survival curve could be made.")
        return [sec]
    gt = S.govsim_table(runs)
    tables["govsim"] = gt.table
    sec.text(f"{len(runs)} completed GovSim runs. Survival rate = share of runs that lasted the "
             "whole horizon; other columns are means over runs with the half-width of the 95 % "
             "t confidence interval (as in Table 1 of Piatti et al.).")
    sec.table("govsim", with_ci(gt.table), "GovSim metrics per variant, setting and model: "
              "mean ± half-width of the 95 % CI.")
    if any("newcomer form" in str(c) for c in gt.table.columns):
        sec.text("Newcomer runs carry two sets of figures. The plain columns count every month "
                 "of the run (15 with a newcomer); the columns marked \"newcomer form\" are "
                 "those of GovSim's newcomer tables: gain and efficiency from the newcomer's "
                 "arrival on, efficiency over 12 months of f(0), survival time capped at 12. "
                 "Only the latter compare with the paper's newcomer tables.")
    if gt.missing:
        msg = ("Not in these runs' summaries, so not in the table: "
               + ", ".join(gt.missing) + ".")
        sec.text(msg)
        notes.append("GovSim: " + msg)
    runs = runs.assign(panel=runs["variant"].astype(str)
                       + np.where(runs["setting"] == "default", "", " · " + runs["setting"]))
    # Each panel at its own horizon: the configured months (15 with a newcomer), else the
    # longest run seen.
    months = runs["months"] if "months" in runs else pd.Series(np.nan, index=runs.index)
    runs["horizon"] = months.fillna(runs["survival_time"]).astype(float)
    horizon = runs.groupby("panel")["horizon"].max().to_dict()
    curves = S.kaplan_meier(runs, ["panel", "model"])
    km = S.km_table(curves, ["panel", "model"], {k: horizon[k[0]] for k in curves})
    tables["govsim_km"] = km
    panel_names = list(dict.fromkeys(runs.sort_values(["variant", "setting"])["panel"]))
    figs.add("govsim_km", lambda: F.km_curves(
        curves, horizon=horizon, panel_names=panel_names,
        title="Kaplan-Meier survival of the society (statsmodels SurvfuncRight)"))
    sec.figure("govsim_km", "Kaplan-Meier estimate of the probability that the society has not "
               "collapsed by each month (event = collapse, a collapse in the last month included; "
               "runs that lasted the horizon without one are censored), ±1 s.e. (Greenwood) band, one curve per model.")
    sec.table("govsim_km", km, "Kaplan-Meier: probability of surviving month 1 and the "
              "whole horizon, and the mean survival time (area under the curve up to the "
              "horizon).")
    return [sec]


# ---------------------------------------------------------------------------------------------
# Writing


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1200px;margin:2em
auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;
margin-top:2em}table{border-collapse:collapse;margin:.6em 0 1.4em;font-size:.85em}
th,td{border:1px solid #ccc;padding:.25em .55em;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}figure{margin:1em 0}img{max-width:100%}
figcaption,.caption{font-size:.85em;color:#555}.notes li{font-size:.9em}code{font-size:.9em}
"""


_COST_COLUMNS = {"llm_calls": "calls", "llm_prompt_tokens": "prompt tokens",
                 "llm_cached_tokens": "from the server's cache",
                 "llm_answer_tokens": "answer tokens", "llm_cache_hits": "response-cache hits",
                 "llm_embed_calls": "embed calls", "llm_embed_cache_hits": "embed cache hits"}


def llm_cost_section(runs: pd.DataFrame, tables: dict) -> Section | None:
    """What the LLM calls cost, per scenario and model: calls, tokens, and how much of the
    prompts the servers read from their prefix caches or the response cache answered."""
    have = [c for c in _COST_COLUMNS if c in runs.columns]
    if "llm_calls" not in have or not runs["llm_calls"].fillna(0).sum():
        return None
    used = runs[runs["llm_calls"].fillna(0) > 0]
    grouped = used.groupby(["scenario", "model"], sort=False)
    table = grouped[have].sum(min_count=1).fillna(0).astype("int64")
    table.insert(0, "runs", grouped.size())
    if "llm_cached_tokens" in have:
        prompt = table["llm_prompt_tokens"].where(table["llm_prompt_tokens"] > 0)
        table["cached share"] = (table["llm_cached_tokens"] / prompt).round(3)
    table = table.rename(columns=_COST_COLUMNS).reset_index()
    tables["llm_cost"] = table
    sec = Section("LLM cost")
    sec.text("Calls and tokens summed over the runs. \"From the server's cache\" counts prompt "
             "tokens a server read from its prefix cache rather than evaluating them (servers "
             "that do not report it count 0); response-cache hits are calls answered from "
             "llm.cache without a server.")
    sec.table("llm_cost", table)
    return sec


def _img_data(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def render_html(title: str, intro: str, sections: list[Section], figs: FigureStore[str, Path],
                notes: list[str]) -> str:
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1><p>{intro}</p>"]
    for sec in sections:
        parts.append(f"<h2>{html.escape(sec.title)}</h2>")
        for kind, payload in sec.blocks:
            if kind == "text":
                parts.append(f"<p>{payload}</p>")
            elif kind == "table":
                name, df, caption = payload
                if caption:
                    parts.append(f"<p class='caption'>{html.escape(caption)}</p>")
                parts.append(html_table(df))
            elif kind == "figure":
                name, caption = payload
                parts.append(f"<figure><img alt='{html.escape(name)}' src='data:image/png;base64,"
                             f"{_img_data(figs[name])}'><figcaption>{html.escape(caption)}"
                             "</figcaption></figure>")
    if notes:
        parts.append("<h2>Notes</h2><ul class='notes'>"
                     + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _plain(text: str) -> str:
    # The few inline tags used in intro and section texts, rendered for Markdown.
    return (text.replace("<code>", "`").replace("</code>", "`").replace("<b>", "**")
            .replace("</b>", "**"))


def render_markdown(title: str, intro: str, sections: list[Section], figs: FigureStore[str, Path],
                    notes: list[str], base: Path) -> str:
    parts = [f"# {title}", "", _plain(intro), ""]
    for sec in sections:
        parts += [f"## {sec.title}", ""]
        for kind, payload in sec.blocks:
            if kind == "text":
                parts += [_plain(str(payload)), ""]
            elif kind == "table":
                name, df, caption = payload
                if caption:
                    parts += [f"*{caption}*", ""]
                parts += [markdown_table(df), ""]
            elif kind == "figure":
                name, caption = payload
                rel = figs[name].relative_to(base).as_posix()
                parts += [f"![{name}]({rel})", "", f"*{caption}*", ""]
    if notes:
        parts += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(parts)


def report_paths(out: str | Path) -> tuple[Path, Path, Path]:
    """(html, markdown, folder for figures and tables) for ``--out``.

    A path ending in .html or .md names the report file (the other format and a ``<stem>_files``
    folder go beside it); anything else is a folder that receives report.html, report.md,
    figures/ and tables/.
    """
    out = Path(out)
    if out.suffix.lower() in (".html", ".htm", ".md"):
        stem = out.with_suffix("")
        return stem.with_suffix(".html"), stem.with_suffix(".md"), Path(f"{stem}_files")
    return out / "report.html", out / "report.md", out


def human_section(rs: RunSet, tables: dict) -> Section | None:
    """Human villagers and the model villagers of the same runs, in rows of their own."""
    from analysis.human_villagers import human_runs, summaries

    runs = human_runs(rs)
    if runs.empty:
        return None
    survival, effort = summaries(rs)
    tables["villagers_survival"] = survival
    tables["villagers_effort"] = effort
    sec = Section("Human and model villagers")
    timeouts = int(runs["human_timeouts"].fillna(0).sum()) if "human_timeouts" in runs else 0
    sec.text(f"{len(runs)} runs had human villagers ({int(runs['human_turns'].sum())} human "
             f"turns, {timeouts} of them timed out to the default answer). The model villagers "
             "are those of the same runs, who shared the lake with them.")
    sec.table("villagers_survival", survival, "Survival per kind of villager: villagers, the "
              "share alive at the run's end, the rounds they lived.")
    sec.table("villagers_effort", effort, "Effort per kind of villager: mean effort (norms) or "
              "request (GovSim) while alive, mean catch, mean final wealth (GovSim: total).")
    return sec


def build_report(dirs: Iterable[str | Path], out: str | Path, *, model_key: str = "auto",
                 alpha: float = 0.05, include_incomplete: bool = False,
                 title: str | None = None) -> Report:
    """Load the runs under ``dirs``, compute the statistics and figures, write the report."""
    timings = {}
    t0 = time.perf_counter()
    dirs = [Path(d) for d in dirs]
    rs = load_runs(dirs, model_key=model_key, include_incomplete=include_incomplete)
    timings["load"] = time.perf_counter() - t0
    if rs.runs.empty:
        raise BadInputError("no completed run folders (with manifest.json) under "
                         + ", ".join(map(str, dirs)))
    html_path, md_path, files = report_paths(out)
    figs = FigureStore(files / "figures")
    tables: dict[str, pd.DataFrame] = {}
    notes: list[str] = []
    sections: list[Section] = []

    t1 = time.perf_counter()
    norms, gov = rs.norms(), rs.govsim()
    if not norms.runs.empty:
        sections += norms_sections(norms, alpha, figs, tables, notes)
    if not gov.runs.empty:
        sections += govsim_sections(gov, figs, tables, notes)
    humans = human_section(rs, tables)
    if humans is not None:
        sections.append(humans)
    if (cost := llm_cost_section(rs.runs, tables)) is not None:
        sections.append(cost)
    timings["figures"] = figs.seconds
    timings["statistics"] = time.perf_counter() - t1 - figs.seconds

    if rs.skipped:
        reasons = pd.Series([r for _, r in rs.skipped]).value_counts()
        notes.append(f"{len(rs.skipped)} run folders not used: "
                     + ", ".join(f"{n} × {r}" for r, n in reasons.items()) + ".")
    for key, values in rs.varying.items():
        shown = ", ".join(map(str, values[:6])) + (" …" if len(values) > 6 else "")
        notes.append(f"config value {key} differs between runs ({shown}) but is not a factor of "
                     "this analysis: such runs are pooled.")

    t2 = time.perf_counter()
    table_dir = files / "tables"
    table_dir.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_csv(table_dir / f"{name}.csv", index=False)
    rs.runs.drop(columns=["path"]).to_csv(table_dir / "runs.csv", index=False)
    title = title or "commons-lab analysis"
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    counts = rs.runs["scenario"].value_counts()
    intro = (f"{len(rs.runs)} runs ("
             + ", ".join(f"{n} {s}" for s, n in counts.items())
             + f") from {', '.join(html.escape(str(d)) for d in dirs)}; generated {stamp}. "
             f"Significance level α = {alpha:g}.")
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(render_html(title, intro, sections, figs, notes), encoding="utf-8")
    md_path.write_text(render_markdown(title, intro, sections, figs, notes, md_path.parent),
                       encoding="utf-8")
    timings["write"] = time.perf_counter() - t2
    timings["total"] = time.perf_counter() - t0
    return Report(html_path, md_path, figs, tables, rs, notes, timings)
