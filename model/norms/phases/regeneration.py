"""Regeneration: the post-harvest stock grows logistically towards the capacity."""


class Regeneration:
    name = "regeneration"

    def __call__(self, model) -> None:
        model.lake.regrow()
