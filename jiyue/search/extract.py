"""Text of attachments for the index: PDF (pypdf) and DOCX (python-docx).

Each file is extracted once, whatever the number of resources and nodes that index it: the
text is kept in `AttachmentText` under the file's SM3 digest. Caps on size, pages, characters
and time keep a huge or hostile file from stalling the index; a broken file gives no text and
its error is recorded (the resource is indexed without it).
"""

from __future__ import annotations

import io
import logging
import time
import zipfile

from jiyue.security.crypto import sm3_hex

logger = logging.getLogger(__name__)

MAX_BYTES = 30 * 1024 * 1024
MAX_PAGES = 300
MAX_CHARS = 300_000
MAX_SECONDS = 20.0
EXTENSIONS = {"pdf", "docx"}


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in (name or "") else ""


def extract_pdf(data: bytes) -> str:
    from pypdf import PdfReader

    started = time.monotonic()
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            reader.decrypt("")
        except Exception as exc:  # noqa: BLE001
            raise ValueError("encrypted PDF") from exc
    parts, size = [], 0
    for i, page in enumerate(reader.pages):
        if i >= MAX_PAGES or size >= MAX_CHARS or time.monotonic() - started > MAX_SECONDS:
            break
        text = page.extract_text() or ""
        parts.append(text)
        size += len(text)
    return "\n".join(parts)[:MAX_CHARS]


def extract_docx(data: bytes) -> str:
    import docx

    with zipfile.ZipFile(io.BytesIO(data)) as z:  # refuse zip bombs before python-docx opens it
        if sum(i.file_size for i in z.infolist()) > 20 * MAX_BYTES:
            raise ValueError("DOCX expands too much")
    document = docx.Document(io.BytesIO(data))
    parts, size = [], 0
    for p in document.paragraphs:
        parts.append(p.text)
        size += len(p.text)
        if size >= MAX_CHARS:
            break
    for table in document.tables:
        if size >= MAX_CHARS:
            break
        for row in table.rows:
            cells = " ".join(c.text for c in row.cells)
            parts.append(cells)
            size += len(cells)
    return "\n".join(parts)[:MAX_CHARS]


def extract(data: bytes, extension: str) -> str:
    if extension == "pdf":
        return extract_pdf(data)
    if extension == "docx":
        return extract_docx(data)
    return ""


def _read(document) -> bytes | None:
    try:
        size = document.file.size
        if size > MAX_BYTES:
            return None
        with document.file.open("rb") as f:
            return f.read(MAX_BYTES + 1)
    except Exception:  # noqa: BLE001 - a missing file is not the index's problem
        logger.warning("attachment %s could not be read", getattr(document, "pk", None))
        return None


def texts(documents) -> dict[int, str]:
    """Text of each Wagtail document (by pk) that is a PDF or DOCX: from the cache when the
    same file was extracted before, otherwise extracted now and cached."""
    from .models import AttachmentText

    wanted: dict[int, tuple[str, bytes | None, str]] = {}
    for d in documents:
        ext = _extension(getattr(d.file, "name", "") or "")
        if ext not in EXTENSIONS:
            continue
        data = _read(d)
        if data is None or len(data) > MAX_BYTES:
            continue
        wanted[d.pk] = (sm3_hex(data), data, ext)
    if not wanted:
        return {}
    cached = dict(AttachmentText.objects.filter(digest__in={v[0] for v in wanted.values()})
                  .values_list("digest", "text"))
    out: dict[int, str] = {}
    for pk, (digest, data, ext) in wanted.items():
        if digest not in cached:
            text, error = "", ""
            try:
                text = extract(data, ext)
            except Exception as exc:  # noqa: BLE001 - never fail the index on a broken file
                error = f"{type(exc).__name__}: {exc}"[:200]
                logger.info("attachment %s: no text (%s)", pk, error)
            text = text.replace("\x00", "")
            AttachmentText.objects.update_or_create(digest=digest, defaults={"text": text, "error": error})
            cached[digest] = text
        out[pk] = cached[digest]
    return out
