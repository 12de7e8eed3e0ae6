"""Throughput of the LLM seam against the bare ``ollama`` client, on the embedded server.

Three arms send the same requests (same prompts, schema, options and per-call seeds) at the
same concurrency:

  direct   ``ollama.Client.chat`` from a bounded thread pool (the baseline)
  seam     ``LLMClient.decide_all``: validation, call log with fsync per line, counters
  async    ``ollama.AsyncClient.chat`` under ``asyncio.gather`` with a semaphore (for the
           choice of threads over asyncio in the seam)

Arms alternate in a rotating order each round so drift of the machine hits all of them. The
overhead of the seam is (direct calls/s - seam calls/s) / direct calls/s. Because one real call
takes about a second and the machine's noise is larger than the target (3 %), the seam's own
cost is also measured without a model: the same decide_all against an instantly answering
transport, in microseconds per call, and set against the median real call.

    .venv/bin/python benchmarks/llm_layer.py [--rounds 3] [--prompts 8] [--concurrency 2]
                                             [--host URL]   (default: start the embedded server)
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import ollama
from pydantic import BaseModel, Field

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.llm.call_log import CallLog  # noqa: E402
from agents.llm.client import LLMClient, call_seed  # noqa: E402
from agents.llm.requests import DecisionRequest  # noqa: E402
from agents.llm.settings import LLMConfig  # noqa: E402

MODEL = "smollm2:135m"
SEED = 7


class Harvest(BaseModel):
    # Integer bounds are enforced by the server's grammar, so answers are valid as in real runs.
    tons: int = Field(ge=0, le=20)
    reason: str = Field(max_length=40)


FALLBACK = Harvest(tons=2, reason="fallback")


def prompts(n: int) -> list[list[dict]]:
    out = []
    for i in range(n):
        stock = 300 - 17 * i
        out.append([
            {"role": "system", "content": "You are a villager who fishes in a lake shared by ten "
             "villagers. The lake regrows a little each season. Answer with a JSON object."},
            {"role": "user", "content": f"You are villager {i}. The lake holds {stock} of 300 tons. "
             "Last season the others fished with efforts 0.2, 0.5, 0.9 and 0.4. "
             "How many tons (0 to 20) do you catch this season? Give a short reason."},
        ])
    return out


def requests_for(round_: int, messages: list[list[dict]]) -> list[DecisionRequest]:
    return [DecisionRequest(agent_id=i, round=round_, phase="effort", model=MODEL, messages=m,
                            schema=Harvest, fallback=FALLBACK) for i, m in enumerate(messages)]


def options(config: LLMConfig, req: DecisionRequest) -> dict:
    # Exactly the options the seam sends for attempt 0, so every arm asks the server the same.
    return {"temperature": config.temperature, "top_p": config.top_p,
            "seed": call_seed(SEED, req.agent_id, req.round, req.phase, 0),
            "num_predict": config.num_predict, "num_ctx": config.num_ctx}


def timeout(config: LLMConfig) -> httpx.Timeout:
    return httpx.Timeout(config.timeout_s, connect=5.0)


def run_direct(host: str, config: LLMConfig, reqs: list[DecisionRequest]) -> float:
    client = ollama.Client(host=host, timeout=timeout(config))
    schema = Harvest.model_json_schema()

    def one(req: DecisionRequest) -> str:
        r = client.chat(model=req.model, messages=req.messages, format=schema,
                        options=options(config, req))
        return r.message.content

    start = time.perf_counter()
    with ThreadPoolExecutor(config.concurrency) as pool:
        list(pool.map(one, reqs))
    elapsed = time.perf_counter() - start
    client.close()
    return elapsed


def run_async(host: str, config: LLMConfig, reqs: list[DecisionRequest]) -> float:
    schema = Harvest.model_json_schema()

    async def main() -> None:
        client = ollama.AsyncClient(host=host, timeout=timeout(config))
        gate = asyncio.Semaphore(config.concurrency)

        async def one(req: DecisionRequest) -> str:
            async with gate:
                r = await client.chat(model=req.model, messages=req.messages, format=schema,
                                      options=options(config, req))
                return r.message.content

        await asyncio.gather(*(one(r) for r in reqs))
        await client._client.aclose()

    start = time.perf_counter()
    asyncio.run(main())
    return time.perf_counter() - start


def run_seam(host: str, config: LLMConfig, reqs: list[DecisionRequest], log_dir: Path,
             stats: dict) -> float:
    with CallLog(log_dir / f"calls-{reqs[0].round}.jsonl") as log:
        client = LLMClient(config, host=host, seed=SEED, call_log=log)
        start = time.perf_counter()
        decisions = client.decide_all(reqs)
        elapsed = time.perf_counter() - start
        client.close()
    stats["calls"] += sum(d.attempts for d in decisions)
    stats["fallbacks"] += sum(d.fallback for d in decisions)
    stats["latencies"] += [d.latency_s for d in decisions]
    return elapsed


def seam_cpu_cost(config: LLMConfig, messages: list[list[dict]], log_dir: Path, n: int = 400) -> float:
    """Seconds of seam work per call with a server that answers instantly, minus the same
    calls made directly through the client (so only the seam's own work remains)."""
    body = {"model": MODEL, "created_at": "2026-01-01T00:00:00Z", "done": True,
            "done_reason": "stop", "prompt_eval_count": 90, "eval_count": 20,
            "message": {"role": "assistant", "content": '{"tons": 4, "reason": "keep stock"}'}}
    content = json.dumps(body).encode()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=content))
    reqs = [r for k in range(n // len(messages)) for r in requests_for(1000 + k, messages)]
    direct = ollama.Client(host="http://bench.test", transport=transport)
    schema = Harvest.model_json_schema()
    best_direct = best_seam = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for req in reqs:
            direct.chat(model=MODEL, messages=req.messages, format=schema, options=options(config, req))
        best_direct = min(best_direct, time.perf_counter() - start)
        with CallLog(log_dir / "cpu.jsonl") as log:
            seam = LLMClient(dataclasses.replace(config, concurrency=1),
                             host="http://bench.test", seed=SEED, call_log=log, transport=transport)
            start = time.perf_counter()
            for req in reqs:
                seam.decide(req)
            best_seam = min(best_seam, time.perf_counter() - start)
            seam.close()
    return (best_seam - best_direct) / len(reqs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--host", default=None, help="an Ollama server (default: start the embedded one)")
    args = parser.parse_args()

    config = LLMConfig(backend="ollama", model=MODEL, temperature=0.7, num_predict=80,
                       max_retries=0, concurrency=args.concurrency)
    messages = prompts(args.prompts)
    server = None
    host = args.host
    if host is None:
        from agents.llm.embedded import EmbeddedServer

        server = EmbeddedServer()
        t0 = time.perf_counter()
        host = server.start()
        print(f"embedded server at {host}, ready in {time.perf_counter() - t0:.2f} s")
    try:
        # Warm-up: load the model and the code paths once, outside the timings.
        run_direct(host, config, requests_for(-1, messages[: args.concurrency]))
        arms = {"direct": 0.0, "seam": 0.0, "async": 0.0}
        paired = []
        stats = {"calls": 0, "fallbacks": 0, "latencies": []}
        order = list(arms)
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.rounds):
                reqs = requests_for(r, messages)
                times = {}
                for arm in order:
                    if arm == "direct":
                        times[arm] = run_direct(host, config, reqs)
                    elif arm == "seam":
                        times[arm] = run_seam(host, config, reqs, Path(tmp), stats)
                    else:
                        times[arm] = run_async(host, config, reqs)
                    arms[arm] += times[arm]
                paired.append(times["seam"] / times["direct"] - 1)
                print(f"round {r}: " + ", ".join(f"{a} {len(reqs) / times[a]:.3f} calls/s"
                                                  for a in arms) + f"  (order {'/'.join(order)})")
                order = order[1:] + order[:1]
            cpu = seam_cpu_cost(config, messages, Path(tmp))
        n = args.rounds * args.prompts
        rate = {a: n / t for a, t in arms.items()}
        overhead = (rate["direct"] - rate["seam"]) / rate["direct"] * 100
        median_call = statistics.median(stats["latencies"])
        print()
        print(f"server {host}, model {MODEL}, concurrency {args.concurrency}, "
              f"{args.rounds} rounds x {args.prompts} prompts = {n} calls per arm")
        print(f"  direct ollama.Client (threads)   {rate['direct']:.3f} calls/s")
        print(f"  through the seam (decide_all)    {rate['seam']:.3f} calls/s   "
              f"({stats['calls']} calls, {stats['fallbacks']} fallbacks)")
        print(f"  direct ollama.AsyncClient        {rate['async']:.3f} calls/s")
        print(f"  seam overhead in throughput      {overhead:+.2f} %  "
              f"(paired per round: {', '.join(f'{p * 100:+.1f}' for p in paired)} %)")
        print(f"  seam's own work per call         {cpu * 1e6:.0f} us  = "
              f"{cpu / median_call * 100:.3f} % of the median call ({median_call:.2f} s)")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
