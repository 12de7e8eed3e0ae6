"""What one request or connection may cost the embedded server, and the checks on JSON input.

The server is shared by every villager of a run (and by a sweep's workers), so no single
request, connection or careless client may hold it: each limit below turns a request that
would stall it into an immediate, named refusal. The defaults admit the project's own traffic
with a wide margin (figures in the README's Reliability section).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from agents.llm.embedded.shapes import ApiError


@dataclass(frozen=True)
class ServerLimits:
    # Request bodies. The project's stay under 100 KB: a prompt that fits 4,096 tokens, or an
    # embedding batch of a 200-villager run (201 beliefs of at most 150 characters).
    max_body_bytes: int = 4 << 20
    # All bodies being received or handled at once, over every connection: bounds the
    # memory that parallel uploads can pin (a body costs several times its size once parsed).
    max_inflight_body_bytes: int = 16 << 20
    # Connections. A run opens one per concurrent call (llm.concurrency, default 2).
    max_connections: int = 64
    idle_timeout_s: float = 30.0  # keep-alive connection with no request started
    header_timeout_s: float = 10.0  # from a request's first byte to the end of its headers
    body_timeout_s: float = 30.0  # to receive the whole body
    send_timeout_s: float = 60.0  # one write to a client that does not read
    # Work. A request ends after this long, queue wait included (the project's slowest
    # configs give the client 600 s per call).
    max_request_s: float = 900.0
    # num_predict: the largest a run config may ask for (GovSim lets a villager reason for up
    # to 8,000 tokens); the request time limit bounds the work a request can cause.
    max_predict: int = 32_768
    max_embed_inputs: int = 1024  # texts in one /api/embed request
    # JSON schemas of `format`. llama.cpp compiles them into a grammar whose cost grows
    # with the square of the alternatives open at one point: a 2,000-value enum takes 13 s
    # per request and 10,000 values over a minute on 2 cores, 256 values under 1 s. The
    # project's largest schema is a 201-value enum (a 200-villager punish choice), 1.3 KB.
    max_schema_bytes: int = 32 << 10
    max_schema_choices: int = 256  # members of one enum, anyOf, oneOf or allOf
    max_schema_depth: int = 32  # nested JSON objects and lists (the project's schemas: 5)


DEFAULT_LIMITS = ServerLimits()


class LimitCounts:
    """How often each limit refused or stopped something: for logs, tests and benchmarks."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, reason: str) -> None:
        with self._lock:
            self._counts[reason] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


class BodyBudget:
    """Bytes of request bodies held at once, over all connections."""

    def __init__(self) -> None:
        self._held = 0
        self._lock = threading.Lock()

    def take(self, n: int, limit: int) -> bool:
        """Hold ``n`` more bytes if the total stays within ``limit``."""
        with self._lock:
            if self._held + n > limit:
                return False
            self._held += n
            return True

    def give_back(self, n: int) -> None:
        with self._lock:
            self._held = max(0, self._held - n)

    @property
    def held(self) -> int:
        with self._lock:
            return self._held


_CHOICE_KEYS = ("enum", "anyOf", "oneOf", "allOf")


def check_schema(schema: dict[str, Any], limits: ServerLimits) -> None:
    """Refuse (HTTP 400) a ``format`` schema too large to compile into a grammar quickly."""
    size = len(json.dumps(schema, separators=(",", ":")))
    if size > limits.max_schema_bytes:
        raise ApiError(400, f"format schema is {size} bytes; this server accepts at most "
                            f"{limits.max_schema_bytes} bytes")
    # Iterative walk: a deeply nested schema must not reach Python's recursion limit.
    stack: list[tuple[Any, int]] = [(schema, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limits.max_schema_depth:
            raise ApiError(400, f"format schema nests deeper than {limits.max_schema_depth} levels")
        if isinstance(node, dict):
            for key in _CHOICE_KEYS:
                members = node.get(key)
                if isinstance(members, list) and len(members) > limits.max_schema_choices:
                    raise ApiError(400, f"format schema has a {key} of {len(members)} members; "
                                        f"this server accepts at most {limits.max_schema_choices}")
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)
