"""Smart search: synonyms and abbreviations, pinyin and initials, "did you mean", completion.

Everything here works on a *vocabulary* of words citizens search for, built cheaply from what
the platform already has and cached per process (rebuilt every `REFRESH_SECONDS`, or at once
when the operator changes the synonyms or the dictionary):

- the shipped government dictionary (`data/gov_dict.txt`) and the operator's DictionaryTerm rows,
- the words of the enabled SynonymGroup rows (or `DEFAULT_SYNONYMS` while that table is empty),
- popular queries that found something (QueryStat, last 90 days),
- the words of the titles of the newest published resources (segmented like the index).

Each word is keyed by its toneless pinyin (`shebao`) and its initials (`sb`); a deletion index
over those keys (and over the latin words of titles) finds one-edit typos without comparing the
query with every word. The search service (`services.py`) asks this module for the expansions
of a query (`expand`), for candidate corrections (`corrections`) and for completions
(`complete`); it decides with the engine which of them find anything.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

log = logging.getLogger(__name__)

REFRESH_SECONDS = 600      # the vocabulary follows new titles and popular queries this often
VERSION_CHECK_SECONDS = 5  # how often a process checks whether synonyms/dictionary changed
TITLE_SAMPLE = 10_000      # newest titles whose words join the vocabulary
MAX_WORDS = 60_000
MAX_QUERY = 100            # characters of a query that are analysed (and recorded)

# The synonyms that apply while the operator has not entered any group (the 同义词 screen
# lists them, and one click copies them into the table to edit): data/synonyms.txt, one group
# a line, comma-separated, the short form first.
SYNONYMS_FILE = Path(__file__).resolve().parent / "data" / "synonyms.txt"


def _default_synonyms() -> list[list[str]]:
    groups = []
    try:
        for line in SYNONYMS_FILE.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                words = [w.strip() for w in line.split(",") if w.strip()]
                if len(words) >= 2:
                    groups.append(words)
    except OSError:
        log.warning("search: %s not readable", SYNONYMS_FILE)
    return groups


DEFAULT_SYNONYMS: list[list[str]] = _default_synonyms()

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LATIN_RUN = re.compile(r"[a-z]+(?: [a-z]+)*")
LATIN_WORD = re.compile(r"[a-z][a-z0-9]*|[0-9]+")
_CONTROL = dict.fromkeys(c for c in range(0x20) if c not in (0x09, 0x0a, 0x0d))
_CONTROL.update({0x7f: None})


# --- normalisation -----------------------------------------------------------------------

def normalise(text: str) -> str:
    """The query as the service analyses and records it: NFKC (full-width → half-width),
    control characters dropped, latin lower-cased, whitespace collapsed, at most MAX_QUERY
    characters."""
    text = unicodedata.normalize("NFKC", text or "").translate(_CONTROL)
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cs", "Co", "Cn", "Cf"))
    return " ".join(text.lower().split())[:MAX_QUERY].strip()


def has_cjk(text: str) -> bool:
    return bool(CJK.search(text))


# --- pinyin ------------------------------------------------------------------------------

_pinyin_cache: dict[str, tuple[str, ...] | None] = {}


def syllables_of(word: str) -> tuple[str, ...] | None:
    """The toneless pinyin syllables of a Chinese word (社保 → ("she", "bao"); ü as v), or None
    for a word that is not all Chinese characters. Cached per process (words repeat across
    rebuilds)."""
    hit = _pinyin_cache.get(word)
    if hit is not None or word in _pinyin_cache:
        return hit
    value = None
    if word and all(CJK.match(c) for c in word):
        from pypinyin import Style, lazy_pinyin

        syllables = lazy_pinyin(word, style=Style.NORMAL, errors="ignore", v_to_u=False)
        if len(syllables) == len(word) and all(syllables):
            value = tuple(x.replace("ü", "v") for x in syllables)
    if len(_pinyin_cache) > 500_000:
        _pinyin_cache.clear()
    _pinyin_cache[word] = value
    return value


def pinyin_keys(word: str) -> tuple[str, str] | None:
    """(toneless pinyin, initials) of a Chinese word, e.g. 社保 → ("shebao", "sb")."""
    syl = syllables_of(word)
    return ("".join(syl), "".join(x[0] for x in syl)) if syl else None


# Toneless pinyin syllables (ü as v), to tell "shebao" (pinyin) from "icp" (not pinyin).
SYLLABLES = frozenset("""
    a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can
    cang cao ce cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai
    chuan chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de den
    deng di dian diao die ding diu dong dou du duan dui dun duo e ei en eng er fa fan fang fei
    fen feng fiao fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan
    guang gui gun guo ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui
    hun huo ji jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao
    ke ken keng kong kou ku kua kuai kuan kuang kui kun kuo la lai lan lang lao le lei leng li
    lia lian liang liao lie lin ling liu lo long lou lu luan lun luo lv lve ma mai man mang
    mao me mei men meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao ne nei nen
    neng ni nian niang niao nie nin ning niu nong nou nu nuan nun nuo nv nve o ou pa pai pan
    pang pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin
    qing qiong qiu qu quan que qun ran rang rao re ren reng ri rong rou ru rua ruan rui run
    ruo sa sai san sang sao se sen seng sha shai shan shang shao she shen sheng shi shou shu
    shua shuai shuan shuang shui shun shuo si song sou su suan sui sun suo ta tai tan tang tao
    te teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen weng wo
    wu xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin
    ying yo yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang
    zhao zhe zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou
    zu zuan zui zun zuo
""".split())


def is_pinyin(text: str) -> bool:
    """Whether latin letters split completely into pinyin syllables (`shebao`, `she bao`,
    `zhufanggongjijin`); `icp`, `pdf` are not."""
    s = text.replace(" ", "")
    if not s or not s.isascii() or not s.isalpha():
        return False
    syl = SYLLABLES
    ok = [True] + [False] * len(s)
    for i in range(len(s)):
        if ok[i]:
            for j in range(i + 1, min(len(s), i + 6) + 1):
                if s[i:j] in syl:
                    ok[j] = True
    return ok[len(s)]


SYLLABLE_PREFIXES = frozenset(x[:i] for x in SYLLABLES for i in range(1, len(x) + 1))


def prefix_parses(text: str, limit: int = 40) -> list[tuple[str, ...]]:
    """Ways to read latin letters as syllables each typed in full or in part (`gongjj` →
    gong·j·j, `shb` → sh·b): what people type in an input method. Longer parts first."""
    s = text.replace(" ", "")
    out: list[tuple[str, ...]] = []
    if not s or len(s) > 16 or not s.isascii() or not s.isalpha():
        return out

    def walk(i: int, parts: list[str]) -> None:
        if len(out) >= limit or len(parts) > 8:
            return
        if i == len(s):
            out.append(tuple(parts))
            return
        for j in range(min(len(s), i + 6), i, -1):
            if s[i:j] in SYLLABLE_PREFIXES:
                walk(j, parts + [s[i:j]])

    walk(0, [])
    return out


# --- segmentation ------------------------------------------------------------------------

def cut(text: str) -> list[str]:
    """Words of a text as the index sees them (the engine's segmenter; rjieba's own when the
    engine's is not importable)."""
    try:
        from .segment import segmenter

        return segmenter().tokens(text)
    except Exception:  # noqa: BLE001 - smart search must never fail a search
        import rjieba

        return [t for t in rjieba.cut(text) if t.strip()]


# --- synonyms ----------------------------------------------------------------------------

def synonym_groups() -> list[list[str]]:
    """The enabled synonym groups as normalised word lists (the defaults when the table is
    empty). Cached with the vocabulary's version check."""
    return _state().synonyms


def _load_synonyms() -> list[list[str]]:
    from .models import SynonymGroup

    rows = list(SynonymGroup.objects.values_list("terms", "enabled"))
    source = [SynonymGroup(terms=t).words() for t, e in rows if e] if rows else DEFAULT_SYNONYMS
    out = []
    for words in source:
        words = list(dict.fromkeys(normalise(w) for w in words if normalise(w)))
        if len(words) >= 2:
            out.append(words)
    return out


def uses_defaults() -> bool:
    """Whether the built-in DEFAULT_SYNONYMS apply (the operator has entered no group)."""
    from .models import SynonymGroup

    return not SynonymGroup.objects.exists()


@dataclass
class Match:
    start: int
    end: int
    word: str
    alternatives: list[str]


def synonym_matches(query: str) -> list[Match]:
    """Non-overlapping occurrences of synonym words in a normalised query, longest first:
    each with the other words of its group(s)."""
    index = _state().synonym_index
    found: list[Match] = []
    taken = [False] * len(query)
    for word in _state().synonym_words:  # longest first
        start = 0
        while True:
            i = query.find(word, start)
            if i < 0:
                break
            j = i + len(word)
            start = i + 1
            if any(taken[i:j]):
                continue
            # a latin or digit word must stand alone: "12345" not inside "123456"
            if word[0].isascii() and i > 0 and query[i - 1].isalnum() and query[i - 1].isascii():
                continue
            if word[-1].isascii() and j < len(query) and query[j].isalnum() and query[j].isascii():
                continue
            for k in range(i, j):
                taken[k] = True
            found.append(Match(i, j, word, [w for w in index[word] if w != word]))
    return sorted(found, key=lambda m: m.start)


# --- the vocabulary ----------------------------------------------------------------------

@dataclass
class Vocabulary:
    words: dict[str, float] = field(default_factory=dict)           # word → weight
    by_pinyin: dict[str, list[str]] = field(default_factory=dict)   # shebao → [社保, 设保…]
    by_initials: dict[str, list[str]] = field(default_factory=dict)  # sb → [社保, …]
    latin: dict[str, float] = field(default_factory=dict)           # latin words of titles
    pinyin_deletes: dict[str, set[str]] = field(default_factory=dict)
    latin_deletes: dict[str, set[str]] = field(default_factory=dict)
    prefix_keys: list[tuple[str, str]] = field(default_factory=list)  # sorted (key, word)
    popular: dict[str, float] = field(default_factory=dict)         # popular queries → weight


@dataclass
class _State:
    key: tuple = ()
    version: tuple = ()
    checked: float = 0.0
    built: float = 0.0
    synonyms: list[list[str]] = field(default_factory=list)
    synonym_words: list[str] = field(default_factory=list)
    synonym_index: dict[str, list[str]] = field(default_factory=dict)
    vocab: Vocabulary | None = None
    refreshing: bool = False


_lock = threading.Lock()
_current = _State()


def _version() -> tuple:
    """Changes whenever a synonym group or a dictionary word is added, changed or deleted."""
    from django.db.models import Count, Max

    from .models import DictionaryTerm, SynonymGroup

    s = SynonymGroup.objects.aggregate(n=Count("id"), t=Max("updated_at"))
    d = DictionaryTerm.objects.aggregate(n=Count("id"), t=Max("updated_at"))
    return (s["n"], s["t"], d["n"], d["t"])


def _state() -> _State:
    """The process's cached synonyms (and vocabulary, built lazily), checked for changes at most
    every VERSION_CHECK_SECONDS. The cache is per index directory: tests (and a process
    switching directories) never see another directory's vocabulary."""
    global _current
    now = time.monotonic()
    st = _current
    key = (str(getattr(settings, "JIYUE_SEARCH_DIR", "")), )
    if st.key == key and now - st.checked < VERSION_CHECK_SECONDS:
        return st
    version = _version()
    if st.key == key and version == st.version:
        st.checked = now
        return st
    with _lock:
        synonyms = _load_synonyms()
        index: dict[str, list[str]] = {}
        for group in synonyms:
            for w in group:
                index.setdefault(w, [])
                index[w] = list(dict.fromkeys(index[w] + group))
        new = _State(key=key, version=version, checked=now, synonyms=synonyms,
                     synonym_words=sorted(index, key=lambda w: (-len(w), w)),
                     synonym_index=index)
        _current = new
    return new


def invalidate() -> None:
    """Forget the cached synonyms and vocabulary (after an operator's change in this process;
    other processes notice within VERSION_CHECK_SECONDS)."""
    global _current
    _current = _State()


def vocabulary(refresh: bool = False) -> Vocabulary:
    """The process's vocabulary: built on first use (a second or two for 10,000 titles), then
    refreshed every REFRESH_SECONDS in a background thread while the old one keeps serving;
    rebuilt at once after a change of the synonyms or the dictionary (or `refresh`)."""
    st = _state()
    if refresh or st.vocab is None:
        with _lock:
            if refresh or st.vocab is None:
                _build_into(st)
    elif time.monotonic() - st.built > REFRESH_SECONDS and not st.refreshing:
        from django.conf import settings

        if getattr(settings, "JIYUE_SEARCH_BACKGROUND_REFRESH", True):
            st.refreshing = True
            threading.Thread(target=_refresh_in_background, args=(st,), daemon=True,
                             name="search-vocabulary").start()
        else:  # tests: no thread of our own may touch the (shared, in-memory) test database
            with _lock:
                _build_into(st)
    return st.vocab


def _build_into(st: "_State") -> None:
    started = time.monotonic()
    try:
        st.vocab = build_vocabulary(st.synonyms)
    except Exception:  # noqa: BLE001 - keep the old one (or an empty one)
        log.exception("search vocabulary could not be built")
        st.vocab = st.vocab or Vocabulary()
    st.built = time.monotonic()
    log.info("search vocabulary: %d words in %.2f s", len(st.vocab.words), st.built - started)


def _refresh_in_background(st: "_State") -> None:
    from django.db import connection

    try:
        _build_into(st)
    finally:
        st.refreshing = False
        connection.close()  # this thread's own connection


def _gov_dict_words() -> list[str]:
    path = Path(__file__).resolve().parent / "data" / "gov_dict.txt"
    out = []
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(line.split()[0])
    except OSError:
        pass
    return out


def build_vocabulary(synonyms: list[list[str]]) -> Vocabulary:
    from datetime import timedelta

    from django.db.models import Sum
    from django.utils import timezone

    from jiyue.library.models import Resource

    from .models import DictionaryTerm, QueryStat

    weights: dict[str, float] = {}
    latin: dict[str, float] = {}

    def add(word: str, weight: float) -> None:
        word = normalise(word)
        if len(word) < 2 or len(word) > 20:
            return
        if has_cjk(word):
            weights[word] = max(weights.get(word, 0.0), 0.0) + weight

    for w in _gov_dict_words():
        add(w, 3.0)
    for w in DictionaryTerm.objects.values_list("word", flat=True):
        add(w, 3.0)
    for group in synonyms:
        for w in group:
            add(w, 4.0)
    since = timezone.localdate() - timedelta(days=90)
    popular: dict[str, float] = {}
    for query, n in (QueryStat.objects.filter(day__gte=since, last_total__gt=0)
                     .values("query").annotate(n=Sum("count")).order_by("-n")
                     .values_list("query", "n")[:5000]):
        q = normalise(query)
        if q and (n or 0) > 0:
            popular[q] = 2.0 + math.log1p(n)
            add(q, popular[q])
    counts: dict[str, int] = {}
    titles = (Resource.objects.filter(live=True).exclude(kind="link")
              .order_by("-published_at", "-id").values_list("title", flat=True)[:TITLE_SAMPLE])
    for title in titles:
        for tok in cut(normalise(title)):
            if len(tok) >= 2 and has_cjk(tok):
                counts[tok] = counts.get(tok, 0) + 1
            elif LATIN_WORD.fullmatch(tok) and len(tok) >= 2:
                latin[tok] = latin.get(tok, 0.0) + 1.0
    for tok, n in counts.items():
        add(tok, 1.0 + math.log1p(n))
    if len(weights) > MAX_WORDS:
        weights = dict(sorted(weights.items(), key=lambda kv: -kv[1])[:MAX_WORDS])

    v = Vocabulary(words=weights, latin=latin, popular=popular)
    keys: list[tuple[str, str]] = []
    for word in weights:
        keys.append((word, word))
        pk = pinyin_keys(word)
        if pk is None:
            continue
        full, initials = pk
        v.by_pinyin.setdefault(full, []).append(word)
        if 2 <= len(word) <= 8:
            v.by_initials.setdefault(initials, []).append(word)
        keys.append((full, word))
        keys.append((initials, word))
    for table in (v.by_pinyin, v.by_initials):
        for k in table:
            table[k].sort(key=lambda w: (-weights[w], len(w), w))
    for full in v.by_pinyin:
        if len(full) >= 4:
            for d in _deletes(full):
                v.pinyin_deletes.setdefault(d, set()).add(full)
    for word in latin:
        if len(word) >= 3 and word.isalpha():
            for d in _deletes(word):
                v.latin_deletes.setdefault(d, set()).add(word)
    v.prefix_keys = sorted(set(keys))
    return v


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _one_edit(word: str, keys: set[str] | dict, deletes: dict[str, set[str]]) -> list[str]:
    """Keys at one insertion, deletion, substitution (or transposition) from `word`."""
    out: set[str] = set()
    for d in _deletes(word) | {word}:
        out |= deletes.get(d, set())            # substitution / insertion in the query
        if d != word and d in keys:
            out.add(d)                          # an extra letter in the query
    out.discard(word)
    return sorted(out, key=lambda k: _distance(word, k))


def _distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


# --- expansion ---------------------------------------------------------------------------

@dataclass
class Piece:
    """A part of the query: plain text (`alternatives` empty) or a word with alternatives
    (synonyms, or the Chinese words a pinyin or initials run stands for)."""

    text: str
    alternatives: list[str] = field(default_factory=list)
    why: str = ""   # "synonym" | "pinyin" | "initials"


def expand(query: str, *, initials: bool = True) -> list[Piece]:
    """The query split into pieces: synonym words get their group's other words; latin runs
    that are pinyin (`shebao`, `she bao`) or initials (`sb`, `gjj`) of vocabulary words get
    those words. A latin word that is a word of the titles (ICP, PDF) keeps its own meaning
    first (its conversions are added only when it is pinyin)."""
    pieces: list[Piece] = []
    pos = 0
    for m in synonym_matches(query):
        if m.start > pos:
            pieces.extend(_latin_pieces(query[pos:m.start], initials))
        pieces.append(Piece(m.word, m.alternatives, "synonym"))
        pos = m.end
    if pos < len(query):
        pieces.extend(_latin_pieces(query[pos:], initials))
    return [p for p in pieces if p.text.strip()]


def _latin_pieces(text: str, initials: bool) -> list[Piece]:
    out: list[Piece] = []
    pos = 0
    for m in LATIN_RUN.finditer(text):
        # a run glued to digits or other latin (e.g. "v2") is not pinyin
        if (m.start() > 0 and text[m.start() - 1].isascii() and text[m.start() - 1].isalnum()) or \
                (m.end() < len(text) and text[m.end()].isascii() and text[m.end()].isalnum()):
            continue
        run = m.group(0)
        words = convert_latin(run, initials=initials)
        if not words:
            continue
        if m.start() > pos:
            out.append(Piece(text[pos:m.start()]))
        why = "pinyin" if is_pinyin(run) else "initials"
        index = _state().synonym_index  # shebao → 社保 → also 社会保险
        words = list(dict.fromkeys(words + [s for w in words for s in index.get(w, ()) if s != run]))
        out.append(Piece(run, words[:6], why))
        pos = m.end()
    if pos < len(text):
        out.append(Piece(text[pos:]))
    return out


def convert_latin(run: str, *, initials: bool = True, limit: int = 2) -> list[str]:
    """The Chinese words a latin run stands for: by full pinyin (`shebao`, `she bao` → 社保),
    else by initials or partly typed syllables (`sb` → 社保, `gjj`, `gongjj` → 公积金) unless the
    run is a latin word of the titles."""
    key = run.replace(" ", "")
    if len(key) < 2:
        return []
    v = vocabulary()
    words = v.by_pinyin.get(key, [])
    if words:
        return words[:limit]
    if key in v.latin:  # a latin word of the titles (icp, pdf, app) keeps its own meaning
        return []
    found: list[str] = []
    only_initials = True
    for parts in prefix_parses(key):
        bare = all(len(p) == 1 for p in parts)
        if bare and (not initials or len(parts) > 6):
            continue
        for w in v.by_initials.get("".join(p[0] for p in parts), []):
            syl = syllables_of(w)
            if syl and len(syl) == len(parts) and all(x.startswith(p) for x, p in zip(syl, parts)) \
                    and w not in found:
                found.append(w)
                only_initials = only_initials and bare
    found.sort(key=lambda w: -v.words.get(w, 0.0))
    # initials alone are ambiguous (gjj: 公积金, 国家级 …): only the most likely half
    return found[:max(1, limit // 2) if only_initials else limit]


# --- did you mean ------------------------------------------------------------------------

def corrections(query: str, limit: int = 3) -> list[str]:
    """Candidate corrections of a query, best first (the service keeps the first that finds
    results): homophone typos of Chinese words (设保 → 社保, 公基金 → 公积金), pinyin typos
    (shebap → 社保), one-edit typos of latin words of the titles."""
    query = normalise(query)
    if not query:
        return []
    v = vocabulary()
    out: list[str] = []

    def add(candidate: str) -> None:
        candidate = normalise(candidate)
        if candidate and candidate != query and candidate not in out:
            out.append(candidate)

    if has_cjk(query):
        compact = query.replace(" ", "")
        if compact not in v.words:
            pk = pinyin_keys(compact)
            if pk:
                for w in v.by_pinyin.get(pk[0], [])[:2]:
                    add(w)
        tokens = cut(query)
        n = len(tokens)
        # windows of adjacent tokens (longest first) that are not words but sound like one
        for size in range(min(n, 6), 0, -1):
            for i in range(0, n - size + 1):
                window = "".join(tokens[i:i + size])
                if len(window) < 2 or window in v.words or not has_cjk(window):
                    continue
                pk = pinyin_keys(window)
                if not pk:
                    continue
                for w in v.by_pinyin.get(pk[0], [])[:1]:
                    add("".join(tokens[:i]) + w + "".join(tokens[i + size:]))
            if len(out) >= limit:
                break
    else:
        for run in LATIN_RUN.finditer(query):
            key = run.group(0).replace(" ", "")
            if key in v.by_pinyin or key in v.latin:
                continue
            for full in _one_edit(key, v.by_pinyin, v.pinyin_deletes)[:2]:
                add(query[:run.start()] + v.by_pinyin[full][0] + query[run.end():])
        words = query.split(" ")
        for i, w in enumerate(words):
            if len(w) >= 3 and w.isascii() and w.isalpha() and w not in v.latin \
                    and w not in v.by_pinyin:
                for fix in _one_edit(w, v.latin, v.latin_deletes)[:2]:
                    add(" ".join(words[:i] + [fix] + words[i + 1:]))
    return out[:limit]


# --- completion --------------------------------------------------------------------------

def complete(prefix: str, limit: int = 8) -> list[str]:
    """Words and popular queries that start with the prefix (Chinese, pinyin or initials),
    the most searched and most common first."""
    prefix = normalise(prefix)
    if not prefix:
        return []
    v = vocabulary()
    key = prefix.replace(" ", "") if prefix.isascii() else prefix
    keys = v.prefix_keys
    i = bisect_left(keys, (key, ""))
    found: dict[str, float] = {}
    scanned = 0
    while i < len(keys) and keys[i][0].startswith(key) and scanned < 5000:
        word = keys[i][1]
        if word != prefix:
            found[word] = v.words.get(word, 0.0) + 3.0 * (word in v.popular)
        i += 1
        scanned += 1
    for q, weight in v.popular.items():  # popular queries that start with the prefix
        if q.startswith(prefix) and q != prefix:
            found[q] = max(found.get(q, 0.0), weight + 3.0)
    if prefix.isascii() and len(found) < limit:  # partly typed syllables: gongjj → 公积金
        for w in convert_latin(prefix, limit=limit):
            found.setdefault(w, v.words.get(w, 0.0))
    return [w for w, _ in sorted(found.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))][:limit]
