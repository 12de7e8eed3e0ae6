"""Which models a run talks to (model/runner.py opens the session itself)."""

from __future__ import annotations

from agents.llm.settings import LLMConfig


def models_of(config: LLMConfig, *, embeddings: bool = True) -> list[str]:
    """Every model a run may call: the villagers' models (and the embedding model)."""
    names = list(config.models) or [config.model]
    if embeddings:
        names.append(config.embedding_model)
    return list(dict.fromkeys(names))
