"""The live page in a real browser at a projector's 1280x720: the class tab on one screen,
figure text no smaller than 14 px, Reset during Play, replay of a run folder, the downloads.

All tests share one server and one browser tab, and use rule-based runs: no LLM call.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tomllib
import zipfile

import pandas as pd
import pytest
from playwright.sync_api import expect

from model.config import RunConfig, build
from viz import palette as P

pytestmark = pytest.mark.browser

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
ESSENTIALS = [".cl-fig-lake img", ".cl-fig-villagers img", ".cl-norm", ".cl-fig-punishment img"]


def click(page, css: str) -> None:
    page.locator(css).first.click()


def round_is(page, n: int, timeout: float = 30_000) -> None:
    page.locator(".cl-round", has_text=re.compile(rf"^Round {n} of ")).wait_for(timeout=timeout)


def shown_round(page) -> int:
    return int(re.match(r"\w+ (\d+) of", page.locator(".cl-round").inner_text()).group(1))


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


@pytest.fixture(scope="module")
def projector(projector_tab):
    return projector_tab()


def test_class_tab_fits_a_projector_with_readable_figures(projector, screenshot_dir):
    page = projector
    for n in range(1, 4):
        click(page, ".cl-step")
        round_is(page, n)
    expect(page.locator(".cl-caption")).to_have_text(re.compile(r"^Round 3: "))
    for css in [".cl-step", ".cl-play", ".cl-reset", *ESSENTIALS]:
        box = page.locator(css).first.bounding_box()
        assert box is not None, css
        assert box["y"] >= 0 and box["x"] >= 0 and box["x"] + box["width"] <= 1280, (css, box)
        assert box["y"] < 720, (css, box)
        if css != ".cl-fig-villagers img":  # that panel scrolls inside its cell
            assert box["y"] + box["height"] <= 720, (css, box)
    # The smallest figure text, in CSS pixels: points at FIG_DPI, scaled by how the image is shown.
    sizes = page.evaluate("Array.from(document.querySelectorAll('.cl-fig img'))"
                          ".map(i => [i.naturalWidth, i.getBoundingClientRect().width])")
    assert len(sizes) == 4
    smallest_pt = min(P.FONT.values())
    for natural, shown in sizes:
        assert natural > 0
        assert smallest_pt * P.FIG_DPI / 72 * shown / natural >= P.MIN_TEXT_PX, (natural, shown)
    page.screenshot(path=screenshot_dir / "class-1280x720-round3.png")


def test_reset_during_play_starts_the_new_run_at_round_0(projector):
    page = projector
    for attempt in range(10):
        click(page, ".cl-play")
        page.locator(".cl-round", has_text=re.compile(r"^Round [1-9]\d* of ")).wait_for()
        click(page, ".cl-reset")
        round_is(page, 0)
        page.wait_for_timeout(700)  # longer than a Play tick at the page's speed
        assert shown_round(page) == 0, f"attempt {attempt + 1}"
        expect(page.locator(".cl-play")).to_have_text(re.compile("Play"))


def test_changed_settings_say_press_reset(projector):
    page = projector
    open_tab(page, "Settings")
    page.get_by_label("Seed").fill("5")
    expect(page.locator(".cl-changed")).to_contain_text("Seed")
    # GovSim hides the norms-only settings and counts months.
    assert page.get_by_text("Villagers decide by").count() == 1
    click(page, ".cl-reset")
    expect(page.locator(".cl-changed")).to_have_count(0)
    open_tab(page, "Class")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A rule-based run folder written by `commons-lab run`."""
    out = tmp_path_factory.mktemp("recorded") / "run"
    subprocess.run([sys.executable, "-m", "cli", "run", "runs/demo.toml", "--seed", "4",
                    "--set", "rounds=8", "--set", "norms.n_agents=5", "--out", str(out),
                    "--quiet"], cwd=ROOT, check=True)
    return out


def test_a_replayed_run_steps_back_and_forth_with_its_tables_numbers(projector, recorded):
    page = projector
    open_tab(page, "Settings")
    page.get_by_label("Run folder on this machine").fill(str(recorded))
    click(page, ".cl-open")
    open_tab(page, "Class")
    round_is(page, 0)
    rounds = pd.read_parquet(recorded / "rounds.parquet")

    def stock_shown() -> float:
        return float(page.locator(".cl-stat-stock .cl-stat-value").inner_text().split()[0])

    for n in (1, 2, 3):
        click(page, ".cl-step")
        round_is(page, n)
        assert stock_shown() == pytest.approx(rounds.loc[n, "Stock"], abs=0.05)
    click(page, ".cl-back")
    round_is(page, 2)
    assert stock_shown() == pytest.approx(rounds.loc[2, "Stock"], abs=0.05)
    click(page, ".cl-step")
    round_is(page, 3)
    assert stock_shown() == pytest.approx(rounds.loc[3, "Stock"], abs=0.05)


def test_downloads_are_files_pandas_and_commons_lab_run_read(projector, tmp_path):
    page = projector
    open_tab(page, "Settings")
    files = {}
    for css in (".cl-dl-csv", ".cl-dl-parquet", ".cl-dl-toml"):
        with page.expect_download() as info:
            click(page, css)
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        files[css] = path
    open_tab(page, "Class")
    with zipfile.ZipFile(files[".cl-dl-csv"]) as archive:
        rounds = pd.read_csv(io.BytesIO(archive.read("rounds.csv")))
    with zipfile.ZipFile(files[".cl-dl-parquet"]) as archive:
        agents = pd.read_parquet(io.BytesIO(archive.read("agents.parquet")))
    assert len(rounds) >= 1 and {"Round", "Stock"} <= set(rounds.columns)
    assert {"Round", "Effort", "Wealth"} <= set(agents.columns)
    config = build(RunConfig, tomllib.loads(files[".cl-dl-toml"].read_text()))
    assert config.norms.n_agents == 5 and config.seed == 4  # the replayed run's own config
    done = subprocess.run([sys.executable, "-m", "cli", "run", str(files[".cl-dl-toml"]),
                           "--out", str(tmp_path / "again"), "--quiet"], cwd=ROOT)
    assert done.returncode == 0
    again = pd.read_parquet(tmp_path / "again" / "rounds.parquet")
    assert again["Stock"].iloc[:4].tolist() == pytest.approx(rounds["Stock"].iloc[:4].tolist())
