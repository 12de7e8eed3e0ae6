"""Cost of generating every answer as a stream inside the embedded server.

The server asks llama.cpp for a stream even when the client wants one JSON answer, so that a
client that leaves stops the generation at the next token. This compares that path with
llama.cpp's own non-streaming call on the same loaded model, alternating the two over the
same seeded requests, and checks that both give the same text.

    .venv/bin/python benchmarks/embedded_streamed_answers.py [--pairs 6] [--tokens 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.llm.embedded.llama_engine import LlamaEngine  # noqa: E402
from agents.llm.embedded.models import smollm2_gguf  # noqa: E402

SCHEMA = {
    "type": "object",
    "properties": {"harvest": {"type": "integer"}, "reason": {"type": "string", "maxLength": 120}},
    "required": ["harvest", "reason"],
}


def request(i: int, tokens: int) -> dict:
    prompt = (f"Round {i}. The lake holds {300 - 7 * i} tons and ten villagers share it. "
              "How many tons do you catch, and why? Answer as JSON.")
    return {"messages": [{"role": "user", "content": prompt}], "max_tokens": tokens, "seed": i,
            "temperature": 0.7, "cache_prompt": False,
            "response_format": {"type": "json_schema", "json_schema": {"schema": SCHEMA}}}


def whole(engine: LlamaEngine, req: dict) -> str:
    return engine.generate(req, chat=True)["choices"][0]["message"]["content"]


def streamed(engine: LlamaEngine, req: dict) -> str:
    parts: list[str] = []

    def collect(chunk: dict) -> bool:
        for choice in chunk.get("choices") or []:
            parts.append((choice.get("delta") or {}).get("content") or "")
        return False

    engine.generate_stream(req, True, collect)
    return "".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--tokens", type=int, default=60)
    args = parser.parse_args()
    engine = LlamaEngine(smollm2_gguf(), name="smollm2:135m", context_size=4096, n_parallel=1, threads=2)
    try:
        streamed(engine, request(0, 8))  # warm-up
        times: dict[str, list[float]] = {"whole": [], "streamed": []}
        same = 0
        for i in range(1, args.pairs + 1):
            texts = {}
            for name, call in (("whole", whole), ("streamed", streamed)) if i % 2 else (
                    ("streamed", streamed), ("whole", whole)):
                started = time.perf_counter()
                texts[name] = call(engine, request(i, args.tokens))
                times[name].append(time.perf_counter() - started)
            same += texts["whole"] == texts["streamed"]
    finally:
        engine.close()
    w, s = statistics.median(times["whole"]), statistics.median(times["streamed"])
    print(f"load average {os.getloadavg()[0]:.2f}; {args.pairs} pairs of {args.tokens}-token answers")
    print(f"non-streaming call: median {w:.2f} s; streamed and collected: median {s:.2f} s; "
          f"ratio streamed/whole {s / w:.3f}")
    print(f"identical texts: {same}/{args.pairs}")


if __name__ == "__main__":
    main()
