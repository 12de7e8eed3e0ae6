"""The live page in a real browser: controls, a rule-based run and an LLM run, round by round.

The two tests share one server and one browser tab; the second continues from the first.
LLM budget: one round of two LLM villagers on the embedded server with punishment off, so at
most 6 chat decisions (effort, propose, vote) plus their retries, and two embedding calls.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

NO_NORM = "No community policy has been adopted yet."
# One round: ~6 calls of ~1.5 s on an idle machine; a busy one can be many times slower, and
# this limit only matters when something is wrong.
LLM_ROUND_S = 400


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the sidebar's select labelled ``label``."""
    page.locator(".v-select").filter(has=page.locator("label", has_text=label)).click()
    page.locator(".menuable__content__active .v-list-item", has_text=option).first.click()
    page.locator(".v-select").filter(has=page.locator("label", has_text=label)) \
        .locator(".v-select__selection", has_text=option).wait_for()


def round_shown(page, text: str, timeout: float = 30_000) -> None:
    page.locator(".cl-stat-round .cl-stat-value", has_text=re.compile(rf"^{re.escape(text)}$")) \
        .wait_for(timeout=timeout)


def image_of(page, panel: str) -> str:
    img = page.locator(f".cl-fig-{panel} img").first
    img.wait_for()
    return img.get_attribute("src")


def redrawn(page, panel: str, before: str, timeout: float = 60_000) -> None:
    """The panel's figure was replaced (it arrives a little after the status bar's numbers)."""
    expect(page.locator(f".cl-fig-{panel} img").first).not_to_have_attribute(
        "src", before, timeout=timeout)


def norm_text(page) -> str:
    return page.locator(".cl-norm .cl-norm-text").first.inner_text().strip()


def click(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()


def test_rule_run_plays_round_by_round(live_page, screenshot_dir):
    page = live_page
    round_shown(page, "0 / 50")

    # Change controls, then Reset builds the run they describe.
    choose(page, "Population", "selfish")
    page.get_by_label("Seed").fill("7")
    page.get_by_label("Seed").press("Enter")
    click(page, "Reset")
    round_shown(page, "0 / 50")
    assert norm_text(page) == NO_NORM
    lake, villagers = image_of(page, "lake"), image_of(page, "villagers")

    click(page, "Step")
    round_shown(page, "1 / 50")
    expect(page.locator(".cl-norm .cl-norm-text").first).not_to_have_text(NO_NORM)
    adopted = norm_text(page)
    assert adopted != NO_NORM and "at most" in adopted
    # Every proposer is selfish: each badge carries the selfish symbol, none the altruistic one.
    expect(page.locator(".cl-proposal .cl-badge")).to_have_count(6)
    badges = page.locator(".cl-proposal .cl-badge").all_inner_texts()
    assert all(b.startswith("▲") for b in badges), badges
    redrawn(page, "lake", lake)
    redrawn(page, "villagers", villagers)

    lake = image_of(page, "lake")
    click(page, "Step")
    round_shown(page, "2 / 50")
    redrawn(page, "lake", lake)
    page.screenshot(path=screenshot_dir / "live-page-rule.png")
    assert page.outside_requests == []


@pytest.mark.llm
def test_llm_run_steps_without_freezing(live_page, screenshot_dir):
    page = live_page
    choose(page, "Population", "mixed")
    choose(page, "Modules (ablation)", "group_decision_only")
    punishment = page.get_by_role("checkbox", name="Punishment")
    punishment.uncheck(force=True)
    assert not punishment.is_checked()
    choose(page, "Policy", "llm")
    page.get_by_role("slider", name="Villagers").focus()
    page.keyboard.press("Home")  # the slider's minimum: two villagers
    expect(page.get_by_role("slider", name="Villagers")).to_have_attribute("aria-valuenow", "2")
    click(page, "Reset")
    round_shown(page, "0 / 50")
    assert page.locator(".cl-error").count() == 0, page.locator(".cl-error").inner_text()
    lake = image_of(page, "lake")

    click(page, "Step")
    # The round runs in the background: the page shows its progress and still answers clicks.
    page.locator(".cl-progress", has_text="Round 1 in progress").wait_for(timeout=15_000)
    page.get_by_role("tab", name="Page 1").click()
    page.locator(".cl-minds").wait_for(timeout=10_000)
    assert page.locator(".cl-progress").count() == 1  # the round is still running
    page.get_by_role("tab", name="Page 0").click()

    round_shown(page, "1 / 50", timeout=LLM_ROUND_S * 1000)
    redrawn(page, "lake", lake)
    expect(page.locator(".cl-norm .cl-norm-text").first).not_to_have_text(NO_NORM)
    expect(page.locator(".cl-proposal")).to_have_count(2)
    page.screenshot(path=screenshot_dir / "live-page-llm.png")

    # Page 1: a villager's latest prompt and answer, on click.
    page.get_by_role("tab", name="Page 1").click()
    page.locator(".cl-villager-button").first.click()
    prompt = page.locator(".cl-prompt").first
    prompt.wait_for()
    assert len(prompt.inner_text()) > 50
    assert page.locator(".cl-answer").first.inner_text().strip()
    page.screenshot(path=screenshot_dir / "live-page-llm-minds.png")
    page.get_by_role("tab", name="Page 0").click()
    assert page.outside_requests == []
