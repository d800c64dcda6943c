"""Screening's public interface.

    find(text, longest=False) -> [Hit(word, category, level, start, end)]   the operator's list
    flagged(hits) -> "block" | "review" | ""                                   the worst level
    similar(a, b) -> float in [0, 1]          Jaccard similarity of the texts' character 3-gram sets
    simhash(text) -> int                      64-bit SimHash of the same shingles
    remember(scope, items) / near(scope, text, since=…) -> [ref]   MinHash-LSH fingerprints:
                                              candidates for near-duplicates (confirm with jaccard)
    import_text(text, …) -> ImportReport      add/update words from a text or CSV file

The word list is the platform operator's (admin 内容筛查 › 敏感词, `jiyue screening import`).
No word list ships with jiyue: the operator imports theirs.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from . import matcher
from .matcher import Hit, normalise
from .models import Category, Fingerprint, Level, SensitiveWord

SHINGLE = 3          # characters per shingle
MAX_WORD = 50
CHUNK = 1000         # words per import transaction


def find(text: str, *, longest: bool = False) -> list[Hit]:
    return matcher.current().find(text, longest=longest)


def flagged(hits: Iterable[Hit]) -> str:
    levels = {h.level for h in hits}
    return Level.BLOCK if Level.BLOCK in levels else Level.REVIEW if Level.REVIEW in levels else ""


# --- near-duplicates --------------------------------------------------------------------------

def shingles(text: str, size: int = SHINGLE) -> set[str]:
    t = normalise(text)
    if len(t) <= size:
        return {t} if t else set()
    return {t[i:i + size] for i in range(len(t) - size + 1)}


def similar(a: str, b: str) -> float:
    """Jaccard similarity of the character 3-gram sets of two texts (after normalisation):
    1.0 for texts differing only in spaces, punctuation or width; ~0.8 for one changed
    sentence in a short letter."""
    sa, sb = shingles(a), shingles(b)
    if not sa or not sb:
        return 1.0 if sa == sb else 0.0
    return len(sa & sb) / len(sa | sb)


def jaccard(sa: set, sb: set) -> float:
    if not sa or not sb:
        return 1.0 if sa == sb else 0.0
    return len(sa & sb) / len(sa | sb)


def _hash64(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "little")


def _gram_hashes(grams: set) -> np.ndarray:
    return np.fromiter((_hash64(g) for g in grams), dtype=np.uint64, count=len(grams))


def simhash(text: str | set, _hashes=None) -> int:
    """64-bit SimHash of the text's 3-gram set (stable across processes)."""
    grams = text if isinstance(text, set) else shingles(text)
    if not grams:
        return 0
    h = _gram_hashes(grams) if _hashes is None else _hashes
    bits = np.unpackbits(h.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
    ones = bits.sum(axis=0, dtype=np.int64)
    keep = (2 * ones > len(grams)).astype(np.uint8)
    return int.from_bytes(np.packbits(keep, bitorder="little").tobytes(), "little")


def hamming(a: int, b: int) -> int:
    return bin((a ^ b) & 0xFFFFFFFFFFFFFFFF).count("1")


def _signed(h: int) -> int:
    return h - (1 << 64) if h >= 1 << 63 else h


# MinHash with locality-sensitive hashing: BANDS bands of ROWS min-hashes each. Two texts with
# 3-gram Jaccard similarity J share a band with probability 1 - (1 - J^ROWS)^BANDS: 0.98 for
# J = 0.85, 0.004 for J = 0.1 — so the lookup reads only the few stored texts that may be near.
BANDS, ROWS = 4, 3
_rng = np.random.default_rng(20260101)
_A = (_rng.integers(1, 2**62, size=BANDS * ROWS, dtype=np.uint64) * np.uint64(2) + np.uint64(1))
_B = _rng.integers(0, 2**62, size=BANDS * ROWS, dtype=np.uint64)


def fingerprint(grams: set | str) -> tuple[int, list[int]]:
    """(SimHash, LSH band keys) of a text or its 3-gram set, hashing the 3-grams once."""
    grams = grams if isinstance(grams, set) else shingles(grams)
    if not grams:
        return 0, []
    x = _gram_hashes(grams)
    return simhash(grams, x), bands(grams, x)


def bands(grams: set | str, _hashes=None) -> list[int]:
    """The LSH band keys (signed 32-bit) of a text or its 3-gram set; [] for an empty text."""
    grams = grams if isinstance(grams, set) else shingles(grams)
    if not grams:
        return []
    x = _gram_hashes(grams) if _hashes is None else _hashes
    with np.errstate(over="ignore"):
        mins = (x[:, None] * _A[None, :] + _B[None, :]).min(axis=0)
    out = []
    for b in range(BANDS):
        key = hashlib.blake2b(mins[b * ROWS:(b + 1) * ROWS].tobytes(), digest_size=4).digest()
        out.append(int.from_bytes(key, "little", signed=True))
    return out


def remember(scope: str, items: Iterable[tuple]) -> None:
    """Store fingerprints: (ref, text or 3-gram set, at[, its `fingerprint`]) per item; an
    existing ref is kept."""
    rows = []
    for ref, grams, at, *known in items:
        h, b = known[0] if known else fingerprint(grams)
        if not b:
            continue
        rows.append(Fingerprint(scope=scope, ref=ref, simhash=_signed(h), b0=b[0], b1=b[1],
                                b2=b[2], b3=b[3], at=at))
    Fingerprint.objects.bulk_create(rows, ignore_conflicts=True)


def near(scope: str, grams: set | str | list, *, since=None, until=None, limit: int = 50) -> list[int]:
    """Refs of stored texts that may be near-identical to this one (sharing an LSH band),
    newest first: candidates, to be confirmed with `jaccard`. `grams`: a text, its 3-gram set
    or its bands."""
    b = grams if isinstance(grams, list) else bands(grams)
    if not b:
        return []
    qs = Fingerprint.objects.filter(Q(b0=b[0]) | Q(b1=b[1]) | Q(b2=b[2]) | Q(b3=b[3]), scope=scope)
    if since is not None:
        qs = qs.filter(at__gte=since)
    if until is not None:
        qs = qs.filter(at__lte=until)
    return list(qs.order_by("-at").values_list("ref", flat=True)[:limit])


def near_many(scope: str, keys: dict, *, since=None, until=None, limit: int = 50) -> dict:
    """`near` for many texts in one query: {key: its bands} -> {key: [refs sharing a band]}."""
    out: dict = {k: [] for k in keys}
    cond = Q(pk__in=[])
    for i, field_name in enumerate(("b0", "b1", "b2", "b3")):
        values = {b[i] for b in keys.values() if b}
        if values:
            cond |= Q(**{f"{field_name}__in": list(values)})
    if not any(keys.values()):
        return out
    qs = Fingerprint.objects.filter(cond, scope=scope)
    if since is not None:
        qs = qs.filter(at__gte=since)
    if until is not None:
        qs = qs.filter(at__lte=until)
    index: dict = {}
    for k, b in keys.items():
        for i, v in enumerate(b or ()):
            index.setdefault((i, v), []).append(k)
    for ref, *row in qs.order_by("-at").values_list("ref", "b0", "b1", "b2", "b3")[:limit * max(len(keys), 1)]:
        hit = set()
        for i, v in enumerate(row):
            hit.update(index.get((i, v), ()))
        for k in hit:
            if len(out[k]) < limit:
                out[k].append(ref)
    return out


# --- the word list: import ----------------------------------------------------------------------

# A file's category column: the Chinese label, the code, or the numeric tags of common lists
# (0 政治, 1 毒品, 2 色情, 3 赌博, 4 违法).
_CATEGORY_NAMES = {**{str(label): value for value, label in Category.choices},
                   **{value: value for value in Category.values},
                   "0": Category.POLITICS, "1": Category.DRUGS, "2": Category.PORN,
                   "3": Category.GAMBLING, "4": Category.ILLEGAL}
_LEVEL_NAMES = {**{str(label): value for value, label in Level.choices},
                **{value: value for value in Level.values}}
_TAGS = re.compile(r"\d(,\d)*")


def parse_category(value: str) -> str | None:
    value = (value or "").strip()
    if "," in value or "，" in value:  # several tags: the first one
        value = value.replace("，", ",").split(",")[0].strip()
    if value in ("违法", "犯罪"):  # short forms of 违法犯罪 in common lists
        return Category.ILLEGAL
    return _CATEGORY_NAMES.get(value) or _CATEGORY_NAMES.get(value.lower())


def parse_level(value: str) -> str | None:
    value = (value or "").strip()
    if value == "白名单":
        return Level.ALLOW
    return _LEVEL_NAMES.get(value) or _LEVEL_NAMES.get(value.lower())


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) or GB18030; ValueError otherwise."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError(_("文件须为 UTF-8 或 GB18030 编码的文本。"))


@dataclass
class ImportReport:
    total: int = 0
    done: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def parse_lines(text: str, default_category: str = Category.OTHER, default_level: str = Level.REVIEW):
    """Yield (line number, word, category, level, error) for each non-empty, non-comment line.

    Accepted lines: `词语`, `词语 分类` (space or tab separated: the usual "term tag" lists), or
    CSV `词语,分类,级别` (an optional header row 词语,分类,级别 is skipped)."""
    for number, line in enumerate(text.splitlines(), 1):
        raw = line.strip()
        if not raw or raw.startswith("#"):
            continue
        if "\x00" in raw:
            yield number, "", "", "", _("该行含有不可见的控制字符。")
            continue
        parts = raw.split()
        if len(parts) == 2 and _TAGS.fullmatch(parts[1]):  # "term 0" / "term 2,4" lists
            cells = parts
        elif "," in raw or "\t" in raw:
            try:
                cells = next(csv.reader(io.StringIO(raw), delimiter="," if "," in raw else "\t"))
            except csv.Error:
                yield number, "", "", "", _("CSV 格式不正确。")
                continue
        elif len(parts) >= 2 and parse_category(parts[-1]):
            cells = ["".join(parts[:-1]), parts[-1]]
        else:
            cells = [raw]
        cells = [c.strip() for c in cells]
        while cells and cells[-1] == "" and len(cells) > 1:
            cells.pop()
        if number == 1 and cells and cells[0].lower() in ("词语", "敏感词", "word"):
            continue
        if len(cells) > 3:
            yield number, "", "", "", _("列数过多：每行为“词语,分类,级别”，后两项可省略。")
            continue
        word = normalise(cells[0])
        if not word:
            yield number, "", "", "", _("词语为空或只有标点符号。")
            continue
        if len(word) > MAX_WORD:
            yield number, "", "", "", _("词语过长（不能超过%(n)d个字）。") % {"n": MAX_WORD}
            continue
        category = default_category
        if len(cells) > 1 and cells[1]:
            category = parse_category(cells[1])
            if category is None:
                yield number, word, "", "", _("未知的分类“%(c)s”（可用：%(all)s）。") % {
                    "c": cells[1][:20], "all": _("、").join(str(lb) for _v, lb in Category.choices)}
                continue
        level = default_level
        if len(cells) > 2 and cells[2]:
            level = parse_level(cells[2])
            if level is None:
                yield number, word, "", "", _("未知的级别“%(l)s”（可用：禁止、审核、放行）。") % {
                    "l": cells[2][:20]}
                continue
        yield number, word, category, level, ""


def import_text(text: str, *, default_category: str = Category.OTHER,
                default_level: str = Level.REVIEW, actor=None,
                progress: Callable[[ImportReport], None] | None = None) -> ImportReport:
    """Add new words and update the category/level (and re-enable) of known ones, CHUNK lines
    per transaction (an interrupted import keeps whole chunks). A word appearing twice in the
    file: the later line wins. `progress(report)` after every chunk."""
    lines = list(parse_lines(text, default_category, default_level))
    report = ImportReport(total=len(lines))
    for start in range(0, len(lines), CHUNK):
        chunk = lines[start:start + CHUNK]
        wanted: dict[str, tuple[str, str]] = {}
        valid = 0
        for number, word, category, level, error in chunk:
            if error:
                report.errors.append((number, error))
            else:
                wanted[word] = (category, level)
                valid += 1
        with transaction.atomic():
            existing = {w.word: w for w in SensitiveWord.objects.filter(word__in=list(wanted))}
            new, changed = [], []
            for word, (category, level) in wanted.items():
                row = existing.get(word)
                if row is None:
                    new.append(SensitiveWord(word=word, category=category, level=level,
                                             created_by=actor))
                elif (row.category, row.level, row.enabled) != (category, level, True):
                    row.category, row.level, row.enabled = category, level, True
                    changed.append(row)
            SensitiveWord.objects.bulk_create(new, ignore_conflicts=True)
            if changed:
                from django.utils import timezone

                now = timezone.now()
                for row in changed:
                    row.updated_at = now
                SensitiveWord.objects.bulk_update(changed, ["category", "level", "enabled", "updated_at"])
        report.added += len(new)
        report.updated += len(changed)
        report.unchanged += valid - len(new) - len(changed)  # repeated lines count as unchanged
        report.done = min(start + CHUNK, len(lines))
        if progress is not None:
            progress(report)
    matcher.invalidate()
    return report
