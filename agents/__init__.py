"""Villagers and the policies they delegate their decisions to.

``agents/norms/`` and ``agents/govsim/`` hold each scenario's villagers, policies, prompts and
schemas; ``agents/llm/`` is the one LLM layer both scenarios call. Nothing here imports
``model/``: the model drives the agents, never the other way round.
"""
