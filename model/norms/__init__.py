"""The norms scenario (Gupta et al.): the lake, the round's phases and the Mesa model."""
