"""Timings of the embedded Ollama-compatible server, through the official ollama client.

    .venv/bin/python benchmarks/embedded_server.py            # all measurements (~5-10 min idle)
    .venv/bin/python benchmarks/embedded_server.py --quick    # fewer calls
    .venv/bin/python benchmarks/embedded_server.py --rounds 0 --ab-rounds 6   # only 1 vs 2 slots

Measures: start time (cold conversion cache and warm), latency of one structured chat call
(a ~330-token villager prompt, bounded JSON schema), calls/s with 1 vs 2 llama.cpp slots
(and 1 vs 2 threads, OpenMP passive vs libgomp's default waiting), whether concurrent answers equal
sequential ones, and embedding throughput. Every configuration runs in a fresh process
(OpenMP reads its settings once), configurations alternate over rounds, and the load
average is printed next to each figure: on a shared 2-core machine other work skews
timings, so compare figures taken side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCHEMA = {
    "type": "object",
    "properties": {
        "harvest": {"type": "integer", "minimum": 0, "maximum": 100},
        "reason": {"type": "string", "maxLength": 60},
    },
    "required": ["harvest", "reason"],
}


def villager_messages(i: int) -> list[dict[str, str]]:
    rules = (
        "You are a villager who fishes in a lake shared by ten villagers. Each round you "
        "choose how many tons to catch. After all catches, the fish left in the lake grow "
        "by 20 percent, but never beyond the lake's capacity of 300 tons. If the stock falls "
        "below 30 tons the lake collapses and nobody can fish again. "
    ) * 2
    table = "\n".join(f"Villager {k}: last catch {3 + (k + i) % 5} tons, wealth {40 + 7 * k}" for k in range(10))
    return [{"role": "system", "content": rules},
            {"role": "user", "content": f"Round {i}. The lake holds {300 - i} tons.\n{table}\n"
                                        "How many tons do you catch? Answer as JSON."}]


def load() -> float:
    return os.getloadavg()[0]


# --- worker: one configuration in its own process -------------------------------------------


def worker(args: argparse.Namespace) -> dict:
    if args.omp == "default":  # libgomp's own default: spin 300k times, then sleep
        os.environ.pop("OMP_WAIT_POLICY", None)
        os.environ["GOMP_SPINCOUNT"] = "300000"
    elif args.omp == "active":
        os.environ["OMP_WAIT_POLICY"] = "ACTIVE"
    if args.cold_cache:
        os.environ["COMMONS_LAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="commons-lab-bench-")
    import httpx
    import ollama

    from agents.llm.embedded import EmbeddedServer

    out: dict = {"load_start": load()}
    t = time.perf_counter()
    server = EmbeddedServer(n_parallel=args.parallel, threads=args.threads, embeddings=args.embed)
    url = server.start()
    out["start_s"] = time.perf_counter() - t
    client = ollama.Client(host=url, timeout=httpx.Timeout(600, connect=5))

    def call(i: int) -> tuple[float, str, int]:
        t0 = time.perf_counter()
        r = client.chat(model="smollm2:135m", messages=villager_messages(i), format=SCHEMA,
                        options={"seed": i, "temperature": 0.7, "num_predict": 100})
        return time.perf_counter() - t0, r.message.content, r.eval_count

    if args.calls:
        call(999)  # warm-up
        seq = [call(i) for i in range(args.calls)]
        out["latency_s"] = [round(s, 3) for s, _, _ in seq]
        out["eval_tokens"] = [n for _, _, n in seq]
        out["seq_calls_per_s"] = args.calls / sum(s for s, _, _ in seq)
        t = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            conc = list(pool.map(call, range(args.calls)))
        out["conc_calls_per_s"] = args.calls / (time.perf_counter() - t)
        out["conc_equals_seq"] = sum(a[1] == b[1] for a, b in zip(seq, conc))
    if args.embed:
        sentences = [f"Villager {i} thinks each of us should catch at most {i % 7 + 2} tons per round."
                     for i in range(64)]
        client.embed(model="all-minilm", input=sentences[:4])
        t = time.perf_counter()
        for _ in range(3):
            client.embed(model="all-minilm", input=sentences)
        out["embed_sentences_per_s"] = 3 * len(sentences) / (time.perf_counter() - t)
        t = time.perf_counter()
        for s in sentences[:16]:
            client.embed(model="all-minilm", input=s)
        out["embed_single_ms"] = (time.perf_counter() - t) / 16 * 1e3
    t = time.perf_counter()
    server.stop()
    out["stop_s"] = time.perf_counter() - t
    out["load_end"] = load()
    return out


# --- orchestration ------------------------------------------------------------------------


def run_config(name: str, flags: list[str]) -> dict:
    cmd = [sys.executable, __file__, "--worker", *flags]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["config"] = name
    return result


def summary(r: dict) -> str:
    parts = [f"{r['config']:<28}", f"load {r['load_start']:.1f}->{r['load_end']:.1f}",
             f"start {r['start_s']:.2f}s"]
    if "latency_s" in r:
        lat = r["latency_s"]
        parts += [f"latency median {statistics.median(lat):.2f}s max {max(lat):.2f}s",
                  f"seq {r['seq_calls_per_s']:.2f}/s", f"concurrent {r['conc_calls_per_s']:.2f}/s",
                  f"same-as-seq {r['conc_equals_seq']}/{len(lat)}"]
    if "embed_sentences_per_s" in r:
        parts += [f"embed {r['embed_sentences_per_s']:.0f} sent/s (batch 64)",
                  f"single {r['embed_single_ms']:.0f} ms"]
    return " | ".join(parts)


def slots_ab(rounds: int) -> None:
    """1 vs 2 slots in one process, alternating pairs of concurrent calls, so that drifting
    load from other jobs hits both configurations alike."""
    import ollama

    from agents.llm.embedded import EmbeddedServer

    servers = {n: EmbeddedServer(n_parallel=n, embeddings=False) for n in (1, 2)}
    clients = {n: ollama.Client(host=s.start(), timeout=900) for n, s in servers.items()}
    spent, done = {1: 0.0, 2: 0.0}, {1: 0, 2: 0}
    try:
        for rnd in range(rounds):
            for n in (1, 2) if rnd % 2 == 0 else (2, 1):
                t = time.perf_counter()
                with ThreadPoolExecutor(2) as pool:
                    list(pool.map(lambda i, c=clients[n]: c.chat(
                        model="smollm2:135m", messages=villager_messages(i), format=SCHEMA,
                        options={"seed": i, "temperature": 0.7, "num_predict": 100}),
                        range(2 * rnd, 2 * rnd + 2)))
                spent[n] += time.perf_counter() - t
                done[n] += 2
        for n in (1, 2):
            print(f"{n} slot(s), 2 concurrent callers: {done[n] / spent[n]:.3f} calls/s "
                  f"(load now {load():.1f})", flush=True)
    finally:
        for s in servers.values():
            s.stop()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--worker", action="store_true")
    p.add_argument("--parallel", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--calls", type=int, default=8)
    p.add_argument("--embed", action="store_true")
    p.add_argument("--omp", choices=["passive", "default", "active"], default="passive",
                   help="OpenMP waiting: the server's PASSIVE default, libgomp's default, ACTIVE")
    p.add_argument("--cold-cache", action="store_true")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--ab-rounds", type=int, default=6, help="rounds of the interleaved 1-vs-2-slot test")
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return

    calls = "4" if args.quick else str(args.calls)
    configs = {
        "1 slot, 2 threads": ["--parallel", "1", "--calls", calls],
        "2 slots, 2 threads": ["--parallel", "2", "--calls", calls],
        "1 slot, 1 thread": ["--parallel", "1", "--threads", "1", "--calls", calls],
        "1 slot, 2 thr, libgomp wait": ["--parallel", "1", "--omp", "default", "--calls", calls],
    }
    print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()}", flush=True)
    print(summary(run_config("start, cold cache + embed", ["--calls", "0", "--embed", "--cold-cache"])), flush=True)
    print(summary(run_config("start, warm cache + embed", ["--calls", "0", "--embed"])), flush=True)
    for rnd in range(1 if args.quick else args.rounds):
        print(f"-- round {rnd + 1}", flush=True)
        for name, flags in configs.items():
            print(summary(run_config(name, flags)), flush=True)
    print("-- 1 vs 2 slots, interleaved", flush=True)
    slots_ab(2 if args.quick else args.ab_rounds)


if __name__ == "__main__":
    main()
