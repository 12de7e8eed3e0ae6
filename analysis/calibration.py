"""Calibration of the values Gupta et al. leave open, one search per profile of the model.

The values (alpha, c, P(0), R_min, the imitation rates, the monitoring range; for ``extended``
also the prior fine rate of deterrence), their full ranges, the reduced design each trial runs,
the criteria and the score are pre-registered in ``calibration/criteria.toml``, which this module
reads and never writes. Every trial runs on the calibration seed block
(``analysis.seed_blocks.CALIBRATION``), never on a validation or test seed.

The search is Optuna's TPE sampler: it handles bounded and log-scaled values together, needs
far fewer evaluations than a population method (scipy's differential evolution would spend
about 150 trials on one generation of 10 values, more than the whole budget on 2 cores), and
takes back finished trials, so an interrupted search resumes from its trial file: every trial
is appended to ``trials.csv`` as soon as it is scored, and a rerun reads the file, hands the
trials to a fresh study and asks only for the missing ones. Trials are simulated in batches
(``batch``), so one ``mesa.batch_run`` keeps every core busy.

Outputs in ``calibration/PROFILE/``: ``trials.csv`` (every trial: values, statistics, score),
``best.toml`` (the best trial's values, dotted keys), ``score_vs_parameters.png``.
"""

from __future__ import annotations

import dataclasses
import math
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from analysis.seed_blocks import CALIBRATION
from model.config import RunConfig

SEEDS = CALIBRATION
CRITERIA_FILE = Path(__file__).resolve().parent.parent / "calibration" / "criteria.toml"
OUT_ROOT = CRITERIA_FILE.parent


@dataclass(frozen=True)
class Parameter:
    key: str  # dotted config key
    symbol: str
    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Criteria:
    """The pre-registered design, criteria and score (``calibration/criteria.toml``)."""

    raw: dict

    @classmethod
    def read(cls, path: Path = CRITERIA_FILE) -> Criteria:
        return cls(tomllib.loads(Path(path).read_text(encoding="utf-8")))

    def parameters(self, profile: str) -> list[Parameter]:
        tables = [self.raw["parameters"]]
        if profile == "extended":
            tables.append(self.raw.get("parameters_extended", {}))
        return [Parameter(key, spec["symbol"], float(spec["low"]), float(spec["high"]),
                          bool(spec.get("log", False)))
                for table in tables for key, spec in table.items()]

    @property
    def names(self) -> dict[str, list[str]]:
        """Criterion names per finding."""
        a = [f"a_{m}_{kind}_{b:g}" for b in self.raw["a"]["penalties"]
             for kind in ("level", "slope") for m in ("coop", "stock")]
        b = [f"b_r{r:g}" for r in self.raw["b"]["growth"]]
        c = [f"c_{env}_{hi[0].upper()}>{lo[0].upper()}" for env, hi, lo in self.raw["c"]["orders"]]
        return {"a": a, "b": b, "c": c}

    def score(self, stats: pd.DataFrame) -> pd.DataFrame:
        """``met``, per-finding shares and ``score`` for rows of criterion statistics."""
        sc = self.raw["score"]
        out = pd.DataFrame(index=stats.index)
        every = [n for names in self.names.values() for n in names]
        z = stats[every].astype(float)
        met = z > sc["z_met"]
        out["met"] = met.sum(axis=1)
        share = sum(met[names].mean(axis=1) for names in self.names.values())
        tie = z.clip(-sc["clip"], sc["clip"]).fillna(-sc["clip"]).mean(axis=1)
        out["score"] = share + sc["tie_weight"] * tie
        return out


def point_values(point: dict) -> dict:
    """A trial's values as config overrides (the monitoring bounds in order)."""
    out = dict(point)
    lo, hi = out.get("norms.monitoring_low"), out.get("norms.monitoring_high")
    if lo is not None and hi is not None and lo > hi:
        out["norms.monitoring_low"], out["norms.monitoring_high"] = hi, lo
    return out


def _point_configs(tag: str, base: RunConfig, crit: Criteria):
    """(survival configs for b and c, trajectory configs for a) of one point."""
    from analysis import validation as v

    b, a = crit.raw["b"], crit.raw["a"]
    surv = [dataclasses.replace(base.replace(**{
        "norms.penalty": beta, "norms.growth_rate": r, "norms.population": v.B_POPULATION}),
        name=f"{tag}|b|{beta:g}|{r:g}") for beta in b["penalties"] for r in b["growth"]]
    surv += [dataclasses.replace(base.replace(**{
        "norms.population": p, "norms.environment": e, "norms.growth_rate": None}),
        name=f"{tag}|c|{p}|{e}") for p in v.C_POPULATIONS for e in v.C_ENVIRONMENTS]
    traj = [dataclasses.replace(c, name=f"{tag}|{c.name}") for c in v.a_configs(base)
            if c.norms.penalty in a["penalties"]]
    return surv, traj


def _welch_z(x: np.ndarray, y: np.ndarray) -> float:
    se = math.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y))
    diff = x.mean() - y.mean()
    return diff / se if se > 0 else (0.0 if diff == 0 else math.copysign(10.0, diff))


def _paired_t(d: np.ndarray) -> float:
    d = d[~np.isnan(d)]
    if len(d) < 2:
        return float("nan")
    sd = d.std(ddof=1)
    return d.mean() / (sd / math.sqrt(len(d))) if sd > 0 else (0.0 if d.mean() == 0 else
                                                               math.copysign(10.0, d.mean()))


def evaluate(points: Sequence[dict], profile: str, crit: Criteria, *, runs: int | None = None,
             processes: int | None = None) -> pd.DataFrame:
    """The criterion statistics of each point (dotted overrides), one row per point."""
    from scipy import stats

    from analysis import validation as v

    runs = runs or crit.raw["design"]["runs"]
    base = v.base_config(profile=profile)
    surv, traj = [], []
    for i, point in enumerate(points):
        s, t = _point_configs(f"p{i}", base.replace(**point_values(point)), crit)
        surv += s
        traj += t
    seeds = SEEDS.seeds(runs)
    raw_s = v.batch(surv, seeds, processes=processes)
    raw_t = v.batch(traj, seeds, every_round=True, model_cls=v.TrajectoryModel,
                    processes=processes)
    raw_s["point"] = raw_s["condition"].str.split("|").str[0]
    raw_t["point"] = raw_t["condition"].str.split("|").str[0]
    raw_t["condition"] = raw_t["condition"].str.split("|", n=1).str[1]
    a_cfg, c_orders = crit.raw["a"], crit.raw["c"]["orders"]
    rows = []
    for i, point in enumerate(points):
        tag = f"p{i}"
        row: dict[str, Any] = {}
        per_run = v.a_per_run(v.a_frame(raw_t[raw_t["point"] == tag]))
        for beta in a_cfg["penalties"]:
            g = per_run[per_run["penalty"] == beta]
            for kind in ("level", "slope"):
                for metric, name in (("cooperation", "coop"), ("stock", "stock")):
                    col = f"{metric}_{kind}"
                    wide = g.pivot(index="seed", columns="punishment", values=col)
                    row[f"a_{name}_{kind}_{beta:g}"] = _paired_t(
                        (wide["kept on"] - wide["switched off"]).to_numpy())
        sub = raw_s[raw_s["point"] == tag]
        parts = sub["condition"].str.split("|")
        surv_time = sub["SurvivalTime"].astype(float).to_numpy()
        kind = parts.str[1].to_numpy()
        b_mask = kind == "b"
        beta = parts[b_mask].str[2].astype(float).to_numpy()
        growth = parts[b_mask].str[3].astype(float).to_numpy()
        for r in crit.raw["b"]["growth"]:
            m = np.isclose(growth, r)
            x, y = beta[m], surv_time[b_mask][m]
            rho = stats.spearmanr(x, y).statistic if np.ptp(y) > 0 else 0.0
            row[f"b_r{r:g}"] = float(np.arctanh(np.clip(rho, -0.999, 0.999)) * math.sqrt(len(y) - 3))
        c_mask = kind == "c"
        pop, env = parts[c_mask].str[2].to_numpy(), parts[c_mask].str[3].to_numpy()
        cs = surv_time[c_mask]
        for e, hi, lo in c_orders:
            x, y = cs[(env == e) & (pop == hi)], cs[(env == e) & (pop == lo)]
            row[f"c_{e}_{hi[0].upper()}>{lo[0].upper()}"] = _welch_z(x, y)
        for e in v.C_ENVIRONMENTS:
            for p in v.C_POPULATIONS:
                row[f"T_{e[0]}{p[0].upper()}"] = float(cs[(env == e) & (pop == p)].mean())
        row["mean_rounds"] = float(surv_time.mean())
        rows.append(row)
    out = pd.DataFrame(rows)
    return pd.concat([out, crit.score(out)], axis=1)


# ---------------------------------------------------------------------------------------------
# The search


def _distributions(params: Sequence[Parameter]) -> dict:
    import optuna

    return {p.key: optuna.distributions.FloatDistribution(p.low, p.high, log=p.log)
            for p in params}


def _read_trials(path: Path, params: Sequence[Parameter]) -> pd.DataFrame:
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame()
    trials = pd.read_csv(path)
    missing = [p.key for p in params if p.key not in trials.columns]
    if missing:
        raise ValueError(f"{path} does not belong to this search (no column {missing[0]})")
    return trials


def _append(path: Path, rows: pd.DataFrame) -> None:
    """Append scored trials; a new file gets the header. Flushed at once, so a killed search
    loses at most the batch it was running."""
    header = not path.is_file() or path.stat().st_size == 0
    with open(path, "a", encoding="utf-8") as fh:
        rows.to_csv(fh, header=header, index=False)
        fh.flush()


@dataclass
class CalibrationResult:
    profile: str
    trials: pd.DataFrame
    best: pd.Series
    seconds: float
    resumed: int  # trials read back from the trial file


def calibrate(profile: str, out: Path, *, trials: int | None = None,
              crit: Criteria | None = None, runs: int | None = None,
              processes: int | None = None, echo: Callable[[str], None] = print
              ) -> CalibrationResult:
    """Search ``profile``'s open values; resume from ``out/trials.csv`` if it exists."""
    import optuna

    crit = crit or Criteria.read()
    design = crit.raw["design"]
    total = trials or design["trials"]
    params = crit.parameters(profile)
    dists = _distributions(params)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "trials.csv"
    done = _read_trials(path, params)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=design["sampler_seed"] + len(done),
                                         n_startup_trials=design["startup_trials"],
                                         multivariate=True, constant_liar=True)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for _, row in done.iterrows():
        study.add_trial(optuna.trial.create_trial(
            params={p.key: float(row[p.key]) for p in params}, distributions=dists,
            value=float(row["score"])))
    if len(done):
        echo(f"resuming: {len(done)} trials read from {path}")
    t0 = time.perf_counter()
    names = [n for ns in crit.names.values() for n in ns]
    while len(study.trials) < total:
        k = min(design["batch"], total - len(study.trials))
        asked = [study.ask(dists) for _ in range(k)]
        points = [dict(t.params) for t in asked]
        scored = evaluate(points, profile, crit, runs=runs, processes=processes)
        for t, score in zip(asked, scored["score"]):
            study.tell(t, float(score))
        rows = pd.DataFrame(points)
        rows.insert(0, "trial", [t.number for t in asked])
        rows = pd.concat([rows, scored.reset_index(drop=True)], axis=1)
        _append(path, rows)
        best = max(study.best_value, float(scored["score"].max()))
        echo(f"trials {len(study.trials)}/{total}: scores "
             + ", ".join(f"{s:.2f} ({m}/{len(names)})" for s, m in zip(scored["score"],
                                                                       scored["met"]))
             + f"; best so far {best:.2f}")
    every = pd.read_csv(path)
    best_row = every.loc[every["score"].idxmax()]
    return CalibrationResult(profile, every, best_row, time.perf_counter() - t0, len(done))


def write_best(result: CalibrationResult, crit: Criteria, out: Path) -> Path:
    """``best.toml``: the best trial's values (dotted keys), its score and criteria met."""
    params = crit.parameters(result.profile)
    values = point_values({p.key: float(result.best[p.key]) for p in params})
    lines = [f"# Best of {len(result.trials)} trials of the {result.profile!r} profile "
             f"(trial {int(result.best['trial'])}): score {result.best['score']:.3f}, "
             f"{int(result.best['met'])} of "
             f"{sum(len(n) for n in crit.names.values())} criteria met.",
             f'profile = "{result.profile}"']
    lines += [f'"{key}" = {value!r}' for key, value in values.items()]
    path = out / "best.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def plot_scores(result: CalibrationResult, crit: Criteria):
    """The score of every trial against each parameter; the best trial in orange."""
    from analysis.figures import new_figure

    params = crit.parameters(result.profile)
    cols = 4
    rows_n = math.ceil(len(params) / cols)
    fig = new_figure(3.0 * cols, 2.4 * rows_n)
    axes = np.atleast_1d(fig.subplots(rows_n, cols)).ravel()
    trials = result.trials
    for ax, p in zip(axes, params):
        ax.scatter(trials[p.key], trials["score"], s=10, color="#0072B2", alpha=0.6,
                   linewidths=0)
        ax.scatter([result.best[p.key]], [result.best["score"]], s=40, color="#E69F00",
                   marker="D", zorder=3)
        if p.log:
            ax.set_xscale("log")
        ax.set_xlim(p.low, p.high) if not p.log else None
        ax.set_xlabel(f"{p.symbol} ({p.key})", fontsize=7)
        ax.set_ylabel("score", fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in axes[len(params):]:
        ax.set_visible(False)
    fig.suptitle(f"calibration of the {result.profile!r} profile: score (0-3 + margins) of "
                 f"{len(trials)} trials against each value; best in orange", fontsize=9)
    return fig


def main_report(profile: str, out: Path | None = None, *, trials: int | None = None,
                runs: int | None = None, processes: int | None = None,
                echo: Callable[[str], None] = print) -> int:
    """The ``calibrate`` command: search (or resume), then write best.toml and the figure."""
    from analysis.figures import save

    crit = Criteria.read()
    out = out or OUT_ROOT / profile
    params = crit.parameters(profile)
    echo(f"calibrating the {profile!r} profile; criteria and ranges from {CRITERIA_FILE}")
    for p in params:
        echo(f"  {p.symbol:>10} = {p.key:<29} [{p.low:g}, {p.high:g}]{' log' if p.log else ''}")
    runs_ = runs or crit.raw["design"]["runs"]
    echo(f"{runs_} runs per condition on seeds {SEEDS.first}..{SEEDS.first + runs_ - 1} "
         f"({SEEDS.name} block)")
    result = calibrate(profile, out, trials=trials, crit=crit, runs=runs, processes=processes,
                       echo=echo)
    best_path = write_best(result, crit, out)
    save(plot_scores(result, crit), out / "score_vs_parameters.png")
    names = [n for ns in crit.names.values() for n in ns]
    echo("best values: " + ", ".join(f"{p.symbol} {float(result.best[p.key]):.4g}"
                                     for p in params))
    echo("their statistics: " + ", ".join(f"{n} {float(result.best[n]):.2f}" for n in names))
    echo(f"criteria met: {int(result.best['met'])}/{len(names)}, score "
         f"{result.best['score']:.3f}; {len(result.trials)} trials "
         f"({result.resumed} resumed) in {result.seconds:.0f} s; {best_path}")
    return 0
