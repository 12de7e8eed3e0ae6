"""What a human villager costs the engine: the same rule-based runs without and with villager 1
played at the desk by a scripted answerer that replies at once.

The difference is the price of the mixed society's dispatch, the turn's readable content, the
desk's hand-over between threads and the ``human`` record written to the call log; a person's
thinking time comes on top, of course. Both are timed in this one process, alternating, and
printed side by side as rounds per second, with their ratio and the cost per human turn.

    .venv/bin/python benchmarks/human_villagers.py [--runs 10] [--rounds 30] [--agents 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents.human.desk import HumanDesk  # noqa: E402
from model.config import RunConfig  # noqa: E402
from model.runner import run  # noqa: E402

ANSWERS = {"effort": "0.4", "punish": "none", "cap": "5"}


def answer_all(desk: HumanDesk) -> None:
    while True:
        turn = desk.next_turn(timeout=5)
        if turn is None:
            return
        desk.answer(turn.id, {f.name: ANSWERS[f.name] for f in turn.fields})


def timed(config: RunConfig, runs: int, human: bool) -> tuple[float, int, int]:
    """Seconds for ``runs`` seeds, rounds played, human turns answered."""
    rounds = turns = 0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(runs):
            desk = HumanDesk() if human else None
            if desk is not None:
                threading.Thread(target=answer_all, args=(desk,), daemon=True).start()
            summary = run(config.replace(seed=seed), Path(tmp) / f"r{seed}", progress=False,
                          desk=desk)
            if desk is not None:
                desk.close()
            rounds += summary["rounds_run"]
            turns += summary.get("human_turns", 0)
    return time.perf_counter() - start, rounds, turns


def stepped(config: RunConfig, runs: int, human: bool) -> tuple[float, int, int]:
    """The same without the runner: the model stepped directly, its human answers recorded in
    a call log, but no tables saved after each round (the runner saves them for every run with
    human or LLM villagers, so an interruption loses nothing)."""
    from agents.human.answers import HumanAnswers
    from agents.llm.call_log import CallLog
    from model.runner import build_model

    rounds = turns = 0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(runs):
            cfg = config.replace(seed=seed)
            if not human:
                model = build_model(cfg)
                model.run()
                rounds += model.round
                continue
            desk = HumanDesk()
            threading.Thread(target=answer_all, args=(desk,), daemon=True).start()
            with CallLog(Path(tmp) / f"calls{seed}.jsonl") as log:
                answers = HumanAnswers(cfg.humans, desk=desk, call_log=log)
                model = build_model(cfg, humans=answers)
                model.run()
            desk.close()
            rounds += model.round
            turns += answers.counts["turns"]
    return time.perf_counter() - start, rounds, turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--agents", type=int, default=10)
    args = parser.parse_args()
    base = RunConfig(rounds=args.rounds, name="bench").replace(**{
        "norms.n_agents": args.agents, "norms.consumption": 0.5,
        "norms.collapse_threshold": 0.0, "villagers.human_timeout_s": 0.0})
    human = base.replace(**{"villagers.human": [1]})
    timed(base, 1, False)  # imports and first-use costs out of the way
    results = [("through the runner", timed(base, args.runs, False),
                timed(human, args.runs, True)),
               ("model stepped, no table saves", stepped(base, args.runs, False),
                stepped(human, args.runs, True))]
    print(f"{args.runs} runs x {args.rounds} rounds x {args.agents} villagers")
    for what, plain, with_human in results:
        (plain_s, plain_rounds, _), (human_s, human_rounds, turns) = plain, with_human
        plain_rate, human_rate = plain_rounds / plain_s, human_rounds / human_s
        extra_ms = (human_s - plain_s * human_rounds / plain_rounds) / max(turns, 1) * 1000
        print(f"{what}:")
        print(f"  all rule-based          {plain_rate:9.1f} rounds/s  ({plain_s:.2f} s)")
        print(f"  villager 1 at the desk  {human_rate:9.1f} rounds/s  ({human_s:.2f} s, "
              f"{turns} turns)")
        print(f"  ratio (desk / plain)    {human_rate / plain_rate:9.2f}; "
              f"{extra_ms:.2f} ms more per human turn")

if __name__ == "__main__":
    main()
