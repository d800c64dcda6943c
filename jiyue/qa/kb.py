"""The knowledge base as the ranker sees it.

`ranker()` returns a `Ranker` over every enabled FAQ entry (with the operator's synonym groups
of 站内搜索), built once per process and rebuilt when they change. The check is cheap: two
aggregate queries (count, last change, number of entries embedded with the current embedding
version; the synonym groups' count and last change) at most every `CHECK_SECONDS`, and at once
after a change made in this process (signals call `invalidate()`). Vectors are used only when
they were computed for the entry's current text (`embedded == embed_key(question, answer)`).

Published resources take part through `resource_item()`: KbItems built from search-engine hits,
kept in a small per-process cache so that their embeddings (computed on the fly by the ranker)
are computed once per resource text, not once per question.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from django.db.models import Count, Max, Q

from jiyue.security.crypto import sm3_hex

CHECK_SECONDS = 2.0
RESOURCE_CACHE = 2000

_lock = threading.Lock()
_state: dict = {"version": None, "ranker": None, "checked": 0.0}
_resources: OrderedDict[tuple, object] = OrderedDict()


def embed_version() -> str:
    from . import embed

    return embed.EMBED_VERSION


def embed_key(question: str, answer: str) -> str:
    """What `FaqEntry.embedded` holds when the stored vectors belong to this text."""
    version = embed_version()
    digest = sm3_hex(f"{question}\x1f{answer}".encode())
    return f"{version}:{digest}"[:64] if len(version) < 40 else f"{version[:40]}:{digest}"[:64]


def invalidate() -> None:
    """Rebuild at the next question (called after every change made in this process)."""
    with _lock:
        _state["checked"] = 0.0
        _state["version"] = None


def _version() -> tuple:
    from jiyue.search.models import SynonymGroup

    from .models import FaqEntry

    prefix = embed_version() + ":"
    row = FaqEntry.objects.filter(enabled=True).aggregate(
        n=Count("id"), last=Max("updated_at"), top=Max("id"),
        embedded=Count("id", filter=Q(embedded__startswith=prefix)))
    syn = SynonymGroup.objects.aggregate(n=Count("id"), last=Max("updated_at"))
    return (row["n"], row["last"], row["top"], row["embedded"], syn["n"], syn["last"])


def _synonyms() -> list[str]:
    """The operator's synonym groups (站内搜索 › 同义词) also widen the questions."""
    from jiyue.search.models import SynonymGroup

    return list(SynonymGroup.objects.filter(enabled=True).values_list("terms", flat=True))


def _build():
    from . import embed
    from .display import first_sentence
    from .models import FaqEntry
    from .ranker import KbItem, Ranker

    items = []
    rows = (FaqEntry.objects.filter(enabled=True).order_by("id")
            .values_list("id", "question", "answer", "organisation_id", "embedding", "embedded"))
    for pk, question, answer, org, blob, embedded in rows.iterator(chunk_size=1000):
        vectors = None
        if blob and embedded and embedded == embed_key(question, answer):
            vectors = embed.from_bytes(blob)
        items.append(KbItem(id=f"faq:{pk}", answer=answer, question=question,
                            title=question.strip() or first_sentence(answer), group=org,
                            vectors=vectors))
    return Ranker(items, synonyms=_synonyms())


def ranker():
    """The current Ranker over the enabled FAQ entries."""
    now = time.monotonic()
    with _lock:
        current = _state["ranker"]
        fresh = current is not None and now - _state["checked"] < CHECK_SECONDS
    if fresh:
        return current
    version = _version()
    with _lock:
        if _state["ranker"] is not None and _state["version"] == version:
            _state["checked"] = now
            return _state["ranker"]
    built = _build()
    with _lock:
        _state.update(ranker=built, version=version, checked=time.monotonic())
    return built


def resource_item(resource_id: int, title: str, summary: str, kind: str):
    """A KbItem for a published resource (its title and summary), shared between questions
    so that the ranker embeds each resource text once per process."""
    from .ranker import KbItem

    key = (resource_id, sm3_hex(f"{title}\x1f{summary}".encode()))
    with _lock:
        item = _resources.get(key)
        if item is not None:
            _resources.move_to_end(key)
            return item
    answer = f"{title}\n{summary}" if summary else title
    item = KbItem(id=f"resource:{resource_id}", answer=answer, title=title, group=None)
    item.kind = kind
    with _lock:
        _resources[key] = item
        while len(_resources) > RESOURCE_CACHE:
            _resources.popitem(last=False)
    return item
