"""Regeneration: the post-harvest stock grows logistically towards the capacity."""

from model.engine import Module


class Regeneration(Module):
    name = "regeneration"

    def __call__(self, model) -> None:
        model.lake.regrow()
