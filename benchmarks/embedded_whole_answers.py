"""Cost of asking for whole answers over llama.cpp's private listener, so they can be cancelled.

The embedded server asks llama.cpp for a non-streaming answer over its keyed Unix socket and
watches the client meanwhile: closing that connection is what makes llama.cpp drop the work.
This compares that path with xllamacpp's direct call (which cannot be cancelled) and with a
stream collected into one text, alternating them over the same seeded requests on one loaded
model, and checks which give the same text as the direct call.

    .venv/bin/python benchmarks/embedded_whole_answers.py [--rounds 6] [--tokens 60]
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


def direct(engine: LlamaEngine, req: dict) -> str:
    result = engine._call("handle_chat_completions", {**req, "stream": False})
    return engine._checked(result)["choices"][0]["message"]["content"]


def private_listener(engine: LlamaEngine, req: dict) -> str:
    return engine.generate(req, chat=True, should_stop=lambda: False)["choices"][0]["message"]["content"]


def streamed(engine: LlamaEngine, req: dict) -> str:
    parts: list[str] = []

    def collect(chunk: dict) -> bool:
        for choice in chunk.get("choices") or []:
            parts.append((choice.get("delta") or {}).get("content") or "")
        return False

    engine.generate_stream(req, True, collect)
    return "".join(parts)


PATHS = {"direct call": direct, "private listener": private_listener, "collected stream": streamed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--tokens", type=int, default=60)
    args = parser.parse_args()
    engine = LlamaEngine(smollm2_gguf(), name="smollm2:135m", context_size=4096, n_parallel=1, threads=2)
    names = list(PATHS)
    times: dict[str, list[float]] = {name: [] for name in names}
    same = {name: 0 for name in names}
    try:
        direct(engine, request(0, 8))  # warm-up
        for i in range(1, args.rounds + 1):
            order = names[i % 3:] + names[:i % 3]  # each path first, second and last in turn
            texts = {}
            for name in order:
                started = time.perf_counter()
                texts[name] = PATHS[name](engine, request(i, args.tokens))
                times[name].append(time.perf_counter() - started)
            for name in names:
                same[name] += texts[name] == texts["direct call"]
    finally:
        engine.close()
    base = statistics.median(times["direct call"])
    print(f"load average {os.getloadavg()[0]:.2f}; {args.rounds} rounds of {args.tokens}-token answers")
    for name in names:
        median = statistics.median(times[name])
        print(f"{name:17s} median {median:.2f} s, ratio to the direct call {median / base:.3f}, "
              f"same text as the direct call {same[name]}/{args.rounds}")


if __name__ == "__main__":
    main()
