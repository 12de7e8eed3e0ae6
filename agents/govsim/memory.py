"""A villager's associative memory: dated observations and thoughts, retrieved by embedding.

Kept from GovSim (Park et al.'s generative agents, simplified): each memory has a date, a kind,
an importance and an expiry; observations and agreed limits are always shown while they live;
the rest are ranked by 0.5 * recency + 3 * importance + 2 * relevance (cosine to a focal text,
embedded through the LLM server's embedding endpoint) and the top k are listed oldest first.

Retrieval as GovSim does it (``mode="govsim"``): chat summaries are stored but never retrieved,
and the always-shown memories are ranked first and count inside the top k. The project's
variant (``mode="pinned_extra"``) shows the always-shown ones on top of k others and lets
summaries be retrieved.

Changed on purpose: recency favours the newest memory (GovSim's favours the oldest, a bug);
importance comes from the memory's kind instead of a 1-10 rating call per memory (that call
tripled GovSim's call count and its default of 5 on parse failures hid failures).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Importance (1-10) by kind, in place of GovSim's rating calls.
IMPORTANCE = {"observation": 10, "agreement": 8, "summary": 6, "note": 5}
# Months a memory stays retrievable after the month it was made in: GovSim lets events expire at
# the end of their month and thoughts and chat summaries after 63 days (about two months).
LIFETIME = {"observation": 0, "agreement": 2, "summary": 2, "note": 2}
W_RECENCY, W_IMPORTANCE, W_RELEVANCE = 0.5, 3.0, 2.0
# Kinds GovSim stores but never retrieves (its chat nodes).
UNRETRIEVED = frozenset({"summary"})
RECENCY_DECAY = 0.99


@dataclass
class MemoryItem:
    month: int
    date: str  # as shown in prompts
    kind: str
    text: str
    always: bool = False  # shown whatever the ranking while it lives (GovSim's always-include)
    importance: int = 5
    embedding: np.ndarray | None = field(default=None, repr=False)

    @property
    def expires(self) -> int:
        return self.month + LIFETIME.get(self.kind, 2)


class Memory:
    def __init__(self) -> None:
        self.items: list[MemoryItem] = []

    def add(self, month: int, date: str, kind: str, text: str, *, always: bool = False) -> MemoryItem:
        item = MemoryItem(month, date, kind, text, always, IMPORTANCE.get(kind, 5))
        self.items.append(item)
        return item

    def unembedded(self) -> list[MemoryItem]:
        return [m for m in self.items if m.embedding is None]

    def live(self, month: int) -> list[MemoryItem]:
        return [m for m in self.items if m.expires >= month]

    def retrieve(self, month: int, k: int, query: np.ndarray | None = None,
                 mode: str = "govsim") -> list[MemoryItem]:
        """The memories a prompt lists, oldest first.

        "govsim": the always-shown live memories first, then the best others, k in all (never
        a chat summary); "pinned_extra": every always-shown live memory plus the k best others.
        ``k = 0`` ranks nothing: only the always-shown memories, in either mode.
        """
        live = self.live(month)
        if mode == "govsim":
            live = [m for m in live if m.kind not in UNRETRIEVED]
        pinned = [m for m in live if m.always]
        rest = [m for m in live if not m.always]
        if mode == "govsim" and k > 0:
            # GovSim scores the always-shown above everything and keeps the oldest of them
            # when there are more than k (its sort is stable).
            pinned = pinned[:k]
            k = k - len(pinned)
        chosen = self._best(rest, k, query)
        keep = set(map(id, pinned + chosen))
        return [m for m in self.items if id(m) in keep]

    def retrieve_many(self, month: int, k: int, queries: list[np.ndarray | None],
                      mode: str = "govsim") -> list[MemoryItem]:
        """The union of ``retrieve`` for each focal query (GovSim's discussion: top k for each
        of the last utterances), oldest first."""
        keep = {id(m) for q in queries for m in self.retrieve(month, k, q, mode)}
        return [m for m in self.items if id(m) in keep]

    @staticmethod
    def _best(rest: list[MemoryItem], k: int, query: np.ndarray | None) -> list[MemoryItem]:
        if k <= 0 or not rest:
            return []
        n = len(rest)
        recency = np.array([RECENCY_DECAY ** (n - 1 - i) for i in range(n)])  # newest = 1
        importance = np.array([(m.importance - 1) / 9 for m in rest])
        relevance = np.zeros(n)
        if query is not None and query.size:
            relevance = np.array([float(m.embedding @ query) if m.embedding is not None
                                  and m.embedding.shape == query.shape else 0.0 for m in rest])
        score = W_RECENCY * recency + W_IMPORTANCE * importance + W_RELEVANCE * relevance
        # Stable ranking: ties keep the newer memory first.
        order = sorted(range(n), key=lambda i: (-score[i], -i))[:k]
        return [rest[i] for i in sorted(order)]

    def dump(self) -> list[dict]:
        return [{"month": m.month, "date": m.date, "kind": m.kind, "text": m.text,
                 "importance": m.importance, "always": m.always, "expires": m.expires}
                for m in self.items]
