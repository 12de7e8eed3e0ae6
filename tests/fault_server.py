"""A small deterministic Ollama-API server for the reliability tests' fault paths.

Run as a process: ``python tests/fault_server.py PORT [--mode ok|hang|500|drop] [--die-after N]``.
It listens on 127.0.0.1 over real HTTP and prints ``ready`` once it accepts connections.

- ``ok``: every chat answer is a JSON value valid for the requested ``format`` schema, derived
  from a hash of the request (same request, same answer), so runs are cheap and repeatable.
  Embeddings are hash-derived vectors. It also speaks the OpenAI-compatible routes
  (``/v1/models``, ``/v1/chat/completions``, ``/v1/embeddings``) and writes the Authorization
  header it received to ``--auth-file``, so a test can prove a key was really sent.
- ``hang``: chat requests are accepted and never answered.
- ``500``: chat requests get HTTP 500.
- ``drop``: chat requests get the status line, headers and half a body, then the connection closes.
- ``notjson``, ``list``, ``400``: chat requests get a 200 whose body is not JSON, a 200 whose body
  is a JSON list, or HTTP 400 with an error.
- ``huge``: every chat answer is 20 MB of text.
- ``nan-embed``: embeddings hold NaN.
- ``--die-after N``: after answering N chat requests the process SIGKILLs itself on the next one,
  in the middle of a call, as a crashed server would.

This is a fake: it exists only because a real model cannot be made to die, hang or misbehave on
demand, and real calls for dozens of runs would not fit the test budget. Real-model behaviour is
tested against the embedded server.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODELS = ("smollm2:135m", "all-minilm")
DIMS = 8


def value_for(schema: dict, rng: random.Random, defs: dict) -> object:
    """A value valid for a (pydantic-generated) JSON schema."""
    if "$ref" in schema:
        return value_for(defs[schema["$ref"].rsplit("/", 1)[-1]], rng, defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return value_for(rng.choice(schema[key]), rng, defs)
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = rng.choice(kind)
    if kind == "object":
        return {name: value_for(sub, rng, defs) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        lo, hi = schema.get("minItems", 0), min(schema.get("maxItems", 3), 3)
        return [value_for(schema.get("items", {}), rng, defs) for _ in range(rng.randint(lo, max(lo, hi)))]
    if kind in ("integer", "number"):
        # Small numbers: a hash-driven villager takes a modest share, so runs last their months.
        lo = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        hi = schema.get("maximum", schema.get("exclusiveMaximum", lo + 11) - 1)
        lo_i = int(lo) if lo == int(lo) else int(lo) + 1
        n = rng.randint(lo_i, max(lo_i, min(int(hi), lo_i + 10)))
        return n if kind == "integer" else float(n)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    words = ["fish", "lake", "share", "rest", "gently", "ten", "tons", "each", "we", "agree"]
    lo, hi = schema.get("minLength", 0), schema.get("maxLength", 60)
    text = " ".join(rng.choice(words) for _ in range(12))
    while len(text) < lo:
        text += " fish"
    return text[: max(lo, min(hi, rng.randint(max(lo, 1), max(lo, 1, hi))))].strip().ljust(lo, "x")


def _rng(body: dict) -> random.Random:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def answer_text(body: dict, schema: dict | None) -> str:
    rng = _rng(body)
    if not schema:
        return "fish gently"
    return json.dumps(value_for(schema, rng, schema.get("$defs", {})))


def vectors(texts: list[str]) -> list[list[float]]:
    out = []
    for t in texts:
        digest = hashlib.sha256(t.encode()).digest()
        out.append([b / 255 - 0.5 for b in digest[:DIMS]])
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms stalls
    server: "FaultServer"

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, obj: dict) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict:
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def do_GET(self) -> None:
        self._record_auth()
        if self.path == "/api/version":
            return self._send(200, {"version": "0.0.0-fault"})
        if self.path == "/api/tags":
            return self._send(200, {"models": [{"name": m, "model": m, "size": 1,
                                                "modified_at": "2026-01-01T00:00:00Z",
                                                "digest": "0" * 64, "details": {}} for m in MODELS]})
        if self.path == "/v1/models":
            return self._send(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in MODELS]})
        self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        self._record_auth()
        body = self._body()
        if self.path in ("/api/embed", "/v1/embeddings"):
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            if self.path == "/api/embed":
                if self.server.mode == "nan-embed":
                    return self._send(200, {"model": body["model"], "prompt_eval_count": 1,
                                            "embeddings": [[float("nan")] * DIMS for _ in texts]})
                return self._send(200, {"model": body["model"], "embeddings": vectors(texts),
                                        "prompt_eval_count": 3 * len(texts)})
            return self._send(200, {"object": "list", "model": body["model"],
                                    "data": [{"object": "embedding", "index": i, "embedding": v}
                                             for i, v in enumerate(vectors(texts))],
                                    "usage": {"prompt_tokens": 3 * len(texts), "total_tokens": 3 * len(texts)}})
        if self.path not in ("/api/chat", "/v1/chat/completions"):
            return self._send(404, {"error": "not found"})
        self.server.chats_arrived()
        mode = self.server.mode
        if mode == "hang":
            time.sleep(3600)
            return
        if mode == "500":
            return self._send(500, {"error": "internal error"})
        if mode == "400":
            return self._send(400, {"error": "bad request"})
        if mode in ("notjson", "list"):
            data = b"<html>busy</html>" if mode == "notjson" else b'[1, 2, 3]'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if mode == "huge":
            return self._send(200, {"model": body["model"], "created_at": "2026-01-01T00:00:00Z",
                                    "message": {"role": "assistant", "content": "x" * (20 << 20)},
                                    "done": True, "done_reason": "stop",
                                    "prompt_eval_count": 40, "eval_count": 10})
        if mode == "drop":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "400")
            self.end_headers()
            self.wfile.write(b'{"model": "smollm2:135m", "message": {"role": "assi')
            self.wfile.flush()
            self.close_connection = True
            return
        if self.path == "/api/chat":
            fmt = body.get("format")
            text = answer_text(body, fmt if isinstance(fmt, dict) else None)
            return self._send(200, {"model": body["model"], "created_at": "2026-01-01T00:00:00Z",
                                    "message": {"role": "assistant", "content": text},
                                    "done": True, "done_reason": "stop",
                                    "prompt_eval_count": 40, "eval_count": 10})
        fmt = (body.get("response_format") or {}).get("json_schema", {}).get("schema")
        text = answer_text(body, fmt)
        return self._send(200, {"id": "x", "object": "chat.completion", "created": 0,
                                "model": body["model"],
                                "choices": [{"index": 0, "finish_reason": "stop",
                                             "message": {"role": "assistant", "content": text}}],
                                "usage": {"prompt_tokens": 40, "completion_tokens": 10,
                                          "total_tokens": 50}})

    def _record_auth(self) -> None:
        auth = self.headers.get("Authorization")
        if auth and self.server.auth_file:
            with open(self.server.auth_file, "a", encoding="utf-8") as f:
                f.write(auth + "\n")


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, mode: str, die_after: int | None, auth_file: str | None):
        super().__init__(("127.0.0.1", port), Handler)
        self.mode, self.die_after, self.auth_file = mode, die_after, auth_file
        self.chats = 0
        self._lock = threading.Lock()

    def chats_arrived(self) -> None:
        with self._lock:
            self.chats += 1
            if self.die_after is not None and self.chats > self.die_after:
                os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("--mode", default="ok", choices=("ok", "hang", "500", "drop", "400", "notjson", "list", "huge", "nan-embed"))
    p.add_argument("--die-after", type=int, default=None)
    p.add_argument("--auth-file", default=None)
    args = p.parse_args()
    server = FaultServer(args.port, args.mode, args.die_after, args.auth_file)
    print("ready", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
