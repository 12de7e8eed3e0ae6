"""GovSim as the paper ran it: the parity defaults and the switches that keep the project's
variants.

Checked without a model: greedy decoding and a sized context in every GovSim config, budgets
equal in every language, an over-stock request kept and allocated (strict replay of scripted
answers through the real runner), the founders' persona in the newcomer run's prompts,
retrieval as GovSim does it, the newcomer metrics in the paper's form, a last-month collapse as
a Kaplan-Meier event, the context check, and the export read with the field access of GovSim's
analysis code.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agents.govsim.memory import Memory
from agents.govsim.schemas import chars, harvest_schema, predict_budget
from agents.llm.client import LLMClient
from agents.llm.errors import LLMContextError
from agents.llm.replay import ReplaySource
from analysis import stats as S
from model.config import ConfigError, RunConfig, apply_overrides, build, load_config
from model.govsim.allocation import allocate_stochastic
from model.govsim.metrics import HarvestRow, Trajectory, newcomer_metrics, run_metrics
from model.govsim.model import GovSimModel
from model.govsim.phases import observe_pool
from model.runner import run
from tests.llm_fakes import FakeOllama, chat_response, config, effort_request

ROOT = Path(__file__).resolve().parent.parent
GOVSIM_CONFIGS = sorted((ROOT / "runs").glob("govsim-*.toml"))
SEED = 5


def govsim(**dotted) -> RunConfig:
    """A GovSim config as a TOML file would give it (scenario defaults applied)."""
    return build(RunConfig, {"scenario": "govsim"}).replace(**dotted)


# -- the defaults ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", GOVSIM_CONFIGS, ids=lambda p: p.stem)
def test_every_govsim_config_runs_in_parity_mode(path):
    cfg = load_config(path)
    assert cfg.scenario == "govsim"
    assert cfg.llm.temperature == 0.0 and cfg.llm.top_p == 1.0  # GovSim decodes greedily
    assert cfg.llm.num_ctx >= 8192
    g = cfg.govsim
    assert (g.over_stock, g.retrieval, g.text_budget, g.founder_persona, g.layout) == (
        "allocate", "govsim", "govsim", True, "govsim")


def test_scenario_defaults_follow_the_scenario_and_yield_to_explicit_values(tmp_path):
    assert len(GOVSIM_CONFIGS) >= 10
    norms = load_config(ROOT / "runs" / "demo-llm.toml")
    assert norms.llm.temperature == 0.7 and norms.llm.num_ctx == 2048
    switched = apply_overrides(norms, {"scenario": "govsim"})
    assert switched.llm.temperature == 0.0 and switched.llm.num_ctx == 8192
    assert apply_overrides(switched, {"scenario": "norms"}).llm.temperature == 0.7
    toml = tmp_path / "g.toml"
    toml.write_text('scenario = "govsim"\n[llm]\ntemperature = 0.7\n')
    assert load_config(toml).llm.temperature == 0.7  # a config's own value wins
    assert load_config(toml).llm.top_p == 1.0


def test_answer_budgets_are_equal_in_every_language_and_set_per_model():
    for field in ("reasoning", "response", "summary", "note"):
        assert chars("ja", field, "govsim") is None and chars("en", field, "govsim") is None
        assert chars("ja", field, "compact") < chars("en", field, "compact")
    g = govsim(**{"govsim.answer_tokens_by_model": ["tiny:1b=600"]}).govsim
    assert g.tokens_for("tiny:1b") == 600 and g.tokens_for("big:70b") == 8000
    assert predict_budget("ja", None, 160, 600) == predict_budget("en", None, 160, 600) == 600
    schema = harvest_schema(None, None).model_json_schema()["properties"]
    assert "maxLength" not in schema["reasoning"] and schema["answer"]["maximum"] == 2**31 - 1
    with pytest.raises(ConfigError, match=r"answer_tokens_by_model\[0\] = 'tiny' must look like"):
        govsim(**{"govsim.answer_tokens_by_model": ["tiny"]})


# -- over-stock requests: a strict replay of scripted answers ---------------------------------


def j(**kw) -> str:
    return json.dumps(kw)


def scripted_run(tmp_path: Path, answers: dict, **dotted) -> tuple[dict, pd.DataFrame, list]:
    log = tmp_path / "answers.jsonl"
    with open(log, "w", encoding="utf-8") as f:
        for (agent, phase), raws in answers.items():
            for attempt, raw in enumerate(raws):
                f.write(json.dumps({"kind": "chat", "agent": agent, "round": 1, "phase": phase,
                                    "attempt": attempt, "model": "smollm2:135m", "raw": raw,
                                    "done_reason": "stop", "prompt_tokens": 100,
                                    "answer_tokens": 10}) + "\n")
    cfg = govsim(**{"seed": SEED, "govsim.n_agents": 3, "govsim.months": 1,
                    "govsim.max_utterances": 0, "govsim.reflection": False,
                    "govsim.memory_top_k": 0, "llm.backend": "replay",
                    "llm.replay_log": str(log), "output.format": "csv", **dotted})
    summary = run(cfg, tmp_path / "out", progress=False)
    calls = [json.loads(line) for line in open(tmp_path / "out" / "calls.jsonl")]
    return summary, pd.read_csv(tmp_path / "out" / "harvests.csv"), calls


def test_an_over_stock_request_is_kept_and_allocated_as_govsim_does(tmp_path):
    answers = {(1, "harvest"): [j(reasoning="all of it and more", answer=2_038_964_752)],
               (2, "harvest"): [j(reasoning="", answer=10)],
               (3, "harvest"): [j(reasoning="", answer=20)]}
    summary, h, calls = scripted_run(tmp_path, answers)
    assert h["wanted"].tolist() == [2_038_964_752, 10, 20] and not h["fallback"].any()
    expected = allocate_stochastic([2_038_964_752, 10, 20], 100, np.random.default_rng(SEED))
    assert h["collected"].tolist() == expected and sum(expected) == 100
    assert summary["llm_retries"] == 0 and summary["survival_time"] == 1
    # The calls went out greedy, with GovSim's answer budget and the sized context.
    options = [c["options"] for c in calls if c["kind"] == "chat"]
    assert all(o["temperature"] == 0.0 and o["top_p"] == 1.0 for o in options)
    assert {o["num_predict"] for o in options} == {8000} and options[0]["num_ctx"] == 8192


def test_the_retry_switch_bounds_requests_to_the_stock(tmp_path):
    answers = {(1, "harvest"): [j(reasoning="", answer=150)] * 3,
               (2, "harvest"): [j(reasoning="", answer=10)],
               (3, "harvest"): [j(reasoning="", answer=20)]}
    summary, h, calls = scripted_run(tmp_path, answers, **{
        "govsim.over_stock": "retry", "govsim.answer_tokens_by_model": ["smollm2:135m=600"]})
    # Three answers above the stock, then the fallback: the threshold (100 // 2) // 3 = 16.
    assert h["wanted"].tolist() == [16, 10, 20] and h["fallback"].tolist() == [True, False, False]
    assert summary["llm_retries"] == 2 and summary["llm_fallbacks"] == 1
    assert {c["options"]["num_predict"] for c in calls if c["kind"] == "chat"} == {600}


# -- persona and retrieval -------------------------------------------------------------------


def prompts_of(model) -> dict[str, str]:
    observe_pool(model, model.present)
    return {v.name: model.policy.harvest_prompt(model, v) for v in model.present}


def test_the_founders_persona_is_in_the_newcomer_runs_prompts():
    founder_text = "grew up in the village and learned the trade from family"
    model = GovSimModel(govsim(**{"govsim.n_agents": 3, "govsim.newcomer_month": 2}))
    model.round = 1
    month1 = prompts_of(model)
    assert set(month1) == {"John", "Kate"}
    assert f"John {founder_text}" in month1["John"] and f"Kate {founder_text}" in month1["Kate"]
    model.round = 2
    newcomer = model.add_newcomer()
    month2 = prompts_of(model)
    assert "has only just arrived and wants to grow a business" in month2[newcomer.name]
    assert founder_text not in month2[newcomer.name]
    # GovSim's baseline personas carry no goal; the switch drops the founders' one.
    baseline = GovSimModel(govsim(**{"govsim.n_agents": 3}))
    baseline.round = 1
    assert not any(founder_text in p for p in prompts_of(baseline).values())
    off = GovSimModel(govsim(**{"govsim.n_agents": 3, "govsim.newcomer_month": 2,
                                "govsim.founder_persona": False}))
    off.round = 1
    assert not any(founder_text in p for p in prompts_of(off).values())
    ja = GovSimModel(govsim(**{"govsim.n_agents": 3, "govsim.newcomer_month": 2,
                               "govsim.language": "ja"}))
    ja.round = 1
    assert all("家族から仕事を教わった" in p for p in prompts_of(ja).values())


def memory_with(pinned: int, summaries: int, notes: int) -> Memory:
    mem = Memory()
    for i in range(pinned):
        mem.add(1, "d", "observation", f"seen {i}", always=True)
    for i in range(summaries):
        mem.add(1, "d", "summary", f"summary {i}")
    for i in range(notes):
        mem.add(1, "d", "note", f"note {i}")
    return mem


def test_retrieval_counts_the_always_shown_inside_top_k_and_never_returns_summaries():
    mem = memory_with(pinned=3, summaries=4, notes=12)
    govsim_way = [m.text for m in mem.retrieve(1, 10)]
    assert len(govsim_way) == 10 and govsim_way[:3] == ["seen 0", "seen 1", "seen 2"]
    assert not any(t.startswith("summary") for t in govsim_way)
    assert govsim_way[3:] == [f"note {i}" for i in range(5, 12)]  # the 7 newest notes
    extra = [m.text for m in mem.retrieve(1, 10, mode="pinned_extra")]
    assert len(extra) == 13 and sum(t.startswith("summary") for t in extra) == 4
    # More always-shown memories than k: GovSim keeps the oldest k of them.
    crowded = memory_with(pinned=12, summaries=0, notes=2)
    assert [m.text for m in crowded.retrieve(1, 10)] == [f"seen {i}" for i in range(10)]
    # k = 0 ranks nothing: only the always-shown, in either mode.
    assert [m.text for m in mem.retrieve(1, 0)] == ["seen 0", "seen 1", "seen 2"]


def test_discussion_retrieval_takes_the_top_five_for_each_focal_line():
    mem = memory_with(pinned=3, summaries=0, notes=12)
    notes = [m for m in mem.items if m.kind == "note"]
    for i, m in enumerate(notes):
        m.embedding = np.eye(12)[i]
    for m in mem.items:
        if m.embedding is None:
            m.embedding = np.zeros(12)
    # Each line's top 5: the 3 always-shown, its own best note, then the newest note.
    chosen = [m.text for m in mem.retrieve_many(1, 5, [np.eye(12)[0], np.eye(12)[1]])]
    assert chosen == ["seen 0", "seen 1", "seen 2", "note 0", "note 1", "note 11"]


# -- metrics and the report ------------------------------------------------------------------


def trajectory(collected_per_month: list[list[int]], horizon: int = 12) -> Trajectory:
    """Harvest rows from each month's takes, the pool renewing as GovSim's does."""
    rows, stock = [], 100
    for month, takes in enumerate(collected_per_month, start=1):
        after = stock - sum(takes)
        for agent, take in enumerate(takes):
            rows.append(HarvestRow(month, agent, stock, after, take))
        stock = min(100, 2 * after)
    return Trajectory(rows, {}, months=horizon)


def test_a_collapse_in_the_last_month_is_not_survival():
    # Twelve sustainable months, then everything taken in month 12.
    months = [[10] * 5] * 11 + [[20] * 5]
    metrics = run_metrics(trajectory(months))
    assert metrics["survival_time"] == 12 and metrics["survived"] is False
    assert run_metrics(trajectory([[10] * 5] * 12))["survived"] is True


def test_kaplan_meier_counts_a_last_month_collapse_as_an_event():
    runs = pd.DataFrame({
        "survival_time": [12, 12, 12], "months": [12, 12, 12], "panel": ["p"] * 3,
        "model": ["m"] * 3,
        # A run of the new summaries, one written before the rule (survived = true with a
        # collapse reason), and a run that really lasted.
        "survived": [False, True, True], "collapse_reason": ["stock", "stock", None],
    })
    curves = S.kaplan_meier(runs, ["panel", "model"])
    km = S.km_table(curves, ["panel", "model"], {("p", "m"): 12.0})
    assert km["P(survive the horizon)"].iloc[0] == pytest.approx(1 / 3)
    assert S.govsim_survived(runs).tolist() == [False, False, True]


def test_newcomer_metrics_take_the_papers_form():
    # Four founders for three months, then five villagers; 15 months, no collapse.
    months = [[10] * 4] * 3 + [[10, 10, 10, 10, 9]] * 12
    traj = trajectory(months, horizon=15)
    whole = run_metrics(traj)
    paper = newcomer_metrics(traj, arrival=4)
    assert whole["survival_time"] == 15 and paper["newcomer_survival_time"] == 12
    assert paper["newcomer_survived"] is True
    # Gain from month 4 on: founders 12 * 10, newcomer 12 * 9.
    assert paper["newcomer_gain"] == pytest.approx((4 * 120 + 108) / 5)
    assert paper["newcomer_efficiency"] == pytest.approx((4 * 120 + 108) / 600)  # T = 12
    assert whole["gain"] == pytest.approx((4 * 150 + 108) / 5)
    late = trajectory([[10] * 4] * 3 + [[10] * 5] * 10 + [[20] * 5], horizon=15)
    assert newcomer_metrics(late, 4)["newcomer_survival_time"] == 12  # collapsed in month 14
    assert newcomer_metrics(late, 4)["newcomer_survived"] is True


def test_the_report_labels_the_newcomer_form():
    runs = pd.DataFrame({
        "variant": ["fishery"] * 2, "setting": ["newcomer"] * 2, "model": ["m"] * 2,
        "survival_time": [15, 6], "months": [15, 15], "survived": [True, False],
        "collapse_reason": [None, "stock"], "gain": [100.0, 40.0], "efficiency": [0.9, 0.3],
        "equality": [0.9, 0.8], "over_usage": [0.1, 0.4], "over_usage_published": [0.1, 0.3],
        "newcomer_survival_time": [12, 6], "newcomer_gain": [80.0, 10.0],
        "newcomer_efficiency": [0.7, 0.1],
    })
    table = S.govsim_table(runs).table
    assert table["gain after arrival (newcomer form)"].iloc[0] == pytest.approx(45.0)
    assert table["efficiency % after arrival, T = 12 (newcomer form)"].iloc[0] == pytest.approx(40)
    assert table["survival time (newcomer form, <= 12)"].iloc[0] == 9
    assert table["gain"].iloc[0] == pytest.approx(70.0)
    plain = S.govsim_table(runs.drop(columns=[c for c in runs if c.startswith("newcomer_")]))
    assert not any("newcomer" in c for c in plain.table.columns) and not plain.missing


# -- the context check -----------------------------------------------------------------------


def test_a_prompt_the_server_cut_fails_the_run_and_is_not_replayed(tmp_path):
    from agents.llm.call_log import CallLog

    # Ollama cuts a prompt longer than num_ctx to exactly num_ctx tokens and answers anyway.
    fake = FakeOllama(lambda body, n: chat_response('{"effort": 0.3, "reason": "ok"}',
                                                    prompt_tokens=body["options"]["num_ctx"]))
    log = CallLog(tmp_path / "calls.jsonl")
    with LLMClient(config(num_ctx=2048), transport=fake.transport(), call_log=log) as client:
        with pytest.raises(LLMContextError, match="cut a prompt for smollm2:135m to fit "
                                                  r"num_ctx=2048 \(it counted 2048 prompt"):
            client.decide(effort_request())
    log.close()
    (record,) = [json.loads(line) for line in open(tmp_path / "calls.jsonl")]
    assert record["raw"] is None and "context_error" in record
    assert ReplaySource.from_file(tmp_path / "calls.jsonl", strict=False).chat(0, 0, "effort", 0) is None
    # An answer that runs past the context (Ollama shifts it) fails the same way.
    fake = FakeOllama(lambda body, n: chat_response('{"effort": 0.3, "reason": "ok"}',
                                                    prompt_tokens=2000, answer_tokens=100))
    with LLMClient(config(num_ctx=2048), transport=fake.transport()) as client:
        with pytest.raises(LLMContextError, match="2000 prompt and 100 answer tokens"):
            client.decide(effort_request())
    fits = FakeOllama(lambda body, n: chat_response('{"effort": 0.3, "reason": "ok"}',
                                                    prompt_tokens=1900, answer_tokens=100))
    with LLMClient(config(num_ctx=2048), transport=fits.transport()) as client:
        assert not client.decide(effort_request()).fallback


@pytest.mark.llm
def test_the_embedded_server_refuses_a_prompt_longer_than_its_context(ollama_host):
    # ~5,000 tokens: under the client's lower estimate for num_ctx = 32768, over the
    # session server's 4,096-token context; the server counts the tokens and refuses.
    long_prompt = [{"role": "user", "content": "The lake holds fish today. " * 800}]
    with LLMClient(config(host=ollama_host, num_ctx=32768)) as client:
        with pytest.raises(LLMContextError, match=r"prompt is too long for smollm2:135m: \d+ "
                                                  r"prompt tokens, but the context size is 4096"):
            client.decide(effort_request(messages=long_prompt))


# -- the export, read as GovSim's analysis code reads it --------------------------------------


def persona_identity(agent_id, name, age=None, innate_traits=None, background=None, goals=None,
                     behavior=None, customs=None):
    """The keyword signature of GovSim's persona identity, which its runner fills with
    ``**cfg.personas[persona_id]``: an unknown key there is a TypeError."""
    return {"name": name, "goals": goals}


def test_the_export_loads_with_govsims_field_access(tmp_path):
    import yaml

    from cli import main

    answers = {(1, "harvest"): [j(reasoning="", answer=10)],
               (2, "harvest"): [j(reasoning="", answer=10)],
               (3, "harvest"): [j(reasoning="", answer=60)]}
    scripted_run(tmp_path, answers, **{"govsim.newcomer_month": 1,
                                       "govsim.universalization": True})
    assert main(["export-govsim", str(tmp_path / "out"), "--out", str(tmp_path / "res")]) == 0
    (target,) = list((tmp_path / "res").glob("fishing_commons-lab_final/*/*"))
    cfg = yaml.safe_load((target / ".hydra" / "config.yaml").read_text())
    exp = cfg["experiment"]
    assert exp["env"]["name"] == "fish_perturbation_outsider_universalization"
    people = {pid: persona_identity(pid, **exp["personas"][pid])
              for pid in (f"persona_{i}" for i in range(exp["personas"]["num"]))}
    assert "grew up in the village" in people["persona_0"]["goals"]
    assert people["persona_2"]["goals"].startswith("Jack has only just arrived")
    # GovSim's payoff code: non-framework rows, from the shock round on, summed per agent.
    df = pd.read_json(target / "log_env.json", orient="records")
    df = df[df["agent_id"] != "framework"]
    payoff = df[df["round"] >= 0].groupby("agent_id")["resource_collected"].sum()
    assert payoff.sum() == 80 and len(payoff) == 3
    harvest = df[df["action"] == "harvesting"]
    assert harvest["wanted_resource"].tolist() == [10, 10, 60]
    assert (harvest["resource_in_pool_after_harvesting"] == 20).all()


def test_the_export_hint_names_the_folder_to_copy(tmp_path, capsys):
    from cli import main

    answers = {(a, "harvest"): [j(reasoning="", answer=10)] for a in (1, 2, 3)}
    scripted_run(tmp_path, answers)
    assert main(["export-govsim", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    subset = tmp_path / "out" / "govsim-results" / "fishing_commons-lab_final"
    assert f"copy the folder {subset} into simulation/results/" in out
    assert "simulation/results/fishing_commons-lab_final/" in out


def test_aggregating_newcomer_runs_keeps_both_forms(tmp_path):
    from model.govsim.metrics import aggregate_folders

    folders = []
    for i, (m, gain, late_gain) in enumerate([(15, 150.0, 120.0), (6, 50.0, 20.0)]):
        folder = tmp_path / f"seed{i}"
        folder.mkdir()
        (folder / "summary.json").write_text(json.dumps({
            "scenario": "govsim", "survival_time": m, "survived": m == 15, "gain": gain,
            "newcomer_survival_time": min(m, 12), "newcomer_survived": m >= 12,
            "newcomer_gain": late_gain, "newcomer_efficiency": late_gain / 120}))
        folders.append(folder)
    agg = aggregate_folders(folders)
    assert agg["gain"]["mean"] == 100.0 and agg["newcomer_gain"]["mean"] == 70.0
    assert agg["newcomer_survival_time"]["mean"] == 9.0
    assert agg["survival_rate"]["mean"] == agg["newcomer_survival_rate"]["mean"] == 0.5
