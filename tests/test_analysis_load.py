"""Finding and reading run folders: factors from manifests, links, loops, broken folders."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from analysis.load import find_run_folders, govsim_setting, load_runs, model_label
from model.config import RunConfig
from model.runner import run


def manifest(**config) -> dict:
    return {"config": RunConfig().replace(**config).to_dict()}


def test_model_factor_of_each_kind_of_run():
    assert model_label(manifest(policy="rule")) == "rule-based"
    assert model_label(manifest(policy="llm", **{"llm.model": "qwen3:8b"})) == "qwen3:8b"
    hetero = manifest(policy="llm", **{"llm.models": ["qwen3:8b", "llama3.2:3b", "qwen3:8b"]})
    assert model_label(hetero) == "qwen3:8b+llama3.2:3b"
    # GovSim villagers always ask a model, whatever ``policy`` says.
    assert model_label(manifest(scenario="govsim", **{"llm.model": "gemma3:4b"})) == "gemma3:4b"
    assert model_label({**manifest(policy="rule"), "labels": {"model": "baseline"}}) == "baseline"
    # Any swept value can be the factor; integral floats print as integers.
    assert model_label(manifest(**{"norms.penalty": 14}), "config.norms.penalty") == "14"
    assert model_label(manifest(), "config.no.such.key") == "none"


def test_govsim_setting_names():
    cfg = lambda **kw: RunConfig(scenario="govsim").replace(**kw).to_dict()
    assert govsim_setting(cfg()) == "default"
    assert govsim_setting(cfg(**{"govsim.universalization": True})) == "universalization"
    assert govsim_setting(cfg(**{"govsim.communication": False, "govsim.language": "ja"})) == \
        "no communication, lang=ja"
    assert govsim_setting(cfg(**{"govsim.months": 15, "govsim.newcomer_month": 4,
                                 "llm.models": ["a", "b"]})) == "newcomer, heterogeneous"


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("load") / "store" / "run-1"
    run(RunConfig(seed=3, rounds=10), folder, progress=False)
    return folder


def test_links_are_followed_loops_end_and_each_run_counts_once(one_run, tmp_path):
    collection = tmp_path / "collection"
    collection.mkdir()
    os.symlink(one_run, collection / "linked")
    os.symlink(collection, collection / "loop")  # a link back up the tree
    (collection / ".hidden").mkdir()
    shutil.copytree(one_run, collection / ".hidden" / "copy")
    found = find_run_folders([collection, one_run.parent, one_run])
    assert found == [one_run.resolve()]
    rs = load_runs([collection])
    assert len(rs.runs) == 1 and rs.runs["survival_time"].iloc[0] == json.loads(
        (one_run / "summary.json").read_text())["survival_time"]


def test_broken_folders_are_reported_not_fatal(one_run, tmp_path):
    good = tmp_path / "good"
    shutil.copytree(one_run, good)
    broken = tmp_path / "broken-table"
    shutil.copytree(one_run, broken)
    (broken / "rounds.parquet").write_bytes(b"not parquet")  # a truncated write
    no_rounds = tmp_path / "no-rounds"
    shutil.copytree(one_run, no_rounds)
    (no_rounds / "rounds.parquet").unlink()
    bad_json = tmp_path / "bad-json"
    bad_json.mkdir()
    (bad_json / "manifest.json").write_text("{")
    rs = load_runs([tmp_path])
    assert list(rs.runs["run_id"]) == ["good"]
    assert dict(rs.skipped) == {"bad-json": "manifest.json unreadable",
                                "broken-table": "unreadable table (ArrowInvalid)",
                                "no-rounds": "no rounds table"}
