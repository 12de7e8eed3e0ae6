"""Making text written by one villager safe to show to another.

Proposals, beliefs and the adopted norm are model output. They reach a prompt only as one line
inside the quote marks ``«`` and ``»``: line breaks and other separators become spaces, control,
formatting and invisible characters are dropped, the quote marks and their look-alikes are
replaced, anything shaped like a chat-template token (``<|im_end|>``, ``<think>``, ``[INST]``)
has its brackets turned into parentheses, and the text is cut to a fixed length. Whatever a
villager writes, it stays one quoted line and cannot add lines, blocks, delimiters or roles to
another villager's prompt.

llama.cpp and Ollama turn a special token's exact text into the control token itself, whatever
the model; breaking the brackets of every tag-shaped word therefore covers every model's
vocabulary (ChatML, Llama, Gemma, Mistral, DeepSeek, ...) without knowing it.
"""

from __future__ import annotations

import re
import unicodedata

OPEN, CLOSE = "«", "»"
# Characters that could pass for the quote marks; replaced by a plain double quote.
_QUOTE_LIKE = str.maketrans({c: '"' for c in "«»‹›〈〉《》＜＞≪≫❮❯⟪⟫⟨⟩❬❭❰❱⧼⧽⪡⪢ᐸᐳ︽︾︿﹀"})
# Unicode categories dropped outright: control, format (bidi overrides, zero-width), separators.
_DROP = {"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"}
# Invisible characters outside those categories (Unicode's default-ignorable fillers, variation
# selectors, the blank braille cell): they could hide text or split a word unseen.
_INVISIBLE = frozenset(
    [0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0, 0x2800, *range(0x180B, 0x1810),
     *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)])
# Tag-shaped words, the form every chat template's special tokens take.
_TAG = re.compile(r"<([^<>\s]{1,64})>|\[(/?[A-Z_]{2,32})\]")
ELLIPSIS = "…"


def _untag(match: re.Match) -> str:
    return f"({match.group(1) or match.group(2)})"


def one_line(text: str, limit: int) -> str:
    """``text`` as a single line of at most ``limit`` characters with no quote marks in it."""
    text = unicodedata.normalize("NFKC", str(text))
    chars = []
    for ch in text:
        if ch.isspace():
            chars.append(" ")
        elif unicodedata.category(ch) not in _DROP and ord(ch) not in _INVISIBLE:
            chars.append(ch)
    flat = " ".join("".join(chars).translate(_QUOTE_LIKE).split())
    flat = _TAG.sub(_untag, flat)
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:  # end on a word boundary unless that loses too much
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def quoted(text: str, limit: int) -> str:
    """``text`` made safe (see ``one_line``) and wrapped in the quote marks."""
    return f"{OPEN}{one_line(text, limit)}{CLOSE}"
