"""Every error path of the LLM layer gives one clear line, and the right one.

Unreachable servers and dropped connections use real sockets; server-side failures that a real
server cannot produce on demand (timeouts, HTTP 500, context refusals) are scripted through
``httpx.MockTransport`` under the real ``ollama`` client.
"""

from __future__ import annotations

import logging
import socket
import threading

import httpx
import pytest

from agents.llm.call_log import CallLog, read_calls
from agents.llm.client import LLMClient
from agents.llm.errors import (
    CallLogError,
    LLMContextError,
    LLMError,
    LLMSetupError,
    LLMUnavailableError,
    ReplayMissError,
)
from agents.llm.host import normalise_host, open_llm_host, resolve_host
from agents.llm.replay import ReplaySource
from llm_fakes import FALLBACK, MODEL, FakeOllama, config, effort_request

GOOD = '{"effort": 0.3, "reason": "steady"}'


def fast(client: LLMClient) -> LLMClient:
    client.backoff_s = (0.0,)
    return client


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text
    return text


# -- unreachable -----------------------------------------------------------------------------


def test_unreachable_server_names_host_and_both_ways_out() -> None:
    host = f"http://127.0.0.1:{closed_port()}"
    with LLMClient(config(host=host)) as client:
        with pytest.raises(LLMSetupError) as setup:
            client.check_models([MODEL])
        with pytest.raises(LLMSetupError) as during_run:
            client.decide(effort_request())
    for err in (setup.value, during_run.value):
        text = one_line(err)
        assert text == (
            f"cannot reach an Ollama server at {host}: start `ollama serve`, "
            'or set llm.backend = "embedded" to use the built-in server'
        )


def test_unreachable_message_hides_credentials() -> None:
    host = f"http://user:s3cretpass@127.0.0.1:{closed_port()}"
    with LLMClient(config(host=host)) as client, pytest.raises(LLMSetupError) as err:
        client.check_models([MODEL])
    assert "s3cretpass" not in str(err.value) and "127.0.0.1" in str(err.value)


def test_open_llm_host_checks_a_configured_ollama() -> None:
    cfg = config(host=f"127.0.0.1:{closed_port()}", backend="ollama")
    with pytest.raises(LLMSetupError, match="cannot reach an Ollama server"):
        with open_llm_host(cfg):
            pass
    with open_llm_host(config(backend="replay", replay_log="x.jsonl")) as url:
        assert url is None


# -- models not pulled -------------------------------------------------------------------------


def test_missing_model_names_the_pull_command() -> None:
    fake = FakeOllama(models=(MODEL,))
    with LLMClient(config(), transport=fake.transport()) as client:
        client.check_models([MODEL])
        with pytest.raises(LLMSetupError, match="run `ollama pull smollm2`"):
            client.check_models(["smollm2"])  # that is smollm2:latest, not smollm2:135m
    fake = FakeOllama(models=(MODEL, "llama3.2:latest"))
    with LLMClient(config(), transport=fake.transport()) as client:
        client.check_models(["llama3.2", MODEL])
        with pytest.raises(LLMSetupError) as one:
            client.check_models([MODEL, "qwen3:8b"])
        with pytest.raises(LLMSetupError) as two:
            client.check_models(["qwen3:8b", "all-minilm"])
    assert one_line(one.value) == (
        "model qwen3:8b is not pulled at http://ollama.test:11434: run `ollama pull qwen3:8b`"
    )
    assert "run `ollama pull qwen3:8b && ollama pull all-minilm`" in one_line(two.value)


def test_missing_model_during_a_call() -> None:
    fake = FakeOllama(models=("other:1b",))
    with LLMClient(config(), transport=fake.transport()) as client:
        with pytest.raises(LLMSetupError, match=r"run `ollama pull smollm2:135m`"):
            client.decide(effort_request())
        with pytest.raises(LLMSetupError, match=r"run `ollama pull all-minilm`"):
            client.embed(["a"], round=0, phase="norms")


# -- timeouts, 5xx, dropped connections ---------------------------------------------------------


def test_timeout_is_retried_then_succeeds() -> None:
    def chat(body: dict, n: int):
        if n < 2:
            raise httpx.ReadTimeout("timed out")
        return GOOD

    fake = FakeOllama(chat)
    with fast(LLMClient(config(), transport=fake.transport())) as client:
        decision = client.decide(effort_request())
    assert not decision.fallback and decision.attempts == 1
    assert client.transport_retry_count == 2 and fake.chat_count == 3
    assert client.stats.calls == 1 and client.stats.retries == 0  # transport retries are not answers


def test_persistent_timeout_raises_unavailable_and_is_recorded(tmp_path, caplog) -> None:
    def chat(body: dict, n: int):
        raise httpx.ReadTimeout("timed out")

    fake = FakeOllama(chat)
    with CallLog(tmp_path / "calls.jsonl") as log:
        client = fast(LLMClient(config(), transport=fake.transport(), call_log=log))
        with client, pytest.raises(LLMUnavailableError) as err:
            client.decide(effort_request(agent=3, round=7))
    assert fake.chat_count == client.transport_retries + 1 == 3
    assert "failed a chat call for smollm2:135m 3 times (last: ReadTimeout: timed out)" in one_line(err.value)
    assert "can be resumed" in str(err.value)
    assert sum("retrying" in r.getMessage() for r in caplog.records) == 2
    [record] = read_calls(tmp_path / "calls.jsonl")
    assert record["raw"] is None and "ReadTimeout" in record["transport_error"]
    # An attempt that never got an answer is not served on resume: it goes live again.
    assert ReplaySource([record], strict=False).chat(3, 7, "effort", 0) is None


def test_http_500_is_retried_then_raises_unavailable() -> None:
    fake = FakeOllama(lambda body, n: httpx.Response(500, json={"error": "llama runner crashed"}))
    with fast(LLMClient(config(), transport=fake.transport())) as client:
        with pytest.raises(LLMUnavailableError, match=r"HTTP 500: llama runner crashed"):
            client.decide(effort_request())
    assert fake.chat_count == 3

    fake = FakeOllama(lambda body, n: httpx.Response(503, text="busy") if n == 0 else GOOD)
    with fast(LLMClient(config(), transport=fake.transport())) as client:
        assert client.decide(effort_request()).value.effort == 0.3


def test_other_http_errors_are_not_retried() -> None:
    fake = FakeOllama(lambda body, n: httpx.Response(400, json={"error": "invalid format schema"}))
    with fast(LLMClient(config(), transport=fake.transport())) as client:
        with pytest.raises(LLMError, match="invalid format schema") as err:
            client.decide(effort_request())
    assert type(err.value) is LLMError and fake.chat_count == 1


class DroppingServer:
    """A real TCP server that accepts each connection and closes it without answering."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.recv(65536)
            conn.close()

    def close(self) -> None:
        self.sock.close()


def test_closed_connection_is_retried_then_raises_unavailable() -> None:
    server = DroppingServer()
    try:
        with fast(LLMClient(config(host=server.url))) as client:
            with pytest.raises(LLMUnavailableError, match="RemoteProtocolError"):
                client.decide(effort_request())
    finally:
        server.close()
    assert server.accepted == 3


# -- context length -------------------------------------------------------------------------


def test_over_long_prompt_is_refused_before_any_request() -> None:
    fake = FakeOllama()
    long_prompt = [{"role": "user", "content": "The lake holds fish. " * 2000}]  # ~42 kB
    with LLMClient(config(num_ctx=2048), transport=fake.transport()) as client:
        with pytest.raises(LLMContextError) as err:
            client.decide(effort_request(messages=long_prompt))
    assert fake.chat_count == 0
    assert one_line(err.value).startswith("prompt of ~10504 tokens exceeds num_ctx=2048 for smollm2:135m")


def test_prompt_that_fits_is_sent() -> None:
    fake = FakeOllama()
    fits = [{"role": "user", "content": "x" * 4000}]  # ~1000 tokens < 2048
    with LLMClient(config(num_ctx=2048), transport=fake.transport()) as client:
        assert not client.decide(effort_request(messages=fits)).fallback


def test_server_context_refusal_becomes_context_error() -> None:
    refusal = httpx.Response(
        400, json={"error": "the request exceeds the available context size, try increasing it"}
    )
    fake = FakeOllama(lambda body, n: refusal)
    with LLMClient(config(), transport=fake.transport()) as client:
        with pytest.raises(LLMContextError, match="too long for num_ctx=2048: the request exceeds"):
            client.decide(effort_request())
    assert fake.chat_count == 1


# -- answers that fail validation -------------------------------------------------------------


def test_cut_off_answer_is_retried_with_the_reason() -> None:
    fake = FakeOllama(lambda body, n: ('{"effort": 0.3, "reas', "length") if n == 0 else GOOD)
    with LLMClient(config(num_predict=48), transport=fake.transport()) as client:
        decision = client.decide(effort_request())
    assert decision.attempts == 2 and not decision.fallback
    assert client.stats.parse_failures == 1 and client.stats.retries == 1
    feedback = fake.chat_bodies[1]["messages"][-1]["content"]
    assert "cut off at the token limit (48 tokens)" in feedback


def test_invalid_json_then_fixed_on_retry() -> None:
    fake = FakeOllama(lambda body, n: "effort: lots" if n == 0 else GOOD)
    request = effort_request(agent=4, round=2)
    with LLMClient(config(), transport=fake.transport(), seed=11) as client:
        decision = client.decide(request)
    assert decision.value.effort == 0.3 and decision.attempts == 2
    first, second = fake.chat_bodies
    assert second["messages"][: len(request.messages)] == request.messages
    assert second["messages"][-2] == {"role": "assistant", "content": "effort: lots"}
    assert "not valid JSON" in second["messages"][-1]["content"]
    assert first["options"]["seed"] != second["options"]["seed"]


def test_fallback_after_retries_is_counted_and_logged(tmp_path, caplog) -> None:
    fake = FakeOllama(lambda body, n: '{"effort": 2, "reason": "max"}')
    caplog.set_level(logging.WARNING)
    with CallLog(tmp_path / "calls.jsonl") as log:
        with LLMClient(config(max_retries=2), transport=fake.transport(), call_log=log) as client:
            decision = client.decide(effort_request(agent=6, round=9, phase="effort"))
    assert decision.fallback and decision.value == FALLBACK and decision.attempts == 3
    assert client.stats.fallbacks == 1 and client.stats.per_phase["effort"].fallbacks == 1
    assert client.stats.parse_failures == 3 and client.stats.retries == 2
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = warning.getMessage()
    assert "agent 6, round 9, phase effort" in message and "less than or equal to 1" in message
    records = read_calls(tmp_path / "calls.jsonl")
    assert [r["attempt"] for r in records] == [0, 1, 2]
    assert [r["fallback"] for r in records] == [False, False, True]
    assert all(r["parsed"] is None and "effort" in r["error"] for r in records)


# -- replay and call-log errors ---------------------------------------------------------------


def test_strict_replay_names_a_missing_key(tmp_path) -> None:
    with CallLog(tmp_path / "calls.jsonl") as log:
        with LLMClient(config(), transport=FakeOllama().transport(), call_log=log) as client:
            client.decide(effort_request(agent=1, round=0))
    cfg = config(backend="replay", replay_log=str(tmp_path / "calls.jsonl"))
    with LLMClient(cfg) as client:
        client.check_models([MODEL])  # no server needed
        client.decide(effort_request(agent=1, round=0))
        with pytest.raises(ReplayMissError) as err:
            client.decide(effort_request(agent=2, round=0))
        with pytest.raises(ReplayMissError, match="no embedding for agent -1, round 0, phase 'norms'"):
            client.embed(["a"], round=0, phase="norms")
    assert "holds no answer for agent 2, round 0, phase 'effort', attempt 0" in one_line(err.value)


def test_replay_backend_needs_a_log() -> None:
    with pytest.raises(LLMSetupError, match="needs llm.replay_log"):
        LLMClient(config(backend="replay"))
    with pytest.raises(CallLogError, match="call log not found"):
        LLMClient(config(backend="replay", replay_log="/nonexistent/calls.jsonl"))


def test_damaged_call_log_is_reported(tmp_path) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_text('{"kind": "chat"}\nnot json\n{"kind": "chat"}\n')
    with pytest.raises(CallLogError, match="line 2 is not a JSON record"):
        read_calls(path)


# -- host resolution ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, "http://127.0.0.1:11434"),
        ("1.2.3.4", "http://1.2.3.4:11434"),
        (":56789", "http://127.0.0.1:56789"),
        ("example.com:56789/", "http://example.com:56789"),
        ("https://example.com", "https://example.com:443"),
        ("http://example.com/path/", "http://example.com:80/path"),
        ("[::1]:5000", "http://[::1]:5000"),
    ],
)
def test_host_forms_match_the_ollama_client(given, expected) -> None:
    assert normalise_host(given) == expected


def test_host_precedence(monkeypatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "envhost:1")
    assert resolve_host("arg:2", config(host="cfg:3")) == "http://arg:2"
    assert resolve_host(None, config(host="cfg:3")) == "http://cfg:3"
    assert resolve_host(None, config(host=None)) == "http://envhost:1"
    monkeypatch.delenv("OLLAMA_HOST")
    assert resolve_host(None, config(host=None)) == "http://127.0.0.1:11434"
    with pytest.raises(LLMSetupError, match="not a valid address"):
        normalise_host("host:notaport")
