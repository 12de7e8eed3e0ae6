"""GovSim's villagers (Piatti et al.): memory, prompts, schemas and the LLM policy."""
