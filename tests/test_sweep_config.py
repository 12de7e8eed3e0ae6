"""Sweep files: the plan they make (run ids, order, configs) and one clear line for bad input."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cli
from model.config import RunConfig, load_config
from model.run_folder import OutputExistsError, new_manifest
from model.sweep.config import Condition, load_sweep
from model.sweep.index import rebuild_index
from model.sweep.plan import check_output, make_plan
from model.sweep.worker import _manifest, batch_groups

ROOT = Path(__file__).resolve().parent.parent

GOOD = """
name = "t"
base = "{base}"
seeds = [3, 1]
[set]
rounds = 20
[grid]
"norms.environment" = ["harsh", "rich"]
norms.population = ["selfish", "altruistic", "mixed"]
"""


def write(tmp_path: Path, text: str, name: str = "sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(text.replace("{base}", str(ROOT / "runs/demo.toml")))
    return path


def test_plan_is_grid_times_seeds_with_readable_unique_ids(tmp_path):
    sweep = load_sweep(write(tmp_path, GOOD))
    plan = make_plan(sweep, tmp_path / "out")
    assert len(plan.runs) == 2 * 3 * 2
    # Seeds outermost, in the file's order; the grid in file order inside.
    assert [r.seed for r in plan.runs] == [3] * 6 + [1] * 6
    assert plan.runs[0].run_id == "environment-harsh_population-selfish_seed-3"
    assert len({r.run_id for r in plan.runs}) == len(plan.runs)
    base = load_config(ROOT / "runs/demo.toml")
    for run in plan.runs:
        params = dict(run.condition.params)
        expected = base.replace(**params, rounds=20, seed=run.seed, name=run.run_id)
        assert run.config == expected
    # The same file gives the same plan.
    again = make_plan(load_sweep(write(tmp_path, GOOD)), tmp_path / "out")
    assert [r.run_id for r in again.runs] == [r.run_id for r in plan.runs]


def test_inline_base_variants_and_seed_range(tmp_path):
    text = """
seeds = { first = 10, count = 3 }
[base]
rounds = 5
[base.norms]
n_agents = 4
[[variants]]
label = "plain"
[[variants]]
label = "strict"
"norms.penalty" = 14.0
modules.punishment_off_after = 15
[grid]
"modules.ablation" = ["full", "neither"]
"""
    sweep = load_sweep(write(tmp_path, text))
    assert sweep.name == "sweep"
    plan = make_plan(sweep, tmp_path / "o")
    assert len(plan.runs) == 2 * 2 * 3
    assert {r.seed for r in plan.runs} == {10, 11, 12}
    strict = [r for r in plan.runs if r.condition.variant == "strict"]
    assert all(r.config.norms.penalty == 14.0 and r.config.modules.punishment_off_after == 15
               for r in strict)
    assert all(r.config.norms.n_agents == 4 and r.config.rounds == 5 for r in plan.runs)
    assert strict[0].run_id == "strict_ablation-full_seed-10"


def test_ids_that_collide_once_slugged_get_a_hash(tmp_path):
    text = '[base]\npolicy = "llm"\n[grid]\n"llm.model" = ["a:b", "a/b", "c"]\n'
    plan = make_plan(load_sweep(write(tmp_path, text)), tmp_path / "o")
    ids = [r.run_id for r in plan.runs]
    assert len(set(ids)) == 3
    assert ids[2] == "model-c_seed-0"
    assert ids[0].startswith("model-a-b-") and ids[1].startswith("model-a-b-")


def test_grid_over_model_lists(tmp_path):
    text = '[set]\npolicy = "llm"\n[grid]\n"llm.models" = [["a", "b"], ["c"]]\n'
    plan = make_plan(load_sweep(write(tmp_path, text)), tmp_path / "o")
    assert [r.config.llm.models for r in plan.runs] == [("a", "b"), ("c",)]
    assert plan.runs[0].run_id == "models-a+b_seed-0"
    assert all(r.llm for r in plan.runs)


BAD = {
    "unknown key": ("sedes = [1]\n", "unknown sweep key sedes"),
    "grid key unknown": ('[grid]\n"norms.bogus" = [1, 2]\n', "grid: unknown key norms.bogus"),
    "grid bad value": ('[grid]\n"norms.environment" = ["harsh", "hot"]\n',
                       "grid: norms.environment = 'hot' is not allowed"),
    "grid out of range": ('[grid]\n"norms.penalty" = [2.0, -1.0]\n', "is out of range"),
    "grid not a list": ('[grid]\n"norms.penalty" = 2.0\n', "grid norms.penalty must be a non-empty list"),
    "grid empty": ('[grid]\n"norms.penalty" = []\n', "must be a non-empty list"),
    "grid twice": ('[grid]\n"norms.penalty" = [2.0, 2.0]\n', "lists 2.0 twice"),
    "grid seed": ('[grid]\nseed = [1, 2]\n', "grid may not set seed"),
    "models not lists": ('[grid]\n"llm.models" = ["a", "b"]\n', "has the wrong type"),
    "seeds twice": ("seeds = [1, 1]\n", "seeds lists the same seed twice"),
    "seeds negative": ("seeds = [-1]\n", "seeds[0] = -1 is out of range"),
    "seeds type": ('seeds = ["a"]\n', "seeds[0] = 'a' has the wrong type"),
    "seeds count": ("seeds = { first = 0, count = 0 }\n", "seeds.count = 0 is out of range"),
    "workers range": ("workers = -2\n", "workers = -2 is out of range"),
    "engine": ('engine = "ray"\n', "engine = 'ray' is not allowed"),
    "hosts type": ("hosts = [1]\n", "hosts[0] = 1 has the wrong type"),
    "hosts twice": ('hosts = ["http://a:1", "http://a:1"]\n', "hosts lists the same address twice"),
    "base missing": ('base = "nope.toml"\n', "config file not found"),
    "base bad": ("[base]\nrounds = 0\n", "rounds = 0 is out of range"),
    "set bad": ("[set]\nnorms.n_agents = 1\n", "set: norms.n_agents = 1 is out of range"),
    "variant label": ('[[variants]]\n"norms.penalty" = 3.0\n', "variants[0] needs a label"),
    "variant label chars": ('[[variants]]\nlabel = "a b"\n', "may use only letters"),
    "not toml": ("seeds = = 1\n", "not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_sweep_file_one_line_exit_2_nothing_written(case, tmp_path, capsys):
    text, expected = BAD[case]
    out = tmp_path / "out"
    code = cli.main(["sweep", str(write(tmp_path, text)), "--out", str(out), "--quiet"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("commons-lab: error:"), err
    assert expected in err[0]
    assert not out.exists()


@pytest.mark.parametrize("args, expected", [
    (["--workers", "-1"], "workers = -1 is out of range"),
    (["--set", "rounds=0"], "rounds = 0 is out of range"),
    (["--engine", "local", "--scheduler", "tcp://x:1"], "--scheduler needs --engine dask"),
])
def test_bad_command_line(args, expected, tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["sweep", str(ROOT / "runs/sweep-demo.toml"), "--out", str(out), "--quiet", *args])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0]
    assert not out.exists()


@pytest.mark.parametrize("name, runs, llm", [
    ("sweep-demo.toml", 24, False), ("llm-grid.toml", 300, True), ("ablations.toml", 720, True),
])
def test_shipped_sweep_files(name, runs, llm):
    plan = make_plan(load_sweep(ROOT / "runs" / name))
    assert len(plan.runs) == runs
    assert all(r.llm == llm for r in plan.runs)


def test_folder_of_something_else_or_of_another_config_is_refused(tmp_path):
    sweep = load_sweep(write(tmp_path, GOOD))
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="holds no sweep"):
        check_output(make_plan(sweep, other))
    plan = make_plan(sweep, tmp_path / "out")
    rebuild_index(plan)  # what a sweep writes before its first run
    run = plan.runs[0]
    folder = plan.run_dir(run)
    folder.mkdir(parents=True)
    changed = run.config.replace(**{"norms.penalty": 13.0})
    (folder / "manifest.json").write_text(json.dumps(new_manifest(changed, [])))
    with pytest.raises(OutputExistsError, match=r"norms.penalty: 13.0 there, 10.0 now"):
        check_output(plan)
    # Only where the model is served may differ between sessions.
    moved = run.config.replace(**{"llm.host": "http://elsewhere:11434"})
    (folder / "manifest.json").write_text(json.dumps(new_manifest(moved, [])))
    check_output(plan)


def test_sweep_manifest_matches_the_runner_manifest():
    config = RunConfig().replace(seed=5, name="x", rounds=7)
    fast, slow = _manifest(config, ("commons-lab", "sweep")), new_manifest(config, ["commons-lab", "sweep"])
    assert set(fast) == set(slow)
    assert {k for k in fast if fast[k] != slow[k]} <= {"started"}


@settings(max_examples=200, deadline=None)
@given(st.sets(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1))
def test_batch_groups_cover_exactly_the_pairs(pairs):
    conds = {i: Condition(f"c{i}", None, (), RunConfig()) for i in range(6)}
    groups = batch_groups([(conds[c], s) for c, s in sorted(pairs)])
    covered = [(int(c.key[1:]), s) for cs, seeds in groups for c, s in itertools.product(cs, seeds)]
    assert sorted(covered) == sorted(pairs)  # every pair once, nothing else
    full = batch_groups([(conds[c], s) for c in range(3) for s in range(4)])
    assert len(full) == 1


def test_runs_of_different_code_versions_are_pointed_out(tmp_path, capsys):
    path = write(tmp_path, '[base]\nrounds = 3\n[base.norms]\nn_agents = 3\n[grid]\n"norms.penalty" = [2.0, 4.0]\n')
    out = tmp_path / "out"
    assert cli.main(["sweep", str(path), "--out", str(out), "--quiet", "--workers", "1"]) == 0
    assert "code versions" not in capsys.readouterr().err
    manifest = out / "runs" / "penalty-2.0_seed-0" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["git_commit"] = "0123456789abcdef"
    manifest.write_text(json.dumps(data))
    assert cli.main(["sweep", str(path), "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "2 of 2 runs completed (0 now, 2 before)" in captured.out
    assert "made by 2 code versions (0123456789ab, " in captured.err
