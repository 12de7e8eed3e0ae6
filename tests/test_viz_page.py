"""The page rendered without a browser (``solara.render``): tabs, toolbar, settings, replay of a
run folder, downloads and the round's sentence. Rule-based and recorded runs only."""

from __future__ import annotations

import io
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import ipyvuetify as v
import ipywidgets
import pandas as pd
import pytest
import solara

import viz.app as app
from model.config import RunConfig, build
from viz import export
from viz.caption import caption, efficiency_meaning
from viz.live_run import LiveRun
from viz.params import changed, controls, initial_values, on_scenario_change
from viz.recorded_run import unpack_upload

ROOT = Path(__file__).resolve().parents[1]


def texts(rc, css_class: str) -> list[str]:
    return ["".join(map(str, w.children)) for w in rc.find(v.Html).widgets
            if css_class in (w.class_ or "").split()]


def button(rc, css_class: str):
    return next(b for b in rc.find(v.Btn).widgets if css_class in (b.class_ or "").split())


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.fixture
def page():
    box, rc = solara.render(app.page(), handle_error=False)
    yield rc
    rc.close()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rec") / "run"
    subprocess.run([sys.executable, "-m", "cli", "run", "runs/demo.toml", "--seed", "2",
                    "--set", "rounds=6", "--set", "norms.n_agents=4", "--out", str(out),
                    "--quiet"], cwd=ROOT, check=True)
    return out


def test_tabs_are_named_for_their_audience_and_step_back_work(page):
    rc = page
    assert [t.children for t in rc.find(v.Tab).widgets] == [["Class"], ["Lab"], ["Settings"],
                                                            ["About"]]
    assert len(rc.find(ipywidgets.Image).widgets) == 4  # lake, villagers, fines, history
    assert texts(rc, "cl-round") == ["Round 0 of 50"]
    images = [w.value for w in rc.find(ipywidgets.Image).widgets]
    button(rc, "cl-step").click()
    button(rc, "cl-step").click()
    assert texts(rc, "cl-round") == ["Round 2 of 50"]
    assert texts(rc, "cl-caption")[0].startswith("Round 2: ")
    assert all(a != b for a, b in zip(images, [w.value for w in rc.find(ipywidgets.Image).widgets]))
    button(rc, "cl-back").click()
    assert texts(rc, "cl-round") == ["Round 1 of 50"]
    assert texts(rc, "cl-caption")[0].startswith("Round 1: ")


def test_play_advances_and_reset_stops_it_at_round_0(page):
    rc = page
    button(rc, "cl-play").click()
    wait_for(lambda: texts(rc, "cl-round") != ["Round 0 of 50"])
    old = rc.find(v.Btn).widgets  # noqa: F841 - keeps the old widgets alive while they swap
    button(rc, "cl-reset").click()
    # A redraw the Play thread began may finish first; then the new run shows, and stays.
    wait_for(lambda: texts(rc, "cl-round") == ["Round 0 of 50"], timeout=5)
    time.sleep(1.2)  # more than two beats of Play at the default speed
    assert texts(rc, "cl-round") == ["Round 0 of 50"]
    assert button(rc, "cl-play").children[-1] == "Play"


def test_a_bad_seed_is_one_error_shown_once(page):
    rc = page
    rc.find(v.Tabs).widget.v_model = 2
    seed = next(f for f in rc.find(v.TextField).widgets if f.label == "Seed")
    seed.v_model = "x"
    assert texts(rc, "cl-changed") == ["Changed: Seed. Press Reset to apply."]
    button(rc, "cl-reset").click()
    alerts = [a for a in rc.find(v.Alert).widgets if "cl-error" in (a.class_ or "")]
    assert len(alerts) == 1
    assert texts(rc, "cl-changed") == []


def test_settings_show_only_what_applies_and_govsim_counts_twelve_months():
    norms = initial_values()
    shown = {c.name for c in controls() if c.shown(norms)}
    assert {"environment", "population", "ablation", "punishment", "policy"} <= shown
    assert "llm_model" not in shown
    govsim = on_scenario_change(norms, "govsim:pollution")
    assert (govsim["rounds"], govsim["villagers"]) == (12, 5)
    assert {c.name for c in controls() if c.shown(govsim)} == {"scenario", "villagers", "rounds",
                                                                "llm_model", "seed", "humans",
                                                                "human_timeout"}
    assert on_scenario_change(govsim, "norms")["rounds"] == 50
    assert changed(govsim, norms) == ["Scenario", "Villagers", "Rounds (months in GovSim)"]


def test_a_recorded_run_replays_back_and_forth_with_its_tables_numbers(recorded):
    run = LiveRun.recorded(recorded)
    assert run.error is None and run.source == str(recorded)
    table = pd.read_parquet(recorded / "rounds.parquet")
    while run.running:
        run.step()
    assert run.view.stock == pytest.approx(tuple(table["Stock"]))
    run.back()
    run.back()
    assert run.view.round == run.latest.round - 2
    assert run.view.current_stock == pytest.approx(table["Stock"].iloc[run.view.round])
    assert run.can_advance and not run.running
    run.step()
    assert run.view.round == run.latest.round - 1


def test_a_folder_that_is_not_a_run_is_one_line(tmp_path):
    run = LiveRun.recorded(tmp_path)
    assert run.error == f"{tmp_path} is not a run folder: it has no manifest.json"
    assert run.view is None and not run.running


def test_an_uploaded_zip_unpacks_to_its_run_folder(recorded, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in recorded.iterdir():
            archive.write(path, f"myrun/{path.name}")
    folder = unpack_upload("myrun.zip", buffer.getvalue(), into=tmp_path)
    assert folder == tmp_path / "myrun" and (folder / "manifest.json").is_file()
    assert LiveRun.recorded(folder).error is None
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("manifest.json", "{}")
        archive.writestr("../outside.txt", "x")
    with pytest.raises(Exception, match="holds a path outside its folder"):
        unpack_upload("evil.zip", evil.getvalue(), into=tmp_path / "e")
    with pytest.raises(Exception, match="is not a .zip of a run folder"):
        unpack_upload("notes.txt", b"hello")


def test_downloads_hold_the_tables_and_a_config_that_loads_back():
    run = LiveRun(seed=8, villagers=3, rounds=5, population="selfish")
    run.step()
    run.step()
    with zipfile.ZipFile(io.BytesIO(export.tables_zip(run, "csv"))) as archive:
        rounds = pd.read_csv(io.BytesIO(archive.read("rounds.csv")))
    with zipfile.ZipFile(io.BytesIO(export.tables_zip(run, "parquet"))) as archive:
        agents = pd.read_parquet(io.BytesIO(archive.read("agents.parquet")))
    assert rounds["Round"].tolist() == [0, 1, 2] and len(agents) == 3 * 3
    config = build(RunConfig, tomllib.loads(export.config_toml(run)))
    assert config == run.config
    assert export.file_stem(run) == "commons-lab-norms-seed8-round2"


def test_the_round_sentence_names_the_cap_the_worst_taker_and_who_fined_it():
    run = LiveRun(seed=1, villagers=10, population="mixed", rounds=100)
    while run.running and not run.view.punishments:
        run.step()
    view = run.view
    text = caption(view)
    assert text.startswith(f"Round {view.round}: ") and text.endswith(".")
    assert f"at most {view.norm_cap:.0f}" in text or f"at most {view.norm_cap:.1f}" in text
    worst = max(view.villagers, key=lambda v: v.harvest)
    if worst.harvest > view.norm_cap:
        assert f"{worst.label} took" in text
    assert efficiency_meaning(1.17).startswith("1.17: caught more than the lake can regrow")
    assert "less than" in efficiency_meaning(0.6) and efficiency_meaning(float("nan"))
