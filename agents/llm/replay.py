"""Serving recorded answers from a ``calls.jsonl`` instead of asking a server.

Chat answers are keyed by (agent, round, phase, attempt), embeddings by (agent, round, phase).
The client re-runs its parsing, retry and fallback logic on the recorded raw answers, so a
replayed run computes exactly what the recorded run computed.

- strict (backend "replay"): a key the log does not hold is an error naming the key.
- resume (strict=False): recorded keys are served, missing ones go to the server and are
  appended to the log; an interrupted run continues without repeating a recorded call.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agents.llm.call_log import read_calls
from agents.llm.errors import CallLogError, ReplayMissError

ChatKey = tuple[int, int, str, int]
EmbedKey = tuple[int, int, str]


class ReplaySource:
    def __init__(
        self,
        records: Iterable[dict[str, Any]],
        *,
        strict: bool = True,
        path: str | Path | None = None,
    ) -> None:
        self.strict = strict
        self.path = Path(path) if path is not None else None
        self._chat: dict[ChatKey, dict] = {}
        self._embed: dict[EmbedKey, dict] = {}
        for number, record in enumerate(records, start=1):
            kind = record.get("kind")
            try:
                # Attempts that never got an answer (transport failures) are not answers to serve.
                if kind == "chat" and record.get("raw") is not None:
                    key = (int(record["agent"]), int(record["round"]), str(record["phase"]),
                           int(record["attempt"]))
                    self._chat.setdefault(key, record)  # the first answer is the one the run used
                elif kind == "embed" and record.get("embeddings") is not None:
                    key = (int(record["agent"]), int(record["round"]), str(record["phase"]))
                    self._embed.setdefault(key, record)
            except (KeyError, TypeError, ValueError):
                raise CallLogError(f"{path or 'the call log'}: record {number} lacks a valid agent, "
                                   "round, phase or attempt") from None
        self._lock = threading.Lock()
        self.served = 0

    @classmethod
    def from_file(cls, path: str | Path, *, strict: bool = True) -> ReplaySource:
        return cls(read_calls(path), strict=strict, path=path)

    @property
    def source(self) -> str:
        return str(self.path) if self.path is not None else "the recorded calls"

    def chat(self, agent: int, round: int, phase: str, attempt: int) -> dict | None:
        record = self._chat.get((agent, round, phase, attempt))
        if record is None:
            if self.strict:
                raise ReplayMissError(
                    f"{self.source} holds no answer for agent {agent}, round {round}, "
                    f"phase {phase!r}, attempt {attempt}: strict replay needs the same config "
                    "and seed as the recorded run"
                )
            return None
        with self._lock:
            self.served += 1
        return record

    def embed(self, agent: int, round: int, phase: str) -> dict | None:
        record = self._embed.get((agent, round, phase))
        if record is None:
            if self.strict:
                raise ReplayMissError(
                    f"{self.source} holds no embedding for agent {agent}, round {round}, "
                    f"phase {phase!r}: strict replay needs the same config and seed as the "
                    "recorded run"
                )
            return None
        with self._lock:
            self.served += 1
        return record

    def __len__(self) -> int:
        return len(self._chat) + len(self._embed)
