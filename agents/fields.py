"""Bounded fields of the typed settings objects (run configs, LLM settings, sweep files).

A field's allowed range travels in its dataclass metadata, so the one loader in
``model/config.py`` checks every value of every settings object the same way.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any


def bounded(default: Any, lo: float | None = None, hi: float | None = None, doc: str = "") -> Any:
    """A dataclass field whose value must lie in [lo, hi] (either end may be open)."""
    return field(default=default, metadata={"range": (lo, hi), "doc": doc})
