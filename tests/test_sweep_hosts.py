"""Which host takes a sweep's next LLM run: fixed by position, or the least busy that answers."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import model.sweep.hosts as sweep_hosts
from model.sweep.hosts import HostPool, host_answers


class _Version(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ok = self.path in ("/api/version", "/v1/models")
        data = json.dumps({"version": "0.12.0"} if ok else {"error": "no"}).encode()
        self.send_response(200 if ok else 404)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def live():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Version)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def dead() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_fixed_assignment_is_by_plan_position():
    pool = HostPool(("a", "b", "c"), slots=1, mode="fixed")
    assert [pool.take(i) for i in (0, 1, 2)] == ["a", "b", "c"]
    with pytest.raises(LookupError):
        pool.take(3)  # run 3 belongs to "a", which is busy
    pool.release("a")
    assert pool.take(3) == "a"
    assert not pool.moves_runs


def test_available_assignment_takes_the_least_busy_host():
    pool = HostPool(("a", "b"), slots=2)
    assert [pool.take(i) for i in range(4)] == ["a", "b", "a", "b"]
    with pytest.raises(LookupError):
        pool.take(4)
    pool.release("b")
    assert pool.take(9) == "b"
    assert pool.moves_runs


def test_no_host_list_means_one_pool_of_slots():
    pool = HostPool((), slots=3)
    assert [pool.take(i) for i in range(3)] == [None, None, None]
    with pytest.raises(LookupError):
        pool.take(3)
    assert not pool.all_down() and not pool.moves_runs


def test_a_host_set_aside_comes_back_only_when_it_answers(live, monkeypatch):
    monkeypatch.setattr(sweep_hosts, "COOLDOWN_S", 0.0)
    gone = dead()
    assert host_answers(live, "ollama") and not host_answers(gone, "ollama")
    assert host_answers(live + "/v1", "openai")
    pool = HostPool((gone, live), slots=1)
    assert pool.take(0) == gone
    pool.release(gone)
    pool.set_aside(gone)
    assert pool.take(1) == live  # the only one left
    with pytest.raises(LookupError):
        pool.take(2)
    pool.refresh()  # its pause is over, but it does not answer: it stays aside
    assert gone in pool.down_until
    pool.release(live)
    pool.set_aside(live)
    assert pool.all_down()
    pool.refresh()
    assert not pool.all_down() and pool.take(3) == live
