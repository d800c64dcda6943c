"""Matching many words at once: an Aho-Corasick automaton over the operator's enabled words.

Text and words are normalised the same way (`normalise`): full-width letters and digits become
half-width, latin letters lower case, and every character that is not a letter, digit or CJK
character (spaces, punctuation, symbols, control characters) is dropped — so "敏 感 词",
"敏*感*词" and "ＡＢＣ" match "敏感词" and "abc". Spans of hits are given in the ORIGINAL text.

The automaton is pyahocorasick's (C); without the package a Python trie does the same, slower.
`current()` returns the process-wide matcher; it checks the list's version (row count, newest
change) at most every `CHECK_SECONDS` and rebuilds when it changed; `invalidate()` forces the
check (saving or importing words calls it in this process).
"""

from __future__ import annotations

import bisect
import logging
import re
import threading
import time
from dataclasses import dataclass

logger = logging.getLogger(__name__)

try:  # pragma: no cover - depends on the environment
    import ahocorasick
except Exception:  # noqa: BLE001
    ahocorasick = None

CHECK_SECONDS = 3.0

_KEEP = re.compile(r"[^\W_]+")  # runs of letters, digits and CJK characters
# full-width letters/digits → half-width lower case; ASCII upper → lower (length-preserving)
_MAP = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF1A)}
_MAP.update({c: c - 0xFEE0 + 32 for c in range(0xFF21, 0xFF3B)})
_MAP.update({c: c - 0xFEE0 for c in range(0xFF41, 0xFF5B)})
_MAP.update({c: c + 32 for c in range(ord("A"), ord("Z") + 1)})


def normalise(text: str) -> str:
    """The form words are stored and matched in (see the module docstring)."""
    return "".join(_KEEP.findall(text or "")).translate(_MAP)


def normalise_with_map(text: str) -> tuple[str, list[int], list[int]]:
    """(normalised text, run starts in the normalised text, run starts in the original text):
    the original position of normalised index i is orig[k] + (i - norm[k]) for the run k
    holding i."""
    norm_starts, orig_starts, parts, n = [], [], [], 0
    for m in _KEEP.finditer(text or ""):
        norm_starts.append(n)
        orig_starts.append(m.start())
        parts.append(m.group())
        n += len(m.group())
    return "".join(parts).translate(_MAP), norm_starts, orig_starts


@dataclass(frozen=True)
class Entry:
    word: str
    category: str
    level: str


@dataclass(frozen=True)
class Hit:
    word: str
    category: str
    level: str
    start: int  # in the original text
    end: int    # exclusive

    @property
    def span(self) -> tuple[int, int]:
        return self.start, self.end

    def as_dict(self) -> dict:
        return {"word": self.word, "category": self.category, "level": self.level,
                "span": [self.start, self.end]}


class _Trie:
    """The fallback when pyahocorasick is missing: a dict trie scanned from every position."""

    def __init__(self):
        self.root: dict = {}

    def add_word(self, key: str, value) -> None:
        node = self.root
        for ch in key:
            node = node.setdefault(ch, {})
        node[None] = value

    def make_automaton(self) -> None:
        pass

    def iter(self, text: str):
        root = self.root
        for i in range(len(text)):
            node = root
            j = i
            while j < len(text):
                node = node.get(text[j])
                if node is None:
                    break
                if None in node:
                    yield j, node[None]
                j += 1


class Matcher:
    """Matches a fixed set of words (`Entry`s keyed by normalised word)."""

    def __init__(self, entries: dict[str, Entry] | list[Entry], version=None):
        if isinstance(entries, list):
            entries = {normalise(e.word): e for e in entries}
        self.version = version
        self.size = 0
        self._auto = ahocorasick.Automaton() if ahocorasick is not None else _Trie()
        for key, entry in entries.items():
            if key:
                self._auto.add_word(key, (len(key), entry))
                self.size += 1
        if self.size:
            self._auto.make_automaton()

    def find(self, text: str, *, longest: bool = False) -> list[Hit]:
        """Every hit in `text`, by position (a longer word first at the same start). Overlapping
        hits are all reported unless `longest` (then a hit inside a longer one is dropped).
        Hits inside an allow-listed word (level "allow") are dropped; allow words are not hits."""
        if not self.size or not text:
            return []
        norm, norm_starts, orig_starts = normalise_with_map(text)
        if not norm:
            return []

        def orig(i: int) -> int:
            k = bisect.bisect_right(norm_starts, i) - 1
            return orig_starts[k] + (i - norm_starts[k])

        raw, allowed = [], []
        for end, (length, entry) in self._auto.iter(norm):
            start = end - length + 1
            (allowed if entry.level == "allow" else raw).append((start, end + 1, entry))
        if allowed:
            raw = [h for h in raw if not any(a <= h[0] and h[1] <= b for a, b, _e in allowed)]
        raw.sort(key=lambda h: (h[0], -(h[1] - h[0])))
        if longest:
            kept, reach = [], -1
            for h in raw:
                if h[1] <= reach:
                    continue
                kept.append(h)
                reach = max(reach, h[1])
            raw = kept
        return [Hit(e.word, e.category, e.level, orig(s), orig(t - 1) + 1) for s, t, e in raw]


# --- the process-wide matcher over the operator's list ----------------------------------------

_lock = threading.Lock()
_current: Matcher | None = None
_checked = 0.0


def list_version():
    from django.db.models import Count, Max

    from .models import SensitiveWord

    agg = SensitiveWord.objects.aggregate(n=Count("id"), m=Max("updated_at"))
    return (agg["n"], agg["m"].isoformat() if agg["m"] else "")


def _load(version) -> Matcher:
    from .models import SensitiveWord

    rows = SensitiveWord.objects.filter(enabled=True).values_list("word", "category", "level")
    return Matcher({normalise(w): Entry(w, c, lv) for w, c, lv in rows.iterator(chunk_size=5000)},
                   version)


def current() -> Matcher:
    """The matcher over the enabled words, rebuilt when the list changed."""
    global _current, _checked
    m = _current
    if m is not None and time.monotonic() - _checked < CHECK_SECONDS:
        return m
    with _lock:
        if _current is not None and time.monotonic() - _checked < CHECK_SECONDS:
            return _current
        try:
            version = list_version()
        except Exception:  # noqa: BLE001 - no table yet: nothing to match
            logger.warning("sensitive-word list not readable", exc_info=True)
            _current, _checked = Matcher({}), time.monotonic()
            return _current
        if _current is None or version != _current.version:
            _current = _load(version)
        _checked = time.monotonic()
        return _current


def invalidate() -> None:
    """Check the list's version on the next `current()` call."""
    global _checked
    _checked = 0.0
