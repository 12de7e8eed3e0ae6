"""The run folder's ``calls.jsonl``: one JSON line per chat attempt and per embed call.

Lines are flushed and fsynced one by one, so a killed process loses at most the line it was
writing; reading ignores such a truncated last line, and reopening for append cuts it off so the
next line starts clean. That is what lets an interrupted run resume from its log.

Record fields (chat): kind="chat", agent, round, phase, attempt, model, schema, messages,
options, raw, clean, thinking, done_reason, parsed, error, prompt_tokens, answer_tokens,
latency_s, fallback, time. A chat attempt that never got an answer (the server failed on every
transport retry) is recorded with ``raw = null`` and ``transport_error``; replay skips it.
Embed: kind="embed", agent, round, phase, model, input, embeddings (as the server sent them),
prompt_tokens, latency_s, time.
Human (a human villager's answer, written by agents/human/answers.py): kind="human", agent,
round, phase, title, shown, fields, answer (null when the time ran out), timed_out, refusals,
seconds, timeout_s, time.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from agents.llm.errors import CallLogError

# Keys that could carry credentials are never written, whatever puts them in a record.
_SECRET_KEYS = {
    "authorization", "proxy-authorization", "api_key", "apikey", "x-api-key", "api-key",
    "password", "secret", "access_token", "token", "headers", "cookie",
}
# Secret values known to the process are also scrubbed from every string. Pattern-based
# scrubbing (e.g. "Bearer ...") is deliberately not done: it could alter a model's answer and
# break bit-for-bit replay, and the layer never puts headers or hosts into a record.
_SECRET_ENV = ("OLLAMA_API_KEY", "OPENAI_API_KEY")


class CallLog:
    """Append-only, thread-safe writer of ``calls.jsonl``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _drop_partial_last_line(self.path)
        self._file = open(self.path, "a", encoding="utf-8")
        self._lock = threading.Lock()
        self.lines = 0
        self._secrets = [v for name in _SECRET_ENV if len(v := os.environ.get(name, "")) >= 8]

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(self._redact(record), ensure_ascii=False, allow_nan=False)
        with self._lock:
            if self._file.closed:
                raise CallLogError(f"call log {self.path} is closed")
            self._file.write(line + "\n")
            self._file.flush()
            _sync(self._file.fileno())
            self.lines += 1

    def _redact(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: ("[redacted]" if str(k).lower() in _SECRET_KEYS else self._redact(v))
                for k, v in value.items()
            }
        if isinstance(value, (list, tuple)):
            return [self._redact(v) for v in value]
        if isinstance(value, str):
            for secret in self._secrets:
                value = value.replace(secret, "[redacted]")
            return value
        return value

    def add_secret(self, value: str) -> None:
        """Scrub ``value`` (e.g. an Authorization header's token) from every later line."""
        for part in {value, value.split(" ", 1)[-1]}:
            if len(part) >= 8 and part not in self._secrets:
                self._secrets.append(part)

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def __enter__(self) -> CallLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# fdatasync also persists the file size an append changed, which is all a reader needs.
_sync = getattr(os, "fdatasync", os.fsync)


def _drop_partial_last_line(path: Path) -> None:
    """Cut a line left unfinished by a killed writer, so appending starts on a fresh line."""
    if not path.exists():
        return
    with open(path, "rb+") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        # Walk back to the last newline (lines are small compared with the chunk).
        pos = size
        while pos > 0:
            step = min(65536, pos)
            f.seek(pos - step)
            chunk = f.read(step)
            nl = chunk.rfind(b"\n")
            if nl != -1:
                f.truncate(pos - step + nl + 1)
                return
            pos -= step
        f.truncate(0)


def read_calls(path: str | Path) -> list[dict[str, Any]]:
    """All records of a call log; a truncated last line (a killed writer) is ignored."""
    path = Path(path)
    if not path.is_file():
        raise CallLogError(f"call log not found: {path}")
    data = path.read_bytes()
    lines = data.split(b"\n")
    complete = data.endswith(b"\n")
    records = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        last = number == len(lines)
        try:
            record = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            if last and not complete:
                break  # the line in flight when the writer was killed
            raise CallLogError(f"{path}: line {number} is not a JSON record") from None
        if not isinstance(record, dict):
            raise CallLogError(f"{path}: line {number} is not a JSON object")
        records.append(record)
    return records
