"""Run metrics shared by both scenario families."""

from __future__ import annotations

import numpy as np


def gini(values) -> float:
    """Gini coefficient of non-negative values (0 = equal); negative wealth is floored at 0."""
    x = np.clip(np.asarray(values, dtype=float), 0.0, None)
    if x.size == 0 or x.sum() == 0:
        return 0.0
    x = np.sort(x)
    n = x.size
    return float((2 * np.arange(1, n + 1) - n - 1).dot(x) / (n * x.sum()))


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
