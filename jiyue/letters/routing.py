"""Routing suggestions: which organisation should handle a letter (the dispatcher decides).

Two signals, added up per candidate organisation:

(a) Names and duties found in the text (an Aho-Corasick automaton per candidate set): the full
    name (4 points), the name's core (财政 of 安徽省财政厅; 3 points) and its common short
    forms (发改委, 市场监管局 …; 3 points), and the duties' keywords of `DUTIES` (学校, 招生 →
    教育; 1 point each, at most 5).
(b) A nearest-neighbour vote over past letters routed by dispatchers (every valid letter a
    dispatcher accepted: its organisation is the one they confirmed): TF-IDF cosine over rjieba
    words (jiyue.search.segment), the `K` most similar letters among the candidates vote with
    their similarity; the organisation's share of the vote counts up to `KNN_WEIGHT` points.

Candidates: the mailbox's organisation and every organisation below it; a leader's mailbox of a
top-level organisation (the portal's 省长信箱) may route to every organisation of the platform.
A suggestion needs `MIN_SCORE` points; otherwise none is made (the mailbox's organisation
keeps it). The reasons are kept for the dispatcher to see.

    suggest(letter) -> Suggestion | None
    suggest_many(letters) -> {letter.pk: Suggestion | None}
    NeighbourIndex(docs, labels).vote(tokens, allowed=…)   (also used by the evaluation)
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

KNN_WEIGHT = 3.0
K = 15
MIN_SIMILARITY = 0.08
MIN_SCORE = 1.5
MAX_DOCS = 20000          # past letters in the neighbour index (newest first)
REFRESH_SECONDS = 600     # how often a process rebuilds the index when letters were routed
MAX_KEYWORD_POINTS = 5

# Duties of common government departments (routing_duties.json): the core of the department's
# name (as found in its full name) → {"alias": short forms, "words": keywords of its work,
# "domain": the topic used to evaluate the classifier on real messages (docs/screening.md)}.
# Used for the organisations whose name contains the key.
DUTIES: dict[str, dict] = json.loads(
    (Path(__file__).resolve().parent / "routing_duties.json").read_text(encoding="utf-8"))


_REGION = re.compile(r"^(?:[\u4e00-\u9fff]{2,6}?(?:省|自治区|市|州|盟|县|区|旗))")
_SUFFIX = re.compile(r"(?:委员会|办公室|办公厅|厅|局|委|办|中心)$")


def name_core(name: str) -> str:
    """安徽省财政厅 → 财政; 合肥市城市管理局 → 城市管理; 安徽省人民政府信访局 → 信访."""
    core = name or ""
    for _i in range(2):
        m = _REGION.match(core)
        if m and len(core) - m.end() >= 2:
            core = core[m.end():]
    if core.startswith("人民政府"):
        core = core[4:]
    core = _SUFFIX.sub("", core)
    return core if len(core) >= 2 and core != "人民政府" else ""


def duties_of(name: str) -> dict | None:
    for key, duty in DUTIES.items():
        if key in name:
            return duty
    return None


@dataclass
class Suggestion:
    organisation_id: int
    score: float
    reasons: list[str] = field(default_factory=list)
    alternatives: list[tuple[int, float]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"organisation": self.organisation_id, "score": round(self.score, 2),
                "reasons": self.reasons[:6],
                "alternatives": [[o, round(s, 2)] for o, s in self.alternatives[:3]]}


# --- (a) names and duties -----------------------------------------------------------------------

class KeywordScorer:
    """One automaton over the names, cores, short forms and duty words of some organisations."""

    def __init__(self, organisations: list[tuple[int, str, str]]):
        """organisations: (id, name, short name)."""
        from jiyue.screening.matcher import Entry, Matcher, normalise

        entries: dict[str, list] = {}

        def add(term: str, org_id: int, kind: str, points: float):
            key = normalise(term)
            if len(key) >= 2:
                entries.setdefault(key, []).append((org_id, kind, points, term))

        for org_id, name, short in organisations:
            add(name, org_id, "name", 4)
            core = name_core(name)
            if core:
                add(core, org_id, "core", 3)
            duty = duties_of(name)
            if duty:
                for alias in duty["alias"]:
                    add(alias, org_id, "core", 3)
                for word in duty["words"]:
                    add(word, org_id, "duty", 1)
        self.targets = entries
        self.matcher = Matcher({k: Entry(k, "", "") for k in entries})

    def score(self, text: str) -> dict[int, tuple[float, list[str]]]:
        out: dict[int, list] = {}
        seen: set[tuple[int, str]] = set()
        for hit in self.matcher.find(text, longest=True):
            for org_id, kind, points, term in self.targets.get(hit.word, ()):
                if (org_id, term) in seen:
                    continue
                seen.add((org_id, term))
                row = out.setdefault(org_id, [0.0, 0.0, []])
                if kind == "duty":
                    row[1] += points
                else:
                    row[0] = max(row[0], points)
                row[2].append(term)
        return {o: (a + min(d, MAX_KEYWORD_POINTS), terms) for o, (a, d, terms) in out.items()}


# --- (b) the nearest neighbours -----------------------------------------------------------------

def tokens(text: str) -> list[str]:
    """Content words of a text: rjieba precise mode, words of two or more characters, no stop
    words."""
    from jiyue.search.segment import STOP_WORDS, segmenter

    return [t for t in segmenter().tokens(text) if len(t) >= 2 and t not in STOP_WORDS]


class NeighbourIndex:
    """TF-IDF vectors of documents (lists of words) with a label each; cosine nearest
    neighbours vote for labels."""

    def __init__(self, docs: list[list[str]], labels: list, max_df: float = 0.25):
        self.labels = np.asarray(labels)
        self.n = len(docs)
        df: Counter = Counter()
        counts = [Counter(d) for d in docs]
        for c in counts:
            df.update(c.keys())
        limit = max(50, max_df * self.n)  # very common words say nothing (large corpora only)
        self.vocab = {t: i for i, t in enumerate(t for t, n in df.items() if n <= limit)}
        self.idf = np.zeros(len(self.vocab), dtype=np.float32)
        for t, i in self.vocab.items():
            self.idf[i] = math.log((self.n + 1) / (df[t] + 1)) + 1.0
        rows, cols, vals = [], [], []
        for d, c in enumerate(counts):
            items = [(self.vocab[t], (1.0 + math.log(n))) for t, n in c.items() if t in self.vocab]
            if not items:
                continue
            w = np.array([v * self.idf[i] for i, v in items], dtype=np.float32)
            w /= float(np.linalg.norm(w)) or 1.0
            rows.extend([d] * len(items))
            cols.extend(i for i, _v in items)
            vals.extend(w.tolist())
        order = np.argsort(np.asarray(cols, dtype=np.int64), kind="stable")
        self.doc_of = np.asarray(rows, dtype=np.int64)[order]
        self.weight = np.asarray(vals, dtype=np.float32)[order]
        sorted_cols = np.asarray(cols, dtype=np.int64)[order]
        self.starts = np.searchsorted(sorted_cols, np.arange(len(self.vocab) + 1))

    def similarities(self, words: list[str]) -> np.ndarray:
        scores = np.zeros(self.n, dtype=np.float32)
        c = Counter(w for w in words if w in self.vocab)
        if not c or not self.n:
            return scores
        q = {self.vocab[t]: (1.0 + math.log(n)) * self.idf[self.vocab[t]] for t, n in c.items()}
        norm = math.sqrt(sum(v * v for v in q.values())) or 1.0
        for i, v in q.items():
            a, b = self.starts[i], self.starts[i + 1]
            scores[self.doc_of[a:b]] += self.weight[a:b] * (v / norm)
        return scores

    def mask(self, allowed) -> np.ndarray:
        """The documents with an allowed label (pass the result as `allowed` to reuse it)."""
        return np.isin(self.labels, list(allowed))

    def vote(self, words: list[str], *, allowed=None, k: int = K,
             min_similarity: float = MIN_SIMILARITY) -> dict:
        """label -> sum of the similarities of the k nearest documents (with an allowed label;
        `allowed`: a set of labels or a `mask`)."""
        sims = self.similarities(words)
        if allowed is not None:
            mask = allowed if isinstance(allowed, np.ndarray) else self.mask(allowed)
            sims = np.where(mask, sims, 0)
        if not self.n:
            return {}
        k = min(k, self.n)
        top = np.argpartition(-sims, k - 1)[:k]
        votes: dict = {}
        for i in top:
            s = float(sims[i])
            if s >= min_similarity:
                label = self.labels[i].item()
                votes[label] = votes.get(label, 0.0) + s
        return votes


_lock = threading.Lock()
_index: tuple[NeighbourIndex, object, float] | None = None  # (index, version, built at)


def _routed():
    from .models import Letter, Status

    return Letter.objects.filter(valid=True).exclude(status__in=[Status.SUBMITTED, Status.REJECTED])


def neighbour_index() -> NeighbourIndex:
    """The process-wide index over past routed letters (rebuilt at most every REFRESH_SECONDS,
    when letters were routed since)."""
    global _index
    now = time.monotonic()
    current = _index
    if current is not None and now - current[2] < REFRESH_SECONDS:
        return current[0]
    with _lock:
        if _index is not None and time.monotonic() - _index[2] < REFRESH_SECONDS:
            return _index[0]
        from django.db.models import Count, Max

        agg = _routed().aggregate(n=Count("id"), m=Max("updated_at"))
        version = (agg["n"], str(agg["m"]))
        if _index is not None and _index[1] == version:
            _index = (_index[0], version, time.monotonic())
            return _index[0]
        rows = list(_routed().order_by("-id").values_list("title", "content", "organisation_id")[:MAX_DOCS])
        index = NeighbourIndex([tokens(f"{t}\n{c}") for t, c, _o in rows], [o for _t, _c, o in rows])
        _index = (index, version, time.monotonic())
        return index


def invalidate() -> None:
    """Rebuild the neighbour index on the next use (tests; after a bulk import of letters)."""
    global _index
    _index = None


# --- candidates and the suggestion --------------------------------------------------------------

def candidates(mailbox) -> list:
    """The organisations a letter to this mailbox may be routed to (see the module docstring)."""
    from jiyue.platform.models import Organisation

    org = mailbox.organisation
    if mailbox.kind == mailbox.LEADER and org.depth == 1:
        return list(Organisation.objects.all())
    return [org, *org.get_descendants()]


_scorers: dict[tuple, tuple[KeywordScorer, float]] = {}


def _scorer(orgs) -> KeywordScorer:
    key = tuple(sorted((o.pk, o.name, o.short_name or "") for o in orgs))
    hit = _scorers.get(key)
    if hit is not None and time.monotonic() - hit[1] < REFRESH_SECONDS:
        return hit[0]
    if len(_scorers) > 64:
        _scorers.clear()
    scorer = KeywordScorer(list(key))
    _scorers[key] = (scorer, time.monotonic())
    return scorer


def combine(keyword: dict, votes: dict, names: dict) -> Suggestion | None:
    total_votes = sum(votes.values())
    scores: dict[int, float] = {}
    reasons: dict[int, list[str]] = {}
    from django.utils.translation import gettext as _

    for org_id, (points, terms) in keyword.items():
        scores[org_id] = points
        reasons.setdefault(org_id, []).append(
            _("来信提到：%(t)s") % {"t": _("、").join(dict.fromkeys(terms))})
    for org_id, v in votes.items():
        share = v / total_votes if total_votes else 0.0
        # a weak vote (few, barely similar letters) counts less than a clear one
        strength = min(1.0, total_votes / 1.0)
        scores[org_id] = scores.get(org_id, 0.0) + KNN_WEIGHT * share * strength
        reasons.setdefault(org_id, []).append(
            _("相似的已办来信多由该单位办理（%(p)d%%）") % {"p": round(100 * share)})
    if not scores:
        return None
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], names.get(kv[0], (9, 0))))
    best, score = ranked[0]
    if score < MIN_SCORE:
        return None
    return Suggestion(best, score, reasons.get(best, []), ranked[1:4])


def suggest_many(letters) -> dict:
    """{letter.pk: Suggestion | None} for letters (with their mailbox loaded)."""
    out, per_mailbox = {}, {}
    index = neighbour_index()
    for letter in letters:
        if letter.mailbox_id not in per_mailbox:
            orgs = candidates(letter.mailbox)
            per_mailbox[letter.mailbox_id] = (orgs, index.mask({o.pk for o in orgs}),
                                              {o.pk: (o.depth, o.pk) for o in orgs})
        orgs, mask, names = per_mailbox[letter.mailbox_id]  # names: ties go to the higher one
        text = f"{letter.title}\n{letter.content}"
        keyword = _scorer(orgs).score(text)
        votes = index.vote(tokens(text), allowed=mask) if index.n else {}
        out[letter.pk] = combine(keyword, votes, names)
    return out


def suggest(letter) -> Suggestion | None:
    return suggest_many([letter])[letter.pk]
