"""What an LLM run or sweep will cost before it runs: calls, prompt and answer tokens, time.

No server is needed. For each run of the plan the norms model plays its first rounds with a
stand-in for the LLM that answers every decision with its documented fallback (a villager that
changes nothing), so the prompts are the ones the run will really send at its start; their tokens
are counted with ``analysis.token_count``. Prompts stop growing once a villager's record and the
lake's history have filled their windows, so the last probed round stands for every later one,
and the rounds are scaled by the expected survival. Call logs found under a folder supply what
only a real run knows: retries per decision, answer tokens per call (a reasoning model's
thinking), the share of the round cap runs survived, and latency per call.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agents.llm.requests import Decision
from agents.llm.stats import CallStats
from analysis.token_count import prompt_tokens, text_tokens
from model.config import RunConfig

PROBE_ROUNDS = 6  # the lake's history covers 5 days: from day 6 on a prompt no longer grows


# -- the stand-in for the LLM --------------------------------------------------------------------


class StandIn:
    """An offline LLM client: every decision gets its fallback; every request is kept."""

    def __init__(self):
        self.stats = CallStats()
        self.requests: list = []
        self.embeds: list[tuple[int, list[str]]] = []

    def decide_all(self, reqs):
        out = []
        for req in reqs:
            self.requests.append(req)
            d = Decision(value=req.fallback, fallback=False, attempts=1, prompt_tokens=0,
                         answer_tokens=0, latency_s=0.0, raw="")
            self.stats.add_decision(req.phase, d)
            out.append(d)
        return out

    def embed(self, texts, *, round, phase, agent_id=-1, model=None):
        self.embeds.append((round, list(texts)))
        return np.zeros((len(texts), 4))


def answer_text(req) -> str:
    """The fallback answer as the protocol would carry it (free text or JSON)."""
    value = req.fallback.model_dump()
    if not req.free_text:
        return json.dumps(value)
    if req.phase == "propose":
        return f"Personal: {value['personal']}\nCommunity: {value['community']}"
    if req.phase == "belief":
        return f"Personal: {value['personal']}"
    return str(next(iter(value.values())))


@dataclass
class RoundCost:
    calls: int = 0
    prompt_tokens: int = 0
    answer_tokens: int = 0
    embed_calls: int = 0
    by_phase: dict[str, list[int]] = field(default_factory=dict)  # phase -> [calls, prompt tokens]


def _prompt_key(config: RunConfig, rounds: int) -> str:
    """What the prompts depend on: everything but how the LLM is reached (model, server)."""
    data = config.to_dict()
    data["llm"] = {"protocol": config.llm.protocol, "models": len(config.llm.models)}
    return json.dumps(data, sort_keys=True) + f"|{rounds}"


_PROBED: dict[str, list[RoundCost]] = {}


def probe(config: RunConfig, rounds: int = PROBE_ROUNDS) -> list[RoundCost]:
    """The first ``rounds`` rounds of ``config`` played against the stand-in, cost per round
    (remembered: the models of a grid share their prompts)."""
    key = _prompt_key(config, rounds)
    if key not in _PROBED:
        _PROBED[key] = _probe(config, rounds)
    return _PROBED[key]


def _probe(config: RunConfig, rounds: int) -> list[RoundCost]:
    from model.norms.model import NormsModel

    if config.scenario != "norms" or config.policy != "llm":
        from agents.errors import BadInputError

        raise BadInputError("estimate covers LLM runs of the norms scenario "
                            '(scenario = "norms", policy = "llm")')
    stand_in = StandIn()
    model = NormsModel(config, llm_client=stand_in)
    costs = []
    for _ in range(min(rounds, config.rounds)):
        if not model.running:
            break
        done, embeds = len(stand_in.requests), len(stand_in.embeds)
        model.step()
        cost = RoundCost()
        for req in stand_in.requests[done:]:
            p = prompt_tokens(req.messages)
            cost.calls += 1
            cost.prompt_tokens += p
            cost.answer_tokens += text_tokens(answer_text(req))
            row = cost.by_phase.setdefault(req.phase, [0, 0])
            row[0] += 1
            row[1] += p
        cost.embed_calls = len(stand_in.embeds) - embeds
        costs.append(cost)
    return costs


# -- what call logs tell ---------------------------------------------------------------------------


@dataclass
class ModelHistory:
    """What finished runs of one model measured."""

    decisions: int = 0
    calls: int = 0
    answer_tokens: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    latency: list[tuple[float, float, float]] = field(default_factory=list)  # (prompt, answer, s)
    survival_share: list[float] = field(default_factory=list)  # rounds run / round cap

    @property
    def calls_per_decision(self) -> float:
        return self.calls / self.decisions if self.decisions else 1.0

    def answer_tokens_per_call(self, phase: str) -> float | None:
        seen = self.answer_tokens.get(phase)
        return float(np.mean(seen)) if seen else None

    def seconds(self, prompt: float, answer: float, calls: float) -> float | None:
        """Time of ``calls`` calls with these token totals: a least-squares fit of latency on
        prompt and answer tokens when it is well posed, else the mean latency per call."""
        if not self.latency:
            return None
        data = np.array(self.latency, dtype=float)
        if len(data) >= 10:
            design = np.column_stack([np.ones(len(data)), data[:, 0], data[:, 1]])
            coef, *_ = np.linalg.lstsq(design, data[:, 2], rcond=None)
            if (coef >= 0).all():
                return float(coef[0] * calls + coef[1] * prompt + coef[2] * answer)
        return float(data[:, 2].mean() * calls)


def read_history(folder: str | Path) -> dict[str, ModelHistory]:
    """Per model, from every ``calls.jsonl`` below ``folder`` (and its run's summary)."""
    history: dict[str, ModelHistory] = defaultdict(ModelHistory)
    for log in sorted(Path(folder).rglob("calls.jsonl")):
        models = set()
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a line cut by a crash
            if rec.get("kind") != "chat" or rec.get("raw") is None or rec.get("replayed"):
                continue
            h = history[rec["model"]]
            models.add(rec["model"])
            h.calls += 1
            h.decisions += rec.get("attempt") == 0
            h.answer_tokens[rec["phase"].split(":")[0]].append(int(rec.get("answer_tokens") or 0))
            h.latency.append((float(rec.get("prompt_tokens") or 0),
                              float(rec.get("answer_tokens") or 0), float(rec.get("latency_s") or 0)))
        share = _survival_share(log.parent)
        if share is not None:
            for name in models:
                history[name].survival_share.append(share)
    return dict(history)


def _survival_share(folder: Path) -> float | None:
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        cap = manifest["config"]["rounds"]
        return min(1.0, float(summary["rounds_run"]) / float(cap))
    except (OSError, ValueError, KeyError, TypeError, ZeroDivisionError):
        return None


# -- the estimate ----------------------------------------------------------------------------------


@dataclass
class Cost:
    """The expected cost of some runs of one model."""

    model: str
    runs: int = 0
    rounds: float = 0.0
    calls: float = 0.0
    embed_calls: float = 0.0
    prompt_tokens: float = 0.0
    answer_tokens: float = 0.0
    seconds: float | None = 0.0  # None: no call log of this model to time it by

    def add(self, other: Cost) -> None:
        self.runs += other.runs
        self.rounds += other.rounds
        self.calls += other.calls
        self.embed_calls += other.embed_calls
        self.prompt_tokens += other.prompt_tokens
        self.answer_tokens += other.answer_tokens
        self.seconds = (None if self.seconds is None or other.seconds is None
                        else self.seconds + other.seconds)


def _weights(n_probed: int, survival: float) -> list[float]:
    """How many times each probed round counts in a run of ``survival`` rounds."""
    weights = [0.0] * n_probed
    left = survival
    for i in range(n_probed):
        take = min(1.0, left) if i < n_probed - 1 else left
        weights[i] = max(0.0, take)
        left -= take
        if left <= 0:
            break
    return weights


def estimate_run(config: RunConfig, history: dict[str, ModelHistory] | None = None, *,
                 survival: float | None = None, runs: int = 1) -> Cost:
    """The expected cost of ``runs`` runs of ``config``. ``survival``: rounds a run lasts
    (default: the share of the cap that logged runs of the model survived, else the cap)."""
    history = history or {}
    name = config.llm.model if not config.llm.models else "+".join(dict.fromkeys(config.llm.models))
    past = history.get(config.llm.model)
    if survival is None:
        share = float(np.mean(past.survival_share)) if past and past.survival_share else 1.0
        survival = share * config.rounds
    survival = min(float(survival), float(config.rounds))
    rounds = probe(config)
    weights = _weights(len(rounds), survival)
    calls = prompt = answer = embeds = 0.0
    for w, cost in zip(weights, rounds):
        calls += w * cost.calls
        prompt += w * cost.prompt_tokens
        embeds += w * cost.embed_calls
        measured = 0.0
        for phase, (n, _) in cost.by_phase.items():
            per_call = past.answer_tokens_per_call(phase) if past else None
            measured += n * per_call if per_call is not None else math.nan
        answer += w * (measured if not math.isnan(measured) else cost.answer_tokens)
    retry = past.calls_per_decision if past else 1.0
    calls, prompt, answer = calls * retry, prompt * retry, answer * retry
    seconds = past.seconds(prompt, answer, calls) if past else None
    return Cost(name, runs, survival * runs, calls * runs, (embeds + 1) * runs, prompt * runs,
                answer * runs, None if seconds is None else seconds * runs)


def plan_of(path: str | Path) -> list[tuple[RunConfig, int]]:
    """(config, number of seeds) for a run config or a sweep file."""
    from model.config import load_config, read_toml

    data = read_toml(path)
    if {"grid", "base", "variants", "seeds"} & set(data):
        from model.sweep.config import load_sweep

        sweep = load_sweep(path)
        return [(cond.config.replace(seed=sweep.seeds[0]), len(sweep.seeds))
                for cond in sweep.conditions()]
    return [(load_config(path), 1)]


def estimate(path: str | Path, logs: str | Path | None = None, *,
             survival: float | None = None) -> dict[str, Cost]:
    """Per model, the cost of every run in the config or sweep at ``path``."""
    history = read_history(logs) if logs else {}
    per_model: dict[str, Cost] = {}
    for config, seeds in plan_of(path):
        cost = estimate_run(config, history, survival=survival, runs=seeds)
        per_model.setdefault(cost.model, Cost(cost.model)).add(cost)
    return per_model
