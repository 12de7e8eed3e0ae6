"""A student plays villager 1 on the page, beside rule-based villagers, in a real browser at
1280x720: the form shows the lake, the rules, the record and the peers' table, refuses an
effort out of range with its reason, and takes three rounds of answers. The run's call log and
config, downloaded from the page, then replay it without the browser: identical tables. A
second tab joins the class run and may hold only the villager still free.
"""

from __future__ import annotations

import io
import re
import tomllib
import zipfile

import pandas as pd
import pytest
from playwright.sync_api import expect

from model.config import RunConfig, build

pytestmark = pytest.mark.browser

PLAY = {"effort": ("0.4", "0.3", "0.5"), "cap": ("5", "4.5", "6")}


@pytest.fixture(scope="module")
def student(projector_tab):
    return projector_tab()


def answer(page, field: str, text: str) -> None:
    page.locator(f".cl-field-{field} input").fill(text)
    # Send once the page holds what was typed (the field sends it as it is typed).
    expect(page.locator(".cl-human-preview")).to_contain_text(f"{field} {text}")
    page.locator(".cl-human-send").click()


def turn(page, day: int, what: str) -> None:
    expect(page.locator(".cl-human-title")).to_have_text(
        re.compile(rf"^Day {day}, villager 1: {what}"))


def test_a_student_plays_villager_1_for_three_rounds(student, screenshot_dir, tmp_path):
    page = student
    page.get_by_role("tab", name="Settings").click()
    page.get_by_label("Human villagers").fill("1")
    page.get_by_label("Seed").fill("11")
    expect(page.locator(".cl-changed")).to_contain_text("Seed")
    page.locator(".cl-reset").first.click()
    page.get_by_role("tab", name="Class").click()
    page.locator(".cl-hold-1").click()
    expect(page.locator(".cl-human-held")).to_have_text("You play villager 1.")

    for day in (1, 2, 3):
        page.locator(".cl-step").click()
        turn(page, day, "How hard do you fish today")
        if day == 1:
            expect(page.locator(".cl-sec-lake")).to_contain_text("The lake holds 300.0 fish.")
            expect(page.locator(".cl-sec-peers tr")).to_have_count(7)  # header + 6 villagers
            answer(page, "effort", "1.5")  # out of range: refused at the form, asked again
            expect(page.locator(".cl-human-refused")).to_contain_text(
                "1.5 is out of range; enter a number from 0 to 1")
            turn(page, 1, "How hard do you fish today")
            page.screenshot(path=screenshot_dir / "human-turn-1280x720.png")
            box = page.locator(".cl-human-send").bounding_box()
            assert box is not None and box["y"] + box["height"] <= 720, box
        answer(page, "effort", PLAY["effort"][day - 1])
        turn(page, day, "Whom do you punish today")
        page.locator(".cl-field-punish button", has_text="nobody").click()
        expect(page.locator(".cl-human-preview")).to_contain_text("punish nobody")
        page.locator(".cl-human-send").click()
        turn(page, day, "Propose a community policy")
        if day > 1:
            expect(page.locator(".cl-sec-norm")).to_contain_text("Each villager harvests at most")
        answer(page, "cap", PLAY["cap"][day - 1])
        page.locator(".cl-round", has_text=re.compile(rf"^Round {day} of ")).wait_for()
    expect(page.locator(".cl-human-counts")).to_contain_text("timed out: 0")

    files = {}
    page.get_by_role("tab", name="Settings").click()
    for css in (".cl-dl-parquet", ".cl-dl-toml", ".cl-dl-calls"):
        with page.expect_download() as info:
            page.locator(css).click()
        files[css] = tmp_path / info.value.suggested_filename
        info.value.save_as(files[css])
    page.get_by_role("tab", name="Class").click()
    with zipfile.ZipFile(files[".cl-dl-parquet"]) as archive:
        shown = {n.removesuffix(".parquet"): pd.read_parquet(io.BytesIO(archive.read(n)))
                 for n in archive.namelist()}
    config = build(RunConfig, tomllib.loads(files[".cl-dl-toml"].read_text()))
    assert config.humans == (1,)
    mine = shown["agents"][(shown["agents"].AgentID == 1) & (shown["agents"].Round > 0)]
    assert mine.Effort.tolist() == [0.4, 0.3, 0.5] and mine.Belief.tolist() == [5, 4.5, 6]

    # The strict replay, without the browser: the same three rounds, table for table.
    from model.llm_session import open_run
    from model.runner import build_model

    replay = config.replace(**{"llm.backend": "replay",
                               "llm.replay_log": str(files[".cl-dl-calls"])})
    with open_run(replay) as session:
        model = build_model(replay, humans=session.humans)
        for _ in range(3):
            model.step()
    for name, table in model.tables().items():
        pd.testing.assert_frame_equal(table, shown[name], check_exact=True, obj=name)
    assert model.humans.counts == {"turns": 9, "timeouts": 0}


def test_a_second_tab_joins_and_holds_the_free_villager(projector_tab):
    teacher = projector_tab()
    teacher.get_by_role("tab", name="Settings").click()
    teacher.get_by_label("Human villagers").fill("1, 2")
    teacher.get_by_label("Seed").fill("3")
    expect(teacher.locator(".cl-changed")).to_contain_text("Human villagers")
    teacher.locator(".cl-reset").first.click()
    teacher.get_by_role("tab", name="Class").click()
    teacher.locator(".cl-hold-1").click()
    other = projector_tab()
    other.get_by_role("tab", name="Settings").click()
    other.locator(".cl-join-0").click()
    other.get_by_role("tab", name="Class").click()
    expect(other.locator(".cl-hold-2")).to_have_count(1)
    expect(other.locator(".cl-hold-1")).to_have_count(0)  # the first tab holds villager 1
    other.locator(".cl-hold-2").click()
    expect(other.locator(".cl-human-held")).to_have_text("You play villager 2.")
    teacher.locator(".cl-step").click()  # the first tab steps the shared run
    # Each tab sees its own villager's turn, and both are open at the same time.
    expect(other.locator(".cl-human-title")).to_have_text(
        re.compile(r"^Day 1, villager 2: How hard do you fish today"))
    turn(teacher, 1, "How hard do you fish today")
    answer(other, "effort", "0.2")
    expect(other.locator(".cl-human-title")).to_have_count(0)  # waits for villager 1
    answer(teacher, "effort", "0.6")
    turn(teacher, 1, "Whom do you punish today")
    expect(other.locator(".cl-human-title")).to_have_text(
        re.compile(r"^Day 1, villager 2: Whom do you punish today"))
    teacher.locator(".cl-reset").first.click()  # ends the class run for every tab
    expect(other.locator(".cl-human-title")).to_have_count(0)
