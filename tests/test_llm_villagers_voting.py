"""Group decision of LLM villagers: distinct proposals, vote matching, plurality and ties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.norms.voting import Candidate, distinct, match_vote, normalise, plurality


def test_normalise_ignores_quotes_whitespace_and_case():
    assert normalise('  “Keep   effort\tat 0.3”\n') == normalise("keep effort at 0.3")
    assert normalise("«Fish less»") == "fish less"
    assert normalise("Fish less.") != normalise("Fish less")  # punctuation other than quotes counts


def test_distinct_keeps_first_wording_and_all_authors():
    cands = distinct([(1, "Fish less."), (2, "Share fairly."), (3, ' "fish  LESS." '), (4, "Share fairly.")])
    assert cands == [Candidate("Fish less.", (1, 3)), Candidate("Share fairly.", (2, 4))]


CANDS = [Candidate("Keep effort at 0.3 or lower.", (1,)),
         Candidate("Everyone may fish at full effort.", (2,)),
         Candidate("Share the catch equally among all villagers.", (3,))]


def test_exact_match_after_normalising():
    m = match_vote("'everyone may fish at FULL effort.'", CANDS)
    assert (m.index, m.exact, m.score) == (1, True, 1.0)


@pytest.mark.parametrize(("vote", "index"), [
    ("Keep effort at 0.3 or lower", 0),  # missing full stop
    ("I vote for: share the catch equally", 2),
    ("everyone fish full effort", 1),
])
def test_inexact_vote_goes_to_closest(vote, index):
    m = match_vote(vote, CANDS)
    assert m.index == index and not m.exact and 0 < m.score < 1


def test_equally_close_votes_go_to_the_earlier_proposal():
    cands = [Candidate("aaaa", (1,)), Candidate("bbbb", (2,))]
    assert match_vote("aabb", cands).index == 0
    assert match_vote("zzzz", cands).index == 0


def test_match_needs_candidates():
    with pytest.raises(ValueError):
        match_vote("anything", [])


proposal_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=60)


@given(st.lists(proposal_text, min_size=1, max_size=6), st.data())
def test_a_copied_proposal_always_matches_itself(texts, data):
    cands = distinct(list(enumerate(texts)))
    i = data.draw(st.integers(0, len(cands) - 1))
    # The voter copies the text with other spacing and quotes around it.
    vote = '  "' + "  ".join(cands[i].text.split()) + '" '
    if not cands[i].key:  # a proposal of only quotes/spaces has no distinct wording to copy
        return
    assert match_vote(vote, cands).index == i


def test_plurality_majority_needs_no_random_draw():
    rng = np.random.default_rng(5)
    before = rng.bit_generator.state
    assert plurality([2, 0, 2, 1, 2], 3, rng) == (2, [1, 1, 3])
    assert rng.bit_generator.state == before


def test_plurality_ties_are_drawn_among_the_leaders_only():
    winners = [plurality([0, 1, 1, 3, 3, 2], 4, np.random.default_rng(seed))[0] for seed in range(400)]
    assert set(winners) == {1, 3}
    assert 150 < winners.count(1) < 250  # both leaders are chosen about equally often
    # The same seed gives the same winner.
    assert all(plurality([0, 1, 1, 3, 3, 2], 4, np.random.default_rng(s))[0] == winners[s] for s in range(20))


def test_plurality_counts_unvoted_candidates_as_zero():
    assert plurality([1], 3, np.random.default_rng(0)) == (1, [0, 1, 0])
    with pytest.raises(ValueError):
        plurality([], 0, np.random.default_rng(0))
