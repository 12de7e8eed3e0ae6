"""The embedded Ollama-compatible server: SmolLM2-135M and all-MiniLM through llama.cpp.

``server`` (life cycle) - ``http`` (HTTP plumbing) - ``routes`` (Ollama's API) - ``shapes``
(Ollama JSON <-> llama.cpp JSON) - ``llama_engine`` (one llama.cpp model) - ``models`` (the
model files) - ``bert_gguf`` (MiniLM to GGUF) - ``command`` (the ``serve`` command).
"""

from agents.llm.embedded.command import serve
from agents.llm.embedded.server import EmbeddedServer

__all__ = ["EmbeddedServer", "serve"]
