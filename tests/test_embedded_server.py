"""The embedded Ollama-compatible server, driven by the official ``ollama`` client over HTTP.

Real LLM calls in this file: 38 (20 structured + 3 seed + 6 seeded orders + 6 prompt cache +
1 stream + 1 raw stream + 1 generate), about 45 s on an idle 2-core machine. Everything else is answered before
generation (errors, metadata) or by the embedding model.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import ollama
import pytest
from pydantic import BaseModel, Field

from agents.llm.embedded import models as embedded_models
from agents.llm.embedded.bert_gguf import cached_bert_gguf
from agents.llm.embedded.models import read_gguf_summary
from agents.llm.embedded import EmbeddedServer

CHAT = "smollm2:135m"
EMBED = "all-minilm"
REPO = Path(__file__).resolve().parents[1]


class Decision(BaseModel):
    # Bounded fields: without maxLength the 135M model rambles until num_predict cuts it.
    harvest: int = Field(ge=0, le=100)
    reason: str = Field(max_length=60)


def _villager_prompt(round_no: int, stock: int) -> list[dict[str, str]]:
    rules = (
        "You are a villager who fishes in a lake shared by ten villagers. Each round you "
        "choose how many tons to catch. After all catches, the fish left in the lake grow "
        "by 20 percent, but never beyond the lake's capacity of 300 tons. If the stock falls "
        "below 30 tons the lake collapses and nobody can fish again. Your wealth grows with "
        "your catch, and you pay 2 tons of upkeep each round. "
    ) * 2
    table = "\n".join(f"Villager {i}: last catch {3 + i % 5} tons, wealth {40 + 7 * i}" for i in range(10))
    return [
        {"role": "system", "content": rules},
        {"role": "user", "content": f"Round {round_no}. The lake holds {stock} tons.\n{table}\n"
                                    "How many tons do you catch? Answer as JSON with harvest and reason."},
    ]


# --- chat and generate -------------------------------------------------------------------


# Eight distinct prompts and seeds: each call costs seconds, and the grammar makes validity
# certain except for a cut answer, which a bounded schema and num_predict 100 rule out.
STRUCTURED_CALLS = 8


@pytest.mark.llm
def test_structured_chat_with_a_bounded_schema_is_valid_every_time(ollama_client):
    schema = Decision.model_json_schema()

    def ask(i: int) -> ollama.ChatResponse:
        return ollama_client.chat(
            model=CHAT, messages=_villager_prompt(i + 1, 300 - 9 * i), format=schema,
            options={"seed": i, "temperature": 0.7, "num_predict": 100},
        )

    # Two at a time, as the simulation's phases do: requests share the server's queue.
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(ask, range(STRUCTURED_CALLS)))
    decisions = [Decision.model_validate_json(r.message.content) for r in replies]
    assert len(decisions) == STRUCTURED_CALLS
    assert all(r.done and r.done_reason == "stop" for r in replies)
    assert all(r.prompt_eval_count > 250 and 0 < r.eval_count <= 100 for r in replies)


@pytest.mark.llm
def test_the_same_seed_gives_the_same_answer(ollama_client):
    messages = [{"role": "user", "content": "Tell a one-sentence story about a lake."}]

    def ask(seed: int) -> str:
        options = {"seed": seed, "temperature": 1.0, "num_predict": 30}
        return ollama_client.chat(model=CHAT, messages=messages, options=options).message.content

    first, again, other = ask(11), ask(11), ask(12)
    assert first and first == again
    # At temperature 1 over 30 tokens, another seed gives another text: the seed is used.
    assert other != first


def _sharing_a_prefix(villager: int) -> list[dict[str, str]]:
    """Prompts of one round that differ only after a shared part (about 150 tokens), as the
    villagers' do."""
    rules = ("You are a villager who fishes in a lake shared by five villagers. Each round you "
             "choose how many tons to catch; the fish left grow by 20 percent, up to 300 tons.")
    table = "\n".join(f"Villager {i}: last catch {3 + i} tons, wealth {40 + 7 * i}" for i in range(5))
    return [{"role": "system", "content": rules},
            {"role": "user", "content": f"Round 3. The lake holds 240 tons.\n{table}\n"
                                        f"You are villager {villager}. How many tons do you catch?"}]


# The norms scenario's sampling, a short answer: enough tokens for a changed logit to show.
SEEDED = {"temperature": 0.7, "top_p": 0.95, "num_predict": 12}


def _seeded(client, villager: int) -> str:
    options = {**SEEDED, "seed": 100 + villager}
    return client.chat(model=CHAT, messages=_sharing_a_prefix(villager), options=options).message.content


@pytest.mark.llm
def test_a_seeded_answer_does_not_depend_on_the_calls_before_it(ollama_client):
    """Cold, after a call that shares its prefix, in either order and concurrently: the same
    seed gives the same answer (the server evaluates every prompt whole; see the next test)."""
    first = {v: _seeded(ollama_client, v) for v in (1, 2)}  # 1 then 2
    again = {v: _seeded(ollama_client, v) for v in (2, 1)}  # 2 then 1, each after the other
    with ThreadPoolExecutor(max_workers=2) as pool:
        together = dict(zip((1, 2), pool.map(lambda v: _seeded(ollama_client, v), (1, 2))))
    assert first[1] and first[2] and first[1] != first[2]
    assert again == first and together == first


@pytest.mark.llm
def test_prompt_caching_changes_seeded_answers_so_it_is_off_by_default(
        embedded_server, ollama_client, monkeypatch):
    """Why ``cache_prompt`` is off unless asked for: with it, an answer after a call sharing
    the prompt's prefix is not the cold answer (llama.cpp's logits depend on the batch a token
    was evaluated in). If this ever fails, caching has become safe to turn on by default."""
    from agents.llm.embedded.server import DEFAULT_CACHE_PROMPT

    assert DEFAULT_CACHE_PROMPT is False and embedded_server.cache_prompt is False
    cold = {v: _seeded(ollama_client, v) for v in (1, 2, 3)}
    # The session's server, switched to caching for this test (read on every request).
    monkeypatch.setattr(embedded_server, "cache_prompt", True)
    warm = {v: _seeded(ollama_client, v) for v in (1, 2, 3)}  # each reuses the one before
    assert warm != cold


@pytest.mark.llm
def test_streaming_chat_yields_chunks_then_a_final_done_line(ollama_client):
    chunks = list(ollama_client.chat(
        model=CHAT, messages=[{"role": "user", "content": "Describe a fishing village."}],
        stream=True, options={"seed": 3, "temperature": 0.8, "num_predict": 40},
    ))
    *parts, final = chunks
    assert len(parts) >= 5 and not any(p.done for p in parts)
    assert "".join(p.message.content for p in parts).strip()
    assert final.done and final.done_reason in ("stop", "length") and final.message.content == ""
    assert 0 < final.eval_count <= 40 and final.prompt_eval_count > 5
    assert final.total_duration >= final.eval_duration > 0


@pytest.mark.llm
def test_raw_streaming_is_chunked_ndjson_and_generate_honours_stop(ollama_host):
    body = {"model": CHAT, "prompt": "Count: one, two, three,", "raw": True,
            "options": {"temperature": 0, "num_predict": 30, "stop": ["six"]}}
    with httpx.stream("POST", f"{ollama_host}/api/generate", json=body, timeout=180) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/x-ndjson"
        assert r.headers["transfer-encoding"] == "chunked"
        lines = [json.loads(line) for line in r.iter_lines() if line]
    assert lines[-1]["done"] is True and lines[-1]["done_reason"] == "stop"
    text = "".join(line["response"] for line in lines)
    assert "six" not in text and lines[-1]["eval_count"] < 30


@pytest.mark.llm
def test_generate_with_a_schema_and_a_system_prompt(ollama_client):
    reply = ollama_client.generate(
        model=CHAT, system="You answer in JSON.", prompt="How many tons do you catch today?",
        format=Decision.model_json_schema(), options={"seed": 5, "temperature": 0.5, "num_predict": 100},
    )
    assert reply.done and reply.done_reason == "stop"
    Decision.model_validate_json(reply.response)


def test_empty_messages_load_the_model(ollama_client):
    reply = ollama_client.chat(model=CHAT, messages=[])
    assert reply.done and reply.done_reason == "load" and reply.message.content == ""
    assert ollama_client.generate(model=CHAT, prompt="").done_reason == "load"


# --- errors --------------------------------------------------------------------------------


def test_an_unknown_model_is_a_404_naming_it(ollama_client):
    with pytest.raises(ollama.ResponseError) as err:
        ollama_client.chat(model="llama3.2:1b", messages=[{"role": "user", "content": "hi"}])
    assert err.value.status_code == 404 and err.value.error == "model 'llama3.2:1b' not found"
    for call in (lambda: ollama_client.show("nope"), lambda: ollama_client.embed(model="nope", input="x"),
                 lambda: ollama_client.pull("llama3.2:1b")):
        with pytest.raises(ollama.ResponseError) as err:
            call()
        assert err.value.status_code == 404 and "not found" in err.value.error


@pytest.mark.parametrize("stream", [False, True])
def test_a_prompt_longer_than_the_context_is_a_clear_400(ollama_client, stream):
    messages = [{"role": "user", "content": "fish " * 5000}]
    with pytest.raises(ollama.ResponseError) as err:
        reply = ollama_client.chat(model=CHAT, messages=messages, stream=stream)
        if stream:
            list(reply)
    assert err.value.status_code == 400
    message = err.value.error
    assert "prompt is too long" in message and "context size is 4096 tokens" in message
    assert int(message.split(": ")[1].split(" prompt tokens")[0]) > 4096


def test_malformed_and_unsupported_requests_are_400_with_an_error(ollama_host, ollama_client):
    cases = [
        (b"{not json", "invalid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"messages": []}', "model is required"),
        (json.dumps({"model": CHAT, "messages": "hi"}).encode(), "messages must be a list"),
        (json.dumps({"model": CHAT, "messages": [{"role": "user", "content": "x"}],
                     "options": {"temperature": "hot"}}).encode(), "temperature"),
        (json.dumps({"model": CHAT, "messages": [{"role": "user", "content": "x"}],
                     "format": "yaml"}).encode(), "invalid format"),
    ]
    for body, expected in cases:
        r = httpx.post(f"{ollama_host}/api/chat", content=body, timeout=30)
        assert r.status_code == 400, body
        assert expected in r.json()["error"], (body, r.json())
    with pytest.raises(ollama.ResponseError) as err:
        ollama_client.chat(model=CHAT, messages=[{"role": "user", "content": "x"}],
                           tools=[{"type": "function", "function": {"name": "f"}}])
    assert err.value.status_code == 400 and "does not support tools" in err.value.error
    with pytest.raises(ollama.ResponseError) as err:
        ollama_client.embed(model=CHAT, input="x")
    assert err.value.status_code == 400 and "does not support embeddings" in err.value.error
    assert httpx.get(f"{ollama_host}/api/chat", timeout=30).status_code == 405
    assert httpx.get(f"{ollama_host}/api/nothing", timeout=30).status_code == 404


# --- metadata routes -----------------------------------------------------------------------


def test_list_show_ps_version_and_pull(ollama_host, ollama_client):
    listed = {m.model: m for m in ollama_client.list().models}
    assert set(listed) == {CHAT, "all-minilm:latest"}
    chat = listed[CHAT]
    assert chat.details.family == "llama" and chat.details.quantization_level == "Q4_1"
    assert chat.details.parameter_size == "134.52M" and chat.size == 98_362_432
    assert chat.digest == "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    assert listed["all-minilm:latest"].details.family == "bert"

    shown = ollama_client.show(CHAT)
    assert shown.modelinfo["llama.context_length"] == 8192
    assert shown.modelinfo["general.parameter_count"] == 134_515_008
    assert shown.capabilities == ["completion"] and "num_ctx 4096" in shown.parameters
    assert "<|im_start|>" in shown.template
    embed_info = ollama_client.show("all-minilm:22m")  # an alias Ollama's library also has
    assert embed_info.capabilities == ["embedding"]
    assert embed_info.modelinfo["bert.context_length"] == 512
    assert embed_info.modelinfo["bert.embedding_length"] == 384

    running = {m.model: m for m in ollama_client.ps().models}
    assert running[CHAT].context_length == 4096 and running["all-minilm:latest"].context_length == 512

    version = httpx.get(f"{ollama_host}/api/version", timeout=30).json()["version"]
    assert all(part.isdigit() for part in version.split("."))
    assert httpx.get(ollama_host, timeout=30).text == "Ollama is running"

    assert ollama_client.pull(CHAT).status == "success"
    statuses = [p.status for p in ollama_client.pull("all-minilm", stream=True)]
    assert statuses[-1] == "success"


# --- embeddings ----------------------------------------------------------------------------

SENTENCES = [
    "The villagers agreed to catch fewer fish this year.",
    "This year the fishers decided to harvest less.",
    "The stock market fell sharply on Monday.",
]


def _reference_minilm(texts: list[str]) -> np.ndarray:
    """all-MiniLM-L6-v2 in plain numpy: BERT forward pass, mean pooling, unit length."""
    from safetensors.numpy import load_file
    from scipy.special import erf
    from tokenizers import Tokenizer

    source = embedded_models.minilm_source_dir()
    w = load_file(str(source / "model.safetensors"))
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()

    def norm(x, name):
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-12) * w[name + ".weight"] + w[name + ".bias"]

    out = []
    for text in texts:
        ids = tokenizer.encode(text).ids
        n, heads, d = len(ids), 12, 32
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = norm(x, "embeddings.LayerNorm")
        for i in range(6):
            p = f"encoder.layer.{i}."

            def dense(h, name, p=p):
                return h @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            q, k, v = (dense(x, f"attention.self.{m}").reshape(n, heads, d).transpose(1, 0, 2)
                       for m in ("query", "key", "value"))
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(d)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attended = (scores / scores.sum(-1, keepdims=True)) @ v
            x = norm(x + dense(attended.transpose(1, 0, 2).reshape(n, -1), "attention.output.dense"),
                     p + "attention.output.LayerNorm")
            hidden = dense(x, "intermediate.dense")
            hidden = 0.5 * hidden * (1 + erf(hidden / np.sqrt(2)))
            x = norm(x + dense(hidden, "output.dense"), p + "output.LayerNorm")
        pooled = x.mean(0)
        out.append(pooled / np.linalg.norm(pooled))
    return np.array(out)


def test_embeddings_match_a_numpy_reference_and_rank_paraphrases_closer(ollama_client):
    reply = ollama_client.embed(model=EMBED, input=SENTENCES)
    served = np.array(reply.embeddings)
    assert served.shape == (3, 384) and reply.prompt_eval_count > 20
    np.testing.assert_allclose(np.linalg.norm(served, axis=1), 1.0, atol=1e-4)
    # f16 weights in the GGUF vs f32 here: agreement to a few 1e-4.
    np.testing.assert_allclose(served, _reference_minilm(SENTENCES), atol=3e-3)
    cos = served @ served.T
    assert cos[0, 1] > 0.4 and cos[0, 1] > max(cos[0, 2], cos[1, 2]) + 0.3


def test_embedding_inputs_beyond_512_tokens_are_truncated_unless_refused(ollama_client):
    long_text = "the lake " * 600
    vector = ollama_client.embed(model=EMBED, input=long_text).embeddings[0]
    assert len(vector) == 384
    with pytest.raises(ollama.ResponseError) as err:
        ollama_client.embed(model=EMBED, input=long_text, truncate=False)
    assert err.value.status_code == 400 and "512 tokens" in err.value.error
    short = ollama_client.embed(model=EMBED, input="fish", dimensions=64).embeddings[0]
    assert len(short) == 64 and abs(np.linalg.norm(short) - 1) < 1e-6


def test_the_bert_conversion_is_cached_by_content(tmp_path):
    source = embedded_models.minilm_source_dir()
    first = cached_bert_gguf(source, "all-minilm-l6-v2", cache=tmp_path)
    stamp = first.stat().st_mtime_ns
    again = cached_bert_gguf(source, "all-minilm-l6-v2", cache=tmp_path)
    assert again == first and again.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no temporary file left
    meta = read_gguf_summary(first).metadata
    assert meta["general.architecture"] == "bert" and meta["bert.pooling_type"] == 1
    assert meta["tokenizer.ggml.model"] == "bert" and meta["tokenizer.ggml.bos_token_id"] == 101


# --- lifecycle -----------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", ""])
def test_binding_a_non_loopback_address_is_refused(host):
    with pytest.raises(ValueError, match="127.0.0.1 only"):
        EmbeddedServer(host=host)


def test_a_taken_port_is_reported_before_loading_models(ollama_host):
    port = int(ollama_host.rsplit(":", 1)[1])
    started = time.monotonic()
    with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
        EmbeddedServer(port=port).start()
    assert time.monotonic() - started < 5


@pytest.mark.slow
def test_the_standalone_server_prints_its_url_and_stops_on_sigterm():
    proc = subprocess.Popen(
        [sys.executable, "-m", "agents.llm.embedded", "--port", "0", "--no-embeddings"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        line = proc.stdout.readline()
        url = line.split(" at ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/api/tags", timeout=30).json()["models"][0]["name"] == CHAT
        # An idle keep-alive connection must not keep the server from stopping.
        with httpx.Client(timeout=30) as keep_alive:
            keep_alive.get(f"{url}/api/version")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
