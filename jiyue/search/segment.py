"""Chinese segmentation for search: one segmenter, the same at index and at query time.

rjieba (jieba's algorithm and dictionary, in Rust) with jieba's default dictionary, then the
government dictionary shipped in `data/gov_dict.txt`, then the words the platform operator
adds in the admin (`DictionaryTerm`). HMM discovery of unknown words is off on both sides, so
an unknown word is split the same way wherever it appears (into dictionary words or single
characters) and a query finds it in any context.

Text is normalised first (`normalise`): full-width letters and digits become half-width, latin
letters lower case, and every run of punctuation, symbols and whitespace becomes one space —
such characters never become tokens.

- Index time (`index_text`): the precise segmentation, in order (phrases match it), then
  every other dictionary word occurring in the text (jieba's full mode), joined by spaces;
  tantivy's whitespace tokenizer numbers the tokens. A dictionary word is thus found wherever
  it occurs as a substring (住房公积金 in 住房公积金提取办法, cut 住房 | 公积金提取), like the
  usual "max-word at index time, smart at query time" set-up of Chinese search engines.
- Query time (`query_words`): the precise mode of the same segmenter, stop words dropped.
  Every query word is a dictionary word (found as above) or a single character of a word the
  dictionary does not know (runs of those are matched as phrases by the engine).

`segmenter()` returns a process-wide segmenter; it checks the operator's dictionary version at
most every `CHECK_SECONDS` and rebuilds itself when it changed (`invalidate()` forces that, e.g.
after a change in this process).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path

import rjieba

logger = logging.getLogger(__name__)

GOV_DICT = Path(__file__).resolve().parent / "data" / "gov_dict.txt"
CHECK_SECONDS = 3.0
MAX_WORD = 40  # longer "words" (URLs, digit runs) are not indexed as terms

# Function words that carry no meaning on their own in a query (they stay in the index, so
# phrases across them still match): data/stop_words.txt. Kept small on purpose: 不, 无, 非
# change a meaning.
STOP_WORDS_FILE = Path(__file__).resolve().parent / "data" / "stop_words.txt"
STOP_WORDS = frozenset(w for line in STOP_WORDS_FILE.read_text(encoding="utf-8").splitlines()
                       if not line.startswith("#") for w in line.split())

_NON_WORD = re.compile(r"[\W_]+")  # punctuation, symbols, whitespace, control characters
_FULL_WIDTH = re.compile(r"[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
FULL_WIDTH_MAP = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF5B)}


def half_width(text: str) -> str:
    """Full-width latin letters and digits as half-width (the same length: offsets stay)."""
    return text.translate(FULL_WIDTH_MAP) if _FULL_WIDTH.search(text) else text


def normalise(text: str) -> str:
    """Lower case, full-width letters and digits → half-width (the NFKC mappings that matter
    for search; full NFKC costs more than the segmentation), every run of punctuation,
    symbols, whitespace and control characters → one space."""
    if not text:
        return ""
    return half_width(_NON_WORD.sub(" ", text)).lower().strip()


def read_gov_dict(path: Path = GOV_DICT) -> list[tuple[str, int | None]]:
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        words.append((parts[0], freq))
    return words


class Segmenter:
    """A rjieba instance with the government dictionary and extra (operator) words."""

    def __init__(self, extra: list[tuple[str, int | None]] = (), version=None):
        self.version = version
        self.jieba = rjieba.Jieba()
        self.words: set[str] = set()
        for word, freq in [*read_gov_dict(), *extra]:
            self.add_word(word, freq)

    def add_word(self, word: str, freq: int | None = None) -> None:
        word = normalise(word)
        # A word with a space in it after normalisation (e.g. "互联网+政务服务") can never be
        # one token: its parts are added instead.
        for part in word.split():
            if part and len(part) <= MAX_WORD:
                self.jieba.add_word(part, freq or None, None)
                self.words.add(part)

    def index_text(self, text: str) -> str:
        """The space-separated tokens of `text` for the index: the precise segmentation (in
        order: phrases match it), then every other dictionary word that occurs in the text
        (jieba's full mode), so that a word is found wherever it occurs as a substring —
        住房公积金 in 住房公积金提取办法 although the precise cut is 住房 | 公积金提取."""
        text = normalise(text)
        if not text:
            return ""
        precise = self.jieba.cut(text, False)
        seen = set(precise)
        more = [w for w in self.jieba.cut_all(text) if len(w) > 1 and w not in seen]
        return " ".join(precise) + " " + " ".join(more)

    def tokens(self, text: str) -> list[str]:
        """Precise-mode tokens of `text` (normalised, no punctuation), stop words kept."""
        text = normalise(text)
        if not text:
            return []
        return [t for t in self.jieba.cut(text, False) if t.strip() and len(t) <= MAX_WORD]

    def query_words(self, text: str) -> list[str]:
        """Precise-mode tokens of a query, stop words dropped (all of them kept when the
        query has nothing but stop words, e.g. 如何)."""
        tokens = self.tokens(text)
        kept = [t for t in tokens if t not in STOP_WORDS]
        return kept or tokens

    def search_tokens(self, text: str) -> list[str]:
        return self.index_text(text).split()


_lock = threading.Lock()
_current: Segmenter | None = None
_checked = 0.0


def dictionary_version():
    """A cheap fingerprint of the operator's dictionary (row count, newest change)."""
    from django.db.models import Count, Max

    from .models import DictionaryTerm

    agg = DictionaryTerm.objects.aggregate(n=Count("id"), m=Max("updated_at"))
    return (agg["n"], agg["m"].isoformat() if agg["m"] else "")


def operator_words() -> list[tuple[str, int | None]]:
    from .models import DictionaryTerm

    return list(DictionaryTerm.objects.values_list("word", "freq"))


def _load() -> Segmenter:
    try:
        version = dictionary_version()
        extra = operator_words()
    except Exception:  # noqa: BLE001 - no database (yet): the shipped dictionaries alone
        logger.warning("search dictionary not readable; using the shipped dictionaries", exc_info=True)
        version, extra = None, []
    return Segmenter(extra, version)


def segmenter() -> Segmenter:
    """The process-wide segmenter, rebuilt when the operator's dictionary changed."""
    global _current, _checked
    now = time.monotonic()
    seg = _current
    if seg is not None and now - _checked < CHECK_SECONDS:
        return seg
    with _lock:
        if _current is not None and time.monotonic() - _checked < CHECK_SECONDS:
            return _current
        try:
            version = dictionary_version()
        except Exception:  # noqa: BLE001
            version = None
        if _current is None or (version is not None and version != _current.version):
            _current = _load()
        _checked = time.monotonic()
        return _current


def invalidate() -> None:
    """Check the dictionary version on the next `segmenter()` call."""
    global _checked
    _checked = 0.0


def base_segmenter() -> Segmenter:
    """jieba's and the shipped government dictionary only (no operator words): how a word was
    segmented before the operator added it."""
    global _base
    if _base is None:
        _base = Segmenter()
    return _base


_base: Segmenter | None = None
