"""Index documents built from the database, in batches (a handful of queries per batch).

Reads the library through its public interfaces (`library.services.public_placements`,
`library.kinds.specific_many`, each kind's `rich_text_fields`); never writes another app's
models. A resource is in the index when it is published (`live`), is not a link, and has at
least one live placement; `build()` returns None for every other id (its document is deleted).
"""

from __future__ import annotations

import html
import re
from typing import Iterable, Iterator

from django.db import models

from .engine import IndexDoc

BATCH = 500
EXCLUDED_KINDS = ("link",)
# Fields that go to the metadata field instead of the body.
META_FIELDS = {"doc_number", "issuing_body"}

_BLOCK = re.compile(r"<\s*(?:br|/p|/div|/li|/h\d|/tr|/td|/th|/blockquote|/figcaption|hr)\b[^>]*>",
                    re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_DOC_LINK = re.compile(
    r'<a\b[^>]*\blinktype="document"[^>]*\bid="(\d+)"|<a\b[^>]*\bid="(\d+)"[^>]*\blinktype="document"'
    r'|href="(?:https?://[^"/]+)?/documents/(\d+)/', re.IGNORECASE)


def html_to_text(value: str) -> str:
    if not value:
        return ""
    text = _TAG.sub("", _BLOCK.sub("\n", value))
    text = html.unescape(text)
    return re.sub(r"[ \t\r\f\v\u00a0\u3000]+", " ", re.sub(r"\n\s*\n+", "\n", text)).strip()


def linked_document_ids(value: str) -> set[int]:
    ids = set()
    for m in _DOC_LINK.finditer(value or ""):
        ids.add(int(next(g for g in m.groups() if g)))
    return ids


def eligible():
    """The resources that belong in the index (a queryset)."""
    from jiyue.library.models import Resource
    from jiyue.library.services import public_placements

    return (Resource.objects.filter(live=True).exclude(kind__in=EXCLUDED_KINDS)
            .filter(pk__in=public_placements().values("resource_id")))


def count_eligible() -> int:
    return eligible().count()


def iter_all(batch: int = BATCH) -> Iterator[list[IndexDoc]]:
    """Every eligible resource's document, in batches, in id order (keyset pagination)."""
    last = 0
    qs = eligible().order_by("pk").values_list("pk", flat=True)
    while True:
        ids = list(qs.filter(pk__gt=last)[:batch])
        if not ids:
            return
        last = ids[-1]
        yield [d for d in build(ids).values() if d is not None]


def _text_fields(model) -> list[tuple[str, bool]]:
    """(field name, is rich text) of a kind's own text fields (not the common Resource ones)."""
    from jiyue.library.models import Resource

    base = {f.name for f in Resource._meta.get_fields()}
    rich = set(getattr(model, "rich_text_fields", ()) or ())
    out = []
    for f in model._meta.get_fields():
        if f.name in base or f.name in META_FIELDS or not getattr(f, "concrete", False):
            continue
        if isinstance(f, models.URLField) or getattr(f, "choices", None):
            continue
        if isinstance(f, (models.CharField, models.TextField)):
            out.append((f.name, f.name in rich))
    return out


def build(ids: Iterable[int]) -> dict[int, IndexDoc | None]:
    """The index document of each resource id (None: it must not be in the index)."""
    from wagtail.documents import get_document_model

    from jiyue.library.kinds import specific_many
    from jiyue.library.models import Resource
    from jiyue.library.services import public_placements

    from . import extract

    ids = sorted({int(i) for i in ids})
    result: dict[int, IndexDoc | None] = dict.fromkeys(ids)
    if not ids:
        return result
    resources = list(Resource.objects.filter(pk__in=ids, live=True)
                     .exclude(kind__in=EXCLUDED_KINDS)
                     .select_related("organisation", "organisation__site", "topic"))
    placed: dict[int, tuple[set, set]] = {}
    for rid, code, column in (public_placements().filter(resource_id__in=[r.pk for r in resources])
                              .values_list("resource_id", "site__code", "column_id")):
        sites, columns = placed.setdefault(rid, (set(), set()))
        sites.add(code)
        columns.add(column)
    resources = [r for r in resources if r.pk in placed]
    specific = specific_many(resources)

    # attachments: the file of a file resource and documents linked from rich text
    doc_ids: dict[int, set[int]] = {}
    fields_of: dict[type, list] = {}
    for r in specific:
        fields = fields_of.setdefault(type(r), _text_fields(type(r)))
        wanted = set()
        if getattr(r, "document_id", None):
            wanted.add(r.document_id)
        for name, rich in fields:
            if rich:
                wanted |= linked_document_ids(getattr(r, name, "") or "")
        doc_ids[r.pk] = wanted
    all_docs = set().union(*doc_ids.values()) if doc_ids else set()
    attachment_text = {}
    if all_docs:
        documents = get_document_model().objects.in_bulk(list(all_docs)[:5000]).values()
        attachment_text = extract.texts(documents)

    for r, base in zip(specific, resources):
        parts = [r.summary or ""]
        for name, rich in fields_of[type(r)]:
            value = getattr(r, name, "") or ""
            parts.append(html_to_text(value) if rich else str(value))
        for d in sorted(doc_ids.get(r.pk, ())):
            if attachment_text.get(d):
                parts.append(attachment_text[d])
        org = base.organisation
        site = getattr(org, "site", None) if org is not None else None
        sites, columns = placed[r.pk]
        published = r.published_at or r.last_published_at or r.first_published_at
        result[r.pk] = IndexDoc(
            resource_id=r.pk, global_id=r.global_id or "", kind=r.kind, title=r.title,
            text="\n".join(p for p in parts if p), keywords=r.keywords or "",
            organisation_id=r.organisation_id, organisation_name=org.name if org else "",
            doc_number=getattr(r, "doc_number", "") or "", index_number=r.index_number or "",
            issuing_body=getattr(r, "issuing_body", "") or "",
            sites=sorted(sites), home_site=site.code if site else "", columns=sorted(columns),
            topic_id=r.topic_id, topic_name=base.topic.name if base.topic_id and base.topic else "",
            published_at=published, summary=r.summary or "")
    return result
