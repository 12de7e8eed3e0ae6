"""Human villagers beside rule-based ones: the config, the desk's bounds, the time limit's
fallback, the call log's ``human`` records, strict replay and resume.

A scripted "student" thread answers at the real desk; the runs go through the real runner, Mesa
model and call log, and take well under a second each.
"""

from __future__ import annotations

import threading

import pandas as pd
import pytest
from reliability_support import assert_same_tables, status

import cli
from agents.human.desk import HumanDesk
from agents.llm.call_log import read_calls
from model.config import ConfigError, RunConfig
from model.runner import run

ANSWERS = {"effort": "0.35", "punish": "none", "cap": "4.5"}


def config(**extra) -> RunConfig:
    return RunConfig(seed=7, rounds=3, name="human").replace(**{
        "norms.n_agents": 4, "villagers.human": [1], "villagers.human_timeout_s": 30.0, **extra})


class Student:
    """Answers every turn of villager 1 at ``desk`` from ``answers``; first tries ``bad`` (a
    value out of range) once per phase named there, and stops after ``turns`` turns."""

    def __init__(self, desk: HumanDesk, answers=ANSWERS, bad=None, turns=None, skip=()):
        self.desk, self.answers, self.bad = desk, answers, dict(bad or {})
        self.turns, self.skip = turns, set(skip)
        self.seen: list[tuple[int, str]] = []
        self.refused: list[str] = []
        self.thread = threading.Thread(target=self.play, daemon=True)
        self.thread.start()

    def play(self) -> None:
        while self.turns is None or len(self.seen) < self.turns:
            turn = self.desk.next_turn(timeout=20)
            if turn is None:
                return
            self.seen.append((turn.round, turn.phase))
            if (turn.round, turn.phase) in self.skip:  # let the time run out
                while self.desk.is_open(turn):
                    self.desk.next_turn(timeout=0.05)
                continue
            if turn.phase in self.bad:
                error = self.desk.answer(turn.id, {turn.fields[0].name: self.bad.pop(turn.phase)})
                assert error is not None
                self.refused.append(error)
            assert self.desk.answer(turn.id, {f.name: self.answers[f.name]
                                              for f in turn.fields}) is None


@pytest.mark.parametrize("ids, message", [
    ([0], "villagers.human[0] = 0 is not a villager: ids run from 1 to norms.n_agents = 4"),
    ([5], "villagers.human[0] = 5 is not a villager"),
    ([2, 2], "villagers.human[1] = 2 is named twice"),
])
def test_human_ids_are_checked_in_one_line(ids, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        config(**{"villagers.human": ids})


def test_bad_human_flag_is_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text("rounds = 1\n[norms]\nn_agents = 3\n")
    for flag, expected in (("x", "--human 'x' must be villager ids"),
                           ("9", "villagers.human[0] = 9 is not a villager")):
        assert cli.main(["run", str(path), "--out", str(tmp_path / "o"), "--human", flag]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expected in err[0]
    assert not (tmp_path / "o").exists()


def test_desk_refuses_out_of_bounds_and_keeps_the_turn_open():
    from agents.human.forms import fields_for
    from agents.norms.schemas import EffortAnswer, punish_schema

    desk = HumanDesk()
    turn = desk.open(agent=1, round=1, phase="effort", title="t", shown={},
                     fields=fields_for(EffortAnswer, {}), schema=EffortAnswer)
    for bad, why in (("1.5", "out of range"), ("lots", "not a number"), ("", "not a number"),
                     ("nan", "enter a number from 0 to 1")):
        assert why in desk.answer(turn.id, {"effort": bad})
    assert desk.pending() == [turn] and turn.refusals == 4
    assert desk.answer(turn.id, {"effort": "0.25"}) is None
    assert desk.wait(turn) == EffortAnswer(effort=0.25) and desk.pending() == []
    assert "closed" in desk.answer(turn.id, {"effort": "0.3"})
    schema = punish_schema(("2", "3", "none"))
    turn = desk.open(agent=1, round=1, phase="punish", title="t", shown={},
                     fields=fields_for(schema, {"punish": "Punish"}), schema=schema)
    assert "choose one of 2, 3, none" in desk.answer(turn.id, {"punish": "1"})
    assert desk.answer(turn.id, {"punish": "3"}) is None


def test_mixed_society_records_replays_and_counts(tmp_path):
    desk = HumanDesk()
    student = Student(desk, bad={"effort": "1.7"})
    run(config(), tmp_path / "live", progress=False, desk=desk)
    desk.close()
    assert student.seen == [(r, p) for r in (1, 2, 3) for p in ("effort", "punish", "propose")]
    assert student.refused == [("Effort today (0 = stay home, 1 = fish as hard as you can): "
                                "1.7 is out of range; enter a number from 0 to 1")]
    humans = [r for r in read_calls(tmp_path / "live" / "calls.jsonl") if r["kind"] == "human"]
    assert [(r["round"], r["phase"]) for r in humans] == student.seen
    first = humans[0]
    assert first["answer"] == {"effort": 0.35} and first["refusals"] == 1
    assert not first["timed_out"] and first["seconds"] >= 0
    assert first["shown"]["lake"]["stock"] == 300.0 and len(first["shown"]["peers"]) == 4
    agents = pd.read_parquet(tmp_path / "live" / "agents.parquet")
    mine = agents[(agents.AgentID == 1) & (agents.Round > 0)]
    assert mine.Effort.tolist() == [0.35] * 3 and mine.Belief.tolist() == [4.5] * 3
    assert agents[agents.AgentID != 1].Human.eq(False).all() and mine.Human.all()
    events = pd.read_parquet(tmp_path / "live" / "events.parquet")
    assert 4.5 in events[(events.kind == "proposal") & (events.agent == 1)].value.tolist()
    rounds = pd.read_parquet(tmp_path / "live" / "rounds.parquet")
    assert rounds.Human_turns.tolist() == [0, 3, 3, 3] and rounds.Human_timeouts.sum() == 0

    # Strict replay: nobody at the desk, the same tables bit for bit.
    replay = config(**{"llm.backend": "replay",
                       "llm.replay_log": str(tmp_path / "live" / "calls.jsonl")})
    run(replay, tmp_path / "replay", progress=False)
    assert_same_tables(tmp_path / "live", tmp_path / "replay")


def test_time_limit_uses_the_fallback_counted_and_logged(tmp_path, caplog):
    desk = HumanDesk()
    Student(desk, skip={(2, "effort"), (2, "propose")})
    run(config(**{"villagers.human_timeout_s": 0.3}), tmp_path / "live", progress=False, desk=desk)
    desk.close()
    rounds = pd.read_parquet(tmp_path / "live" / "rounds.parquet")
    assert rounds.Human_timeouts.tolist() == [0, 0, 2, 0]
    assert sum("human turn timed out: villager 1, round 2" in m for m in caplog.messages) == 2
    agents = pd.read_parquet(tmp_path / "live" / "agents.parquet")
    mine = agents[agents.AgentID == 1].set_index("Round")
    assert mine.Effort[2] == 0.35  # the previous effort: the fallback an LLM villager gets
    humans = {(r["round"], r["phase"]): r for r in read_calls(tmp_path / "live" / "calls.jsonl")}
    assert humans[(2, "effort")]["timed_out"] and humans[(2, "effort")]["answer"] is None
    run(config(**{"llm.backend": "replay", "llm.replay_log": str(tmp_path / "live" / "calls.jsonl")}),
        tmp_path / "replay", progress=False)
    assert_same_tables(tmp_path / "live", tmp_path / "replay")


def test_resume_after_an_interruption_does_not_ask_again(tmp_path):
    desk = HumanDesk()
    Student(desk, turns=4)  # answers round 1 and round 2's effort, then leaves
    closer = threading.Thread(target=lambda: (_wait_for_turns(desk, 5), desk.close("test")))
    closer.start()
    with pytest.raises(Exception, match="desk closed"):
        run(config(), tmp_path / "run", progress=False, desk=desk)
    closer.join()
    assert status(tmp_path / "run") == "failed"
    again = HumanDesk()
    student = Student(again)
    run(config(), tmp_path / "run", resume=True, progress=False, desk=again)
    again.close()
    assert student.seen[0] == (2, "punish") and len(student.seen) == 5
    records = [r for r in read_calls(tmp_path / "run" / "calls.jsonl") if r["kind"] == "human"]
    assert len(records) == 9 and len({(r["round"], r["phase"]) for r in records}) == 9
    desk3 = HumanDesk()
    Student(desk3)
    run(config(), tmp_path / "fresh", progress=False, desk=desk3)
    desk3.close()
    assert_same_tables(tmp_path / "run", tmp_path / "fresh")


def _wait_for_turns(desk: HumanDesk, n: int) -> None:
    """Until the desk has opened its ``n``-th turn."""
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pending = desk.pending()
        if pending and pending[0].id >= n:
            return
        time.sleep(0.02)


def test_human_beside_llm_villagers_votes_and_can_be_punished(tmp_path):
    """An LLM society (answers scripted in a call log, no server): the human proposes in words,
    votes on the ballot by number, and the LLM villagers may name the human to punish."""
    import json

    log = tmp_path / "script.jsonl"
    with open(log, "w", encoding="utf-8") as f:
        def chat(agent, rnd, phase, answer):
            f.write(json.dumps({"kind": "chat", "agent": agent, "round": rnd, "phase": phase,
                                "attempt": 0, "model": "m", "raw": json.dumps(answer),
                                "done_reason": "stop"}) + "\n")
        for rnd in (1, 2):
            for agent in (2, 3):
                chat(agent, rnd, "effort", {"effort": 0.4})
                chat(agent, rnd, "punish", {"punish": "1"})
                chat(agent, rnd, "propose", {"personal": "I fish a little less now.",
                                             "community": "Everyone fishes at most half."})
                chat(agent, rnd, "vote", {"policy": "Everyone fishes at most half."})
        for rnd in range(3):
            f.write(json.dumps({"kind": "embed", "agent": -1, "round": rnd, "phase": "norms",
                                "embeddings": [[1.0, 0.1 * i] for i in range(3 + (rnd > 0))]})
                    + "\n")
    answers = {"effort": "0.3", "punish": "2", "personal": "Fish little, keep the lake.",
               "community": "Nobody fishes more than a third.", "policy": "1"}
    cfg = config(**{"policy": "llm", "rounds": 2, "norms.n_agents": 3, "llm.protocol": "schema",
                    "llm.backend": "replay", "llm.replay_log": str(log)})
    desk = HumanDesk()
    student = Student(desk, answers=answers, bad={"punish": "1"})
    run(cfg, tmp_path / "live", progress=False, desk=desk)
    desk.close()
    assert student.seen == [(r, p) for r in (1, 2) for p in ("effort", "punish", "propose", "vote")]
    assert "choose one of 2, 3, none" in student.refused[0]  # not oneself
    events = pd.read_parquet(tmp_path / "live" / "events.parquet")
    punished = events[events.kind == "punish"]
    assert set(zip(punished.agent, punished.target)) == {(1, 2), (2, 1), (3, 1)}
    votes = events[(events.kind == "vote") & (events["round"] == 1)]
    assert votes.agent.tolist() == [1, 2, 3]
    assert votes.text.tolist() == ["Nobody fishes more than a third."] + \
        ["Everyone fishes at most half."] * 2
    agents = pd.read_parquet(tmp_path / "live" / "agents.parquet")
    mine = agents[(agents.AgentID == 1) & (agents.Round > 0)]
    assert mine.BeliefText.tolist() == ["Fish little, keep the lake."] * 2
    assert mine.LLMModel.isna().all() and mine.Effort.tolist() == [0.3, 0.3]
    run(cfg.replace(**{"llm.replay_log": str(tmp_path / "live" / "calls.jsonl")}),
        tmp_path / "replay", progress=False)
    assert_same_tables(tmp_path / "live", tmp_path / "replay")


def test_the_report_gives_human_villagers_rows_of_their_own(tmp_path):
    from analysis.report import build_report

    desk = HumanDesk()
    Student(desk)
    run(config(), tmp_path / "runs" / "a", progress=False, desk=desk)
    desk.close()
    run(config(**{"villagers.human": []}), tmp_path / "runs" / "b", progress=False)
    report = build_report([tmp_path / "runs"], tmp_path / "report")
    survival = report.tables["villagers_survival"].set_index("villagers_are")
    effort = report.tables["villagers_effort"].set_index("villagers_are")
    assert survival.index.tolist() == ["human", "model (rule-based)"]
    assert survival.villagers.tolist() == [1, 3] and survival.runs.tolist() == [1, 1]
    assert survival.loc["human", "mean_rounds_alive"] == 3
    assert effort.loc["human", "mean_effort"] == pytest.approx(0.35)
    agents = pd.read_parquet(tmp_path / "runs" / "a" / "agents.parquet")
    model = agents[(agents.AgentID != 1) & (agents.Round > 0) & agents.Alive]
    assert effort.loc["model (rule-based)", "mean_effort"] == pytest.approx(model.Effort.mean())
    text = report.markdown.read_text()
    assert "Human and model villagers" in text and "1 runs had human villagers (9 human turns" in text


def test_the_page_replays_a_recorded_run_with_a_human_villager(tmp_path):
    from viz.live_run import LiveRun

    desk = HumanDesk()
    Student(desk)
    run(config(), tmp_path / "run", progress=False, desk=desk)
    desk.close()
    replay = LiveRun.recorded(tmp_path / "run")
    assert replay.error is None and replay.desk is None  # nobody is asked
    for _ in range(3):
        replay.step()
        replay.wait()
    assert replay.error is None
    rounds = pd.read_parquet(tmp_path / "run" / "rounds.parquet")
    pd.testing.assert_frame_equal(replay.sim.tables()["rounds"], rounds, check_exact=True)


def test_a_bound_that_only_keeps_a_number_representable_is_not_shown_to_a_person():
    from agents.human.forms import Field

    request = Field("request", "How much do you take", "integer", minimum=0, maximum=2**31 - 1)
    assert request.bounds_text() == "a whole number of at least 0"
    assert Field("effort", "Effort", "number", minimum=0, maximum=1).bounds_text() == \
        "a number from 0 to 1"
    with pytest.raises(ValueError, match="out of range"):
        request.parse(str(2**31))
