"""Small text helpers for showing answers: titles, trimmed answers, plain text of rich text,
and masking of personal data in questions kept after an account is deleted."""

from __future__ import annotations

import html
import re

_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
_NUMBERED = re.compile(r"^[（(]?[0-9一二三四五六七八九十]{1,3}[）)、.．]\s*")
_TAG = re.compile(r"<[^>]+>")
_BLOCK_END = re.compile(r"</(p|div|li|h[1-6]|tr|table|ul|ol|blockquote)>|<br\s*/?>", re.I)
_SPACE = re.compile(r"[ \t\r\f\v\u3000]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: str) -> str:
    """Remove control characters (NUL cannot be stored in PostgreSQL text) and outer space."""
    return _CONTROL.sub("", text or "").strip()


def first_sentence(text: str, limit: int = 40) -> str:
    """The first sentence of `text`, at most `limit` characters (an ellipsis when cut)."""
    text = _SPACE.sub(" ", clean(text))
    # a numbered answer ("1、...") starts with its first point; skip the number
    text = _NUMBERED.sub("", text)
    m = _SENTENCE_END.search(text)
    head = text[:m.start()] if m and m.start() > 0 else text
    return head if len(head) <= limit else head[:limit - 1].rstrip() + "…"


def trim(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, at the end of a sentence when one ends in the
    last third, with an ellipsis when cut."""
    text = clean(text)
    if len(text) <= limit:
        return text
    head = text[:limit]
    cut = max((m.start() for m in _SENTENCE_END.finditer(head)), default=-1)
    if cut >= limit * 2 // 3:
        return head[:cut + 1].rstrip() + "…"
    return head[:limit - 1].rstrip() + "…"


def plain_text(rich: str) -> str:
    """Plain text of stored rich text (HTML): paragraphs on their own lines."""
    text = _BLOCK_END.sub("\n", rich or "")
    text = html.unescape(_TAG.sub("", text))
    lines = [_SPACE.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


_PERSONAL = [
    re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),           # e-mail addresses
    re.compile(r"\d{6}(19|20)\d{2}\d{4}\d{3}[\dXx]"),   # resident identity card numbers
    re.compile(r"\d[\d\- ]{5,}\d"),                       # phone numbers and other long numbers
]


def mask_personal(text: str) -> str:
    """The question as kept after its asker's account is deleted: e-mail addresses, identity
    card numbers and long numbers (phones, account numbers) replaced by ＊."""
    for pattern in _PERSONAL:
        text = pattern.sub(lambda m: "＊" * min(len(m.group(0)), 4), text)
    return text
