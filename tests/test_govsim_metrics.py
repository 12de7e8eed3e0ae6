"""GovSim metrics on hand-built trajectories, checked against the paper's published values."""

import math

import numpy as np
import pytest

from model.govsim.metrics import (HarvestRow, Trajectory, aggregate, run_metrics, summarise)

NAMES = ["John", "Kate", "Jack", "Emma", "Luke"]


def month(m, before, collected, names=NAMES):
    after = before - sum(collected)
    return [HarvestRow(m, n, before, after, c) for n, c in zip(names, collected)]


def test_month_one_collapse_taking_everything_matches_the_tables():
    # Small models in Tables 4-6: the whole lake is split in month 1.
    traj = Trajectory(month(1, 100, [20, 20, 20, 20, 20]), utterances={1: 9})
    m = run_metrics(traj)
    assert m["survival_time"] == 1
    assert m["survived"] is False
    assert m["gain"] == pytest.approx(20.0)
    assert round(100 * m["efficiency"], 2) == 16.67
    assert m["equality"] == pytest.approx(1.0)
    # Claude-3 Haiku / GPT-3.5: all five above the threshold, nine utterances -> 5/14.
    assert round(100 * m["over_usage_published"], 2) == 35.71
    assert m["over_usage"] == pytest.approx(1.0)


def test_both_over_usage_variants_on_one_trajectory():
    # Two villagers over-harvest, the pool falls to 4 (< 5): collapse in month 1.
    traj = Trajectory(month(1, 100, [40, 40, 8, 4, 4]), utterances={1: 9})
    m = run_metrics(traj)
    assert m["survival_time"] == 1
    assert m["over_usage"] == pytest.approx(2 / 5)
    assert round(100 * m["over_usage_published"], 2) == 14.29  # a value of Tables 4-6
    # Three over-harvesters -> 21.43 (Llama-3-8B, fishery).
    m3 = run_metrics(Trajectory(month(1, 100, [30, 30, 30, 3, 3]), utterances={1: 9}))
    assert round(100 * m3["over_usage_published"], 2) == 21.43
    assert m3["over_usage"] == pytest.approx(3 / 5)


def test_sustainable_society_scores_the_maxima():
    rows = []
    for t in range(1, 13):
        rows += month(t, 100, [10] * 5)
    m = run_metrics(Trajectory(rows, utterances={t: 3 for t in range(1, 13)}))
    assert m["survival_time"] == 12 and m["survived"] is True
    assert m["gain"] == pytest.approx(120.0)  # the paper's "Max = 120"
    assert m["efficiency"] == pytest.approx(1.0)
    assert m["equality"] == pytest.approx(1.0)
    assert m["over_usage"] == 0 and m["over_usage_published"] == 0


def test_equality_is_one_minus_pairwise_gini_and_threshold_follows_the_stock():
    # Month 1 takes 20 of 100 (threshold 10); month 2 starts at 100 again, collapse at month 2.
    rows = month(1, 100, [0, 5, 5, 5, 5]) + month(2, 100, [0, 5, 15, 25, 35 + 16])
    m = run_metrics(Trajectory(rows))
    totals = [0, 10, 20, 30, 56]
    pair = sum(abs(a - b) for a in totals for b in totals)
    assert m["equality"] == pytest.approx(1 - pair / (2 * 5 * sum(totals)))
    assert m["survival_time"] == 2
    # Over the threshold 10: month 2 has Jack(15), Emma(25), Luke(51).
    assert m["over_usage"] == pytest.approx(3 / 10)
    assert m["efficiency"] == pytest.approx(116 / 600)


def test_threshold_uses_the_villagers_actually_present():
    # Newcomer experiment: 4 villagers in month 1, threshold (100 // 2) // 4 = 12, not 10.
    rows = month(1, 100, [12, 12, 12, 13], NAMES[:4])
    m = run_metrics(Trajectory(rows, months=15))
    assert m["over_usage"] == pytest.approx(1 / 4)
    assert m["survival_time"] == 1 and m["survived"] is False  # ran 1 of 15 months


def test_trash_framing_counts_shirking():
    # Trash: 100 units, each must remove at least 50 // 5 = 10; remaining > 95 is a collapse.
    rows = month(1, 100, [10, 10, 10, 10, 10])
    after = 50  # renewed to 100
    rows += [HarvestRow(2, n, 100, 97, c) for n, c in zip(NAMES, [1, 1, 1, 0, 0])]
    m = run_metrics(Trajectory(rows, inverse=True))
    assert after == 50
    assert m["survival_time"] == 2
    assert m["over_usage"] == pytest.approx(5 / 10)
    assert m["gain"] == pytest.approx(53 / 5)  # the inverse framing's "loss" per villager


def test_aggregate_mean_std_ci():
    # Claude-3 Opus fishery survival: 9.60 +- 2.94 (std over 5 runs).
    s = summarise([12, 12, 12, 6, 6])
    assert s.mean == pytest.approx(9.6) and round(s.std, 2) == 2.94 and s.n == 5
    assert s.ci95 == pytest.approx(2.776445 * math.sqrt(10.8) / math.sqrt(5), rel=1e-5)
    agg = aggregate([{"survived": True, "gain": 120}, {"survived": False, "gain": 20}])
    assert agg["survival_rate"]["mean"] == 0.5 and agg["gain"]["mean"] == 70
    assert math.isnan(summarise([]).mean)


def test_aggregate_run_folders(tmp_path):
    import json

    from model.govsim.metrics import aggregate_folders

    folders = []
    for i, (m, gain) in enumerate([(12, 120.0), (1, 20.0), (6, 50.0)]):
        folder = tmp_path / f"seed{i}"
        folder.mkdir()
        (folder / "summary.json").write_text(json.dumps(
            {"scenario": "govsim", "survival_time": m, "survived": m == 12, "gain": gain}))
        folders.append(folder)
    agg = aggregate_folders(folders)
    assert agg["survival_time"]["mean"] == pytest.approx(19 / 3) and agg["survival_time"]["n"] == 3
    assert agg["survival_rate"]["mean"] == pytest.approx(1 / 3)
    assert agg["gain"]["std"] == pytest.approx(np.std([120, 20, 50]))
    (tmp_path / "norms").mkdir()
    (tmp_path / "norms" / "summary.json").write_text('{"scenario": "norms"}')
    with pytest.raises(ValueError):
        aggregate_folders([tmp_path / "norms"])
