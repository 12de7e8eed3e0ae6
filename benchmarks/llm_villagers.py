"""Cost of LLM villagers: calls per villager-round and prompt tokens per call for the LLM demo.

Runs ``runs/demo-llm.toml`` (4 villagers, 5 rounds; a local Ollama if one answers, else the
embedded server) into a fresh folder, or reads a finished run folder with ``--run-dir``, and
prints, from the run's call log and tables:

- calls per villager-round: decisions (one per villager, round and phase; target at most 4)
  and chat attempts (retries included);
- median and maximum prompt tokens per call as the server counted them (target median < 1,500),
  and a bytes/4 estimate of the whole prompt (a server with a prefix cache may count only the
  tokens it had to evaluate);
- the wall time of the run, retries and fallbacks per phase.

    .venv/bin/python benchmarks/llm_villagers.py [--config runs/demo-llm.toml] [--run-dir DIR]
        [--set key=value ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents.llm.call_log import read_calls  # noqa: E402
from model.config import load_config, parse_override  # noqa: E402
from model.runner import run  # noqa: E402


def villager_rounds(run_dir: Path) -> int:
    """Villagers alive at the start of each played round, summed over rounds."""
    import pandas as pd

    path = run_dir / "rounds.parquet"
    rounds = pd.read_parquet(path) if path.exists() else pd.read_csv(run_dir / "rounds.csv")
    alive = rounds.sort_values("Round")["Alive"].tolist()
    return int(sum(alive[:-1]))  # the row before each played round


def report(run_dir: Path, wall_s: float | None) -> dict:
    records = read_calls(run_dir / "calls.jsonl")
    chats = [r for r in records if r.get("kind") == "chat" and r.get("raw") is not None]
    decisions = {(r["agent"], r["round"], r["phase"]) for r in chats}
    vr = villager_rounds(run_dir)
    tokens = [int(r.get("prompt_tokens") or 0) for r in chats]
    estimate = [sum(len(m["content"].encode()) for m in r["messages"]) / 4 for r in chats]
    per_phase = Counter(r["phase"] for r in chats)
    fallbacks = Counter(r["phase"] for r in chats if r.get("fallback"))
    retries = Counter(r["phase"] for r in chats if r.get("attempt", 0) > 0)
    figures = {
        "villager_rounds": vr,
        "calls": len(chats),
        "calls_per_villager_round": len(chats) / vr if vr else float("nan"),
        "decisions_per_villager_round": len(decisions) / vr if vr else float("nan"),
        "median_prompt_tokens": statistics.median(tokens) if tokens else float("nan"),
        "max_prompt_tokens": max(tokens, default=0),
        "median_prompt_tokens_estimate": statistics.median(estimate) if estimate else float("nan"),
        "median_answer_tokens": statistics.median(int(r.get("answer_tokens") or 0) for r in chats)
        if chats else float("nan"),
        "calls_per_phase": dict(per_phase),
        "retries_per_phase": dict(retries),
        "fallbacks_per_phase": dict(fallbacks),
        "models": sorted({r["model"] for r in chats}),
        "wall_s": wall_s,
    }
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="runs/demo-llm.toml")
    parser.add_argument("--run-dir", help="read this finished run folder instead of running")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.run_dir:
        run_dir, wall = Path(args.run_dir), None
    else:
        config = load_config(args.config, dict(parse_override(s) for s in args.set))
        run_dir = Path(tempfile.mkdtemp(prefix="llm-villagers-")) / "run"
        start = time.perf_counter()
        run(config, run_dir, progress=False)
        wall = time.perf_counter() - start
    f = report(run_dir, wall)
    if args.json:
        print(json.dumps(f, indent=2))
        return 0
    print(f"run folder:                    {run_dir}")
    print(f"models:                        {', '.join(f['models'])}")
    print(f"villager-rounds:               {f['villager_rounds']}")
    print(f"calls per villager-round:      {f['decisions_per_villager_round']:.2f} decisions "
          f"(target <= 4); {f['calls_per_villager_round']:.2f} chat attempts with retries")
    print(f"median prompt tokens per call: {f['median_prompt_tokens']:.0f} (target < 1500; "
          f"max {f['max_prompt_tokens']}, bytes/4 estimate {f['median_prompt_tokens_estimate']:.0f})")
    print(f"median answer tokens per call: {f['median_answer_tokens']:.0f}")
    print(f"calls per phase:               {f['calls_per_phase']}")
    print(f"retries per phase:             {f['retries_per_phase']}")
    print(f"fallbacks per phase:           {f['fallbacks_per_phase']}")
    if wall is not None:
        print(f"wall time of the run:          {wall:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
