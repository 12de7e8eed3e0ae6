"""The two profiles of the rule-based model, their calibrated values, and ablations that remove
exactly one module's effect (real models, a few rounds each)."""

import pytest

from model.config import ConfigError, RunConfig, load_config
from model.norms.model import NormsModel
from model.profiles import ADDITIONS, CALIBRATED


def test_the_default_is_the_paper_profile_with_its_values():
    cfg = RunConfig()
    assert cfg.learning.profile == "paper"
    assert not any(getattr(cfg.learning.active, name) for name in ADDITIONS)
    assert not cfg.learning.copy_punish_prob  # the paper's strategy is (e, m, g)
    for dotted, value in CALIBRATED["paper"].items():
        section, key = dotted.split(".")
        assert getattr(getattr(cfg, section), key) == value, dotted


def test_one_key_switches_the_profile_and_its_values():
    ext = RunConfig().replace(**{"learning.profile": "extended"})
    assert all(getattr(ext.learning.active, name) for name in ADDITIONS)
    for dotted, value in CALIBRATED["extended"].items():
        section, key = dotted.split(".")
        assert getattr(getattr(ext, section), key) == value, dotted
    # and back again
    back = ext.replace(**{"learning.profile": "paper"})
    assert back == RunConfig()


def test_each_addition_stays_switchable_and_explicit_values_win(tmp_path):
    ext = RunConfig().replace(**{"learning.profile": "extended", "learning.deterrence": False,
                                 "norms.initial_wealth": 33.0})
    assert ext.learning.active.deterrence is False
    assert ext.learning.active.learn_from_punishment and ext.learning.active.cap_follows_stock
    assert ext.norms.initial_wealth == 33.0
    paper = RunConfig().replace(**{"learning.cap_follows_stock": True})
    assert paper.learning.active.cap_follows_stock and not paper.learning.active.deterrence
    path = tmp_path / "ext.toml"
    path.write_text('[learning]\nprofile = "extended"\n[norms]\nconsumption = 4.0\n')
    loaded = load_config(path)
    assert loaded.norms.consumption == 4.0
    assert loaded.norms.catchability == CALIBRATED["extended"]["norms.catchability"]


def test_a_reversed_monitoring_range_is_one_line_error():
    with pytest.raises(ConfigError, match="monitoring_low = 0.9 must not exceed"):
        RunConfig().replace(**{"norms.monitoring_low": 0.9, "norms.monitoring_high": 0.6})


def test_monitoring_is_drawn_from_the_configured_range():
    model = NormsModel(RunConfig().replace(**{"norms.monitoring_low": 0.2,
                                              "norms.monitoring_high": 0.3}), rng=4)
    assert all(0.2 <= a.monitoring <= 0.3 for a in model.villagers)


def traits(model):
    return {a.unique_id: (a.effort, a.monitoring, a.belief, a.punish_prob)
            for a in model.villagers if a.alive}


def run_rounds(cfg, rounds=12, seed=5):
    model = NormsModel(cfg, rng=seed)
    start = traits(model)
    fined_cut = 0
    while model.running and model.round < rounds:
        before = traits(model)
        model.step()
        after = traits(model)
        fined_cut += sum(1 for a in model.villagers if a.alive and a.received
                         and after[a.unique_id][0] < before[a.unique_id][0])
    return model, start, fined_cut


SELFISH_RICH = {"norms.population": "mixed", "norms.environment": "rich",
                "norms.initial_wealth": 80.0, "modules.ablation": "group_decision_only"}


def test_without_social_learning_the_paper_profile_never_changes_a_strategy():
    model, start, _ = run_rounds(RunConfig().replace(**SELFISH_RICH))
    now = traits(model)
    assert all(now[i] == start[i] for i in now)


def test_without_social_learning_the_lesson_of_a_fine_and_the_fine_rate_remain():
    cfg = RunConfig().replace(**{**SELFISH_RICH, "learning.profile": "extended",
                                 "norms.initial_wealth": 80.0})
    model, start, fined_cut = run_rounds(cfg)
    assert model.round >= 3
    assert fined_cut > 0  # learning from punishment acts outside social learning
    assert model.policy.fine_rate != cfg.learning.fine_rate_prior  # so does the fine rate


def test_the_paper_profile_proposes_its_beliefs_and_the_extended_scales_them():
    import statistics

    for profile in ("paper", "extended"):
        model = NormsModel(RunConfig().replace(**{"learning.profile": profile}), rng=3)
        model.step()
        scale = model.stock_after_harvest / 300.0 if profile == "extended" else 1.0
        want = statistics.median(a.belief for a in model.living) * scale
        assert model.norm.cap == pytest.approx(want), profile
