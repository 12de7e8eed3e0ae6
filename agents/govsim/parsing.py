"""Free-text fallbacks for GovSim answers that ignore the JSON schema.

Models are asked for JSON (the LLM client sends the schema as ``format``); these parsers only
read answers that came back as prose, in English or Japanese. Text is NFKC-normalised first, so
full-width digits and punctuation ("回答：１２", "Ａｎｓｗｅｒ：") read like their ASCII forms, and
small Japanese numerals (十二, 三十) are understood. A parser raises ``ValueError`` when it
cannot find what it needs; the client then retries and finally uses the decision's fallback.
"""

from __future__ import annotations

import re
import unicodedata

# The answer markers GovSim's prompts end with, in both languages ("Answer:", "回答:", "答え:").
_MARKER = re.compile(r"(?:\*\*)?(?:final\s+answer|answer|回答|答え|答)(?:\*\*)?\s*(?:[:=]|は)\s*",
                     re.IGNORECASE)
_NA = re.compile(r"^\s*(?:n/?a|none|null|no agreement|なし|該当なし|合意なし)\b", re.IGNORECASE)
_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
                 "八": 8, "九": 9}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUMBER = re.compile(r"-?\d+|[〇零一二三四五六七八九十百千]+")
_YES = re.compile(r"^\s*(?:yes|true|y|はい|終わる|終了)", re.IGNORECASE)
_NO = re.compile(r"^\s*(?:no|false|n|いいえ|続ける|続行)", re.IGNORECASE)


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


def kanji_number(text: str) -> int:
    """十二 -> 12, 三十 -> 30, 百五 -> 105, 一二 -> 12 (digit by digit)."""
    if all(ch in _KANJI_DIGITS for ch in text):
        return int("".join(str(_KANJI_DIGITS[ch]) for ch in text))
    total, digit = 0, None
    for ch in text:
        if ch in _KANJI_DIGITS:
            digit = _KANJI_DIGITS[ch]
        else:
            total += (1 if digit is None else digit) * _KANJI_UNITS[ch]
            digit = None
    return total + (digit or 0)


def first_number(text: str) -> int | None:
    match = _NUMBER.search(normalise(text))
    if match is None:
        return None
    token = match.group(0)
    return int(token) if token.lstrip("-").isdigit() else kanji_number(token)


def split_answer(text: str) -> tuple[str, str]:
    """(reasoning before the last answer marker, text after it); ValueError without a marker."""
    text = normalise(text)
    markers = list(_MARKER.finditer(text))
    if not markers:
        stripped = text.strip()
        if re.fullmatch(r"-?\d+(?:\s*\w+)?\.?", stripped):  # a bare "12" or "12 tons"
            return "", stripped
        raise ValueError('no "Answer:" line')
    last = markers[-1]
    return text[: last.start()].strip(), text[last.end():].strip()


def _tail(text: str, limit: int | None) -> str:
    """The last ``limit`` characters (all of them when ``limit`` is None)."""
    return text if limit is None else text[-limit:]


def parse_harvest(text: str, reasoning_chars: int | None = 300) -> dict:
    reasoning, answer = split_answer(text)
    number = first_number(answer)
    if number is None:
        raise ValueError('no number after "Answer:"')
    return {"reasoning": _tail(reasoning, reasoning_chars), "answer": number}


def parse_limit(text: str, reasoning_chars: int | None = 300) -> dict:
    reasoning, answer = split_answer(text)
    if _NA.match(answer):
        return {"reasoning": _tail(reasoning, reasoning_chars), "answer": None}
    number = first_number(answer)
    if number is None:
        raise ValueError('no number or N/A after "Answer:"')
    return {"reasoning": _tail(reasoning, reasoning_chars), "answer": number}


_FIELD = re.compile(
    r"^\s*(response|発言|conversation conclusion by me|conversation ends?|ends?[_ ]conversation|"
    r"会話の終了|終了|next speaker|next[_ ]speaker|次の話者|次に話す人)\s*[:]\s*(.*)$",
    re.IGNORECASE)


def parse_utterance(text: str, response_chars: int | None = 300) -> dict:
    """GovSim's three-line format, or plain prose taken as the whole utterance."""
    text = normalise(text).strip()
    if not text:
        raise ValueError("empty answer")
    fields: dict[str, str] = {}
    rest: list[str] = []
    for line in text.splitlines():
        m = _FIELD.match(line)
        if m:
            key = m.group(1).lower()
            kind = ("response" if key in ("response", "発言") else
                    "next" if "next" in key or "次" in key else "end")
            fields[kind] = m.group(2).strip()
        elif "response" in fields and "end" not in fields:
            fields["response"] += "\n" + line
        else:
            rest.append(line)
    response = fields.get("response") or "\n".join(rest).strip()
    response = response.strip().strip('"“”「」').strip()
    if not response:
        raise ValueError("no utterance")
    end = fields.get("end", "")
    ends = bool(_YES.match(end)) if end and not _NO.match(end) else False
    return {"response": response[:response_chars], "ends_conversation": ends,
            "next_speaker": fields.get("next", "").strip().strip(".。")[:40]}


_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


def parse_summary(text: str, summary_chars: int | None = 200) -> dict:
    text = normalise(text).strip().strip('"「」')
    text = re.sub(r"^\s*(?:summary|要約)\s*:\s*", "", text, flags=re.IGNORECASE)
    first = _SENTENCE_END.split(text, maxsplit=1)[0].strip()
    if not first:
        raise ValueError("no sentence")
    return {"summary": first[:summary_chars]}


_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*•・])\s*(.+)$")


def parse_notes(text: str, note_chars: int | None = 160) -> dict:
    text = normalise(text).strip()
    items = [m.group(1).strip() for m in map(_ITEM.match, text.splitlines()) if m]
    if not items:
        items = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    items = [i[:note_chars] for i in items if i][:3]
    if not items:
        raise ValueError("no notes")
    return {"notes": items}


def match_name(answer: str, names: list[str]) -> str | None:
    """The participant ``answer`` names (exact, case-insensitive, or contained), else None."""
    text = normalise(answer).strip().strip(".。!?！？\"'「」").strip()
    if not text:
        return None
    lowered = {n.lower(): n for n in names}
    if text.lower() in lowered:
        return lowered[text.lower()]
    found = [n for n in names if n.lower() in text.lower()]
    return found[0] if len(found) == 1 else None
