"""Every block of seeds the rule-based studies draw from, in one place.

The calibration searches on its own block; the validation judges each finding on three blocks
it never saw; the tests use a fourth. Each block reserves a range of seeds (``span``) and a
study takes the first seeds it needs from it, so blocks never overlap however many runs a study
asks for (``tests/test_seed_blocks.py`` checks it). Seeds below 200,000 were used while the
model was first tuned (validation 0-99, calibration from 100,000, a probe at 20,000) and are
retired, so no verdict rests on a seed a choice was made on.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SeedBlock:
    name: str
    first: int
    span: int  # seeds reserved for the block

    def seeds(self, n: int) -> list[int]:
        """The block's first ``n`` seeds."""
        if not 0 < n <= self.span:
            raise ValueError(f"seed block {self.name!r} holds 1..{self.span} seeds, not {n}")
        return list(range(self.first, self.first + n))

    @property
    def last(self) -> int:
        return self.first + self.span - 1


RETIRED = SeedBlock("retired (first tuning)", 0, 200_000)
CALIBRATION = SeedBlock("calibration", 1_000_000, 100_000)
VALIDATION = (SeedBlock("validation 1", 2_000_000, 100_000),
              SeedBlock("validation 2", 2_100_000, 100_000),
              SeedBlock("validation 3", 2_200_000, 100_000))
TESTS = SeedBlock("tests", 3_000_000, 100_000)

BLOCKS = (RETIRED, CALIBRATION, *VALIDATION, TESTS)
