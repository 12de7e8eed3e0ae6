"""The norms scenario's villagers (Gupta et al.): rule-based and LLM policies, prompts, ballots."""

from agents.norms.villagers import AltruisticAgent, CPRAgent, SelfishAgent

__all__ = ["AltruisticAgent", "CPRAgent", "SelfishAgent"]
