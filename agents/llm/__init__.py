"""The LLM layer: the client seam to Ollama and the embedded Ollama-compatible server."""
