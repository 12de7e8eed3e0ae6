"""How alike the villagers' norms are, from their embeddings (Gupta et al., Sec. 4.2.4)."""

from __future__ import annotations

import numpy as np


def norm_similarity(vectors) -> tuple[float, float]:
    """(S_ind, S_align) of the agents' norm vectors (Gupta et al., Sec. 4.2.4).

    S_ind is the mean pairwise cosine; S_align the mean cosine to the normalised mean vector.
    """
    v = np.asarray(vectors, dtype=float)
    if v.ndim != 2 or len(v) < 2:
        return float("nan"), float("nan")
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    n = v / np.where(norms == 0, 1, norms)
    gram = n @ n.T
    k = len(n)
    s_ind = float((gram.sum() - np.trace(gram)) / (k * (k - 1)))
    mean = n.sum(axis=0)
    mean_norm = np.linalg.norm(mean)
    s_align = float((n @ (mean / mean_norm)).mean()) if mean_norm > 0 else float("nan")
    return s_ind, s_align
