"""The report built from real run folders, its tables checked against values computed here by
other routes.

Run folders come from the real runner: a small rule-based grid (two "models", two environments,
three populations, three seeds, plus ablations), LLM runs of the norms scenario and of GovSim
driven by hand-written answers (strict replay, no server; the model writes its tables, metrics
and norm similarity itself), an interrupted run, and files a sweep keeps beside its runs.
The rule-based "models" are ``llm.model`` labels paired with different penalties, read with
``model_key="config.llm.model"``.

Independent routes: survival means from the summary.json files read with json + pandas;
ANOVA F from least-squares fits with numpy (Type II as differences of residual sums of squares);
Tukey letters against scipy's Tukey HSD; GovSim metrics against ``model.govsim.metrics``'
own aggregation of run folders; trajectories from the raw tables.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from agents.norms.llm_policy import EMBED_PHASE
from analysis.report import build_report
from model.config import RunConfig
from model.runner import run

MODELS = {"rule-A": 2.0, "rule-B": 14.0}  # label -> penalty beta
ENVS = ("harsh", "rich")
POPS = ("selfish", "mixed", "altruistic")
SEEDS = (0, 1, 2)
ABLATIONS = ("social_learning_only", "group_decision_only", "neither")


def rule_run(out: Path, model: str, env: str, pop: str, seed: int, ablation: str = "full",
             fmt: str = "parquet", on_round=None) -> dict:
    config = RunConfig().replace(**{
        "name": "grid", "seed": seed, "rounds": 30, "policy": "rule", "llm.model": model,
        "norms.penalty": MODELS[model], "norms.environment": env, "norms.population": pop,
        "modules.ablation": ablation, "output.format": fmt})
    return run(config, out, progress=False, on_round=on_round)


def _answer_line(agent, rnd, phase, model, raw) -> str:
    return json.dumps({"kind": "chat", "agent": agent, "round": rnd, "phase": phase,
                       "attempt": 0, "model": model, "raw": raw, "done_reason": "stop",
                       "prompt_tokens": 100, "answer_tokens": 10}) + "\n"


def scripted_norms_run(folder: Path, model: str, seed: int, vec0, vec1) -> dict:
    """Two LLM villagers, one round, answers and embeddings from a hand-written call log."""
    folder.mkdir(parents=True)
    log = folder / "answers.jsonl"
    policy = "Keep effort at 0.4 or lower."
    with open(log, "w", encoding="utf-8") as f:
        for agent, effort in ((1, 0.3), (2, 0.8)):
            f.write(_answer_line(agent, 1, "effort", model, json.dumps({"effort": effort})))
            f.write(_answer_line(agent, 1, "punish", model, json.dumps({"punish": "none"})))
            f.write(_answer_line(agent, 1, "propose", model, json.dumps(
                {"personal": f"I should fish gently, villager {agent}.", "community": policy})))
            f.write(_answer_line(agent, 1, "vote", model, json.dumps({"policy": policy})))
        for rnd, vectors in ((0, vec0), (1, vec1)):
            f.write(json.dumps({"kind": "embed", "agent": -1, "round": rnd, "phase": EMBED_PHASE,
                                "model": "all-minilm", "embeddings": vectors,
                                "prompt_tokens": 20}) + "\n")
    config = RunConfig(policy="llm", seed=seed, rounds=1).replace(**{
        "norms.n_agents": 2, "norms.population": "mixed", "norms.environment": "rich",
        "llm.backend": "replay", "llm.replay_log": str(log), "llm.model": model})
    return run(config, folder / "run", progress=False)


def scripted_govsim_run(folder: Path, model: str, variant: str, seed: int,
                        takes: list[tuple[int, int]]) -> dict:
    """Two GovSim villagers without discussion; ``takes`` are their answers month by month."""
    folder.mkdir(parents=True)
    log = folder / "answers.jsonl"
    with open(log, "w", encoding="utf-8") as f:
        for month, pair in enumerate(takes, 1):
            for agent, take in zip((1, 2), pair):
                f.write(_answer_line(agent, month, "harvest", model,
                                     json.dumps({"reasoning": "", "answer": take})))
    config = RunConfig(scenario="govsim", seed=seed).replace(**{
        "govsim.months": 3, "govsim.n_agents": 2, "govsim.communication": False,
        "govsim.reflection": False, "govsim.memory_top_k": 0, "govsim.variant": variant,
        "llm.backend": "replay", "llm.replay_log": str(log), "llm.model": model})
    return run(config, folder / "run", progress=False)


# GovSim answer scripts: greedy societies collapse in month 1 or 2, modest ones last 3 months.
GOVSIM_SCRIPTS = {
    "model-a": [[(50, 48)], [(30, 30), (40, 38)], [(49, 47)]],
    "model-b": [[(10, 12)] * 3, [(20, 20)] * 3, [(30, 30), (40, 38)]],
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("analysis")
    sweep = root / "sweep"
    for model, env, pop, seed in itertools.product(MODELS, ENVS, POPS, SEEDS):
        # One run writes CSV only: the loader must read both formats.
        fmt = "csv" if (model, env, pop, seed) == ("rule-A", "harsh", "selfish", 0) else "parquet"
        rule_run(sweep / "runs" / f"{model}_{env}_{pop}_seed-{seed}", model, env, pop, seed,
                 fmt=fmt)
    for ablation, env, seed in itertools.product(ABLATIONS, ENVS, SEEDS):
        rule_run(sweep / "runs" / f"{ablation}_{env}_seed-{seed}", "rule-A", env, "mixed", seed,
                 ablation)
    # What a sweep keeps beside its runs is not a run.
    (sweep / "sweep.json").write_text(json.dumps({"name": "grid", "runs": 54}))
    (sweep / "meta").mkdir()
    (sweep / "meta" / "manifest.json").write_text(json.dumps({"kind": "sweep"}))

    def stop(model):
        if model.round == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rule_run(root / "extra" / "interrupted", "rule-A", "rich", "mixed", 9, on_round=stop)
    for i, model in enumerate(("llm-x", "llm-y")):
        for seed in SEEDS:
            spread = 0.2 + 0.6 * i + 0.1 * seed  # llm-y's villagers disagree more
            scripted_norms_run(root / "extra" / f"{model}-{seed}", model, seed,
                               [[1, 0, 0], [spread, 1, 0]],
                               [[1, 0, 0], [1, spread, 0], [1, 0.3, 0]])
    for model, variant in itertools.product(GOVSIM_SCRIPTS, ("fishery", "pasture")):
        for seed, takes in enumerate(GOVSIM_SCRIPTS[model]):
            scripted_govsim_run(root / "govsim" / f"{variant}-{model}-{seed}", model, variant, seed,
                                takes)
    report = build_report([sweep, root / "extra", root / "govsim"], root / "report",
                          model_key="config.llm.model", alpha=0.05)
    return root, report


def summaries(root: Path) -> pd.DataFrame:
    """Every completed run's summary and factors, read straight from the files."""
    rows = []
    for manifest_path in root.rglob("manifest.json"):
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("status") != "completed":
            continue
        cfg = manifest["config"]
        summary = json.loads((manifest_path.parent / "summary.json").read_text())
        rows.append({"folder": manifest_path.parent, "scenario": cfg["scenario"],
                     "model": cfg["llm"]["model"], "environment": cfg["norms"]["environment"],
                     "population": cfg["norms"]["population"],
                     "ablation": cfg["modules"]["ablation"], "variant": cfg["govsim"]["variant"],
                     "policy": cfg["policy"], **{k: v for k, v in summary.items()
                                                 if not isinstance(v, (dict, list))}})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def truth(lab):
    root, _ = lab
    return summaries(root / "sweep"), summaries(root / "extra"), summaries(root / "govsim")


def test_every_run_is_found_once_and_the_rest_is_explained(lab, truth):
    _, report = lab
    sweep, extra, gov = truth
    runs = report.runs.runs
    assert len(runs) == len(sweep) + len(extra) + len(gov) == 54 + 6 + 12
    assert runs["run_id"].is_unique
    assert [reason for _, reason in report.runs.skipped] == ["status interrupted"]
    assert any("1 run folders not used: 1 × status interrupted" in n for n in report.notes)
    # The penalty differs between runs without being a factor: the reader is told.
    assert any(n.startswith("config value norms.penalty differs") for n in report.notes)
    csv_run = runs[runs["run_id"].str.contains("rule-A_harsh_selfish_seed-0")]
    assert len(csv_run) == 1 and len(report.runs.rounds[
        report.runs.rounds["run_id"] == csv_run["run_id"].iloc[0]]) > 1


def test_survival_table_matches_the_summaries(lab, truth):
    _, report = lab
    sweep, extra, _ = truth
    main = pd.concat([sweep, extra])
    main = main[main["ablation"] == "full"]
    expected = main.groupby(["environment", "model", "population"])["survival_time"].agg(
        ["count", "mean", "std", "sem"])
    got = report.tables["survival"].astype({"environment": str, "model": str, "population": str})
    got = got.set_index(["environment", "model", "population"])
    assert len(got) == len(expected)
    for key, row in expected.iterrows():
        assert got.loc[key, "n"] == row["count"]
        assert got.loc[key, "mean"] == pytest.approx(row["mean"])
        if row["count"] > 1:
            assert got.loc[key, "sem"] == pytest.approx(row["sem"])
    # The CSV beside the report holds the same numbers.
    csv = pd.read_csv(report.html.parent / "tables" / "survival.csv")
    assert np.allclose(csv["mean"], report.tables["survival"]["mean"])


def rss(y: np.ndarray, *designs: np.ndarray) -> float:
    """Residual sum of squares of y on an intercept and the given dummy blocks (numpy lstsq)."""
    x = np.column_stack([np.ones(len(y)), *designs])
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    return float(((y - x @ beta) ** 2).sum())


def dummies(values: pd.Series) -> np.ndarray:
    levels = sorted(values.unique())
    return np.column_stack([(values == v).to_numpy(float) for v in levels[1:]])


def test_anova_matches_least_squares_model_comparison(lab, truth):
    _, report = lab
    sweep, _, _ = truth
    main = sweep[sweep["ablation"] == "full"]  # the LLM-scripted runs are a third model level
    # The report's ANOVA covers every full run, including the scripted LLM runs (rich only).
    table = report.tables["anova"]
    exact_fits = []
    for env in ENVS:
        data = pd.concat([main, truth[1]])
        data = data[(data["environment"] == env) & (data["ablation"] == "full")]
        y = data["survival_time"].to_numpy(float)
        a = dummies(data["model"])
        b = dummies(data["population"])
        cells = data["model"] + "|" + data["population"]
        interaction = dummies(cells)  # the full cell-means model
        rss_full = rss(y, interaction)
        df_res = len(y) - cells.nunique()
        rss_ab = rss(y, a, b)
        ss = {"Model": rss(y, b) - rss_ab, "Altruistic ratio": rss(y, a) - rss_ab,
              "Model × ratio": rss_ab - rss_full}
        got = table[table["environment"] == env].set_index("effect")
        has_interaction = "Model × ratio" in got.index
        if not has_interaction:  # empty cells (the scripted runs are mixed only)
            rss_full, df_res = rss_ab, len(y) - 1 - a.shape[1] - b.shape[1]
        ss_total = float(((y - y.mean()) ** 2).sum())
        for effect, df_eff in (("Model", a.shape[1]), ("Altruistic ratio", b.shape[1]),
                               ("Model × ratio", a.shape[1] * b.shape[1])):
            if effect not in got.index:
                continue
            assert got.loc[effect, "df"] == df_eff
            assert got.loc[effect, "eta_sq"] == pytest.approx(ss[effect] / ss_total, rel=1e-8,
                                                              abs=1e-12)
            if rss_full <= 1e-12 * ss_total:  # no variation within cells: F is infinite
                exact_fits.append(env)
                if ss[effect] > 1e-12 * ss_total:
                    assert got.loc[effect, "F"] == np.inf and got.loc[effect, "p"] == 0.0
                else:  # 0 / 0
                    assert np.isnan(got.loc[effect, "F"]) and np.isnan(got.loc[effect, "p"])
                continue
            f = (ss[effect] / df_eff) / (rss_full / df_res)
            assert got.loc[effect, "F"] == pytest.approx(f, rel=1e-8)
            assert got.loc[effect, "p"] == pytest.approx(sps.f.sf(f, df_eff, df_res), rel=1e-6)
        assert got.loc["Residual", "df"] == df_res
        # The F values are printed in the report as Table 1 shows them.
        html = report.html.read_text()
        for value in got["F"].dropna():
            assert (f"<td>{value:.2f}</td>" if np.isfinite(value) else "<td>∞</td>") in html
    # At least one environment has runs that vary within cells, so the F values are checked.
    assert len(set(exact_fits)) < len(ENVS), exact_fits


def test_tukey_letters_agree_with_scipy(lab, truth):
    _, report = lab
    sweep, extra, _ = truth
    main = pd.concat([sweep, extra])
    main = main[main["ablation"] == "full"]
    letters = report.tables["tukey_letters"]
    for env, df in main.groupby("environment"):
        models = sorted(df["model"].unique())
        ref = sps.tukey_hsd(*[df[df["model"] == m]["survival_time"].to_numpy(float)
                              for m in models])
        got = letters[letters["environment"].astype(str) == env].set_index("model")["letters"]
        for (i, a), (j, b) in itertools.combinations(enumerate(models), 2):
            shares = bool(set(got[a]) & set(got[b]))
            assert shares == (ref.pvalue[i, j] >= 0.05), (env, a, b, ref.pvalue[i, j])
        # The letters in the figure come from the same table: highest mean has "a".
        means = df.groupby("model")["survival_time"].mean()
        assert got[means.idxmax()].startswith("a")


def test_trajectories_match_the_raw_round_tables(lab, truth):
    _, report = lab
    sweep, _, _ = truth
    traj = report.tables["trajectory_stock"]
    full = sweep[sweep["ablation"] == "full"]
    for (env, model, pop), cell in full.groupby(["environment", "model", "population"]):
        stocks = []
        for folder in cell["folder"]:
            path = folder / "rounds.parquet"
            rounds = pd.read_parquet(path) if path.exists() else pd.read_csv(folder / "rounds.csv")
            stocks.append(rounds.loc[rounds["Round"] == 1, "Stock"].iloc[0])
        row = traj[(traj["environment"].astype(str) == env) & (traj["model"].astype(str) == model)
                   & (traj["population"].astype(str) == pop) & (traj["Round"] == 1)]
        assert row["n"].iloc[0] == len(stocks)
        assert row["mean"].iloc[0] == pytest.approx(np.mean(stocks))
        assert row["sem"].iloc[0] == pytest.approx(sps.sem(stocks))


def test_ablation_table_compares_the_same_cells(lab, truth):
    _, report = lab
    sweep, _, _ = truth
    table = report.tables["ablation"]
    # Only rule-A, mixed has ablated runs: every condition is compared on that cell alone.
    assert set(table["model"].astype(str)) == {"rule-A"}
    assert set(table["population"].astype(str)) == {"mixed"}
    cell = sweep[(sweep["model"] == "rule-A") & (sweep["population"] == "mixed")]
    expected = cell.groupby(["environment", "ablation"])["survival_time"].mean()
    for row in table.itertuples():
        assert row.mean == pytest.approx(expected[(str(row.environment), str(row.ablation))])
        assert row.n == len(SEEDS)


def test_norm_similarity_comes_from_the_last_recorded_round(lab, truth):
    _, report = lab
    _, extra, _ = truth
    table = report.tables["norm_similarity"].set_index("model")
    for model, cell in extra.groupby("model"):
        finals = []
        for folder in cell["folder"]:
            rounds = pd.read_parquet(folder / "rounds.parquet").dropna(subset=["SInd"])
            finals.append(rounds.iloc[-1][["SInd", "SAlign"]].to_numpy(float))
        finals = np.array(finals)
        assert table.loc[model, "s_ind_mean"] == pytest.approx(finals[:, 0].mean())
        assert table.loc[model, "s_align_mean"] == pytest.approx(finals[:, 1].mean())
    assert "norm_scatter" in report.figures


def test_govsim_table_matches_the_scenarios_own_aggregation(lab, truth):
    from model.govsim.metrics import aggregate_folders

    _, report = lab
    _, _, gov = truth
    table = report.tables["govsim"].astype({"variant": str, "model": str})
    km = report.tables["govsim_km"].set_index(["panel", "model"])
    assert len(table) == 4
    for (variant, model), cell in gov.groupby(["variant", "model"]):
        agg = aggregate_folders(cell["folder"])
        row = table[(table["variant"] == variant) & (table["model"] == model)].iloc[0]
        assert row["runs"] == agg["survival_time"]["n"] == 3
        assert row["survival rate %"] == pytest.approx(100 * agg["survival_rate"]["mean"])
        for key, name, scale in (("survival_time", "survival time", 1), ("gain", "gain", 1),
                                 ("efficiency", "efficiency %", 100),
                                 ("equality", "equality %", 100),
                                 ("over_usage", "over-usage %", 100),
                                 ("over_usage_published", "over-usage % (published formula)",
                                  100)):
            assert row[name] == pytest.approx(scale * agg[key]["mean"])
            ci = agg[key]["ci95"]
            if np.isfinite(ci) and ci > 0:
                assert row[name + " ±CI95"] == pytest.approx(scale * ci)
        # Kaplan-Meier: no run is censored before the horizon, so S(horizon) is the share of
        # runs that lasted, and the area under the curve is the mean survival time.
        panel = f"{variant} · no communication"  # the runs' setting names the panel
        assert row["setting"] == "no communication"
        assert km.loc[(panel, model), "horizon"] == 3
        assert km.loc[(panel, model), "P(survive the horizon)"] == pytest.approx(
            agg["survival_rate"]["mean"])
        assert km.loc[(panel, model), "mean survival (KM, months)"] == pytest.approx(
            agg["survival_time"]["mean"])


def test_html_is_self_contained_and_markdown_points_at_real_files(lab):
    _, report = lab
    html = report.html.read_text(encoding="utf-8")
    sources = re.findall(r"<img[^>]*src='([^']*)'", html)
    assert len(sources) == len(report.figures) == 6
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "http://" not in html and "https://" not in html
    for heading in ("Survival time per model and condition", "Stock and efficiency trajectories",
                    "Norm similarity: S_ind vs S_align", "Ablations", "GovSim: metrics per model"):
        assert f"<h2>{heading}</h2>" in html
    md = report.markdown.read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(images) == 6
    for rel in images:
        png = report.markdown.parent / rel
        assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000
    assert "| environment | effect | df | F | p | η² |" in md


def test_cli_writes_the_report_and_refuses_empty_input(lab, tmp_path, capsys):
    import cli

    root, _ = lab
    out = tmp_path / "rep.html"
    assert cli.main(["analyze", str(root / "govsim"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "analysed 12 runs (12 govsim)" in printed
    assert out.is_file() and (tmp_path / "rep.md").is_file()
    assert (tmp_path / "rep_files" / "figures" / "govsim_km.png").is_file()
    # No norms runs: the report says so instead of drawing empty figures.
    assert "Survival time per model" not in out.read_text()

    (tmp_path / "empty").mkdir()
    assert cli.main(["analyze", str(tmp_path / "empty"), "--out", str(tmp_path / "r")]) == 2
    assert "no completed run folders" in capsys.readouterr().err
    assert cli.main(["analyze", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r")]) == 2
    assert "not a directory" in capsys.readouterr().err
