"""GovSim (Piatti et al., NeurIPS 2024) on the commons-lab engine: pool maths, allocation,
metrics, the Mesa model and the export to GovSim's ``log_env.json``."""
