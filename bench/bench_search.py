"""Search engine benchmark (not a test): indexing rate, query latency, index size and memory
on synthetic libraries, through the engine's own document → index path, without a database.

    .venv/bin/python bench/bench_search.py --docs 100000
    .venv/bin/python bench/bench_search.py --docs 1000000 --queries 3000
    .venv/bin/python bench/bench_search.py --docs 100000 --dir /tmp/idx --keep   # keep the index

Documents are about 1,000 characters of ../shared/data/xxgk_hebei when it is present
(generated text otherwise): by default (`--corpus coherent`) a passage of one real document
under its title, so that words are as frequent across the library as across real documents;
`--corpus shuffled` draws every sentence from a random document (common words then occur in
nearly every document: the worst case for conjunctive queries). Each has a kind (6),
organisation (60), 1–3 sites (100), a 主题 (20 of them, on two thirds of the documents) and a
publication date (2015–2025). They are generated in worker processes from their number (the
stream never sits in memory), segmented there with the engine's segmenter
(`engine.segment_doc`), and added to one tantivy index by the main process
(`engine.tantivy_doc`), which is exactly what `replica.build` does with documents from the
database. The query mix: 1–3 words of real titles; half with a site or kind filter; half with
all five facets; one in ten sorted by date; through `engine.execute` (highlighted titles and
snippets included). Results go to docs/benchmarks.md ("Search").
"""

from __future__ import annotations

import argparse
import csv
import glob
import os
import random
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections import deque
from datetime import datetime, timedelta, timezone as dt_timezone
from multiprocessing import Pool

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import django  # noqa: E402
from django.conf import settings  # noqa: E402

if not settings.configured:
    settings.configure(USE_TZ=True, TIME_ZONE="Asia/Shanghai", JIYUE_SEARCH_DIR="/nonexistent")
    django.setup()

from jiyue.search import engine, segment  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "xxgk_hebei")
KINDS = ["policy", "article", "guide", "interpretation", "file", "image"]
TOPICS = 20
ORGS = 60
SITES = [f"34{i:08d}" for i in range(100)]

_sentences: list[str] = []
_titles: list[str] = []
_spans: list[tuple[int, int, str]] = []  # per real document: its sentences [a, b) and title
_mode = "coherent"
_seg: segment.Segmenter | None = None


def load_corpus() -> tuple[list[str], list[str], str]:
    sentences, titles = [], []
    _spans.clear()
    for path in sorted(glob.glob(os.path.join(DATA, "*.csv"))):
        with open(path, encoding="utf-8") as f:
            for row in csv.DictReader(f):
                title = (row.get("标题") or "").strip()
                if title:
                    titles.append(title)
                start = len(sentences)
                for s in re.split(r"(?<=[。！？；])", row.get("内容") or ""):
                    s = s.strip()
                    if 8 <= len(s) <= 200:
                        sentences.append(s)
                if title and len(sentences) > start:
                    _spans.append((start, len(sentences), title))
    if sentences and titles:
        return sentences, titles, "xxgk_hebei"
    rng = random.Random(7)  # no real data: generated text from a small government vocabulary
    words = [w for w, _f in segment.read_gov_dict()] + ["工作", "推进", "加强", "落实", "服务", "管理"]
    sentences = ["".join(rng.choice(words) for _ in range(rng.randint(4, 12))) + "。"
                 for _ in range(20000)]
    titles = ["关于" + "".join(rng.choice(words) for _ in range(rng.randint(2, 4))) + "的通知"
              for _ in range(3000)]
    return sentences, titles, "generated"


def _init(sentences, titles, spans=(), mode="coherent"):
    global _sentences, _titles, _seg, _mode
    _sentences, _titles, _mode = sentences, titles, mode
    _spans[:] = list(spans)
    _seg = segment.Segmenter()


def make_doc(i: int) -> engine.IndexDoc:
    rng = random.Random(i)
    parts, size = [], 0
    if _mode == "coherent" and _spans:
        # a passage of one real document (from a random sentence on, running into the next
        # document when it ends), under that document's title: word frequencies across the
        # library stay those of real documents
        a, _b, title = _spans[rng.randrange(len(_spans))]
        k = rng.randrange(a, _b)
        while size < 1000:
            s = _sentences[k % len(_sentences)]
            parts.append(s)
            size += len(s)
            k += 1
    else:
        # sentences of random documents: every document mentions most common words (工作 in
        # 95 %, 企业 in 94 % against 64 % and 34 % in the real documents) — a worst case
        while size < 1000:
            s = rng.choice(_sentences)
            parts.append(s)
            size += len(s)
        title = rng.choice(_titles)
    kind = KINDS[i % len(KINDS)]
    sites = sorted({SITES[rng.randrange(len(SITES))] for _ in range(rng.randint(1, 3))})
    org = 1 + rng.randrange(ORGS)
    topic = 1 + rng.randrange(TOPICS) if rng.random() < 0.66 else None
    published = datetime(2015, 1, 1, tzinfo=dt_timezone.utc) + timedelta(seconds=rng.randrange(11 * 365 * 86400))
    return engine.IndexDoc(
        resource_id=i, global_id=f"ah:{i}", kind=kind, title=title, text="".join(parts),
        organisation_id=org, organisation_name=f"机构{org}", sites=sites, home_site=sites[0],
        columns=[org * 10 + rng.randrange(5)], topic_id=topic, topic_name=f"主题{topic}" if topic else "",
        doc_number=f"皖政办〔{published.year}〕{i % 500 + 1}号" if kind == "policy" else "",
        index_number=f"11340000000000{org:04d}/{published.year}-{i:05d}" if kind == "policy" else "",
        published_at=published, summary="")


def segment_batch(ids: range) -> list[engine.SegmentedDoc]:
    return [engine.segment_doc(make_doc(i), _seg) for i in ids]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dir_size(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _s, files in os.walk(path) for f in files)


def build(n: int, base: str, procs: int, threads: int, heap: int, sentences, titles,
          mode: str = "coherent") -> dict:
    gen = os.path.join(base, "g-bench")
    shutil.rmtree(base, ignore_errors=True)
    index = engine.open_index(engine.Path(gen), create=True)
    writer = index.writer(heap_size=heap, num_threads=threads)
    batch = 200
    chunks = (range(s, min(s + batch, n)) for s in range(0, n, batch))
    started = time.perf_counter()
    done = 0
    last = started
    with Pool(procs, initializer=_init, initargs=(sentences, titles, list(_spans), mode)) as pool:
        pending = deque()
        while True:
            # a bounded window of batches in flight: the stream never piles up in memory
            while len(pending) < 3 * procs:
                chunk = next(chunks, None)
                if chunk is None:
                    break
                pending.append(pool.apply_async(segment_batch, (chunk,)))
            if not pending:
                break
            docs = pending.popleft().get()
            for sd in docs:
                writer.add_document(engine.tantivy_doc(sd))
            done += len(docs)
            if time.perf_counter() - last > 10:
                last = time.perf_counter()
                print(f"  {done:,} documents, {done / (last - started):,.0f}/s", flush=True)
    added = time.perf_counter() - started
    writer.commit()
    writer.wait_merging_threads()
    total = time.perf_counter() - started
    engine.write_cursor(engine.Path(gen), {"last_event_id": 0, "built": True,
                                           "schema": engine.SCHEMA_VERSION})
    engine.set_current(engine.Path(base), engine.Path(gen))
    return {"docs": n, "seconds": total, "added_seconds": added, "rate": n / total,
            "size": dir_size(gen), "rss_mb": rss_mb(),
            "children_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def query_mix(count: int, titles: list[str], seed: int = 3) -> list[engine.EngineQuery]:
    rng = random.Random(seed)
    seg = segment.segmenter()
    words = [w for t in titles for w in seg.query_words(t) if len(w) >= 2]
    queries = []
    for i in range(count):
        text = " ".join(rng.sample(words, rng.choice((1, 1, 2, 2, 3))))
        filters = engine.Filters()
        r = rng.random()
        if r < 0.25:
            filters = engine.Filters(sites=[rng.choice(SITES)])
        elif r < 0.5:
            filters = engine.Filters(kinds=[rng.choice(KINDS)])
        facets = ("site", "organisation", "kind", "topic", "year") if i % 2 == 0 else ()
        queries.append(engine.EngineQuery(engine.clauses_for(text), filters=filters, facets=facets,
                                          sort="date" if i % 10 == 0 else "relevance",
                                          require_all=rng.random() < 0.8, limit=10))
    return queries


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run_queries(queries) -> dict:
    for q in queries[:50]:  # warm the caches a little
        engine.execute(q)
    times, totals = [], []
    by = {"facets": [], "plain": []}
    for q in queries:
        t = time.perf_counter()
        res = engine.execute(q)
        dt = (time.perf_counter() - t) * 1000
        times.append(dt)
        totals.append(res.total)
        by["facets" if q.facets else "plain"].append(dt)
    return {"n": len(times), "p50": pct(times, 50), "p95": pct(times, 95), "p99": pct(times, 99),
            "mean": statistics.mean(times), "p95_facets": pct(by["facets"], 95),
            "p95_plain": pct(by["plain"], 95), "median_hits": statistics.median(totals),
            "zero": sum(1 for t in totals if t == 0)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--procs", type=int, default=os.cpu_count() or 2,
                        help="segmentation processes")
    parser.add_argument("--threads", type=int, default=2, help="tantivy indexing threads")
    parser.add_argument("--heap", type=int, default=400_000_000, help="tantivy writer memory (bytes)")
    parser.add_argument("--dir", help="index directory (default: a temporary one, removed)")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--query-only", action="store_true", help="query an index built before")
    parser.add_argument("--corpus", choices=("coherent", "shuffled"), default="coherent",
                        help="coherent: passages of real documents (real word frequencies); "
                             "shuffled: random sentences of random documents (a worst case)")
    args = parser.parse_args()

    base = args.dir or tempfile.mkdtemp(prefix="jiyue-search-bench-")
    settings.JIYUE_SEARCH_DIR = base
    sentences, titles, source = load_corpus()
    seg = segment.Segmenter()
    segment._current, segment._checked, segment.CHECK_SECONDS = seg, time.monotonic(), 1e9

    sample = "".join(sentences[:3000])[:1_000_000]
    t = time.perf_counter()
    for i in range(0, len(sample), 1000):
        seg.index_text(sample[i:i + 1000])
    chars = len(sample) / (time.perf_counter() - t)
    t = time.perf_counter()
    for i in range(0, len(sample), 50):
        seg.query_words(sample[i:i + 50])
    qchars = len(sample) / (time.perf_counter() - t)
    print(f"corpus: {source}, {args.corpus} ({len(sentences):,} sentences, {len(titles):,} titles); "
          f"segmentation (one process): index {chars / 1e6:.2f} M chars/s, query {qchars / 1e6:.2f} M chars/s")

    try:
        if not args.query_only:
            print(f"indexing {args.docs:,} documents ({args.procs} segmentation processes, "
                  f"{args.threads} tantivy threads) into {base}")
            b = build(args.docs, base, args.procs, args.threads, args.heap, sentences, titles,
                      args.corpus)
            print(f"indexed {b['docs']:,} in {b['seconds']:.1f} s: {b['rate']:,.0f} documents/s "
                  f"(adding {b['added_seconds']:.1f} s, commit and merges {b['seconds'] - b['added_seconds']:.1f} s); "
                  f"index {b['size'] / 1e9:.2f} GB ({b['size'] / b['docs']:.0f} B/document); "
                  f"peak memory: main {b['rss_mb']:.0f} MB, a segmentation process {b['children_rss_mb']:.0f} MB")
        engine.invalidate_readers()
        print(f"documents in the index: {engine.document_count():,}")
        before = rss_mb()
        r = run_queries(query_mix(args.queries, titles))
        print(f"{r['n']} queries: p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms, p99 {r['p99']:.1f} ms "
              f"(mean {r['mean']:.1f}); p95 with facets {r['p95_facets']:.1f} ms, without "
              f"{r['p95_plain']:.1f} ms; median hits {r['median_hits']:,.0f}, zero-hit {r['zero']}; "
              f"reader peak memory {rss_mb():.0f} MB (was {before:.0f})")
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
