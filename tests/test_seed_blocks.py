"""The calibration, validation and test seed blocks never share a seed."""

import itertools

import pytest

from analysis import seed_blocks
from analysis.seed_blocks import BLOCKS, CALIBRATION, TESTS, VALIDATION


def test_blocks_are_disjoint():
    for a, b in itertools.combinations(BLOCKS, 2):
        assert a.last < b.first or b.last < a.first, (a, b)


def test_every_study_block_is_named_and_at_least_three_validate():
    assert len(VALIDATION) >= 3
    names = [b.name for b in BLOCKS]
    assert len(set(names)) == len(names)
    assert {CALIBRATION, TESTS, *VALIDATION} <= set(BLOCKS)


def test_a_study_takes_seeds_only_from_its_block():
    for block in BLOCKS:
        seeds = block.seeds(100)
        assert seeds[0] == block.first and seeds[-1] <= block.last
    with pytest.raises(ValueError, match="holds"):
        CALIBRATION.seeds(CALIBRATION.span + 1)


def test_studies_draw_from_their_blocks():
    from analysis import calibration, validation

    assert calibration.SEEDS is seed_blocks.CALIBRATION
    assert validation.BLOCKS == seed_blocks.VALIDATION
