"""What the embedded server's prefix cache saves: one 10-villager norms round and one GovSim
month, each run with the cache off and on, side by side in one process.

Every arm starts an embedded server of its own (``llm.backend = "embedded"``), so no arm
inherits another's cached prefixes: with ``llm.prefix_cache`` off (the default: one slot, no
prompt cache) and on (llama.cpp's prompt cache, one slot per concurrent call), on the same seed
and config. GovSim runs with ``govsim.layout = "shared_first"``, the layout a prefix cache can
reuse (GovSim's own order shares 8 characters between villagers). For each arm it prints the chat calls, the wall time,
calls per second (``--arms off-slots`` adds a server with the cache-on arm's slots and no cache), the share of prompt tokens the server read from its cache (from the calls'
records), and for each scenario the ratio of calls per second on to off. It also says whether
the two arms' answers were the same, call by call.

    .venv/bin/python benchmarks/prefix_cache.py [--villagers 10] [--fishers 5]
        [--only norms|govsim]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent


def scenarios(villagers: int, fishers: int) -> dict[str, tuple[str, dict]]:
    return {
        "norms": ("runs/demo-llm.toml", {"rounds": 1, "norms.n_agents": villagers}),
        "govsim": ("runs/govsim-fishery-demo.toml",
                   {"govsim.months": 1, "rounds": 1, "govsim.n_agents": fishers,
                    "govsim.layout": "shared_first"}),
    }


def one_arm(path: str, overrides: dict, arm: str, folder: Path) -> dict:
    """One run on an embedded server started for it: ``off`` and ``on`` through
    ``llm.prefix_cache`` (what a run does), ``off-slots`` a server with as many slots as the
    cache-on arm but no prompt cache, to tell the cache's share of the gain from the slots'."""
    from agents.llm.call_log import read_calls
    from agents.llm.embedded import EmbeddedServer
    from model.config import load_config
    from model.runner import run

    config = load_config(ROOT / path, {**overrides, "llm.backend": "embedded",
                                       "llm.prefix_cache": arm == "on"})
    server = None
    if arm == "off-slots":
        server = EmbeddedServer(n_ctx=config.llm.num_ctx, n_parallel=config.llm.concurrency,
                                cache_prompt=False)
        config = config.replace(**{"llm.backend": "ollama", "llm.host": server.start()})
    try:
        start = time.perf_counter()
        run(config, folder, progress=False)
        wall = time.perf_counter() - start
    finally:
        if server is not None:
            server.stop()
    chats = [r for r in read_calls(folder / "calls.jsonl")
             if r.get("kind") == "chat" and r.get("raw") is not None]
    prompt = sum(int(r.get("prompt_tokens") or 0) for r in chats)
    cached = sum(int(r.get("cached_tokens") or 0) for r in chats)
    return {"calls": len(chats), "wall_s": wall, "calls_per_s": len(chats) / wall,
            "prompt_tokens": prompt, "cached_tokens": cached,
            "cached_share": cached / prompt if prompt else 0.0,
            "answers": [r["raw"] for r in chats]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--villagers", type=int, default=10)
    ap.add_argument("--fishers", type=int, default=5)
    ap.add_argument("--only", choices=("norms", "govsim"))
    ap.add_argument("--arms", default="off,on",
                    help="comma list of off, on, off-slots (default: off,on)")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="prefix-cache-"))
    for name, (path, overrides) in scenarios(args.villagers, args.fishers).items():
        if args.only and name != args.only:
            continue
        arms = {}
        for label in args.arms.split(","):
            arms[label] = one_arm(path, overrides, label, tmp / f"{name}-{label}")
            a = arms[label]
            print(f"{name:>6} {label:>9}: {a['calls']:4d} calls in {a['wall_s']:7.1f} s = "
                  f"{a['calls_per_s']:.3f} calls/s; {a['cached_tokens']:,} of "
                  f"{a['prompt_tokens']:,} prompt tokens from the cache "
                  f"({100 * a['cached_share']:.1f} %)", flush=True)
        for other in arms:
            if other == "on" or "on" not in arms:
                continue
            off, on = arms[other], arms["on"]
            same = sum(x == y for x, y in zip(off["answers"], on["answers"]))
            print(f"{name:>6} on/{other}: {on['calls_per_s'] / off['calls_per_s']:.2f}x calls/s; "
                  f"{same} of {min(len(off['answers']), len(on['answers']))} answers identical, "
                  "call by call", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
