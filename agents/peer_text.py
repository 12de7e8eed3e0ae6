"""Making text written by one villager safe to show to another.

Proposals, beliefs and the adopted norm are model output. They reach a prompt only as one line
inside the quote marks ``«`` and ``»``: line breaks and other separators become spaces, control
and formatting characters are dropped, the quote marks themselves are replaced, and the text is
cut to a fixed length. Whatever a villager writes, it stays one quoted line and cannot add lines,
blocks or delimiters to another villager's prompt.
"""

from __future__ import annotations

import unicodedata

OPEN, CLOSE = "«", "»"
# Characters that could pass for the quote marks; replaced by a plain double quote.
_QUOTE_LIKE = str.maketrans({c: '"' for c in "«»‹›〈〉《》＜＞"})
# Unicode categories dropped outright: control, format (bidi overrides, zero-width), separators.
_DROP = {"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"}
ELLIPSIS = "…"


def one_line(text: str, limit: int) -> str:
    """``text`` as a single line of at most ``limit`` characters with no quote marks in it."""
    text = unicodedata.normalize("NFKC", str(text))
    chars = []
    for ch in text:
        if ch.isspace():
            chars.append(" ")
        elif unicodedata.category(ch) not in _DROP:
            chars.append(ch)
    flat = " ".join("".join(chars).translate(_QUOTE_LIKE).split())
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
