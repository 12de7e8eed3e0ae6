"""Which LLM server takes a sweep's next run.

"fixed": run i of the plan always goes to hosts[i % len(hosts)], whatever happens.
"available": the least busy host that answers takes the next run; a host whose run failed with
a server error is set aside, probed again after a pause, and the run moves on to another host,
continuing from its call log. With no host list, every run uses its own config's server.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx

from agents.llm.errors import display_host as _display_host

# A host set aside is probed again after this many seconds.
COOLDOWN_S = 15.0
PROBE_TIMEOUT_S = 3.0


def display_host(host: str | None) -> str | None:
    """A host address without any ``user:password@`` part, for logs and the sweep index."""
    return _display_host(host) if host else host


def host_answers(url: str, backend: str) -> bool:
    """True if an Ollama (``/api/version``) or OpenAI-compatible (``/models``) API answers."""
    path = "/models" if backend == "openai" else "/api/version"
    try:
        return httpx.get(url.rstrip("/") + path, timeout=PROBE_TIMEOUT_S).status_code < 500
    except httpx.HTTPError:
        return False


@dataclass
class HostPool:
    hosts: tuple[str, ...]
    slots: int  # concurrent runs per host (or in all, when there is no host list)
    mode: str = "available"
    backend: str = "ollama"
    busy: dict = field(default_factory=dict)
    down_until: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.busy = {h: 0 for h in self.keys}

    @property
    def keys(self) -> tuple:
        return self.hosts or (None,)

    @property
    def moves_runs(self) -> bool:
        """Whether a run whose server failed is tried again (on another host if there is one)."""
        return self.mode == "available" and bool(self.hosts)

    def take(self, plan_index: int):
        """A host with a free slot for run ``plan_index``; raise LookupError if none now."""
        if self.mode == "fixed" and self.hosts:
            candidates = [self.hosts[plan_index % len(self.hosts)]]
        else:
            candidates = sorted((h for h in self.keys if h not in self.down_until),
                                key=lambda h: self.busy[h])
        for host in candidates:
            if self.busy[host] < self.slots:
                self.busy[host] += 1
                return host
        raise LookupError("no free host")

    def release(self, host) -> None:
        self.busy[host] -= 1

    def set_aside(self, host) -> None:
        self.down_until[host] = time.monotonic() + COOLDOWN_S

    def refresh(self) -> None:
        """Probe hosts whose pause is over: those that answer come back, the others wait on."""
        now = time.monotonic()
        for host, until in list(self.down_until.items()):
            if until > now:
                continue
            if host_answers(host, self.backend):
                del self.down_until[host]
            else:
                self.down_until[host] = time.monotonic() + COOLDOWN_S

    def all_down(self) -> bool:
        return bool(self.hosts) and all(h in self.down_until for h in self.hosts)

    def next_probe_in(self) -> float:
        """Seconds until the first set-aside host is due for a probe."""
        now = time.monotonic()
        return max(0.0, min((t - now for t in self.down_until.values()), default=0.0))
