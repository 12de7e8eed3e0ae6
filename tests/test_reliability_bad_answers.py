"""Bad answers: generated model answers (hypothesis) through the real decision path.

The requests are the ones the policies really send (captured from a norms round and a GovSim
month); the answers come from a scripted source plugged into the real ``LLMClient`` in place of a
server, so parsing, checks, retries and fallbacks all run as in a live run. Every decision type
gets at least 1,000 answers: no crash, every retry and fallback counted; then whole runs on such
answers write tables whose LLM counters equal their call logs.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.llm.call_log import CallLog
from agents.llm.client import LLMClient
from model.run_folder import RunFolder
from model.runner import build_model
from reliability_support import check_call_log, govsim_config, norms_config

NORMS_TYPES = ("effort", "punish", "propose", "vote")
# The same decisions answered in free text (llm.protocol = "paper"), and the belief update of
# villagers without group decision.
PAPER_TYPES = ("effort@paper", "punish@paper", "propose@paper", "vote@paper", "belief@paper")
GOVSIM_TYPES = ("harvest", "utterance", "limit", "reflection")
ANSWERS_PER_TYPE = 1000
# The keys each decision's schema asks for: generated JSON uses them, right or wrong.
KEYS = {"effort": ["effort"], "punish": ["punish"], "propose": ["personal", "community"],
        "vote": ["policy"], "harvest": ["reasoning", "answer"], "limit": ["reasoning", "answer"],
        "utterance": ["response", "ends_conversation", "next_speaker"], "reflection": ["notes"],
        "summary": ["summary"], "belief": ["personal"]}
LABELLED = st.tuples(st.sampled_from(["Personal", "community", "PERSONAL", " Personal", "Policy"]),
                     st.text(max_size=80)).map(lambda t: f"{t[0]}: {t[1]}")

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
values = st.one_of(
    st.none(), st.booleans(), st.integers(-10**9, 10**9),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([0, 0.05, 0.3, 1, 5, 10, 1.5]),
    st.text(max_size=60), st.sampled_from(["John", "Kate", "none", "3", "Mayor", "0.2", ""]),
    st.lists(st.text(max_size=20), max_size=3),
)


def answers_for(kind: str) -> st.SearchStrategy[str]:
    keys = KEYS[kind.split("@")[0]]
    as_json = st.dictionaries(st.sampled_from(keys + ["extra", "Answer"]), values, max_size=4).map(
        lambda d: json.dumps(d, ensure_ascii=False))
    return st.one_of(
        as_json,
        as_json.flatmap(lambda s: st.integers(0, len(s)).map(lambda k: s[:k])),  # cut off
        st.text(max_size=120),
        st.tuples(st.text(max_size=40), as_json).map(lambda t: f"<think>{t[0]}</think>{t[1]}"),
        st.integers(-50, 150).map(lambda n: f"I will take {n}.\nAnswer: {str(n).translate(FULLWIDTH)}"),
        st.sampled_from(["", "{}", "[]", "null", "{" * 200, "x" * 5000, '{"a": NaN}', "\x00\ufeff",
                         "N/A", "0.35", "2"]),
        st.lists(LABELLED, min_size=1, max_size=3).map("\n".join),  # the paper's line format
    )


class ScriptedAnswers:
    """Stands in for the server: ``next_answer(phase_kind)`` supplies each attempt's raw text.
    Not strict, so embeddings go to the mock transport below (they need the right row count)."""

    strict = False
    path = None
    served = 0

    def __init__(self, next_answer, protocol: str = "schema"):
        self.next_answer = next_answer
        self.protocol = protocol
        self.asked = Counter()

    def chat(self, agent, round, phase, attempt):
        kind = phase.split(":")[0]
        kind = kind if self.protocol == "schema" else f"{kind}@{self.protocol}"
        self.asked[kind] += 1
        return {"kind": "chat", "raw": self.next_answer(kind), "done_reason": "stop",
                "prompt_tokens": 7, "answer_tokens": 3, "model": None, "messages": None}

    def embed(self, agent, round, phase):
        return None


def _embeddings(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    rows = [[b / 255 + 0.01 for b in hashlib.sha256(t.encode()).digest()[:8]] for t in body["input"]]
    return httpx.Response(200, json={"model": body["model"], "embeddings": rows,
                                     "prompt_eval_count": len(rows)})


def _client(config, source, log=None) -> LLMClient:
    return LLMClient(config.llm, host="http://scripted.test:1", seed=config.seed, replay=source, call_log=log,
                     transport=httpx.MockTransport(_embeddings))


@pytest.fixture(scope="module")
def requests():
    """One real request per decision type, captured from a norms round and a GovSim month."""
    seen = {}

    class Capturing(LLMClient):
        def _decide(self, req):
            kind = req.phase.split(":")[0] + ("@paper" if req.free_text else "")
            seen.setdefault(kind, req)
            return super()._decide(req)

    # Answers valid enough that every phase is reached (a silent discussion would skip the
    # summary and limit calls); the requests themselves do not depend on the answers.
    speaking = {"utterance": json.dumps({"response": "Let us each take ten.",
                                         "ends_conversation": True, "next_speaker": ""})}
    paper = {"llm.protocol": "paper"}
    for config in (norms_config(1, rounds=1), govsim_config(1, months=1),
                   norms_config(1, rounds=1, **paper),
                   norms_config(1, rounds=1, **paper, **{"modules.ablation": "neither"})):
        source = ScriptedAnswers(lambda kind: speaking.get(kind, "{}"), config.llm.protocol)
        client = Capturing(config.llm, host="http://scripted.test:1", seed=1, replay=source,
                           transport=httpx.MockTransport(_embeddings))
        model = build_model(config, llm_client=client)
        model.step()
    assert set(NORMS_TYPES + GOVSIM_TYPES + PAPER_TYPES) <= set(seen), sorted(seen)
    return seen


totals: dict[str, Counter] = defaultdict(Counter)


@pytest.mark.parametrize("kind", NORMS_TYPES + GOVSIM_TYPES + PAPER_TYPES)
def test_generated_answers_never_crash_and_are_counted(kind, requests):
    req = requests[kind]
    config = govsim_config(1) if kind in GOVSIM_TYPES else norms_config(1)
    attempts = config.llm.max_retries + 1

    @settings(max_examples=ANSWERS_PER_TYPE // (2 * attempts), deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(answers_for(kind), min_size=attempts, max_size=attempts))
    def one(script):
        queue = list(script)
        source = ScriptedAnswers(lambda _: queue.pop(0))
        client = _client(config, source)
        decision = client.decide(req)
        used = attempts - len(queue)
        assert decision.attempts == used
        assert client.stats.calls == used and client.stats.retries == used - 1
        assert client.stats.fallbacks == int(decision.fallback)
        if decision.fallback:
            assert decision.value == req.fallback and used == attempts
        else:
            req.schema.model_validate(decision.value.model_dump())  # a valid answer was kept
        totals[kind].update(answers=used, fallbacks=int(decision.fallback),
                            retries=used - 1, decisions=1)

    while totals[kind]["answers"] < ANSWERS_PER_TYPE:  # hypothesis may stop a run early
        one()
    t = totals[kind]
    print(f"\nbad answers ({kind}): {t['answers']} generated answers, {t['decisions']} decisions, "
          f"0 crashes, {t['retries']} retries and {t['fallbacks']} fallbacks counted")
    assert t["answers"] >= ANSWERS_PER_TYPE


@pytest.mark.parametrize("make", [norms_config, govsim_config], ids=["norms", "govsim"])
def test_runs_on_generated_answers_count_every_retry_and_fallback(make, tmp_path):
    """Whole runs whose every answer is generated: the tables' counters equal the call log."""
    runs = []

    @settings(max_examples=4, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def one(data):
        config = make(len(runs) + 1, **{"llm.concurrency": 1})
        folder = RunFolder(tmp_path / f"run{len(runs)}")
        folder.create()
        source = ScriptedAnswers(lambda kind: data.draw(answers_for(kind)))
        with CallLog(folder.file("calls.jsonl")) as log:
            model = build_model(config, llm_client=_client(config, source, log))
            while model.running:
                model.step()
        folder.write_tables(model.tables(), "parquet")
        runs.append(check_call_log(folder.path))

    one()
    print(f"\nbad answers ({make.__name__.split('_')[0]} runs): {len(runs)} runs on generated "
          f"answers, {sum(r['answered'] for r in runs)} answers, "
          f"{sum(r['retries'] for r in runs)} retries and {sum(r['fallbacks'] for r in runs)} "
          "fallbacks, tables' LLM counters equal the call logs")
