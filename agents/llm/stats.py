"""Cumulative counters of the LLM layer, read by the scenarios' DataCollectors.

Only quantities that a replay reproduces exactly are counted here (attempts, tokens and latency
come from the call log on replay); transport retries are on the client, since a replay has none.
A model reads per-round figures as ``client.stats.since(previous_snapshot)``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields

from agents.llm.requests import Decision


def phase_group(phase: str) -> str:
    """Counters group "utterance:3" with "utterance": one column per kind of decision."""
    return phase.split(":", 1)[0]


@dataclass
class PhaseStats:
    decisions: int = 0  # decide() results
    calls: int = 0  # chat attempts (1 + retries per decision)
    prompt_tokens: int = 0
    cached_tokens: int = 0  # of prompt_tokens, read from the server's prefix cache (where told)
    answer_tokens: int = 0
    retries: int = 0
    fallbacks: int = 0  # decisions that used the request's fallback
    parse_failures: int = 0  # attempts whose answer was rejected
    embed_calls: int = 0
    embed_tokens: int = 0
    # Attempts and embed calls answered by the response cache (llm.cache) instead of a server.
    cache_hits: int = 0
    embed_cache_hits: int = 0
    latency_s: float = 0.0  # summed server time as recorded (chat and embed)

    def _add_decision(self, d: Decision) -> None:
        self.decisions += 1
        self.calls += d.attempts
        self.prompt_tokens += d.prompt_tokens
        self.cached_tokens += d.cached_tokens
        self.cache_hits += d.cache_hits
        self.answer_tokens += d.answer_tokens
        self.retries += d.retries
        self.fallbacks += int(d.fallback)
        self.parse_failures += d.parse_failures
        self.latency_s += d.latency_s

    def _add_embed(self, tokens: int, latency_s: float, cache_hit: bool) -> None:
        self.embed_calls += 1
        self.embed_tokens += tokens
        self.embed_cache_hits += int(cache_hit)
        self.latency_s += latency_s

    def totals(self) -> dict[str, int | float]:
        return {f.name: getattr(self, f.name) for f in fields(PhaseStats)}


@dataclass
class CallStats(PhaseStats):
    per_phase: dict[str, PhaseStats] = field(default_factory=dict)

    def add_decision(self, phase: str, decision: Decision) -> None:
        self._add_decision(decision)
        self.per_phase.setdefault(phase_group(phase), PhaseStats())._add_decision(decision)

    def add_embed(self, phase: str, tokens: int, latency_s: float, *,
                  cache_hit: bool = False) -> None:
        self._add_embed(tokens, latency_s, cache_hit)
        self.per_phase.setdefault(phase_group(phase), PhaseStats())._add_embed(
            tokens, latency_s, cache_hit)

    def snapshot(self) -> CallStats:
        return copy.deepcopy(self)

    def since(self, earlier: CallStats) -> CallStats:
        """The counts accumulated after ``earlier`` (a snapshot of this object)."""
        out = CallStats(**_diff(self, earlier))
        for name, now in self.per_phase.items():
            before = earlier.per_phase.get(name, PhaseStats())
            out.per_phase[name] = PhaseStats(**_diff(now, before))
        return out

    def as_row(self, prefix: str = "llm_") -> dict[str, int | float]:
        """Flat totals plus ``{prefix}{counter}_{phase}`` for every phase seen, for a table row."""
        row = {prefix + k: v for k, v in self.totals().items()}
        for name in sorted(self.per_phase):
            for k, v in self.per_phase[name].totals().items():
                row[f"{prefix}{k}_{name}"] = v
        return row


def _diff(now: PhaseStats, before: PhaseStats) -> dict[str, int | float]:
    return {f.name: getattr(now, f.name) - getattr(before, f.name) for f in fields(PhaseStats)}
