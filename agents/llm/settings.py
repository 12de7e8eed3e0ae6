"""How villagers reach a language model: the ``[llm]`` table of a run config.

It lives with the LLM layer, which reads it; ``model/config.py`` composes it into a run config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agents.fields import bounded


@dataclass(frozen=True)
class LLMConfig:
    """How villagers reach a language model (see agents/llm)."""

    backend: Literal["auto", "ollama", "embedded", "replay", "openai"] = "auto"
    host: str | None = None  # None: OLLAMA_HOST, else http://127.0.0.1:11434
    # Backend "openai": an OpenAI-compatible endpoint (vLLM, llama.cpp server), e.g.
    # "http://gpu1:8000/v1", and the NAME of the environment variable holding its API key
    # (None: the server wants no key). The key itself never goes into a config or a log.
    base_url: str | None = None
    api_key_env: str | None = None
    model: str = "smollm2:135m"
    # One model per villager, cycled over villagers; empty = everyone uses ``model``.
    models: tuple[str, ...] = ()
    # How villagers answer: "paper", free text to the paper's output rules (reasoning allowed,
    # stripped before parsing); "schema", JSON bounded by a schema sent as the answer format
    # (grammar-constrained on llama.cpp servers; what a 135M model needs to answer at all).
    protocol: Literal["paper", "schema"] = "schema"
    # Ollama's think switch: None = not sent (the model's own default); True lets a reasoning
    # model think (give it a large num_predict); False asks it not to.
    think: bool | None = None
    # Embeddings (norm similarity, GovSim's memory relevance) have a server of their own, so
    # decisions can go to an API without an embeddings endpoint: "auto" = the decisions' server
    # if it serves ``embedding_model``, else the built-in all-MiniLM server; "embedded" = always
    # the built-in one; "same" = the decisions' server; "ollama"/"openai" = ``embedding_host``.
    embedding_backend: Literal["auto", "embedded", "same", "ollama", "openai"] = "auto"
    embedding_host: str | None = None  # "ollama"/"openai": its base URL (None: llm.host)
    embedding_model: str = "all-minilm"
    temperature: float = bounded(0.7, 0.0, 2.0)
    top_p: float = bounded(0.95, 0.0, 1.0)
    num_predict: int = bounded(160, 8, 32_768)
    num_ctx: int = bounded(2048, 256, 1_048_576)
    max_retries: int = bounded(2, 0, 10)
    concurrency: int = bounded(2, 1, 64)
    timeout_s: float = bounded(120.0, 1.0, 3600.0)
    replay_log: str | None = None  # a calls.jsonl to serve answers from (backend "replay")
    # Only for an embedded server a run starts itself: llama.cpp's prompt cache, with one slot per
    # concurrent call. Faster (a shared prompt prefix is read, not evaluated again), but a
    # seeded answer then depends on the calls before it (README, Speed); replay stays exact.
    prefix_cache: bool = False
    # A folder holding the response cache shared by runs (agents/llm/response_cache.py): a
    # request sent before, to the same model with the same seed, is answered from it. None: off.
    cache: str | None = None

    def model_for(self, index: int) -> str:
        return self.models[index % len(self.models)] if self.models else self.model
