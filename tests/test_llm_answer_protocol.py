"""The answer protocol on the wire: free-text requests send no answer format, the think switch
is sent only when set, and embeddings reach a server of their own."""

from __future__ import annotations

import pytest

from agents.llm.client import LLMClient
from agents.llm.errors import LLMSetupError
from agents.llm.requests import DecisionRequest
from agents.norms.schemas import EffortAnswer, parse_effort_text
from llm_fakes import MODEL, FakeOllama, config
from reliability_support import fault_server


def _effort(free_text: bool) -> DecisionRequest:
    return DecisionRequest(agent_id=1, round=1, phase="effort", model=MODEL,
                           messages=[{"role": "user", "content": "How hard do you fish?"}],
                           schema=EffortAnswer, fallback=EffortAnswer(effort=0.5),
                           text_parser=parse_effort_text, free_text=free_text)


@pytest.mark.parametrize("think", [None, True, False])
@pytest.mark.parametrize("free_text", [True, False])
def test_format_and_think_on_the_wire(free_text, think):
    fake = FakeOllama(lambda body, n: "<think>R is high.</think>0.4" if free_text else '{"effort": 0.4}')
    with LLMClient(config(think=think), transport=fake.transport()) as client:
        decision = client.decide(_effort(free_text))
    assert decision.value.effort == 0.4 and not decision.fallback
    body = fake.chat_bodies[0]
    assert ("format" in body) == (not free_text)
    assert body.get("think") == think and (("think" in body) == (think is not None))


def test_a_free_text_retry_asks_for_the_output_rule_not_json():
    fake = FakeOllama(lambda body, n: "I cannot say." if n == 0 else "0.25")
    with LLMClient(config(), transport=fake.transport()) as client:
        decision = client.decide(_effort(True))
    assert decision.value.effort == 0.25 and decision.retries == 1
    feedback = fake.chat_bodies[1]["messages"][-1]["content"]
    assert "output rule" in feedback and "JSON" not in feedback


def test_a_free_text_request_needs_a_parser():
    with pytest.raises(TypeError, match="text_parser"):
        DecisionRequest(agent_id=1, round=1, phase="effort", model=MODEL, messages=[],
                        schema=EffortAnswer, fallback=EffortAnswer(effort=0.5), free_text=True)


def test_embeddings_go_to_their_own_server(tmp_path):
    from model.config import RunConfig
    from model.runner import run

    with fault_server() as (_, decisions), fault_server() as (_, embeddings):
        base = RunConfig(policy="llm", seed=2, rounds=1).replace(**{
            "norms.n_agents": 2, "llm.backend": "ollama", "llm.host": decisions,
            "llm.embedding_backend": "ollama", "llm.embedding_host": "http://127.0.0.1:9"})
        # A dead embedding server stops the run at its start, named, with nothing written.
        with pytest.raises(LLMSetupError, match="127.0.0.1:9"):
            run(base, tmp_path / "dead", progress=False)
        assert not (tmp_path / "dead").exists()
        live = base.replace(**{"llm.embedding_host": embeddings})
        summary = run(live, tmp_path / "live", progress=False)
    assert summary["rounds_run"] == 1
