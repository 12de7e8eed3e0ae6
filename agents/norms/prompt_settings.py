"""What the LLM villagers' prompts contain: the ``[prompt]`` table of a run config.

The paper's villagers see the stock, their own recent outcomes, the peers' efforts and total
payoffs and the adopted norm (Gupta et al., Sec. 3.1.1 and Figs. 8-11). The lake's capacity, a
history of the stock and the catch in fish are extras: with the capacity and the catch per
effort a villager could work out the catch rule and the regrowth law, which the paper keeps from
it on purpose. Each extra is a switch; ``None`` follows the answer protocol (``llm.protocol``):
off under "paper", on under "schema".
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.fields import bounded

# Longest belief or policy under each protocol. The paper's adopted norms (Table 4) run to
# about 290 characters; a grammar-bound 135M model fills whatever room it is given.
TEXT_MAX = {"paper": 450, "schema": 150}


@dataclass(frozen=True)
class PromptConfig:
    """Optional parts of the norms scenario's LLM prompts."""

    show_capacity: bool | None = None  # "It can hold at most K fish."
    show_lake_history: bool | None = None  # the stock at the start of the last few days
    show_catch: bool | None = None  # fish caught, in the villager's own record
    # Peers whose latest effort the punishment prompt shows, drawn each round with the run's
    # RNG (the paper's punisher sees "a few randomly sampled peers"); 0 = none.
    punish_sample: int = bounded(3, 0, 200)
    # Longest belief or policy in characters; 0 = the protocol's (TEXT_MAX).
    text_max: int = bounded(0, 0, 4000)

    def resolved(self, protocol: str) -> ResolvedPrompt:
        extra = protocol != "paper"

        def pick(value: bool | None) -> bool:
            return extra if value is None else value

        return ResolvedPrompt(pick(self.show_capacity), pick(self.show_lake_history),
                              pick(self.show_catch), self.punish_sample,
                              self.text_max or TEXT_MAX[protocol])


@dataclass(frozen=True)
class ResolvedPrompt:
    """``PromptConfig`` with the protocol's defaults filled in."""

    capacity: bool
    lake_history: bool
    catch: bool
    punish_sample: int
    text_max: int
