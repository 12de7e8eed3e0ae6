"""An opt-in cache of server answers across runs (``llm.cache = "DIR"``), in one SQLite file.

A chat answer is stored under a hash of everything that decides it: the backend, the model (its
digest where the server lists one, else the server's address), the messages, the answer format
(schema or free text), the think switch and every sampling option, the per-call seed included.
A run that sends the very same request again (a rerun of a crashed grid, the shared first rounds
of two arms, a grid extended by one model) gets the stored answer without asking the server.
Embeddings are stored the same way, keyed on the model and the texts.

What is stored is what the server answered, whatever its parse outcome, so a cached run retries
and falls back exactly where the first run did. Answers the layer refused (a prompt cut by the
server, a failed transport) are never stored. The client records each hit in ``calls.jsonl``
(``"cache": "hit"``), so a run served from the cache replays and audits like any other.

Several processes (a sweep's workers) share one file: SQLite's write-ahead log lets them read
while one writes, and a write waits for a busy file instead of failing. A network file system
is not a safe place for the file (SQLite's locks are unreliable there).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from agents.llm.errors import LLMSetupError

log = logging.getLogger(__name__)

FILE_NAME = "responses.sqlite"
# Bumped when the key or the stored value changes meaning; older entries are then never hit.
KEY_VERSION = 1
_BUSY_TIMEOUT_S = 60.0


def request_key(kind: str, parts: dict[str, Any]) -> str:
    """A stable hash of a request: canonical JSON (sorted keys, no spaces) of its parts."""
    text = json.dumps({"v": KEY_VERSION, "kind": kind, **parts}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResponseCache:
    """The answers stored in ``DIR/responses.sqlite``; safe to share between threads."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder).expanduser()
        self.path = self.folder / FILE_NAME
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S,
                                       check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, kind TEXT NOT NULL, "
                "model TEXT NOT NULL, value TEXT NOT NULL, stored REAL NOT NULL)")
        except (OSError, sqlite3.Error) as err:
            raise LLMSetupError(
                f"llm.cache: cannot open the response cache {self.path} ({err}); give a "
                "writable folder on a local disk, or leave llm.cache unset") from None
        self._lock = threading.Lock()
        self.hits = 0
        self.stored = 0
        self.failures = 0  # reads or writes SQLite refused (a full disk, a lock held too long)

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored answer, or None. A read that fails is a miss (the server is asked), never
        the end of a run: the cache only saves work."""
        with self._lock:
            try:
                row = self._db.execute("SELECT value FROM answers WHERE key = ?",
                                       (key,)).fetchone()
            except sqlite3.Error as err:
                self._failed("read", err)
                return None
            if row is None:
                return None
            self.hits += 1
        return json.loads(row[0])

    def put(self, key: str, kind: str, model: str, value: dict[str, Any]) -> None:
        """Store ``value`` unless the key is there already (the first answer stays)."""
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        with self._lock:
            try:
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO answers (key, kind, model, value, stored) "
                    "VALUES (?, ?, ?, ?, ?)", (key, kind, model, text, round(time.time(), 3)))
            except sqlite3.Error as err:
                self._failed("write", err)
                return
            self.stored += cur.rowcount

    def _failed(self, what: str, err: sqlite3.Error) -> None:
        self.failures += 1
        if self.failures == 1:  # one warning per run, every failure counted
            log.warning("the response cache %s could not %s an answer (%s); the run goes on "
                        "asking the server", self.path, what, err)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
