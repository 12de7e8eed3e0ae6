"""Villagers and the policies they delegate their decisions to."""

from agents.cpr_agent import AltruisticAgent, CPRAgent, SelfishAgent

__all__ = ["AltruisticAgent", "CPRAgent", "SelfishAgent"]
