"""HTTP plumbing of the embedded server: the threading server, the request handler, request
bodies and the NDJSON stream. What each path answers is in ``routes``.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from agents.llm.embedded.shapes import ApiError

if TYPE_CHECKING:
    from agents.llm.embedded.routes import OllamaApi

log = logging.getLogger(__name__)

_MAX_BODY = 32 << 20


class HttpServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for in-flight requests
    api: OllamaApi
    verbose: bool = False

    def __init__(self, *args: Any, **kwargs: Any):
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            (self._connections.add if alive else self._connections.discard)(conn)

    def close_idle_connections(self) -> None:
        # Keep-alive connections would hold their threads (and server_close) forever.
        # Shutting down the read side ends a thread waiting for the next request; a thread
        # busy with a request still writes its answer, then finds no next request.
        with self._connections_lock:
            for conn in list(self._connections):
                try:
                    conn.shutdown(socket.SHUT_RD)
                except OSError:
                    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and chunked streaming
    server_version = "commons-lab-embedded-ollama"
    server: HttpServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, alive=True)

    def finish(self) -> None:
        self.server.track(self.connection, alive=False)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            log.info("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        if self.path.split("?")[0] == "/":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", "17")
            self.end_headers()
        else:
            self.send_json(404, {"error": "404 page not found"}, head_only=True)

    def _dispatch(self) -> None:
        path = self.path.split("?")[0].rstrip("/") or "/"
        try:
            body = self._read_body()
            if path == "/" and self.command == "GET":
                self._send_bytes(200, b"Ollama is running", "text/plain; charset=utf-8")
                return
            route = self.server.api.route(self.command, path)
            if self.command == "POST":
                if not body.strip():
                    raise ApiError(400, "missing request body")
                try:
                    parsed = json.loads(body)
                except (ValueError, UnicodeDecodeError) as exc:
                    raise ApiError(400, f"invalid JSON in request body: {exc}") from exc
                if not isinstance(parsed, dict):
                    raise ApiError(400, "the request body must be a JSON object")
            else:
                parsed = {}
            route(self, parsed)
        except ApiError as exc:
            self.send_json(exc.status, {"error": exc.message})
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # a bug here must not kill the connection silently
            log.exception("embedded server: %s %s failed", self.command, path)
            self.send_json(500, {"error": f"internal error: {exc}"})

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                total += size
                if total > _MAX_BODY:
                    raise ApiError(413, "request body too large")
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self.close_connection = True
            raise ApiError(413, "request body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _send_bytes(self, status: int, data: bytes, content_type: str, head_only: bool = False) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if not head_only:
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def send_json(self, status: int, payload: Any, head_only: bool = False) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self._send_bytes(status, data, "application/json; charset=utf-8", head_only)


class NdjsonStream:
    """Ollama's streaming answer: one JSON object per line, chunked transfer encoding.

    Headers go out with the first line, so an error found before any output (such as a
    prompt longer than the context) is still answered with a proper HTTP status.
    """

    def __init__(self, handler: Handler):
        self.h = handler
        self.started = False
        self.broken = False

    def send(self, payload: dict[str, Any]) -> bool:
        """Write one line; returns True once the client has gone away."""
        if self.broken:
            return True
        try:
            if not self.started:
                self.started = True
                self.h.send_response(200)
                self.h.send_header("Content-Type", "application/x-ndjson")
                self.h.send_header("Transfer-Encoding", "chunked")
                self.h.end_headers()
            line = json.dumps(payload, ensure_ascii=False).encode("utf-8") + b"\n"
            self.h.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.h.wfile.flush()
        except OSError:
            self.broken = True
            self.h.close_connection = True
        return self.broken

    def close(self) -> None:
        if self.started and not self.broken:
            try:
                self.h.wfile.write(b"0\r\n\r\n")
                self.h.wfile.flush()
            except OSError:
                self.h.close_connection = True
