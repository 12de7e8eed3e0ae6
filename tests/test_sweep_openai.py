"""An OpenAI-compatible endpoint behind the LLM seam (llm.backend = "openai").

The real part is llama.cpp's own OpenAI-compatible server (xllamacpp, the engine the embedded
server uses) with an API key, serving SmolLM2-135M for chat and embeddings: 2 LLM calls.
HTTP failures a real server cannot produce on demand (500, 429, a dropped connection, a
context-length refusal) come from a small stdlib HTTP server.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from agents.llm.call_log import CallLog, read_calls
from agents.llm.client import LLMClient
from agents.llm.errors import LLMContextError, LLMSetupError, LLMUnavailableError
from llm_fakes import Effort, effort_request
from agents.llm.settings import LLMConfig
from model.config import RunConfig, apply_overrides
from model.run_folder import new_manifest
from model.sweep.worker import with_host

KEY = "sk-test-7d1f0c2a9b"
ENV = "COMMONS_LAB_TEST_OPENAI_KEY"


def openai_config(url: str, **kw) -> LLMConfig:
    kw = {"api_key_env": ENV, "model": "smollm2", "embedding_model": "smollm2", **kw}
    return LLMConfig(backend="openai", base_url=url, timeout_s=180.0, **kw)


@pytest.fixture(scope="module")
def llama_server():
    """llama.cpp's OpenAI-compatible server, as a lab would run `llama-server --api-key`."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import xllamacpp

    from agents.llm.embedded.models import smollm2_gguf

    params = xllamacpp.CommonParams()
    params.model.path = str(smollm2_gguf())
    params.n_ctx = 2048
    params.n_parallel = 1
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = 2
    params.n_threads_http = 1
    params.verbosity = -1
    params.embedding = True  # one model answers chat and embeddings
    params.pooling_type = xllamacpp.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
    params.model_alias = {"smollm2"}
    params.api_keys = [KEY]
    server = xllamacpp.Server(params)
    yield server.listening_address + "/v1"
    del server


@pytest.mark.llm
def test_decisions_and_embeddings_through_an_openai_endpoint(llama_server, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, KEY)
    log_path = tmp_path / "calls.jsonl"
    with CallLog(log_path) as log, LLMClient(openai_config(llama_server), seed=4, call_log=log) as client:
        client.check_models(["smollm2"])
        with pytest.raises(LLMSetupError, match="not pulled|not served"):
            client.check_models(["llama3:70b"])
        leak = {"role": "user", "content": f"Agent 1, round 2: choose your effort. ({KEY})"}
        decision = client.decide(effort_request(agent=1, round=2, model="smollm2", num_predict=60,
                                                messages=[leak]))
        vectors = client.embed(["the lake is shared", "fish for tomorrow"], round=2, phase="norms")
    # A 135M model may pick numbers out of range (then the seam retries and falls back,
    # counted); what the endpoint must do is answer in the schema's JSON shape every time.
    assert isinstance(decision.value, Effort)
    assert decision.prompt_tokens > 0 and decision.answer_tokens > 0
    records = read_calls(log_path)
    assert [r["kind"] for r in records] == ["chat"] * decision.attempts + ["embed"]
    for record in records[:-1]:
        assert set(json.loads(record["raw"])) == {"effort", "reason"}
    assert vectors.shape == (2, 576)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert records[0]["options"]["seed"] is not None
    # llama.cpp reports its prefix cache as usage.prompt_tokens_details.cached_tokens.
    first = records[0]
    assert isinstance(first["cached_tokens"], int) and 0 <= first["cached_tokens"] < first["prompt_tokens"]
    assert first["evaluated_tokens"] == first["prompt_tokens"] - first["cached_tokens"]
    # The key never reaches the call log, even when a prompt carries it.
    text = log_path.read_text()
    assert KEY not in text and "[redacted]" in text


def test_setup_errors_are_one_line(llama_server, monkeypatch):
    monkeypatch.setenv(ENV, "sk-wrong-key-000")
    with LLMClient(openai_config(llama_server)) as client:
        with pytest.raises(LLMSetupError, match="refused the API key .HTTP 401"):
            client.check_models(["smollm2"])
    monkeypatch.delenv(ENV)
    with pytest.raises(LLMSetupError, match=f"llm.api_key_env names {ENV}, which is not set"):
        LLMClient(openai_config(llama_server)).check_models(["smollm2"])
    with pytest.raises(LLMSetupError, match="needs llm.base_url"):
        LLMClient(LLMConfig(backend="openai"))
    with pytest.raises(LLMSetupError, match="must not hold credentials"):
        LLMClient(LLMConfig(backend="openai", base_url="http://me:secret@gpu1:8000/v1"))
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    with LLMClient(openai_config(dead, api_key_env=None)) as client:
        with pytest.raises(LLMSetupError, match="cannot reach the OpenAI-compatible server"):
            client.check_models(["smollm2"])


class _Scripted(BaseHTTPRequestHandler):
    """Answers /v1/chat/completions with what the test scripted: a status and a body, or a
    dropped connection."""

    script: list = []
    seen: list = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((self.path, body, self.headers.get("Authorization")))
        status, payload = type(self).script.pop(0)
        if status is None:  # drop the connection without an answer
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def scripted():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Scripted.script, _Scripted.seen = [], []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", _Scripted
    server.shutdown()
    server.server_close()


def _completion(content: str, finish: str = "stop") -> dict:
    return {"id": "c1", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": finish,
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}}


GOOD = '{"effort": 0.25, "reason": "keep fish for later"}'


def test_transient_failures_are_retried_and_counted(scripted, monkeypatch):
    url, handler = scripted
    monkeypatch.setenv(ENV, KEY)
    handler.script = [(500, {"error": {"message": "boom"}}), (None, None),
                      (429, {"error": {"message": "slow down"}}), (200, _completion(GOOD))]
    client = LLMClient(openai_config(url, model="m"), seed=1)
    client.transport_retries, client.backoff_s = 3, (0.0,)
    decision = client.decide(effort_request(model="m"))
    assert decision.value == Effort(effort=0.25, reason="keep fish for later")
    assert client.transport_retry_count == 3
    path, body, auth = handler.seen[-1]
    assert path == "/v1/chat/completions" and auth == f"Bearer {KEY}"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == Effort.model_json_schema()
    assert isinstance(body["seed"], int) and body["max_tokens"] == 160
    assert body["temperature"] == 0.7 and "num_ctx" not in body

    handler.script = [(503, {"error": {"message": "down"}})] * 3
    client.transport_retries = 2
    with pytest.raises(LLMUnavailableError, match="failed a chat call for m 3 times"):
        client.decide(effort_request(model="m", round=1))


def test_cut_answers_and_refusals_map_onto_the_seam(scripted, monkeypatch):
    url, handler = scripted
    monkeypatch.setenv(ENV, KEY)
    client = LLMClient(openai_config(url, model="m", max_retries=1), seed=1)
    # A cut-off answer ("length") is a parse failure: retried, then the fallback.
    handler.script = [(200, _completion('{"effort": 0.', "length"))] * 2
    decision = client.decide(effort_request(model="m"))
    assert decision.fallback and decision.attempts == 2
    handler.script = [(400, {"error": {"message": "This model's maximum context length is 2048 "
                                                  "tokens, however you requested 5000"}})]
    with pytest.raises(LLMContextError, match="maximum context length"):
        client.decide(effort_request(model="m", round=1))
    handler.script = [(404, {"error": {"message": "The model `m` does not exist."}})]
    with pytest.raises(LLMSetupError, match="answered 404 .*does not exist"):
        client.decide(effort_request(model="m", round=2))


def test_the_key_stays_out_of_configs_manifests_and_sweep_host_assignment(monkeypatch):
    monkeypatch.setenv(ENV, KEY)
    config = apply_overrides(RunConfig(), {"policy": "llm", "llm.backend": "openai",
                                           "llm.base_url": "http://gpu1:8000/v1",
                                           "llm.api_key_env": ENV})
    assert KEY not in json.dumps(new_manifest(config, ["commons-lab", "sweep", "x.toml"]))
    moved = with_host(config, "http://gpu2:8000/v1")
    assert moved.llm.base_url == "http://gpu2:8000/v1" and moved.llm.host is None
    ollama = with_host(RunConfig(), "http://gpu3:11434")
    assert ollama.llm.host == "http://gpu3:11434"
