"""How well the embedding model serves GovSim's memory relevance, in English and in Japanese.

Embeds the same eight memory/query pairs in both languages through the LLM layer (default: the
embedded server's all-MiniLM-L6-v2) and prints, side by side, how often a query ranks its own
memory first among the eight (chance 1/8) and the mean cosine of matching and of unrelated pairs.

    .venv/bin/python benchmarks/relevance_languages.py [--host URL] [--model NAME]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# (memory, a query about it) in English and the same pairs in Japanese.
PAIRS = {
    "en": [
        ("Before anyone fishes this month, the lake holds 60 tons of fish.", "How many fish are in the lake now?"),
        ("The group agreed that each fisherman catches at most 10 tons per month.", "What limit did we agree on?"),
        ("Kate asked for 40 tons and landed 25 tons.", "How much did Kate catch?"),
        ("The restaurant was noisy and the soup was cold tonight.", "How was dinner at the restaurant?"),
        ("If everyone catches more than 6 tons, the lake will shrink next month.", "What happens if we all overfish?"),
        ("John said he needs money to repair his boat.", "Why does John want a bigger catch?"),
        ("Emma proposed that newcomers should follow the village rules.", "What did Emma suggest about newcomers?"),
        ("It rained all week and the roads to the market were flooded.", "What was the weather like?"),
    ],
    "ja": [
        ("今月、誰かが漁をする前、湖には60トンの魚がいる。", "今、湖に魚はどれくらいいる？"),
        ("話し合いで、漁師は一人あたり月に10トンまでしか獲らないことに合意した。", "私たちはどんな上限に合意した？"),
        ("美咲は40トンを求め、25トンを獲った。", "美咲はどれだけ獲った？"),
        ("今夜のレストランは騒がしく、スープは冷めていた。", "レストランでの夕食はどうだった？"),
        ("皆が6トンより多く獲れば、来月は湖の魚が減る。", "皆が獲りすぎるとどうなる？"),
        ("健太は船を直すお金が必要だと言った。", "健太はなぜもっと獲りたいの？"),
        ("由美は新しく来た人も村の決まりに従うべきだと提案した。", "由美は新しく来た人について何を提案した？"),
        ("一週間ずっと雨が降り、市場への道は水につかった。", "天気はどうだった？"),
    ],
}


def measure(client, language: str) -> dict[str, float]:
    memories, queries = zip(*PAIRS[language])
    vectors = client.embed(list(memories) + list(queries), round=0, phase=f"relevance:{language}")
    m, q = vectors[: len(memories)], vectors[len(memories):]
    sims = q @ m.T  # rows: queries, columns: memories (unit vectors)
    n = len(memories)
    matching = float(np.mean(np.diag(sims)))
    unrelated = float((sims.sum() - np.trace(sims)) / (n * n - n))
    top1 = float(np.mean(np.argmax(sims, axis=1) == np.arange(n)))
    return {"top1": top1, "matching": matching, "unrelated": unrelated}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=None, help="an Ollama server (default: start the embedded one)")
    parser.add_argument("--model", default="all-minilm", help="embedding model")
    args = parser.parse_args()

    from agents.llm.client import LLMClient
    from agents.llm.host import open_llm_host
    from agents.llm.settings import LLMConfig

    cfg = LLMConfig(backend="ollama" if args.host else "embedded", host=args.host,
                    embedding_model=args.model)
    with open_llm_host(cfg) as host, LLMClient(cfg, host=host) as client:
        rows = {lang: measure(client, lang) for lang in PAIRS}
    n = len(PAIRS["en"])
    print(f"embedding model {args.model}: {n} memory/query pairs per language (chance top-1 = {1 / n:.3f})")
    print(f"{'language':<10}{'top-1':>8}{'cos matching':>14}{'cos unrelated':>15}{'gap':>8}")
    for lang, r in rows.items():
        print(f"{lang:<10}{r['top1']:>8.3f}{r['matching']:>14.3f}{r['unrelated']:>15.3f}"
              f"{r['matching'] - r['unrelated']:>8.3f}")
    en, ja = rows["en"], rows["ja"]
    print(f"gap ratio ja / en: {(ja['matching'] - ja['unrelated']) / (en['matching'] - en['unrelated']):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
