"""What the server's prefix cache saved, per call, and the response cache across runs.

Real parts: the embedded server over HTTP through the official client, a real SQLite file, and a
real sweep through the command line that reruns the session's shared demo run from the response
cache it filled (no LLM call of its own).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pydantic import BaseModel, Field

from agents.llm.call_log import CallLog, read_calls
from agents.llm.client import LLMClient
from agents.llm.requests import DecisionRequest
from agents.llm.response_cache import FILE_NAME, ResponseCache, request_key
from llm_fakes import MODEL, config
from model.config import ConfigError, RunConfig, build

ROOT = Path(__file__).resolve().parent.parent
# A shared opening long enough to fill several of llama.cpp's cache blocks.
SHARED = ("You are one of ten villagers who fish in a shared lake. "
          + " ".join(f"Day {d}: the lake held {300 - 7 * d} tons and every villager fished."
                     for d in range(1, 25)))


class Tons(BaseModel):
    tons: int = Field(ge=0, le=20)


def _request(agent: int, round: int = 0) -> DecisionRequest:
    return DecisionRequest(
        agent_id=agent, round=round, phase="harvest", model=MODEL, schema=Tons,
        fallback=Tons(tons=1), num_predict=12,
        messages=[{"role": "system", "content": SHARED},
                  {"role": "user", "content": f"You are villager {agent}. How many tons today?"}],
    )


@pytest.mark.llm
def test_calls_record_the_prompt_tokens_the_server_read_from_its_cache(
        embedded_server, ollama_host, tmp_path, monkeypatch) -> None:
    settings = config(host=ollama_host, temperature=0.0, num_predict=12, max_retries=0,
                      concurrency=1)
    monkeypatch.setattr(embedded_server, "cache_prompt", False)
    with CallLog(tmp_path / "cold.jsonl") as log, LLMClient(settings, call_log=log) as client:
        client.decide_all([_request(0), _request(1)])
    cold = read_calls(tmp_path / "cold.jsonl")
    assert [r["cached_tokens"] for r in cold] == [0, 0]
    assert all(r["evaluated_tokens"] == r["prompt_tokens"] > 100 for r in cold)

    monkeypatch.setattr(embedded_server, "cache_prompt", True)
    with CallLog(tmp_path / "warm.jsonl") as log, LLMClient(settings, call_log=log) as client:
        client.decide_all([_request(0), _request(1)])
    warm = read_calls(tmp_path / "warm.jsonl")
    second = warm[1]
    # Villager 1 shares villager 0's whole system message, so most of its prompt is reused.
    assert second["cached_tokens"] > 0.7 * second["prompt_tokens"]
    assert second["evaluated_tokens"] == second["prompt_tokens"] - second["cached_tokens"]
    assert client.stats.cached_tokens == sum(r["cached_tokens"] for r in warm)
    assert client.stats.per_phase["harvest"].cached_tokens == client.stats.cached_tokens


@pytest.mark.llm
def test_a_response_cache_answers_a_repeated_request_without_the_server(
        ollama_host, tmp_path) -> None:
    folder = tmp_path / "cache"
    settings = config(host=ollama_host, temperature=0.7, num_predict=12, max_retries=0,
                      cache=str(folder))
    with CallLog(tmp_path / "first.jsonl") as log, LLMClient(settings, seed=4, call_log=log) as c:
        first = c.decide(_request(0))
        first_vectors = c.embed(["a shared lake", "fish"], round=0, phase="norms",
                                model="all-minilm")
    with CallLog(tmp_path / "again.jsonl") as log, LLMClient(settings, seed=4, call_log=log) as c:
        again = c.decide(_request(0))
        vectors = c.embed(["a shared lake", "fish"], round=0, phase="norms", model="all-minilm")
        # Every attempt (a retry too, if the model erred) and the embedding came from the file.
        assert c.stats.cache_hits == c.stats.calls == again.attempts == first.attempts
        assert c.stats.embed_cache_hits == 1 and c.cache.hits == c.stats.calls + 1
    assert again.value == first.value and again.raw == first.raw
    assert (vectors == first_vectors).all()
    records = read_calls(tmp_path / "again.jsonl")
    assert [r.get("cache") for r in records] == ["hit"] * (again.attempts + 1)  # never silent
    assert records[0]["prompt_tokens"] == read_calls(tmp_path / "first.jsonl")[0]["prompt_tokens"]

    # Another seed is another request: asked of the server and stored beside the first.
    with LLMClient(settings, seed=5) as c:
        c.decide(_request(0))
        assert c.cache.hits == 0 and c.stats.cache_hits == 0
        chats = first.attempts + c.stats.calls
    with sqlite3.connect(folder / FILE_NAME) as db:
        kinds = sorted(k for (k,) in db.execute("SELECT kind FROM answers"))
    assert kinds == ["chat"] * chats + ["embed"]


def test_the_key_covers_model_weights_messages_and_options(tmp_path) -> None:
    base = {"backend": "ollama", "model": "m", "weights": "digest:1",
            "messages": [{"role": "user", "content": "hi"}], "options": {"seed": 1}}
    key = request_key("chat", base)
    assert request_key("chat", dict(base)) == key
    for change in ({"weights": "digest:2"}, {"options": {"seed": 2}}, {"model": "n"},
                   {"messages": [{"role": "user", "content": "hi!"}]}, {"format": {"type": "object"}}):
        assert request_key("chat", base | change) != key, change
    assert request_key("embed", base) != key
    cache = ResponseCache(tmp_path / "c")
    cache.put(key, "chat", "m", {"raw": "first"})
    cache.put(key, "chat", "m", {"raw": "second"})  # the first answer stays
    assert cache.get(key) == {"raw": "first"} and len(cache) == 1 and cache.stored == 1
    cache.close()


def test_an_unusable_cache_folder_is_one_clear_error(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(Exception, match=r"llm.cache: cannot open the response cache"):
        ResponseCache(blocker / "cache")
    with pytest.raises(ConfigError, match=r"llm.cache"):
        build(RunConfig, {"llm": {"cache": 3}})


@pytest.mark.llm
def test_a_sweep_rerun_with_the_response_cache_asks_no_server_and_gives_the_same_tables(
        llm_demo_run, ollama_host, tmp_path):
    # The session's shared demo run stored its answers in a response cache; a sweep of the same
    # config and seed, through the command line, is answered from it.
    live, _ = llm_demo_run
    spec = tmp_path / "again.toml"
    spec.write_text(f"""
name = "again"
base = "{ROOT / 'runs/demo-llm.toml'}"
seeds = [7]
hosts = ["{ollama_host}"]
[set]
rounds = 2
"norms.n_agents" = 2
"llm.backend" = "ollama"
"llm.cache" = "{live.parent / 'answers'}"
""")
    done = subprocess.run([sys.executable, "-m", "cli", "sweep", str(spec), "--out",
                           str(tmp_path / "again"), "--quiet"], cwd=ROOT, capture_output=True,
                          text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr
    again = tmp_path / "again" / "runs" / "seed-7"

    calls = read_calls(again / "calls.jsonl")
    assert calls and all(r.get("cache") == "hit" for r in calls)  # not one server call
    first_calls = read_calls(live / "calls.jsonl")
    def answers(records):  # concurrent calls are logged as they finish: compare by key
        return {(r["kind"], r["agent"], r["round"], r["phase"], r.get("attempt")):
                r.get("raw", r.get("embeddings")) for r in records}

    assert answers(calls) == answers(first_calls) and len(calls) == len(first_calls)
    assert not any(r.get("cache") for r in first_calls)
    a = pd.read_parquet(live / "rounds.parquet")
    b = pd.read_parquet(again / "rounds.parquet")
    hits = ["LLM_cache_hits", "LLM_embed_cache_hits"]
    assert a[hits].to_numpy().sum() == 0
    assert (b["LLM_cache_hits"] == b["LLM_calls"]).all()
    assert (b["LLM_embed_cache_hits"] == b["LLM_embed_calls"]).all()
    pd.testing.assert_frame_equal(a.drop(columns=hits), b.drop(columns=hits))
    for table in ("agents", "events"):
        pd.testing.assert_frame_equal(pd.read_parquet(live / f"{table}.parquet"),
                                      pd.read_parquet(again / f"{table}.parquet"))
    summary = json.loads((again / "summary.json").read_text())
    assert summary["llm_cache_hits"] == summary["llm_calls"] > 0


@pytest.mark.llm
def test_llm_prefix_cache_turns_on_the_prompt_cache_of_the_server_a_run_starts(tmp_path):
    # Off (the default) is the session's server, checked above: nothing is read from a cache.
    from agents.llm.host import open_llm_host
    from agents.llm.settings import LLMConfig

    settings = LLMConfig(backend="embedded", prefix_cache=True, concurrency=2, temperature=0.0,
                         max_retries=0, num_predict=12)
    with open_llm_host(settings) as url, LLMClient(settings, host=url) as client:
        client.decide(_request(0))
        client.decide(_request(1))
        assert client.stats.cached_tokens > 0.7 * client.stats.prompt_tokens / 2
