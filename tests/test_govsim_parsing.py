"""Free-text answers in English and Japanese, and memory retrieval."""

import numpy as np
import pytest

from agents.govsim.memory import Memory
from agents.govsim.parsing import (first_number, match_name, parse_harvest, parse_limit,
                                   parse_notes, parse_summary, parse_utterance)


@pytest.mark.parametrize("text, expected", [
    ("Let me think. Answer: 15 tons", 15),
    ("**Answer**: 7", 7),
    ("I would take 30 at first... Answer: 12", 12),  # the number after the marker, not before
    ("考えます。回答：１２トン", 12),  # full-width colon and digits
    ("回答: 20", 20),
    ("答えは十二トンです。", 12),  # kanji numerals
    ("答え：三十", 30),
    ("Ａｎｓｗｅｒ：８", 8),
    ("12", 12),
])
def test_harvest_answers(text, expected):
    assert parse_harvest(text)["answer"] == expected


@pytest.mark.parametrize("text", ["I will fish a lot.", "Answer: many", ""])
def test_harvest_without_a_number_is_an_error_not_zero(text):
    with pytest.raises(ValueError):
        parse_harvest(text)


def test_harvest_reasoning_is_cut_to_the_schema():
    assert len(parse_harvest("x" * 900 + " Answer: 3", reasoning_chars=50)["reasoning"]) == 50


@pytest.mark.parametrize("text, expected", [
    ("They said ten. Answer: 10", 10), ("Answer: N/A", None), ("回答：なし", None),
    ("回答：１０トン", 10), ("Answer: NA", None),
])
def test_limit_answers(text, expected):
    assert parse_limit(text)["answer"] == expected


def test_utterance_formats():
    three = parse_utterance('Response: "Ten each."\nConversation conclusion by me: yes\nNext speaker: -')
    assert three == {"response": "Ten each.", "ends_conversation": True, "next_speaker": "-"}
    ja = parse_utterance("発言：「十トンずつにしよう」\n終了：いいえ\n次の話者：美咲")
    assert ja == {"response": "十トンずつにしよう", "ends_conversation": False, "next_speaker": "美咲"}
    prose = parse_utterance("We should fish less.")
    assert prose["response"] == "We should fish less." and prose["ends_conversation"] is False
    with pytest.raises(ValueError):
        parse_utterance("   ")


def test_summary_notes_and_names():
    assert parse_summary("They agreed on ten. Then left.") == {"summary": "They agreed on ten."}
    assert parse_summary("十トンで合意した。その後解散。") == {"summary": "十トンで合意した。"}
    assert parse_notes("1. Fish less.\n2) Trust Kate.\n- Watch Luke.\n4. Extra.")["notes"] == [
        "Fish less.", "Trust Kate.", "Watch Luke."]
    assert match_name("kate.", ["John", "Kate"]) == "Kate"
    assert match_name("I pick 美咲さん", ["健太", "美咲"]) == "美咲"
    assert match_name("John or Kate", ["John", "Kate"]) is None  # ambiguous
    assert first_number("about ２５ tons") == 25


def test_memory_pins_observations_ranks_the_rest_and_expires():
    mem = Memory()
    mem.add(1, "d1", "note", "old note about fishing")
    mem.add(1, "d1", "summary", "we talked about the weather")
    mem.add(1, "d1", "agreement", "ten tons each", always=True)
    mem.add(2, "d2", "observation", "the lake holds 80 tons", always=True)
    mem.add(2, "d2", "note", "newer note")
    vec = {"old note about fishing": [1, 0], "we talked about the weather": [0, 1],
           "ten tons each": [1, 0], "the lake holds 80 tons": [1, 0], "newer note": [0, 1]}
    for m in mem.items:
        m.embedding = np.array(vec[m.text], float)
    query = np.array([1.0, 0.0])
    extra = "pinned_extra"  # the project's retrieval: always-shown on top of k others
    got = [m.text for m in mem.retrieve(2, 1, query, mode=extra)]
    # Pinned: this month's observation and the live agreement; the best other is the relevant,
    # though older, note; results are listed oldest first.
    assert got == ["old note about fishing", "ten tons each", "the lake holds 80 tons"]
    # Without a query, importance then recency: the summary (6) beats the notes (5), and of two
    # equally important notes the newer wins (GovSim's recency favoured the oldest).
    assert [m.text for m in mem.retrieve(2, 2, mode=extra)] == [
        "we talked about the weather", "ten tons each", "the lake holds 80 tons", "newer note"]
    # GovSim's retrieval: the two always-shown count inside k = 3, summaries are never shown.
    assert [m.text for m in mem.retrieve(2, 3, query)] == [
        "old note about fishing", "ten tons each", "the lake holds 80 tons"]
    assert [m.text for m in mem.retrieve(2, 1, query)] == ["ten tons each"]
    # Month 3: the month-2 observation has expired; month 4: the month-1 summary and note too.
    assert "the lake holds 80 tons" not in [m.text for m in mem.retrieve(3, 10)]
    assert [m.text for m in mem.retrieve(4, 10)] == ["newer note"]
