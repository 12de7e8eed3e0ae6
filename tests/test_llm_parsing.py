"""Parsing model answers: <think> stripping, JSON extraction, validation, and 1,000 arbitrary
answers through the whole decide() path without a crash and with every fallback counted."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.llm.client import LLMClient
from agents.llm.parsing import extract_json, feedback_messages, parse_answer, strip_think
from llm_fakes import FALLBACK, Effort, FakeOllama, config, effort_request, no_blank_reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', '{"a": 1}'),
        ('<think>let me see {"a": 2}</think>{"a": 1}', '{"a": 1}'),
        ("<THINK>x</Think>  answer ", "answer"),
        ("<think>one</think>a<think>two</think>b", "ab"),
        # The chat template opened the block: the answer starts after the orphan closing tag.
        ('I should fish less.</think>\n{"a": 1}', '{"a": 1}'),
        # Cut off while thinking: nothing after the opening tag is an answer.
        ('{"a": 1}<think>still thinking {"a": 2}', '{"a": 1}'),
        ("<think>only thoughts", ""),
        ("a</think>b</think>c", "bc"),
        ("<think >spaced</think >x", "x"),
        ("", ""),
    ],
)
def test_strip_think(text: str, expected: str) -> None:
    assert strip_think(text) == expected


def test_extract_json_accepts_fences_and_prose() -> None:
    assert extract_json('```json\n{"a": 1}\n```')[0] == {"a": 1}
    assert extract_json('Sure! Here it is: {"a": {"b": 2}} hope it helps')[0] == {"a": {"b": 2}}
    assert extract_json("[1, 2]")[0] == [1, 2]


def test_parse_rejects_non_finite_numbers() -> None:
    result = parse_answer('{"effort": NaN, "reason": "x"}', Effort)
    assert not result.ok and "not valid JSON" in result.error


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ('{"effort": 0.2, "reason": "x"', "not valid JSON"),
        ("[0.2]", "JSON object, not a list"),
        ('"0.2"', "JSON object, not a string"),
        ('{"effort": 1.5, "reason": "x"}', "effort: Input should be less than or equal to 1"),
        ('{"effort": "lots", "reason": "x"}', "effort: Input should be a valid number"),
        ('{"reason": "x"}', "effort: Field required"),
        ('{"effort": 0.2, "reason": "' + "y" * 41 + '"}', "reason: String should have at most 40"),
        ('{"effort": 0.2, "reason": "  "}', "reason must not be blank"),
        ("[" * 100_000, "not valid JSON"),
    ],
)
def test_parse_errors_are_short_and_specific(text: str, fragment: str) -> None:
    result = parse_answer(text, Effort, check=no_blank_reason)
    assert result.value is None
    assert fragment in result.error
    assert len(result.error) <= 300 and "\n" not in result.error


def test_cut_off_answer_is_rejected_even_if_it_parses() -> None:
    result = parse_answer('{"effort": 0.2, "reason": "x"}', Effort, done_reason="length", num_predict=64)
    assert not result.ok and "cut off" in result.error and "64" in result.error


def test_text_parser_is_used_only_without_json() -> None:
    def parse_free_text(text: str) -> dict | None:
        words = text.split()
        if "effort" not in words:
            raise ValueError("no effort mentioned")
        return {"effort": float(words[words.index("effort") + 1]), "reason": "free text"}

    ok = parse_answer("I choose effort 0.25 today", Effort, text_parser=parse_free_text)
    assert ok.value == Effort(effort=0.25, reason="free text")
    bad = parse_answer("I abstain", Effort, text_parser=parse_free_text)
    assert not bad.ok and "no effort mentioned" in bad.error
    # A JSON answer with a wrong value is reported as such, not re-read as free text.
    json_bad = parse_answer('{"effort": 7, "reason": "x"}', Effort, text_parser=parse_free_text)
    assert "less than or equal to 1" in json_bad.error


def test_feedback_messages_echo_a_bounded_answer() -> None:
    assistant, user = feedback_messages("z" * 5000, "the answer was empty")
    assert assistant["role"] == "assistant" and len(assistant["content"]) <= 1001
    assert user["role"] == "user" and "the answer was empty" in user["content"]


@settings(max_examples=1000, deadline=None)
@given(st.text(max_size=400))
def test_parse_answer_is_total(text: str) -> None:
    result = parse_answer(strip_think(text), Effort, check=no_blank_reason)
    assert (result.value is None) != (result.error is None)


# -- 1,000 arbitrary answers through decide() ---------------------------------------------

_WORDS = st.text(alphabet="abcdefghij klmnop", min_size=1, max_size=40).filter(lambda s: s.strip())
_VALID = st.builds(lambda e, r: {"effort": e, "reason": r},
                   st.floats(0.0, 1.0, allow_nan=False), _WORDS)


def _wrap_valid(d: dict, how: int) -> str:
    body = json.dumps(d)
    return [
        body,
        f"<think>I weigh {{\"effort\": 9}} against the lake</think>{body}",
        f"```json\n{body}\n```",
        f"Here is my decision: {body} thanks",
        f"reasoning first</think>{body}",
    ][how]


def _invalid_cases() -> st.SearchStrategy[tuple[str, str]]:
    out_of_range = st.builds(lambda e, r: json.dumps({"effort": e, "reason": r}),
                             st.floats(1.0001, 1e308) | st.floats(-1e308, -0.0001), _WORDS)
    wrong_type = st.builds(lambda e, r: json.dumps({"effort": e, "reason": r}),
                           st.sampled_from(["high", "", None, [0.3], {"v": 1}]), _WORDS)
    missing = _VALID.map(lambda d: json.dumps({"reason": d["reason"]}))
    too_long = _VALID.map(lambda d: json.dumps({"effort": d["effort"], "reason": "w" * 41}))
    blank = st.floats(0, 1).map(lambda e: json.dumps({"effort": e, "reason": "   "}))
    broken = st.builds(lambda d, k: json.dumps(d)[: -k], _VALID, st.integers(1, 5))
    hidden = _VALID.map(lambda d: "<think>" + json.dumps(d))
    empty = st.sampled_from(["", " ", "\n\n", "<think></think>", "null", "[]", "42"])
    huge = st.integers(10_000, 200_000).map(lambda n: "fish " * n)
    return st.one_of(out_of_range, wrong_type, missing, too_long, blank, broken, hidden, empty, huge)


_CASES = st.one_of(
    st.builds(lambda d, how: (_wrap_valid(d, how), "stop", True), _VALID, st.integers(0, 4)),
    st.builds(lambda t: (t, "stop", False), _invalid_cases()),
    # A valid object that the token limit cut off is still a failure.
    st.builds(lambda d: (json.dumps(d), "length", False), _VALID),
    st.builds(lambda t: (t, "stop", None), st.text(max_size=300)),
)


def test_thousand_arbitrary_answers_never_crash_and_every_fallback_is_counted(caplog) -> None:
    current: dict = {}
    fake = FakeOllama(lambda body, n: (current["text"], current["done_reason"]))
    client = LLMClient(config(max_retries=1, concurrency=1), transport=fake.transport())
    seen = {"fallbacks": 0, "decisions": 0}
    caplog.set_level(logging.WARNING, logger="agents.llm.client")

    @settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=_CASES)
    def run(case: tuple[str, str, bool | None]) -> None:
        text, done_reason, valid = case
        current.update(text=text, done_reason=done_reason)
        before = client.stats.snapshot()
        decision = client.decide(effort_request(round=seen["decisions"]))
        seen["decisions"] += 1
        delta = client.stats.since(before)
        if valid is not None:
            assert decision.fallback is not valid, text[:200]
        if decision.fallback:
            seen["fallbacks"] += 1
            assert decision.value is FALLBACK and decision.attempts == 2 and decision.error
            assert delta.fallbacks == 1 and delta.parse_failures == 2
        else:
            value = decision.value
            assert isinstance(value, Effort) and 0 <= value.effort <= 1 and value.reason.strip()
            assert delta.fallbacks == 0 and decision.attempts == 1
        assert delta.decisions == 1 and delta.calls == decision.attempts

    try:
        run()
    finally:
        client.close()
    assert seen["decisions"] >= 1000
    assert client.stats.fallbacks == seen["fallbacks"] > 100
    assert client.stats.per_phase["effort"].fallbacks == seen["fallbacks"]
    assert client.stats.decisions - client.stats.fallbacks > 100  # valid answers got through
    warnings = [r for r in caplog.records if "LLM fallback" in r.getMessage()]
    assert len(warnings) == seen["fallbacks"]
