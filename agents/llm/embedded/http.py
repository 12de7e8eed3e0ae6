"""HTTP plumbing of the embedded server: the threading server, the request handler, request
bodies, the NDJSON stream, and the limits that keep one client from holding the server.
What each path answers is in ``routes``.

Who may talk to it: the server binds 127.0.0.1 only, answers only requests whose ``Host`` is a
loopback name (a web page that re-points its own domain at 127.0.0.1, "DNS rebinding", sends
its own name), and serves browsers only from loopback origins, never with credentials.
"""

from __future__ import annotations

import json
import logging
import re
import select
import socket
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from agents.llm.embedded.limits import BodyBudget, LimitCounts, ServerLimits
from agents.llm.embedded.shapes import ApiError

if TYPE_CHECKING:
    from agents.llm.embedded.routes import OllamaApi
    from agents.llm.embedded.server import EmbeddedServer

log = logging.getLogger(__name__)

_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
_HOST = re.compile(r"^(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$", re.IGNORECASE)
_ORIGIN = re.compile(r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$", re.IGNORECASE)
_CHUNK_SIZE = re.compile(rb"^([0-9a-fA-F]{1,8})(;[^\r\n]*)?\r?\n$")
_REAP_EVERY_S = 0.25
_MAX_LINE = 65536


@dataclass
class _Watch:
    """What a connection is doing, and until when it may do it."""

    phase: str  # "idle", "headers", "body" or "busy" (answering: bounded by max_request_s)
    deadline: float | None
    expired: bool = False


class HttpServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for in-flight requests
    api: OllamaApi

    def __init__(self, address: tuple[str, int], handler: type, *, settings: EmbeddedServer):
        self.settings = settings
        self.budget = BodyBudget()
        self.stopping = False
        self._connections: dict[socket.socket, _Watch] = {}
        self._connections_lock = threading.Lock()
        self._reaper_stop = threading.Event()
        super().__init__(address, handler)
        self._reaper = threading.Thread(target=self._reap, name="ollama-embedded-reaper", daemon=True)
        self._reaper.start()

    @property
    def limits(self) -> ServerLimits:
        return self.settings.limits

    @property
    def counts(self) -> LimitCounts:
        return self.settings.counts

    @property
    def verbose(self) -> bool:
        return self.settings.verbose

    # -- connections

    def process_request(self, request: Any, client_address: Any) -> None:
        # Refused on the accepting thread, before a thread is spent on it.
        with self._connections_lock:
            full = len(self._connections) >= self.limits.max_connections
            if not full:
                self._connections[request] = _Watch("idle", None)
        if full:
            self.counts.add("connections")
            _refuse_raw(request, 503, f"too many connections (this server accepts "
                                      f"{self.limits.max_connections} at once)")
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def watch(self, conn: socket.socket, phase: str, timeout_s: float | None) -> _Watch | None:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._connections_lock:
            watch = self._connections.get(conn)
            if watch is not None:
                watch.phase, watch.deadline, watch.expired = phase, deadline, False
            return watch

    def forget(self, conn: socket.socket) -> None:
        with self._connections_lock:
            self._connections.pop(conn, None)

    def _reap(self) -> None:
        # One thread enforces every connection's deadline: a socket timeout alone would let a
        # client that sends one byte every few seconds hold a thread for ever.
        while not self._reaper_stop.wait(_REAP_EVERY_S):
            now = time.monotonic()
            with self._connections_lock:
                late = [(c, w) for c, w in self._connections.items()
                        if w.deadline is not None and now > w.deadline and not w.expired]
                for _, watch in late:
                    watch.expired = True
            for conn, watch in late:
                if watch.phase != "idle":
                    self.counts.add(f"{watch.phase}_timeout")
                _shut(conn)

    def close_idle_connections(self) -> None:
        # Keep-alive connections would hold their threads (and server_close) for ever. A
        # connection waiting for its next request is closed now; one in the middle of a
        # request finishes it, then closes (``stopping``).
        self.stopping = True
        with self._connections_lock:
            idle = [c for c, w in self._connections.items() if w.phase == "idle"]
        for conn in idle:
            _shut(conn)

    def server_close(self) -> None:
        super().server_close()  # joins the request threads, whose deadlines the reaper keeps
        self._reaper_stop.set()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver's default prints a traceback to stderr for every broken connection.
        log.warning("embedded server: connection from %s failed", client_address,
                    exc_info=log.isEnabledFor(logging.DEBUG))


def _shut(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _refuse_raw(conn: socket.socket, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    reason = HTTPStatus(status).phrase
    try:
        conn.settimeout(1.0)
        conn.sendall(b"HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                     % (status, reason.encode(), len(body), body))
    except OSError:
        pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and chunked streaming
    server_version = "commons-lab-embedded-ollama"
    server: HttpServer
    request_started: float = 0.0  # time.monotonic() when the current request's headers were read
    _cors_origin: str | None = None
    _held = 0  # body bytes this request holds from the server's budget

    def setup(self) -> None:
        self.timeout = self.server.limits.send_timeout_s  # each blocking read or write
        super().setup()

    def finish(self) -> None:
        self.server.forget(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            log.info("%s " + format, self.address_string(), *args)

    # -- one request

    def handle(self) -> None:
        self.close_connection = True
        try:
            self.handle_one_request()
            while not self.close_connection:
                self.handle_one_request()
        except OSError:  # reset, timed out or shut down by the reaper: nothing to answer
            self.close_connection = True

    def handle_one_request(self) -> None:
        server, limits = self.server, self.server.limits
        server.watch(self.connection, "idle", limits.idle_timeout_s)
        if not self.rfile.peek(1):  # the client closed, or stayed idle too long
            self.close_connection = True
            return
        watch = server.watch(self.connection, "headers", limits.header_timeout_s)
        self._cors_origin = None
        self.raw_requestline = self.rfile.readline(_MAX_LINE + 1)
        if len(self.raw_requestline) > _MAX_LINE:
            self.requestline = self.request_version = self.command = ""
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return
        if not self.parse_request():  # it answered 400, 414, 431 or 505 itself
            return
        if watch is not None and watch.expired:  # the headers were cut short
            self.close_connection = True
            return
        self.request_started = time.monotonic()
        server.watch(self.connection, "body", limits.body_timeout_s)
        method = getattr(self, "do_" + self.command, None)
        try:
            if method is None:
                self.close_connection = True
                self.send_json(405, {"error": f"method {self.command} is not allowed"})
            else:
                method()
            self.wfile.flush()
        finally:
            self._give_back_body()
            if server.stopping:
                self.close_connection = True

    def _refuse(self, counter: str | None, status: int, message: str) -> bool:
        """Answer ``status`` with ``message``, close the connection, count the refusal."""
        if counter is not None:
            self.server.counts.add(counter)
        self.close_connection = True
        self.send_json(status, {"error": message})
        return False

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # The standard library's errors (bad request line, too many headers...) as Ollama's
        # JSON, and the connection closed: after a framing error the next byte is unknowable.
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # unparsable line: answer as 1.0, with a status line
            self.request_version = "HTTP/1.0"
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = ""
        self.send_json(int(code), {"error": message or phrase})

    def end_headers(self) -> None:
        if self._cors_origin is not None:
            self.send_header("Access-Control-Allow-Origin", self._cors_origin)
            self.send_header("Vary", "Origin")
        if self.close_connection:
            self.send_header("Connection", "close")
        super().end_headers()

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        if not self._admitted():
            return
        if self.path.split("?")[0] == "/":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", "17")
            self.end_headers()
        else:
            self.send_json(404, {"error": "404 page not found"}, head_only=True)

    def do_OPTIONS(self) -> None:
        # A browser's preflight: answered for loopback origins only, and without
        # Access-Control-Allow-Credentials, so no cookie or login ever rides along.
        if not self._admitted():
            return
        self.send_response(204)
        self.send_header("Allow", "GET, POST, DELETE, HEAD, OPTIONS")
        if self._cors_origin is not None:
            self.send_header("Access-Control-Allow-Methods", "GET, POST, DELETE, HEAD, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", "Content-Type, Authorization, User-Agent, Accept")
            self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _admitted(self) -> bool:
        """Answer 400/403 and return False unless Host and Origin are loopback ones."""
        host = self.headers.get("Host")
        if host is None:
            if self.request_version != "HTTP/1.0":  # HTTP/1.1 requires it
                return self._refuse(None, 400, "the Host header is missing")
        elif not _HOST.match(host.strip()):
            return self._refuse("host", 403, f"Host {host[:100]!r} is not a loopback name; this "
                                             f"server answers to {', '.join(_LOOPBACK_NAMES)} only")
        origin = self.headers.get("Origin")
        if origin is not None:
            if not _ORIGIN.match(origin.strip()):
                return self._refuse("origin", 403,
                                    f"cross-origin requests from {origin[:100]!r} are not "
                                    "allowed; only loopback pages may use this server")
            self._cors_origin = origin.strip()
        return True

    def _dispatch(self) -> None:
        path = self.path.split("?")[0].rstrip("/") or "/"
        if not self._admitted():
            return
        try:
            body = self._read_body()
            self.server.watch(self.connection, "busy", None)
            if path == "/" and self.command == "GET":
                self._send_bytes(200, b"Ollama is running", "text/plain; charset=utf-8")
                return
            route = self.server.api.route(self.command, path)
            if self.command == "POST":
                if not body.strip():
                    raise ApiError(400, "missing request body")
                try:
                    parsed = json.loads(body)
                except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                    raise ApiError(400, f"invalid JSON in request body: {str(exc)[:200]}") from exc
                if not isinstance(parsed, dict):
                    raise ApiError(400, "the request body must be a JSON object")
            else:
                parsed = {}
            del body
            route(self, parsed)
        except ApiError as exc:
            self.send_json(exc.status, {"error": exc.message})
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # a bug here must not kill the connection silently
            log.exception("embedded server: %s %s failed", self.command, path)
            self.send_json(500, {"error": f"internal error: {exc}"})

    # -- request bodies

    def _read_body(self) -> bytes:
        """The body, within the limits; ApiError 400/411/413/503 (connection closed) if not."""
        encoding = self.headers.get_all("Transfer-Encoding") or []
        lengths = self.headers.get_all("Content-Length") or []
        if encoding:
            keep_alive, self.close_connection = not self.close_connection, True  # until read whole
            if lengths:
                raise ApiError(400, "a request must not have both Transfer-Encoding and Content-Length")
            if [e.strip().lower() for e in encoding] != ["chunked"]:
                raise ApiError(400, f"unsupported Transfer-Encoding {', '.join(encoding)!r}: "
                                    f"send a Content-Length or chunked")
            body = self._read_chunked()
            self.close_connection = not keep_alive
            return body
        if not lengths:
            return b""
        if len(set(v.strip() for v in lengths)) != 1 or not lengths[0].strip().isdigit() \
                or not lengths[0].strip().isascii():
            self.close_connection = True
            raise ApiError(400, f"invalid Content-Length {', '.join(lengths)[:60]!r}")
        length = int(lengths[0])
        if length == 0:
            return b""
        self._hold(length)
        body = self.rfile.read(length)
        if len(body) < length:  # the client left or was too slow; nobody to answer
            self.close_connection = True
            raise ConnectionResetError("request body cut short")
        return body

    def _read_chunked(self) -> bytes:
        parts = []
        while True:
            line = self.rfile.readline(_MAX_LINE + 1)
            match = _CHUNK_SIZE.match(line)
            if match is None:
                if not line:
                    raise ConnectionResetError("request body cut short")
                raise ApiError(400, f"invalid chunk size line {line[:40]!r}")
            size = int(match.group(1), 16)
            if size == 0:
                for _ in range(100):  # trailers, up to the blank line
                    if self.rfile.readline(_MAX_LINE + 1) in (b"\r\n", b"\n", b""):
                        return b"".join(parts)
                raise ApiError(400, "too many trailer lines")
            self._hold(size)
            chunk = self.rfile.read(size)
            if len(chunk) < size:
                raise ConnectionResetError("request body cut short")
            parts.append(chunk)
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise ApiError(400, "a chunk does not end with CRLF")

    def _hold(self, n: int) -> None:
        limits = self.server.limits
        if self._held + n > limits.max_body_bytes:
            self.close_connection = True
            self.server.counts.add("body_size")
            raise ApiError(413, f"request body too large: this server accepts at most "
                                f"{limits.max_body_bytes} bytes")
        if not self.server.budget.take(n, limits.max_inflight_body_bytes):
            self.close_connection = True
            self.server.counts.add("body_budget")
            raise ApiError(503, "the server is busy receiving other requests' data; retry shortly")
        self._held += n

    def _give_back_body(self) -> None:
        if self._held:
            self.server.budget.give_back(self._held)
            self._held = 0

    # -- answers

    def client_gone(self) -> bool:
        """True once the client has closed its end (checked while a request is generating)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _send_bytes(self, status: int, data: bytes, content_type: str, head_only: bool = False) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if not head_only:
                self.wfile.write(data)
        except OSError:
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
