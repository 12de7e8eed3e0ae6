"""The embedded server stays up under hostile or careless requests.

Each test drives the session's real server with the official ``ollama`` client or with raw
sockets on 127.0.0.1. Limits that would take long to reach at their production values are
tightened on the running server for the test (``tightened``) and restored after it.

Real LLM calls in this file: 2 requests cancelled after about a second, 2 stopped by a 2 s
time limit, 3 short answers (4 tokens) to show the server answers at once afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import threading
import time

import httpx
import ollama
import pytest

from agents.govsim.schemas import harvest_schema, limit_schema, notes_schema, summary_schema, utterance_schema
from agents.llm.embedded.limits import DEFAULT_LIMITS, check_schema
from agents.llm.embedded.shapes import ApiError
from agents.norms.schemas import (EffortAnswer, belief_schema, propose_schema, punish_schema,
                                  vote_schema)

CHAT = "smollm2:135m"
HELLO = [{"role": "user", "content": "Say hello."}]
# An answer the grammar cannot end early: about 3,000 tokens, over a minute of generation.
ENDLESS = {"type": "array", "items": {"type": "integer"}, "minItems": 1500}
ENDLESS_PREDICT = 2000


@contextlib.contextmanager
def tightened(server, **changes):
    old = server.limits
    server.limits = dataclasses.replace(old, **changes)
    try:
        yield server.limits
    finally:
        server.limits = old


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _status(reply: bytes) -> int:
    first = reply.split(b"\r\n", 1)[0].split()
    assert first[:1] and first[0].startswith(b"HTTP/1."), reply[:200]
    return int(first[1])


def _raw(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send ``data`` on a new connection; everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    return reply


def _one_response(s: socket.socket) -> bytes:
    """One whole response with a Content-Length, read off a connection that stays open."""
    reply = b""
    while b"\r\n\r\n" not in reply:
        reply += s.recv(4096)
    head, body = reply.split(b"\r\n\r\n", 1)
    length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
    while len(body) < length:
        body += s.recv(4096)
    return reply


def _quick_hello(client: ollama.Client) -> float:
    started = time.monotonic()
    reply = client.chat(model=CHAT, messages=HELLO, options={"num_predict": 4, "seed": 1})
    assert reply.done
    return time.monotonic() - started


@pytest.fixture()
def patient_client(ollama_host):
    # A client that gives up after 25 s: on a server without these limits the requests
    # below would hold it for minutes.
    with ollama.Client(host=ollama_host, timeout=httpx.Timeout(25.0, connect=5.0)) as client:
        yield client


# --- answer formats and work -------------------------------------------------------------


def test_the_projects_own_schemas_pass_the_bounds():
    names = tuple(f"Villager{i}" for i in range(20))
    schemas = [EffortAnswer, propose_schema(450), belief_schema(450), vote_schema(450),
               punish_schema(tuple(str(i) for i in range(200)) + ("none",)),  # 200 villagers
               harvest_schema(100, 300), utterance_schema(names, 300), summary_schema(200),
               limit_schema(100, 300), notes_schema(160)]
    sizes = []
    for schema in schemas:
        as_json = schema.model_json_schema()
        check_schema(as_json, DEFAULT_LIMITS)
        sizes.append(len(json.dumps(as_json, separators=(",", ":"))))
    limits = DEFAULT_LIMITS
    assert max(sizes) * 10 < limits.max_schema_bytes
    for schema, needle in [
        ({"type": "string", "enum": [str(i) for i in range(limits.max_schema_choices + 1)]}, "enum of 257"),
        ({"anyOf": [{"const": i} for i in range(1000)]}, "anyOf of 1000"),
        ({"type": "string", "enum": ["x" * 200] * 200}, "bytes"),
    ]:
        with pytest.raises(ApiError, match=needle) as err:
            check_schema(schema, limits)
        assert err.value.status == 400
    nested: dict = {"type": "integer"}
    for _ in range(40):
        nested = {"type": "array", "items": nested}
    with pytest.raises(ApiError, match="nests deeper"):
        check_schema(nested, limits)
    print(f"\nlimits: the project's 10 answer schemas are {min(sizes)}-{max(sizes)} bytes "
          f"(limit {limits.max_schema_bytes}); enum/anyOf/oneOf/allOf over "
          f"{limits.max_schema_choices} members and nesting over {limits.max_schema_depth} refused")


@pytest.mark.llm
def test_a_schema_too_large_to_compile_is_refused_at_once(patient_client):
    cases = {
        "a 10,000-value enum": {"type": "string", "enum": [f"v{i}" for i in range(10_000)]},
        "an anyOf of 5,000": {"anyOf": [{"const": f"v{i}"} for i in range(5_000)]},
    }
    timings = []
    for label, schema in cases.items():
        started = time.monotonic()
        with pytest.raises(ollama.ResponseError) as err:
            patient_client.chat(model=CHAT, messages=HELLO, format=schema, options={"num_predict": 8})
        timings.append(time.monotonic() - started)
        assert err.value.status_code == 400, label
        assert "this server accepts at most" in err.value.error, err.value.error
    hello_s = _quick_hello(patient_client)  # nothing was left running
    assert max(timings) < 5
    print(f"\nlimits: {' and '.join(cases)} refused (400) in {max(timings):.2f} s; the next "
          f"chat answered in {hello_s:.1f} s")


def test_num_predict_above_the_cap_is_refused(patient_client):
    with pytest.raises(ollama.ResponseError) as err:
        patient_client.chat(model=CHAT, messages=HELLO, options={"num_predict": 10**9})
    assert err.value.status_code == 400
    assert f"limit of {DEFAULT_LIMITS.max_predict} tokens" in err.value.error


def _open_endless_chat(port: int, stream: bool) -> socket.socket:
    body = json.dumps({"model": CHAT, "messages": HELLO, "format": ENDLESS, "stream": stream,
                       "options": {"num_predict": ENDLESS_PREDICT, "seed": 2}}).encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    return s


@pytest.mark.llm
@pytest.mark.parametrize("stream", [False, True])
def test_a_client_that_leaves_stops_its_generation(embedded_server, patient_client, stream):
    before = embedded_server.counts.snapshot().get("cancelled", 0)
    s = _open_endless_chat(_port(embedded_server.url), stream)
    if stream:
        assert s.recv(4096).startswith(b"HTTP/1.1 200")  # generating
    else:
        time.sleep(1.5)  # generating (prompt read, first tokens out)
    s.close()
    # Without cancellation the next request waits behind ~3,000 tokens (over a minute).
    hello_s = _quick_hello(patient_client)
    assert hello_s < 20
    deadline = time.monotonic() + 10
    while embedded_server.counts.snapshot().get("cancelled", 0) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert embedded_server.counts.snapshot().get("cancelled", 0) == before + 1
    print(f"\nlimits: a {'streaming' if stream else 'non-streaming'} client that left mid-answer "
          f"(asked for {ENDLESS_PREDICT} tokens) freed the slot; the next chat answered in {hello_s:.1f} s")


@pytest.mark.llm
def test_a_request_past_the_time_limit_is_stopped(embedded_server, patient_client):
    with tightened(embedded_server, max_request_s=2.0):
        started = time.monotonic()
        with pytest.raises(ollama.ResponseError) as err:
            patient_client.chat(model=CHAT, messages=HELLO, format=ENDLESS,
                                options={"num_predict": ENDLESS_PREDICT})
        plain_s = time.monotonic() - started
        assert err.value.status_code == 503 and "limit of 2 s" in err.value.error
        with pytest.raises(ollama.ResponseError) as err:
            for _ in patient_client.chat(model=CHAT, messages=HELLO, format=ENDLESS, stream=True,
                                         options={"num_predict": ENDLESS_PREDICT}):
                pass
        assert "limit of 2 s" in err.value.error
    assert plain_s < 15
    assert embedded_server.counts.snapshot().get("timed_out", 0) >= 2
    print(f"\nlimits: a {ENDLESS_PREDICT}-token request under a 2 s limit stopped after "
          f"{plain_s:.1f} s (503; a stream ends with an error line)")


# --- bodies and connections --------------------------------------------------------------


def test_request_bodies_are_bounded_one_by_one_and_in_total(embedded_server, patient_client):
    port = _port(embedded_server.url)
    kib = 1024
    with tightened(embedded_server, max_body_bytes=64 * kib, max_inflight_body_bytes=128 * kib):
        with pytest.raises(ollama.ResponseError) as err:  # one body over the limit
            patient_client.chat(model=CHAT, messages=[{"role": "user", "content": "x" * 100 * kib}])
        assert err.value.status_code == 413
        # Two uploads in progress hold 120 KiB of the 128 KiB budget ...
        head = b"POST /api/show HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % (60 * kib)
        holders = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
        for s in holders:
            s.sendall(head + b"{")
        time.sleep(0.5)
        # ... so a third is refused before its body is read, and the server says why.
        refused = _raw(port, head)
        assert _status(refused) == 503 and b"busy receiving" in refused
        for s in holders:
            s.close()
        time.sleep(0.5)
        body = json.dumps({"model": CHAT, "pad": "x" * (60 * kib - 40)}).encode()
        done = _raw(port, b"POST /api/show HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                          b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        assert _status(done) == 200  # the budget was given back
    counts = embedded_server.counts.snapshot()
    assert counts.get("body_size", 0) >= 1 and counts.get("body_budget", 0) >= 1
    print("\nlimits: a body over max_body_bytes is refused with 413; an upload beyond the "
          "in-flight budget with 503 before it is read; the budget is returned when uploads end")


def test_connections_are_capped_and_half_sent_requests_time_out(embedded_server):
    port = _port(embedded_server.url)
    with tightened(embedded_server, max_connections=8, header_timeout_s=2.0, idle_timeout_s=1.5):
        opened = []
        opened_at = time.monotonic()  # before the first: on a busy machine opening takes a while
        for _ in range(12):  # half-sent requests: headers never finished
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            opened.append(s)
        time.sleep(0.5)
        held, refused = [], 0
        for s in opened:
            s.settimeout(0.05)
            try:
                reply = s.recv(4096)
            except TimeoutError:
                held.append(s)
                continue
            except ConnectionResetError:  # refused, our unread headers turned the close into a reset
                reply = b"HTTP/1.1 503 too many connections"
            assert _status(reply) == 503 and b"too many connections" in reply
            refused += 1
            s.close()
        closed_s = 0.0
        for s in held:  # the server closes each at the header deadline
            s.settimeout(5)
            try:
                reply = s.recv(4096)
            except ConnectionResetError:  # a refusal that came late (a busy accepting thread)
                reply = b"HTTP/1.1 503 too many connections"
            s.close()
            if reply:
                assert _status(reply) == 503
                refused += 1
                continue
            closed_s = time.monotonic() - opened_at
        # A keep-alive connection left idle is closed too.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert _status(_one_response(s)) == 200
            idle_started = time.monotonic()
            assert s.recv(4096) == b""
            idle_s = time.monotonic() - idle_started
    assert refused >= 4 and 12 - refused <= 8
    assert 1.5 < closed_s < 5 and 1.0 < idle_s < 4
    assert httpx.get(f"{embedded_server.url}/api/version", timeout=10).status_code == 200
    print(f"\nlimits: with room for 8 connections, {refused} of 12 half-sent requests refused at once "
          f"(503), the rest closed {closed_s:.1f} s after they opened (header deadline 2 s); an idle "
          f"keep-alive connection closed after {idle_s:.1f} s")


# --- framing -----------------------------------------------------------------------------

_H = b"Host: 127.0.0.1\r\n"
MALFORMED = {
    "Content-Length not a number": b"POST /api/chat HTTP/1.1\r\n" + _H + b"Content-Length: abc\r\n\r\n",
    "negative Content-Length": b"POST /api/chat HTTP/1.1\r\n" + _H + b"Content-Length: -5\r\n\r\n{}",
    "two Content-Lengths": b"POST /api/chat HTTP/1.1\r\n" + _H + b"Content-Length: 2\r\nContent-Length: 5\r\n\r\n{}",
    "bad chunk size": b"POST /api/chat HTTP/1.1\r\n" + _H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "gzip transfer coding": b"POST /api/chat HTTP/1.1\r\n" + _H + b"Transfer-Encoding: gzip\r\n\r\n",
    "chunked and a length": b"POST /api/chat HTTP/1.1\r\n" + _H
    + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    "a TLS handshake": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    "one word": b"HELLO\r\n\r\n",
    "unknown method": b"BREW /api/chat HTTP/1.1\r\n" + _H + b"\r\n",
}


def test_malformed_framing_is_a_4xx_with_a_json_error(ollama_host):
    port = _port(ollama_host)
    for label, request in MALFORMED.items():
        reply = _raw(port, request)
        assert 400 <= _status(reply) < 500, (label, reply[:300])
        assert "error" in json.loads(reply.split(b"\r\n\r\n", 1)[1]), label
    # A well-formed chunked body is still read.
    body = json.dumps({"model": CHAT}).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    reply = _raw(port, b"POST /api/show HTTP/1.1\r\n" + _H + b"Connection: close\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n" + chunked)
    assert _status(reply) == 200
    print(f"\nlimits: {len(MALFORMED)} kinds of malformed framing answered 400/405 with a JSON "
          "error, never 500")


def test_concurrent_limits_leave_the_models_answering(patient_client, embedded_server):
    # After the tests above, and with junk arriving meanwhile, a normal call still works.
    port = _port(embedded_server.url)
    junk = [threading.Thread(target=_raw, args=(port, request)) for request in MALFORMED.values()]
    for t in junk:
        t.start()
    hello_s = _quick_hello(patient_client)
    for t in junk:
        t.join()
    assert hello_s < 20
