"""The search engine: one embedded tantivy index per node, and the query interface.

Layout of a node's index directory (`settings.JIYUE_SEARCH_DIR`)::

    CURRENT              name of the generation in use (replaced atomically)
    g-<time>-<pid>-<random>/  a generation: tantivy's files + cursor.json (outbox cursor, state)

A full rebuild writes a new generation and then swaps CURRENT; readers and the node's writer
notice the swap (see `replica.py`). Text is segmented in Python (`segment.py`) and indexed with
tantivy's whitespace tokenizer, so index and query use the very same segmentation.

Public interface (the search service and Q&A build on it): `Clause`, `Filters`, `EngineQuery`,
`EngineHit`, `EngineResult`, `clauses_for`, `execute`, `lookup_number`, `search_ready`,
`normalise_number`. Queries are built from `tantivy.Query` objects only; user text never
reaches tantivy's query parser, so query syntax cannot be injected.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import threading
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timezone as dt_timezone
from pathlib import Path
from typing import Sequence

import tantivy
from django.conf import settings

from . import segment

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 3
WS = "jiyue_ws"  # whitespace tokenizer + long-token removal (text is normalised before)
RELOAD_SECONDS = 0.5  # readers look for a new commit or generation at most this often
MAX_CLAUSES = 12
MAX_ALTERNATIVES = 8
MAX_PHRASE = 8
MAX_LIMIT = 100
MAX_OFFSET = 10_000
MAX_QUERY_CHARS = 1000  # clauses_for reads at most this much of a query text
STORED_TEXT_CHARS = 20_000  # body text kept for snippets
# Matching runs on one field, `text` (title, metadata and body: every token of the document),
# which an intersection walks with skip lists; the relevance of the best RERANK_WINDOW matches
# is then the full score, each word's BM25 in `text` plus the title's ×4 and the metadata's ×2
# (a union of three fields per word over the whole library cost about twice as much).
MATCH_FIELDS = (("text", 1.0),)
FIELD_BOOSTS = (("title", 4.0), ("meta", 2.0), ("text", 1.0))
RERANK_WINDOW = 100  # ≤ ANY_OF_TERMS
FIELD_BREAK = "|"  # between the parts of `text`: a phrase never runs from the title into the body
FACET_SIZES = {"site": 500, "organisation": 500, "kind": 50, "topic": 200, "year": 100}
FACET_FIELDS = {"site": "sites", "organisation": "organisation", "kind": "kind",
                "topic": "topic", "year": "year"}


# --- the public query interface ------------------------------------------------------------

@dataclass
class Clause:
    """One concept of the query: a document satisfies it when it matches any alternative (a
    token sequence; several tokens = a phrase, tokens in that order)."""

    alternatives: list[list[str]]
    boost: float = 1.0
    # Optional weight per alternative (same order): expansions (synonyms, pinyin conversions)
    # count less than the words typed. Missing or short: 1.0.
    alt_boosts: list[float] | None = None


@dataclass
class Filters:
    sites: Sequence[str] = ()          # live-placed on one of these sites (网站标识码)
    home_sites: Sequence[str] = ()     # owned by the organisation of one of these sites
    organisations: Sequence[int] = ()
    kinds: Sequence[str] = ()
    exclude_kinds: Sequence[str] = ()
    topics: Sequence[int] = ()
    years: Sequence[int] = ()
    columns: Sequence[int] = ()        # live-placed in one of these columns


@dataclass
class EngineQuery:
    clauses: list[Clause]
    require_all: bool = True           # AND of clauses (False: OR, ranked by BM25)
    filters: Filters = field(default_factory=Filters)
    sort: str = "relevance"            # or "date" (newest first)
    offset: int = 0
    limit: int = 10
    facets: Sequence[str] = ("site", "organisation", "kind", "topic", "year")
    highlight: bool = True
    match_all: bool = False            # no clauses: every document (filtered) instead of none


@dataclass
class EngineHit:
    resource_id: int
    score: float
    fields: dict
    title_html: str
    snippet_html: str


@dataclass
class EngineResult:
    total: int
    hits: list[EngineHit]
    facets: dict[str, dict[str, int]]
    facets_exact: bool = True  # False: counts estimated (more than FACET_EXACT_UP_TO matches)


# --- documents -----------------------------------------------------------------------------

@dataclass
class IndexDoc:
    """What the index holds about one resource (built by `documents.py` from the database,
    or synthetically by the benchmark)."""

    resource_id: int
    global_id: str
    kind: str
    title: str
    text: str                          # summary, rich text as plain text, attachments …
    keywords: str = ""
    organisation_id: int = 0
    organisation_name: str = ""
    doc_number: str = ""
    index_number: str = ""
    issuing_body: str = ""
    sites: Sequence[str] = ()
    home_site: str = ""
    columns: Sequence[int] = ()
    topic_id: int | None = None
    topic_name: str = ""
    published_at: datetime | None = None
    summary: str = ""


@dataclass
class SegmentedDoc:
    """An IndexDoc with its text segmented (picklable: the benchmark segments in worker
    processes)."""

    doc: IndexDoc
    title: str
    body: str
    meta: str


def segment_doc(doc: IndexDoc, seg: segment.Segmenter | None = None) -> SegmentedDoc:
    seg = seg or segment.segmenter()
    meta = " ".join(x for x in (doc.doc_number, doc.index_number, doc.issuing_body,
                                doc.organisation_name, doc.topic_name) if x)
    body = doc.text if not doc.keywords else f"{doc.keywords}\n{doc.text}"
    return SegmentedDoc(doc, seg.index_text(doc.title), seg.index_text(body), seg.index_text(meta))


# Segmentation in other processes (a full build, `replica.build`): each process builds its own
# segmenter with the operator's words once, then segments batches of documents.
_worker_segmenter: segment.Segmenter | None = None


def segment_worker_init(operator_words, version) -> None:
    global _worker_segmenter
    _worker_segmenter = segment.Segmenter(list(operator_words), version)


def segment_docs(docs: list[IndexDoc]) -> list[SegmentedDoc]:
    return [segment_doc(d, _worker_segmenter) for d in docs]


# 文号 brackets (data, not interface text): the variants typed, and the standard 〔〕 with the
# 第 that is dropped after the year
_NUM_OPENERS, _NUM_CLOSERS, _NUM_STD = "[［【〔（(〖{<《〈", "]］】〕）)〗}>》〉", "〔〕第"
_STD_OPEN, _STD_CLOSE, _DI = _NUM_STD
_NUM_BRACKETS = str.maketrans({**{c: _STD_OPEN for c in _NUM_OPENERS},
                               **{c: _STD_CLOSE for c in _NUM_CLOSERS}})
_LEADING_ZEROS = re.compile(re.escape(_STD_CLOSE) + r"0+(\d)")


def normalise_number(value: str) -> str:
    """One form for a 文号 or 索引号 typed in any variant: NFKC (full-width digits, letters and
    brackets become half-width), every bracket variant → 〔〕, no spaces, no 第 after the year,
    upper-case latin letters. 皖政办[2018]49号, 皖政办（2018）第49号, ' 皖政办〔2018〕49 号'
    all give 皖政办〔2018〕49号."""
    if not value:
        return ""
    s = unicodedata.normalize("NFKC", str(value)[:200])
    s = re.sub(r"\s+", "", s).translate(_NUM_BRACKETS).upper()
    s = s.replace(_STD_CLOSE + _DI, _STD_CLOSE)
    return _LEADING_ZEROS.sub(_STD_CLOSE + r"\1", s)


def tantivy_doc(sd: SegmentedDoc) -> tantivy.Document:
    d = sd.doc
    doc = tantivy.Document()
    doc.add_unsigned("resource_id", int(d.resource_id))
    doc.add_text("global_id", d.global_id or "")
    doc.add_text("title", sd.title)
    doc.add_text("text", f"{sd.title} {FIELD_BREAK} {sd.meta} {FIELD_BREAK} {sd.body}")
    doc.add_text("meta", sd.meta)
    doc.add_text("title_raw", (d.title or "").strip()[:255])
    if d.doc_number:
        doc.add_text("doc_number_key", normalise_number(d.doc_number))
    if d.index_number:
        doc.add_text("index_number", normalise_number(d.index_number))
    doc.add_text("kind", d.kind)
    doc.add_unsigned("organisation", int(d.organisation_id or 0))
    for code in d.sites:
        doc.add_text("sites", code)
    if d.home_site:
        doc.add_text("home_site", d.home_site)
    for column in d.columns:
        doc.add_unsigned("columns", int(column))
    # always a value (0: none), so the column is dense: a terms aggregation over an optional
    # column costs about three times as much
    doc.add_unsigned("topic", int(d.topic_id or 0))
    doc.add_unsigned("shard", _shard(d.resource_id))
    published = d.published_at
    if published is not None:
        if published.tzinfo is None:
            published = published.replace(tzinfo=dt_timezone.utc)
        published = published.astimezone(dt_timezone.utc)
        doc.add_date("published_at", published)
        doc.add_unsigned("year", _local_year(published))
    stored = {
        "title": d.title, "kind": d.kind, "organisation_id": d.organisation_id,
        "organisation_name": d.organisation_name, "sites": list(d.sites),
        "home_site": d.home_site, "columns": list(d.columns),
        "published_at": published.isoformat() if published else None,
        "doc_number": d.doc_number, "index_number": d.index_number,
        "topic_id": d.topic_id, "topic_name": d.topic_name, "summary": d.summary,
        "global_id": d.global_id, "text": (d.text or "")[:STORED_TEXT_CHARS],
    }
    doc.add_bytes("stored", json.dumps(stored, ensure_ascii=False).encode("utf-8"))
    return doc


SHARDS = 16


def _shard(resource_id: int) -> int:
    return (int(resource_id) * 2654435761 >> 7) % SHARDS


def _local_year(when: datetime) -> int:
    from django.utils import timezone

    try:
        return timezone.localtime(when).year
    except Exception:  # noqa: BLE001 - settings not configured (benchmark): UTC
        return when.year


# --- the index on disk ---------------------------------------------------------------------

def schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_unsigned_field("resource_id", stored=True, indexed=True, fast=True)
    sb.add_text_field("global_id", stored=True, tokenizer_name="raw")
    sb.add_text_field("title", tokenizer_name=WS)
    sb.add_text_field("text", tokenizer_name=WS)
    sb.add_text_field("meta", tokenizer_name=WS)
    sb.add_text_field("title_raw", stored=True, tokenizer_name="raw")
    sb.add_text_field("doc_number_key", tokenizer_name="raw")
    sb.add_text_field("index_number", tokenizer_name="raw")
    sb.add_text_field("kind", tokenizer_name="raw", fast=True)
    sb.add_unsigned_field("organisation", indexed=True, fast=True)
    sb.add_text_field("sites", tokenizer_name="raw", fast=True)
    sb.add_text_field("home_site", tokenizer_name="raw", fast=True)
    sb.add_unsigned_field("columns", indexed=True)
    sb.add_unsigned_field("topic", indexed=True, fast=True)
    sb.add_unsigned_field("year", indexed=True, fast=True)
    sb.add_unsigned_field("shard", indexed=True)  # a fixed pseudo-random 1/SHARDS of documents
    sb.add_date_field("published_at", indexed=True, fast=True)
    sb.add_bytes_field("stored", stored=True)
    return sb.build()


def _analyzer() -> tantivy.TextAnalyzer:
    # No lower-case filter: every text reaching these fields went through segment.normalise,
    # which lower-cases (the filter cost a quarter of tantivy's indexing time).
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace())
            .filter(tantivy.Filter.remove_long(3 * segment.MAX_WORD + 1))
            .build())


def base_dir() -> Path:
    return Path(settings.JIYUE_SEARCH_DIR)


def current_generation(base: Path | None = None) -> Path | None:
    """The generation directory in use, or None when the node has no index yet."""
    base = Path(base or base_dir())
    try:
        name = (base / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if not name or "/" in name or name.startswith("."):
        return None
    path = base / name
    return path if (path / "meta.json").exists() else None


def read_cursor(gen: Path) -> dict:
    try:
        return json.loads((gen / "cursor.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def write_cursor(gen: Path, data: dict) -> None:
    tmp = gen / f".cursor.{os.getpid()}.{threading.get_ident()}.tmp"
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, gen / "cursor.json")


def set_current(base: Path, gen: Path) -> None:
    """Make `gen` the generation in use (an atomic rename; readers follow within 0.5 s)."""
    tmp = base / f".CURRENT.{os.getpid()}.{threading.get_ident()}"
    tmp.write_text(gen.name, encoding="utf-8")
    os.replace(tmp, base / "CURRENT")
    invalidate_readers(base)


def open_index(path: Path, create: bool = False) -> tantivy.Index:
    if create:
        path.mkdir(parents=True, exist_ok=True)
        index = tantivy.Index(schema(), path=str(path), reuse=False)
    else:
        index = tantivy.Index.open(str(path))
    index.register_tokenizer(WS, _analyzer())
    return index


class _Reader:
    def __init__(self, gen: Path):
        self.gen = gen
        self.index = open_index(gen)
        self.index.config_reader("manual")
        self.schema = self.index.schema
        self.meta_sig = _meta_sig(gen)
        self.checked = time.monotonic()
        self.built = _usable(read_cursor(gen))


def _usable(cursor: dict) -> bool:
    """A generation answers queries once built, and only with this code's schema (after an
    upgrade the old one keeps the service in its database fallback until the rebuild)."""
    return bool(cursor.get("built")) and cursor.get("schema") == SCHEMA_VERSION


def _meta_sig(gen: Path):
    try:
        st = os.stat(gen / "meta.json")
        return (st.st_mtime_ns, st.st_size, st.st_ino)
    except FileNotFoundError:
        return None


_readers: OrderedDict[str, _Reader] = OrderedDict()
_readers_lock = threading.Lock()


def _reader(base: Path | None = None) -> _Reader | None:
    base = Path(base or base_dir())
    key = str(base)
    r = _readers.get(key)
    if r is not None and time.monotonic() - r.checked < RELOAD_SECONDS:
        return r
    with _readers_lock:
        r = _readers.get(key)
        gen = current_generation(base)
        if gen is None:
            _readers.pop(key, None)
            return None
        if r is None or r.gen != gen:
            r = _Reader(gen)
            _readers[key] = r
            _readers.move_to_end(key)
            while len(_readers) > 4:
                _readers.popitem(last=False)
        else:
            sig = _meta_sig(gen)
            if sig != r.meta_sig:
                r.index.reload()
                r.meta_sig = sig
            if not r.built:
                r.built = _usable(read_cursor(gen))
        r.checked = time.monotonic()
        return r


def invalidate_readers(base: Path | None = None) -> None:
    """Make this process's next query look at the disk again (after a commit or a swap)."""
    key = str(Path(base or base_dir()))
    r = _readers.get(key)
    if r is not None:
        r.checked = 0.0


def search_ready() -> bool:
    """True when this node's replica exists and has been built completely."""
    try:
        r = _reader()
    except Exception:  # noqa: BLE001 - a damaged index is "not ready", never a crash
        logger.exception("search index could not be opened")
        return False
    return bool(r and r.built)


def document_count(base: Path | None = None) -> int:
    r = _reader(base)
    return r.index.searcher().num_docs if r else 0


# --- building queries ----------------------------------------------------------------------

def clauses_for(text: str) -> list[Clause]:
    """The plain lexical query of a text: one clause per word (precise segmentation, stop
    words dropped); consecutive single characters (a word jieba does not know, a name) form
    one clause matched as a phrase. Duplicates are dropped; at most MAX_CLAUSES clauses."""
    words = segment.segmenter().query_words((text or "")[:MAX_QUERY_CHARS])
    clauses: list[Clause] = []
    seen = set()
    run: list[str] = []

    def add(tokens: list[str]):
        key = tuple(tokens)
        if tokens and key not in seen:
            seen.add(key)
            clauses.append(Clause([list(tokens)]))

    for w in words:
        if len(w) == 1 and not w.isascii():
            run.append(w)
            continue
        if run:
            add(run)
            run = []
        add([w])
    if run:
        add(run)
    return clauses[:MAX_CLAUSES]


def _clean_tokens(tokens) -> list[str]:
    out = []
    for t in tokens or ():
        if not isinstance(t, str):
            continue
        t = segment.normalise(t)
        # a token that normalisation splits (e.g. "a-b") becomes several tokens of the phrase
        out.extend(p for p in t.split() if len(p) <= segment.MAX_WORD)
    return out[:MAX_PHRASE]


def _alt_query(sch, tokens: list[str], field_name: str) -> tantivy.Query:
    if len(tokens) == 1:
        return tantivy.Query.term_query(sch, field_name, tokens[0])
    return tantivy.Query.phrase_query(sch, field_name, tokens)


def _clause_query(sch, clause: Clause, fields=FIELD_BOOSTS) -> tantivy.Query | None:
    alts, seen = [], set()
    weights = list(clause.alt_boosts or [])
    for i, alt in enumerate(list(clause.alternatives or [])[:MAX_ALTERNATIVES]):
        tokens = _clean_tokens(alt if isinstance(alt, (list, tuple)) else [alt])
        if tokens and tuple(tokens) not in seen:
            seen.add(tuple(tokens))
            try:
                weight = float(weights[i]) if i < len(weights) else 1.0
            except (TypeError, ValueError):
                weight = 1.0
            alts.append((tokens, weight if 0 < weight <= 100 else 1.0))
    if not alts:
        return None
    subs = []
    for tokens, weight in alts:
        for field_name, boost in fields:
            subs.append((tantivy.Occur.Should,
                         tantivy.Query.boost_query(_alt_query(sch, tokens, field_name),
                                                   boost * weight)))
    q = tantivy.Query.boolean_query(subs)
    try:
        boost = float(clause.boost)
    except (TypeError, ValueError):
        boost = 1.0
    if boost != 1.0 and 0 < boost < 1000:
        q = tantivy.Query.boost_query(q, boost)
    return q


def _str_values(values, limit=200) -> list[str]:
    return [str(v)[:64] for v in list(values or ())[:limit] if str(v).strip()]


def _int_values(values, limit=200) -> list[int]:
    out = []
    for v in list(values or ())[:limit]:
        try:
            n = int(v)
        except (TypeError, ValueError):
            continue
        if 0 <= n < 2**63:
            out.append(n)
    return out


ANY_OF_TERMS = 128


def _any_of(sch, name: str, values: list) -> tantivy.Query:
    """Documents with one of `values` in field `name`. Up to ANY_OF_TERMS values: a union of
    term queries, which an intersection advances by skipping. A term set query (beyond that)
    reads the whole field for every query — on a fast field, all 1,000,000 values: 1.2 ms for
    100 values at 100,000 documents against 0.15 ms as a union."""
    if len(values) == 1:
        return tantivy.Query.term_query(sch, name, values[0], index_option="basic")
    if len(values) <= ANY_OF_TERMS:
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(sch, name, v, index_option="basic"))
             for v in values])
    return tantivy.Query.term_set_query(sch, name, values)


def _filter_queries(sch, f: Filters) -> tuple[list[tantivy.Query], list[tantivy.Query], bool]:
    """(must, must_not, impossible): a filter given with only invalid values matches nothing."""
    must, must_not, impossible = [], [], False
    for name, values, conv in (("sites", f.sites, _str_values),
                               ("home_site", f.home_sites, _str_values),
                               ("organisation", f.organisations, _int_values),
                               ("kind", f.kinds, _str_values),
                               ("topic", f.topics, _int_values),
                               ("year", f.years, _int_values),
                               ("columns", getattr(f, "columns", ()), _int_values)):
        if not values:
            continue
        vals = conv(values)
        if not vals:
            impossible = True
            continue
        must.append(tantivy.Query.const_score_query(_any_of(sch, name, vals), 0.0))
    excluded = _str_values(f.exclude_kinds)
    if excluded:
        must_not.append(_any_of(sch, "kind", excluded))
    return must, must_not, impossible


def build_query(sch, q: EngineQuery, fields=MATCH_FIELDS, filters: bool = True) -> tantivy.Query | None:
    """The tantivy query of an EngineQuery, or None when nothing can match: by default the
    matching query (on `text`, with the filters); with `fields=FIELD_BOOSTS` and no filters
    the scoring query of the re-ranking."""
    clause_queries = [cq for cq in (_clause_query(sch, c, fields)
                                    for c in list(q.clauses or [])[:MAX_CLAUSES])
                      if cq is not None]
    must, must_not, impossible = (_filter_queries(sch, q.filters or Filters()) if filters
                                  else ([], [], False))
    if impossible:
        return None
    subs: list[tuple[tantivy.Occur, tantivy.Query]] = []
    if clause_queries:
        if q.require_all:
            subs += [(tantivy.Occur.Must, cq) for cq in clause_queries]
        else:
            subs.append((tantivy.Occur.Must, tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, cq) for cq in clause_queries])))
    elif q.match_all:
        subs.append((tantivy.Occur.Must, tantivy.Query.all_query()))
    else:
        return None
    subs += [(tantivy.Occur.Must, m) for m in must]
    subs += [(tantivy.Occur.MustNot, m) for m in must_not]
    return tantivy.Query.boolean_query(subs)


# --- running queries -----------------------------------------------------------------------

def _clamp(value, low, high, default) -> int:
    try:
        return max(low, min(high, int(value)))
    except (TypeError, ValueError):
        return default


def execute(q: EngineQuery) -> EngineResult:
    """Run a query on this node's replica. Never raises for any input: a query that cannot
    match returns an empty result, and so does a node without an index yet."""
    try:
        r = _reader()
    except Exception:  # noqa: BLE001
        logger.exception("search index could not be opened")
        return EngineResult(0, [], {})
    if r is None:
        return EngineResult(0, [], {})
    try:
        query = build_query(r.schema, q)
        return _run(r, query, q) if query is not None else EngineResult(0, [], {})
    except BaseException as exc:  # noqa: BLE001 - incl. a Rust panic (pyo3 PanicException)
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        logger.exception("search query failed")
        return EngineResult(0, [], {})


def _run(r: _Reader, query, q: EngineQuery) -> EngineResult:
    searcher = r.index.searcher()
    limit = _clamp(q.limit, 0, MAX_LIMIT, 10)
    offset = _clamp(q.offset, 0, MAX_OFFSET, 0)
    # The facets' aggregation runs in another thread while this one ranks and highlights
    # (tantivy releases the GIL). Whether to estimate them from a sample is decided from an
    # upper bound of the number of matches (document frequencies), checked afterwards.
    facet_job, sampled = None, False
    if q.facets:
        sampled = _match_bound(searcher, q) > FACET_EXACT_UP_TO
        facet_job = _pool().submit(_facets, searcher, r.schema, query, q.facets, sampled)
    if q.sort == "date":
        res = searcher.search(query, max(limit, 1), count=True, order_by_field="published_at",
                              offset=offset, order=tantivy.Order.Desc)
        ranked = [(0.0, addr) for _key, addr in res.hits[:limit]]
    elif q.clauses and offset + limit <= RERANK_WINDOW:
        res = searcher.search(query, RERANK_WINDOW, count=True)
        ranked = _rerank(searcher, r.schema, q, res.hits)[offset:offset + limit]
    else:  # beyond the re-ranked window: the matching field's BM25 order
        res = searcher.search(query, max(limit, 1), count=True, offset=offset)
        ranked = res.hits[:limit]
    words = _highlight_words(q.clauses) if q.highlight else []
    hits = []
    for score, addr in ranked:
        fields = _stored(searcher, addr)
        hits.append(_hit(fields, float(score), words, q.highlight))
    total = int(res.count or 0)
    facets, exact = {}, True
    if facet_job is not None:
        try:
            facets, exact = facet_job.result()
            if sampled and total <= FACET_EXACT_UP_TO:  # the bound was far off: count exactly
                facets, exact = _facets(searcher, r.schema, query, q.facets, False)
        except Exception:  # noqa: BLE001 - results without facets rather than no results
            logger.exception("search facets failed")
            facets, exact = {}, True
    return EngineResult(total, hits, facets, exact)


def _rerank(searcher, sch, q: EngineQuery, hits) -> list[tuple[float, object]]:
    """`hits` (the best matches by `text` alone) in the order of the full score (FIELD_BOOSTS),
    computed for these documents only; ties keep their first order."""
    if not hits:
        return []
    full = build_query(sch, q, fields=FIELD_BOOSTS, filters=False)
    if full is None:
        return list(hits)
    addrs = [addr for _score, addr in hits]
    ids = [int(i) for i in searcher.fast_field_values("resource_id", addrs) if i is not None]
    only = tantivy.Query.const_score_query(_any_of(sch, "resource_id", ids), 0.0)
    scored = searcher.search(tantivy.Query.boolean_query(
        [(tantivy.Occur.Must, full), (tantivy.Occur.Must, only)]), len(hits), count=False)
    score_of = {(a.segment_ord, a.doc): float(sc) for sc, a in scored.hits}
    order = sorted(range(len(hits)), key=lambda i: (-score_of.get(
        (addrs[i].segment_ord, addrs[i].doc), 0.0), i))
    return [(score_of.get((addrs[i].segment_ord, addrs[i].doc), 0.0), addrs[i]) for i in order]


_executor = None
_executor_pid = None


def _pool():
    """A small thread pool for facet aggregations (created after a fork, per process)."""
    global _executor, _executor_pid
    if _executor is None or _executor_pid != os.getpid():
        from concurrent.futures import ThreadPoolExecutor

        _executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="jiyue-facets")
        _executor_pid = os.getpid()
    return _executor


def _match_bound(searcher, q: EngineQuery) -> int:
    """An upper bound of the number of matching documents, from document frequencies."""
    n = searcher.num_docs
    bounds = []
    for clause in list(q.clauses or [])[:MAX_CLAUSES]:
        total = 0
        for alt in list(clause.alternatives or [])[:MAX_ALTERNATIVES]:
            tokens = _clean_tokens(alt if isinstance(alt, (list, tuple)) else [alt])
            if not tokens:
                continue
            for field_name, _boost in MATCH_FIELDS:
                total += min(searcher.doc_freq(field_name, t) for t in tokens)
        if total:
            bounds.append(min(total, n))
    if not bounds:
        return n if q.match_all else 0
    return min(bounds) if q.require_all else min(n, sum(bounds))


def _stored(searcher, addr) -> dict:
    doc = searcher.doc(addr)
    blob = doc.get_first("stored")
    fields = json.loads(bytes(blob).decode("utf-8")) if blob else {}
    fields["resource_id"] = int(doc.get_first("resource_id") or 0)
    if fields.get("published_at"):
        fields["published_at"] = datetime.fromisoformat(fields["published_at"])
    return fields


def _hit(fields: dict, score: float, words: list[str], highlight: bool) -> EngineHit:
    text = fields.pop("text", "") or ""
    title = fields.get("title") or ""
    if highlight:
        title_html = highlight_text(title, words)
        snippet_html = snippet(text or fields.get("summary") or "", words)
    else:
        title_html = html.escape(title)
        snippet_html = html.escape(_first_chars(fields.get("summary") or text, SNIPPET_CHARS))
    return EngineHit(int(fields["resource_id"]), score, fields, title_html, snippet_html)


FACET_EXACT_UP_TO = 100_000


def _facets(searcher, sch, query, names, sampled: bool = False) -> tuple[dict[str, dict[str, int]], bool]:
    """Counts per facet value (terms aggregations on fast fields). For a query matching more
    than FACET_EXACT_UP_TO documents (`sampled`) the counts are estimated from a fixed
    pseudo-random part of them (`shard`), scaled up: a search for a word in every document
    stays fast at 1,000,000."""
    aggs = {}
    for name in names or ():
        fname = FACET_FIELDS.get(name)
        if fname and name not in aggs:
            aggs[name] = {"terms": {"field": fname, "size": FACET_SIZES[name]}}
    if not aggs:
        return {}, True
    scale, exact = 1.0, True
    total = searcher.num_docs if sampled else 0
    if total > FACET_EXACT_UP_TO:
        parts = max(1, -(-SHARDS * FACET_EXACT_UP_TO // total))
        if parts < SHARDS:
            scale, exact = SHARDS / parts, False
            query = tantivy.Query.boolean_query([
                (tantivy.Occur.Must, query),
                (tantivy.Occur.Must, _any_of(sch, "shard", list(range(parts))))])
    result = searcher.aggregate(query, aggs)
    out = {}
    for name in aggs:
        buckets = (result.get(name) or {}).get("buckets") or []
        counts = {}
        for b in buckets:
            key = b.get("key")
            if isinstance(key, float) and key.is_integer():
                key = int(key)
            if name == "topic" and key == 0:
                continue  # no 主题
            counts[str(key)] = int(round(int(b.get("doc_count") or 0) * scale))
        out[name] = counts
    return out, exact


def lookup_number(value: str) -> list[EngineHit]:
    """Documents whose 文号 or 索引号 is exactly `value` (in any bracket/space variant), on any
    site, newest first."""
    key = normalise_number(value or "")
    if not key or len(key) < 4:
        return []
    try:
        r = _reader()
    except Exception:  # noqa: BLE001
        logger.exception("search index could not be opened")
        return []
    if r is None:
        return []
    sch = r.schema
    query = tantivy.Query.boolean_query([
        (tantivy.Occur.Should, tantivy.Query.term_query(sch, "doc_number_key", key)),
        (tantivy.Occur.Should, tantivy.Query.term_query(sch, "index_number", key))])
    try:
        searcher = r.index.searcher()
        res = searcher.search(query, 20, count=False, order_by_field="published_at",
                              order=tantivy.Order.Desc)
        return [_hit(_stored(searcher, addr), 1.0, [], False) for _s, addr in res.hits]
    except Exception:  # noqa: BLE001
        logger.exception("number lookup failed")
        return []


def resource_ids(query: tantivy.Query, limit: int = 100_000, base: Path | None = None) -> list[int]:
    """The resource ids of the documents matching a tantivy query (for re-indexing)."""
    r = _reader(base)
    if r is None:
        return []
    searcher = r.index.searcher()
    res = searcher.search(query, limit, count=False)
    addrs = [addr for _s, addr in res.hits]
    return [int(v) for v in searcher.fast_field_values("resource_id", addrs) if v is not None]


# --- highlighting --------------------------------------------------------------------------

SNIPPET_CHARS = 120
SENTENCE_ENDS = "。！？；"  # a snippet starts after one of these when it is close before the words


def _highlight_words(clauses) -> list[str]:
    """The strings to mark in titles and snippets: each alternative's tokens joined."""
    words = set()
    for clause in list(clauses or [])[:MAX_CLAUSES]:
        for alt in list(getattr(clause, "alternatives", None) or [])[:MAX_ALTERNATIVES]:
            tokens = _clean_tokens(alt if isinstance(alt, (list, tuple)) else [alt])
            if tokens:
                words.add(tuple(tokens))
    return sorted(("\u0000".join(t) for t in words), key=len, reverse=True)


def _pattern(words: list[str]):
    return _compiled_pattern(tuple(words[:64])) if words else None


@lru_cache(maxsize=256)
def _compiled_pattern(words: tuple[str, ...]):
    parts = []
    for w in words:
        tokens = w.split("\u0000")
        # tokens of a phrase may be separated by spaces or punctuation in the original text
        parts.append(r"[\W_]{0,3}".join(re.escape(t) for t in tokens))
    return re.compile("|".join(parts), re.IGNORECASE)


def _fold(text: str) -> str:
    """The text as the query words are written (full-width letters and digits half-width,
    lower case), character for character, so that offsets in it are offsets in `text`."""
    folded = segment.half_width(text).lower()
    if len(folded) == len(text):
        return folded
    return "".join(f if len(f) == 1 else ch for ch, f in
                   ((ch, segment.half_width(ch).lower()) for ch in text))


def highlight_text(text: str, words: list[str]) -> str:
    """`text` escaped, with every occurrence of the query words wrapped in <em>."""
    pattern = _pattern(words)
    if not text or pattern is None:
        return html.escape(text or "")
    spans: list[list[int]] = []
    for m in pattern.finditer(_fold(text)):
        if m.end() == m.start():
            continue
        if spans and m.start() <= spans[-1][1]:  # adjacent words: one mark (见习补贴)
            spans[-1][1] = max(spans[-1][1], m.end())
        else:
            spans.append([m.start(), m.end()])
    out, pos = [], 0
    for start, end in spans:
        out.append(html.escape(text[pos:start]))
        out.append(f"<em>{html.escape(text[start:end])}</em>")
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _first_chars(text: str, n: int) -> str:
    text = re.sub(r"\s+", " ", text or "").strip()
    return text if len(text) <= n else text[:n] + "…"


def snippet(text: str, words: list[str], length: int = SNIPPET_CHARS) -> str:
    """An escaped passage of about `length` characters around the densest cluster of query
    words (the start of the text when none occurs), the words wrapped in <em>."""
    text = re.sub(r"\s+", " ", text or "").strip()
    if not text:
        return ""
    pattern = _pattern(words)
    best = 0
    if pattern is not None:
        folded = _fold(text)
        matches = []
        for m in pattern.finditer(folded):
            matches.append((m.start(), m.group(0)))
            if len(matches) >= 300:
                break
        best_score = -1
        for i, (start, _w) in enumerate(matches):
            limit = start + length - 20
            distinct = set()
            for s, w in matches[i:]:  # matches are in text order: stop past the window
                if s >= limit:
                    break
                distinct.add(w)
            if len(distinct) > best_score:
                best_score, best = len(distinct), start
                if best_score >= len(words):  # every word in one window: none can do better
                    break
        if matches:
            start = best
            best = max(0, start - 20)
            # begin after a sentence break shortly before the words, if there is one
            breaks = [text.rfind(ch, best, start) for ch in SENTENCE_ENDS]
            if max(breaks) >= 0:
                best = max(breaks) + 1
    end = min(len(text), best + length)
    passage = text[best:end]
    html_text = highlight_text(passage, words)
    return ("…" if best > 0 else "") + html_text + ("…" if end < len(text) else "")
