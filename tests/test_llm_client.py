"""The LLM seam: what it sends, concurrency in a fixed order, the call log, strict replay and
resume. Tests marked ``llm`` go over real HTTP to the embedded server (about 12 calls)."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from dataclasses import replace

import httpx
import numpy as np
import pytest
from pydantic import BaseModel, Field

from agents.llm.call_log import CallLog, read_calls
from agents.llm.client import LLMClient, call_seed
from agents.llm.errors import LLMSetupError
from agents.llm.host import answers, open_llm_host
from agents.llm.replay import ReplaySource
from agents.llm.requests import Decision, DecisionRequest
from llm_fakes import FALLBACK, MODEL, Effort, FakeOllama, config, effort_request

GOOD = '{"effort": 0.3, "reason": "steady"}'


class Offline(httpx.BaseTransport):
    """A transport that fails the test if anything tries to reach a server."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"unexpected request to {request.url}")


def test_request_carries_schema_options_and_an_explicit_timeout() -> None:
    fake = FakeOllama()
    cfg = config(temperature=0.4, top_p=0.8, num_predict=96, num_ctx=4096, timeout_s=30)
    with LLMClient(cfg, transport=fake.transport(), seed=5) as client:
        client.decide(effort_request(agent=2, round=3))
        client.decide(effort_request(agent=2, round=4, num_predict=40))
        timeout = client._ollama._client.timeout
    first, second = fake.chat_bodies
    assert first["format"] == Effort.model_json_schema()
    assert first["stream"] is False and first["model"] == MODEL
    assert first["options"] == {"temperature": 0.4, "top_p": 0.8, "num_predict": 96, "num_ctx": 4096,
                                "seed": call_seed(5, 2, 3, "effort", 0)}
    assert second["options"]["num_predict"] == 40
    assert timeout.read == 30 and timeout.connect == 5


def test_call_seed_is_reproducible_and_distinct() -> None:
    assert call_seed(1, 2, 3, "vote", 0) == call_seed(1, 2, 3, "vote", 0)
    seeds = {call_seed(s, a, r, p, t) for s in (0, 1) for a in (-1, 0, 1) for r in (0, 1)
             for p in ("effort", "vote", "utterance:3") for t in (0, 1, 2)}
    assert len(seeds) == 2 * 3 * 2 * 3 * 3
    assert all(0 <= s < 2**31 for s in seeds)


def test_decide_all_keeps_input_order_and_bounds_concurrency() -> None:
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def chat(body: dict, n: int) -> str:
        nonlocal in_flight, peak
        agent = int(body["messages"][-1]["content"].split()[1].rstrip(","))
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.05 * (8 - agent))  # later agents answer first
        with lock:
            in_flight -= 1
        return json.dumps({"effort": agent / 10, "reason": f"agent {agent}"})

    fake = FakeOllama(chat)
    with LLMClient(config(concurrency=3), transport=fake.transport()) as client:
        decisions = client.decide_all([effort_request(agent=a) for a in range(8)])
    assert [d.value.reason for d in decisions] == [f"agent {a}" for a in range(8)]
    assert peak == 3
    with pytest.raises(ValueError, match="same"):
        client.decide_all([effort_request(agent=1), effort_request(agent=1)])


def test_decide_all_stops_on_an_error_after_running_calls_finish() -> None:
    def chat(body: dict, n: int):
        if "Agent 2," in body["messages"][-1]["content"]:
            return httpx.Response(404, json={"error": "model 'x' not found"})
        time.sleep(0.05)
        return GOOD

    fake = FakeOllama(chat)
    with LLMClient(config(concurrency=2), transport=fake.transport()) as client:
        with pytest.raises(LLMSetupError, match="not pulled"):
            client.decide_all([effort_request(agent=a) for a in range(6)])
    assert client.stats.decisions == 0  # nothing half-applied
    assert fake.chat_count < 6


def test_stats_are_per_phase_and_give_deltas() -> None:
    fake = FakeOllama(lambda body, n: "no" if "Agent 1," in body["messages"][1]["content"] else GOOD)
    with LLMClient(config(max_retries=1), transport=fake.transport()) as client:
        client.decide_all([effort_request(agent=a) for a in range(3)])
        before = client.stats.snapshot()
        client.decide(effort_request(agent=0, phase="utterance:0"))
        client.decide(effort_request(agent=1, phase="utterance:1"))
        delta = client.stats.since(before)
    assert client.stats.decisions == 5 and client.stats.fallbacks == 2 and client.stats.calls == 7
    assert client.stats.per_phase["effort"].fallbacks == 1
    assert delta.decisions == 2 and delta.fallbacks == 1 and delta.per_phase["effort"].decisions == 0
    assert delta.per_phase["utterance"].calls == 3
    row = client.stats.as_row()
    assert row["llm_fallbacks"] == 2 and row["llm_fallbacks_utterance"] == 1
    assert row["llm_prompt_tokens"] == 7 * 50


def test_call_log_has_one_complete_line_per_attempt_and_embed(tmp_path) -> None:
    fake = FakeOllama(lambda body, n: "<think>hmm</think>bad" if n == 0 else f"<think>ok</think>{GOOD}")
    with CallLog(tmp_path / "calls.jsonl") as log:
        with LLMClient(config(), transport=fake.transport(), call_log=log, seed=3) as client:
            client.decide(effort_request(agent=1, round=2))
            client.embed(["a fair share", "take it all"], round=2, phase="norms")
    chat0, chat1, embed = read_calls(tmp_path / "calls.jsonl")
    assert chat0["kind"] == chat1["kind"] == "chat" and embed["kind"] == "embed"
    assert (chat0["agent"], chat0["round"], chat0["phase"], chat0["attempt"]) == (1, 2, "effort", 0)
    assert chat0["raw"] == "<think>hmm</think>bad" and chat0["clean"] == "bad"
    assert chat0["parsed"] is None and "not valid JSON" in chat0["error"] and not chat0["fallback"]
    assert chat1["parsed"] == {"effort": 0.3, "reason": "steady"} and chat1["error"] is None
    assert chat1["messages"][-2:] == fake.chat_bodies[1]["messages"][-2:]
    assert chat1["options"]["seed"] == call_seed(3, 1, 2, "effort", 1)
    assert chat1["model"] == MODEL and chat1["schema"] == "Effort"
    assert chat1["prompt_tokens"] == 50 and chat1["answer_tokens"] == 12 and chat1["latency_s"] > 0
    assert embed["input"] == ["a fair share", "take it all"] and len(embed["embeddings"]) == 2
    assert embed["model"] == "all-minilm" and embed["prompt_tokens"] == 6


def test_call_log_survives_a_killed_writer(tmp_path) -> None:
    path = tmp_path / "calls.jsonl"
    with CallLog(path) as log:
        log.append({"kind": "chat", "n": 1})
        log.append({"kind": "chat", "n": 2})
    with open(path, "a") as f:
        f.write('{"kind": "chat", "n": 3, "raw": "half a li')  # the line in flight
    assert [r["n"] for r in read_calls(path)] == [1, 2]
    with CallLog(path) as log:  # reopening cuts the partial line before appending
        log.append({"kind": "chat", "n": 4})
    assert [r["n"] for r in read_calls(path)] == [1, 2, 4]


def test_call_log_never_holds_secrets(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "env-key-0123456789")
    fake = FakeOllama()
    with CallLog(tmp_path / "calls.jsonl") as log:
        client = LLMClient(config(), transport=fake.transport(), call_log=log,
                           headers={"X-Trace": "1", "Authorization": "Bearer header-tok-987654"})
        with client:
            client.decide(effort_request(messages=[
                {"role": "user", "content": "my key is env-key-0123456789 and header-tok-987654"}]))
            log.append({"kind": "note", "headers": {"Authorization": "Bearer header-tok-987654"},
                        "api_key": "x"})
    sent = [h for path, _, h in fake.requests if path == "/api/chat"][0]
    assert sent["authorization"] == "Bearer header-tok-987654"  # the secret did exist
    text = (tmp_path / "calls.jsonl").read_text()
    assert "env-key-0123456789" not in text and "header-tok-987654" not in text
    assert "[redacted]" in text


def _scripted_run(client: LLMClient) -> tuple[list[Decision], np.ndarray]:
    decisions = []
    for rnd in range(3):
        decisions += client.decide_all([effort_request(agent=a, round=rnd) for a in range(4)])
        decisions.append(client.decide(effort_request(agent=-1, round=rnd, phase="limit")))
    vectors = client.embed(["share the lake", "fish less", ""], round=2, phase="norms")
    return decisions, vectors


def _varied_chat(body: dict, n: int):
    # Deterministic in the request (seed), with invalid answers, retries and fallbacks mixed in.
    seed = body["options"]["seed"]
    kind = seed % 5
    if kind == 0:
        return "I will fish a lot"
    if kind == 1:
        return ('{"effort": 0.9, "rea', "length")
    return json.dumps({"effort": (seed % 100) / 100, "reason": f"s{seed % 7}"})


def test_strict_replay_reproduces_decisions_and_stats_without_a_server(tmp_path) -> None:
    fake = FakeOllama(_varied_chat, embed=lambda texts: [[len(t), 0.5, -1.0] if t else [0, 0, 0] for t in texts])
    with CallLog(tmp_path / "calls.jsonl") as log:
        with LLMClient(config(max_retries=1), transport=fake.transport(), call_log=log, seed=42) as live:
            recorded, recorded_vectors = _scripted_run(live)
    assert live.stats.fallbacks > 0 and live.stats.retries > 0  # the script covers every path
    cfg = config(backend="replay", replay_log=str(tmp_path / "calls.jsonl"), max_retries=1)
    with LLMClient(cfg, seed=42, transport=Offline()) as replay:
        replayed, replayed_vectors = _scripted_run(replay)
    assert replayed == recorded
    assert replay.stats == live.stats
    assert np.array_equal(replayed_vectors, recorded_vectors)
    assert replay.replay_mismatches == 0
    np.testing.assert_allclose(np.linalg.norm(recorded_vectors[:2], axis=1), 1.0)
    assert not recorded_vectors[2].any()  # a zero vector stays zero


def test_replay_into_a_new_log_copies_the_answers(tmp_path) -> None:
    with CallLog(tmp_path / "a.jsonl") as log:
        with LLMClient(config(), transport=FakeOllama(_varied_chat).transport(), call_log=log) as c:
            _scripted_run(c)
    with CallLog(tmp_path / "b.jsonl") as log:
        cfg = config(backend="replay", replay_log=str(tmp_path / "a.jsonl"))
        with LLMClient(cfg, call_log=log) as c:
            _scripted_run(c)
    original = read_calls(tmp_path / "a.jsonl")
    copied = read_calls(tmp_path / "b.jsonl")
    assert len(copied) == len(original) and all(r["replayed"] for r in copied)
    strip = lambda r: {k: v for k, v in r.items() if k not in ("time", "replayed")}  # noqa: E731
    key = lambda r: (r["kind"], r["agent"], r["round"], r["phase"], r.get("attempt", 0))  # noqa: E731
    assert sorted(map(strip, copied), key=key) == sorted(map(strip, original), key=key)


def test_strict_replay_refuses_a_log_of_another_prompt_or_seed(tmp_path) -> None:
    from agents.llm.errors import ReplayMissError

    with CallLog(tmp_path / "calls.jsonl") as log:
        with LLMClient(config(), transport=FakeOllama().transport(), call_log=log, seed=1) as c:
            c.decide(effort_request())
    cfg = config(backend="replay", replay_log=str(tmp_path / "calls.jsonl"))
    with LLMClient(cfg, seed=1) as c:
        with pytest.raises(ReplayMissError, match="another prompt, model or seed"):
            c.decide(effort_request(messages=[{"role": "user", "content": "another prompt"}]))
    with LLMClient(cfg, seed=2) as c:  # the same prompt under another run seed
        with pytest.raises(ReplayMissError, match="another prompt, model or seed"):
            c.decide(effort_request())
    with LLMClient(cfg, seed=1) as c:
        assert not c.decide(effort_request()).fallback and c.replay_mismatches == 0


def test_resume_warns_when_prompts_differ(tmp_path, caplog) -> None:
    with CallLog(tmp_path / "calls.jsonl") as log:
        with LLMClient(config(), transport=FakeOllama().transport(), call_log=log) as c:
            c.decide(effort_request())
    resume = ReplaySource.from_file(tmp_path / "calls.jsonl", strict=False)
    with LLMClient(config(), transport=FakeOllama().transport(), replay=resume) as c:
        c.decide(effort_request(messages=[{"role": "user", "content": "another prompt"}]))
    assert c.replay_mismatches == 1
    assert "recorded for a different prompt" in caplog.text


def test_resume_serves_recorded_calls_and_only_asks_for_missing_ones(tmp_path) -> None:
    # The reference: one uninterrupted run.
    with LLMClient(config(max_retries=1), transport=FakeOllama(_varied_chat).transport(), seed=9) as c:
        reference, reference_vectors = _scripted_run(c)
        reference_stats = c.stats

    # An interrupted run: it recorded part of the work, then was killed mid-line.
    path = tmp_path / "calls.jsonl"
    with CallLog(path) as log:
        with LLMClient(config(max_retries=1), transport=FakeOllama(_varied_chat).transport(),
                       call_log=log, seed=9) as c:
            for rnd in range(2):
                c.decide_all([effort_request(agent=a, round=rnd) for a in range(4)])
    with open(path, "a") as f:
        f.write('{"kind": "chat", "agent": 0, "round": 2, "pha')
    recorded = {(r["agent"], r["round"], r["phase"], r["attempt"]) for r in read_calls(path)}

    fake = FakeOllama(_varied_chat)
    with CallLog(path) as log:
        replay = ReplaySource.from_file(path, strict=False)
        with LLMClient(config(max_retries=1), transport=fake.transport(), call_log=log,
                       replay=replay, seed=9) as c:
            resumed, resumed_vectors = _scripted_run(c)
    asked = set()
    for body in fake.chat_bodies:
        seed = body["options"]["seed"]
        asked |= {k for k in _all_keys() if call_seed(9, *k) == seed}
    assert asked and not asked & recorded  # no recorded call was repeated
    # Equal up to latency (the interrupted part was timed in another process).
    assert [replace(d, latency_s=0) for d in resumed] == [replace(d, latency_s=0) for d in reference]
    assert replace(c.stats, latency_s=0, per_phase={}) == replace(reference_stats, latency_s=0, per_phase={})
    assert np.array_equal(resumed_vectors, reference_vectors)
    final = read_calls(path)
    keys = [(r["kind"], r["agent"], r["round"], r["phase"], r.get("attempt")) for r in final]
    assert len(keys) == len(set(keys))  # every call exactly once in the log
    assert len(final) == reference_stats.calls + reference_stats.embed_calls


def _all_keys() -> list[tuple]:
    return [(a, r, p, t) for a in range(-1, 4) for r in range(3)
            for p in ("effort", "limit") for t in range(2)]


def test_embed_rows_are_unit_length_and_empty_input_skips_the_server() -> None:
    fake = FakeOllama(embed=lambda texts: [[3.0, 4.0], [0.0, 0.0]])
    with LLMClient(config(), transport=fake.transport()) as client:
        vectors = client.embed(["x", "y"], round=0, phase="norms")
        empty = client.embed([], round=1, phase="norms")
    assert vectors.tolist() == [[0.6, 0.8], [0.0, 0.0]]
    assert empty.shape == (0, 0) and len(fake.requests) == 1
    assert client.stats.embed_calls == 1 and client.stats.per_phase["norms"].embed_calls == 1


def test_fallback_must_match_the_schema() -> None:
    class Other(Effort):
        pass

    with pytest.raises(TypeError, match="fallback of 'effort' must be a Other"):
        DecisionRequest(agent_id=0, round=0, phase="effort", model=MODEL, messages=[],
                        schema=Other, fallback=FALLBACK)


# -- real HTTP against the embedded server ----------------------------------------------------


@pytest.fixture
def real_config(ollama_host: str):
    return config(host=ollama_host, temperature=0.0, num_predict=64, max_retries=2, concurrency=2)


class Catch(BaseModel):
    # Integer bounds are enforced by the server's grammar; float bounds are not (llama.cpp).
    tons: int = Field(ge=0, le=20)
    reason: str = Field(max_length=40)


def _villager_request(agent: int, round: int = 0) -> DecisionRequest:
    return DecisionRequest(
        agent_id=agent, round=round, phase="harvest", model=MODEL, schema=Catch,
        fallback=Catch(tons=2, reason="fallback"),
        messages=[
            {"role": "system", "content": "You fish in a shared lake with nine other villagers. "
             "Answer in JSON: how many tons you catch (0 to 20) and a short reason."},
            {"role": "user", "content": f"Villager {agent}: the lake holds 240 of 300 tons. "
             "How many tons do you catch this season?"},
        ],
    )


@pytest.mark.llm
def test_real_decisions_through_the_seam_record_and_replay(real_config, tmp_path) -> None:
    # 4 decisions (+ retries if the model errs), 1 list call.
    with CallLog(tmp_path / "calls.jsonl") as log:
        with LLMClient(real_config, call_log=log, seed=1) as client:
            client.check_models([MODEL])
            decisions = client.decide_all([_villager_request(a) for a in range(4)])
    for d in decisions:
        assert isinstance(d.value, Catch) and 0 <= d.value.tons <= 20
        assert d.prompt_tokens > 0 and d.answer_tokens > 0 and d.latency_s > 0
    assert sum(not d.fallback for d in decisions) >= 3
    records = read_calls(tmp_path / "calls.jsonl")
    assert len(records) == client.stats.calls and all(r["prompt_tokens"] > 0 for r in records)
    cfg = config(backend="replay", replay_log=str(tmp_path / "calls.jsonl"),
                 temperature=0.0, num_predict=64, max_retries=2)
    with LLMClient(cfg, seed=1, transport=Offline()) as replay:
        assert replay.decide_all([_villager_request(a) for a in range(4)]) == decisions
        assert replay.stats == client.stats


@pytest.mark.llm
def test_real_same_seed_same_answer_and_unknown_model(real_config) -> None:
    # 2 calls + 1 failing call.
    with LLMClient(real_config, seed=3) as a, LLMClient(real_config, seed=3) as b:
        first, second = a.decide(_villager_request(0, round=5)), b.decide(_villager_request(0, round=5))
        assert first.raw == second.raw and not first.fallback
        with pytest.raises(LLMSetupError, match=r"run `ollama pull no-such-model:1b`"):
            a.decide(effort_request(model="no-such-model:1b"))
        with pytest.raises(LLMSetupError, match=r"run `ollama pull no-such-model:1b`"):
            a.check_models([MODEL, "no-such-model:1b"])


@pytest.mark.llm
def test_real_embeddings_put_paraphrases_closer_than_unrelated_sentences(real_config) -> None:
    with LLMClient(real_config) as client:
        client.check_models(["all-minilm"])
        v = client.embed([
            "Each villager should catch at most five tons so the lake can recover.",
            "Nobody may take more than five tons of fish, letting the lake regrow.",
            "The train to the city leaves at seven in the morning.",
        ], round=0, phase="norms")
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0)
    paraphrase, unrelated = float(v[0] @ v[1]), float(v[0] @ v[2])
    assert paraphrase > unrelated + 0.2


@pytest.mark.llm
def test_auto_backend_uses_a_live_server_else_starts_the_embedded_one(ollama_host, caplog) -> None:
    caplog.set_level(logging.INFO, logger="agents.llm.host")
    with open_llm_host(config(backend="auto", host=ollama_host)) as url:
        assert url == ollama_host
    dead = config(backend="auto", host=f"127.0.0.1:{_free_port()}")
    with open_llm_host(dead) as url:
        assert url != ollama_host and answers(url)
    assert not answers(url)  # stopped on exit
    assert "starting the embedded server" in caplog.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_run_session_replays_its_folder_without_a_server(tmp_path) -> None:
    from model.config import RunConfig
    from model.llm_session import decision_models, open_session

    with CallLog(tmp_path / "calls.jsonl") as log:
        with LLMClient(config(), transport=FakeOllama(_varied_chat).transport(), call_log=log, seed=4) as c:
            recorded, _ = _scripted_run(c)
    lines = (tmp_path / "calls.jsonl").read_text()
    run_config = replace(RunConfig(policy="llm", seed=4), llm=config(backend="replay"))
    with open_session(run_config, call_log=tmp_path / "calls.jsonl") as client:
        assert client.offline
        replayed, _ = _scripted_run(client)
    assert replayed == recorded
    assert (tmp_path / "calls.jsonl").read_text() == lines  # served, not appended again
    cycled = replace(RunConfig(), llm=config(models=("a:1b", "b:2b", "a:1b")))
    assert decision_models(cycled) == ["a:1b", "b:2b"]


@pytest.mark.llm
@pytest.mark.parametrize("scenario", ["norms", "govsim"])
def test_every_scenario_checks_its_embedding_model_before_the_first_round(ollama_host, tmp_path,
                                                                          scenario) -> None:
    # GovSim ranks memories by embedding as the norms villagers measure norm similarity by
    # embedding: a missing embedding model must stop either run at its start, not mid-run.
    from model.config import RunConfig
    from model.llm_session import open_session

    run_config = RunConfig(scenario=scenario, policy="llm",
                           llm=config(host=ollama_host, embedding_model="no-such-embedder"))
    started = []
    with pytest.raises(LLMSetupError, match="no-such-embedder"):
        with open_session(run_config, call_log=tmp_path / "calls.jsonl",
                          before_first_call=lambda: started.append(True)):
            pass
    assert started == [] and not (tmp_path / "calls.jsonl").exists()
