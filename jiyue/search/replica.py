"""This node's index replica, kept up to date from the outbox with its own cursor.

Every application node has its own index (`settings.JIYUE_SEARCH_DIR`) and follows the outbox
(`core.outbox.read`) with a cursor kept in `cursor.json` beside the index, not in the database:
the cursor describes what *this directory* contains, so a node that loses its disk rebuilds and a
restored database does not lie about an index. `sync()` reads the events after the cursor,
collects the resources they touch, re-builds their documents from the database, commits the
index and only then writes the cursor: a crash in between applies the same events again, which
is idempotent (delete by resource id, then add the current document).

A node without an index (or with an index of an older schema, or when a `search.rebuild` was
requested) builds a new generation from scratch: it notes the outbox position first, indexes
every eligible resource, writes the cursor, then swaps `CURRENT` to the new generation; events
after the noted position are applied on top. Queries keep using the old generation meanwhile.

Only one process may write a directory (tantivy's lock): the node's `jiyue worker` keeps the
writer; `jiyue search sync` in another process is refused with a clear message; `jiyue search
rebuild` writes a new generation of its own and swaps it in, and the worker follows the swap.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import threading
import time
from collections import deque
from contextlib import closing
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from django.utils.translation import gettext as _

from jiyue.core import outbox

from . import documents, engine, segment

logger = logging.getLogger(__name__)

WRITER_HEAP = 64_000_000
BUILD_HEAP = 256_000_000
EVENT_BATCH = 500
MAX_EVENTS_PER_SYNC = 20_000
REINDEX_BATCH = 500
HEARTBEAT_SECONDS = 10.0
STALE_BUILD_SECONDS = 3600.0
OLD_GENERATION_GRACE = 60.0


class IndexBusy(Exception):
    """Another process holds this directory's writer."""


@dataclass
class SyncReport:
    events: int = 0
    indexed: int = 0
    deleted: int = 0
    rebuilt: bool = False
    busy: bool = False
    rebuilding: bool = False
    documents: int = 0
    cursor: int = 0


@dataclass
class Changes:
    ids: set = field(default_factory=set)
    global_ids: set = field(default_factory=set)
    sites: set = field(default_factory=set)
    words: set = field(default_factory=set)
    rebuild: int = 0


def node() -> str:
    return settings.JIYUE_NODE


# --- the writer ----------------------------------------------------------------------------

_sync_lock = threading.Lock()
_writer = None  # (generation path, index, writer)


def _busy_message() -> str:
    return _("该节点的搜索索引正由另一个进程（通常是本节点的 jiyue worker）写入，请稍后再试。")


def _open_writer(index, heap: int, threads: int):
    try:
        return index.writer(heap_size=heap, num_threads=threads)
    except ValueError as exc:
        if "LockBusy" in str(exc) or "lock" in str(exc).lower():
            raise IndexBusy(_busy_message()) from exc
        raise


def _writer_for(gen: Path):
    global _writer
    if _writer is not None and _writer[0] == gen:
        return _writer[1], _writer[2]
    close_writer()
    index = engine.open_index(gen)
    writer = _open_writer(index, WRITER_HEAP, 1)
    _writer = (gen, index, writer)
    return index, writer


def close_writer() -> None:
    """Release this process's writer (and tantivy's lock on the directory)."""
    global _writer
    if _writer is not None:
        w = _writer
        _writer = None
        try:
            w[2].rollback()
        except Exception:  # noqa: BLE001
            pass
        del w


# --- the replica row -----------------------------------------------------------------------

_last_report = 0.0


def _report(force: bool = False, **values) -> None:
    """Update this node's Replica row (at most every HEARTBEAT_SECONDS unless forced)."""
    global _last_report
    from .models import Replica

    now = time.monotonic()
    if not force and now - _last_report < HEARTBEAT_SECONDS:
        return
    _last_report = now
    values.setdefault("synced_at", timezone.now())
    try:
        updated = Replica.objects.filter(node=node()).update(**values)
        if not updated:
            Replica.objects.get_or_create(node=node(), defaults=values)
    except Exception:  # noqa: BLE001 - the heartbeat must not break the sync
        logger.exception("could not update the replica row")


# --- generations ---------------------------------------------------------------------------

def _new_generation(base: Path) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d%H%M%S")
    while True:
        gen = base / f"g-{stamp}-{os.getpid()}-{secrets.token_hex(3)}"
        if not gen.exists():
            return gen


def cleanup(base: Path | None = None) -> list[str]:
    """Remove generations that are not in use: superseded ones (after a short grace period for
    readers to move on) and abandoned builds (no progress for an hour)."""
    base = Path(base or engine.base_dir())
    current = engine.current_generation(base)
    removed = []
    if not base.exists():
        return removed
    for path in base.glob("g-*"):
        if not path.is_dir() or path == current:
            continue
        cursor_file = path / "cursor.json"
        try:
            age = time.time() - cursor_file.stat().st_mtime
        except FileNotFoundError:
            age = time.time() - path.stat().st_mtime
        built = bool(engine.read_cursor(path).get("built"))
        if (built and age > OLD_GENERATION_GRACE) or age > STALE_BUILD_SECONDS:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def _safe_start() -> int:
    """The outbox position a full build starts from: the newest event old enough that its
    transaction has surely committed (see `outbox.lag()`); later events are applied on top."""
    from jiyue.core.models import Event

    horizon = timezone.now() - outbox.lag()
    last = (Event.objects.filter(created_at__lte=horizon).order_by("-id")
            .values_list("id", flat=True).first())
    return int(last or 0)


def needs_build(gen: Path | None) -> bool:
    if gen is None:
        return True
    cursor = engine.read_cursor(gen)
    return not cursor.get("built") or cursor.get("schema") != engine.SCHEMA_VERSION


# A full build segments in a pool of processes (one per core, JIYUE_SEARCH_BUILD_PROCESSES)
# once the library has this many documents; below, starting them costs more than it saves.
PARALLEL_FROM = 2000


def build_processes() -> int:
    try:
        return max(1, int(os.environ.get("JIYUE_SEARCH_BUILD_PROCESSES") or os.cpu_count() or 1))
    except ValueError:
        return 1


def _segmented(batches, seg: segment.Segmenter, processes: int):
    """The batches of documents, segmented: here, or in `processes` spawned processes (nothing
    of this process's state crosses; each builds the same segmenter), in order, with a bounded
    number of batches in flight so that the library never sits in memory."""
    if processes <= 1:
        for batch in batches:
            yield [engine.segment_doc(doc, seg) for doc in batch]
        return
    with get_context("spawn").Pool(processes, initializer=engine.segment_worker_init,
                                   initargs=(segment.operator_words(), seg.version)) as pool:
        pending: deque = deque()
        batches = iter(batches)
        while True:
            while len(pending) < 2 * processes:
                batch = next(batches, None)
                if batch is None:
                    break
                pending.append(pool.apply_async(engine.segment_docs, (batch,)))
            if not pending:
                return
            yield pending.popleft().get()


def build(base: Path | None = None, progress=None, threads: int | None = None) -> Path:
    """Index every eligible resource into a new generation, then make it current.

    `progress(done, total)` is called along the way (the CLI's progress bar); this node's
    Replica row shows the progress to the admin."""
    base = Path(base or engine.base_dir())
    rebuild_after = outbox.last_id()
    start = _safe_start()
    gen = _new_generation(base)
    index = engine.open_index(gen, create=True)
    threads = threads or max(1, min(4, (os.cpu_count() or 1)))
    writer = _open_writer(index, BUILD_HEAP, threads)
    cursor = {"last_event_id": start, "built": False, "rebuild_after": rebuild_after,
              "schema": engine.SCHEMA_VERSION, "started_at": timezone.now().isoformat(),
              "node": node()}
    engine.write_cursor(gen, cursor)
    total = documents.count_eligible()
    done = 0
    _report(force=True, state="rebuilding", progress_done=0, progress_total=total, error="")
    seg = segment.segmenter()
    last_beat = time.monotonic()
    processes = build_processes() if total >= PARALLEL_FROM else 1
    try:
        with closing(_segmented(documents.iter_all(), seg, processes)) as batches:
            for batch in batches:
                for sd in batch:
                    writer.add_document(engine.tantivy_doc(sd))
                done += len(batch)
                if progress:
                    progress(done, max(total, done))
                if time.monotonic() - last_beat > 2.0:
                    last_beat = time.monotonic()
                    engine.write_cursor(gen, {**cursor, "progress": done})  # keeps the build fresh
                    _report(force=True, state="rebuilding", progress_done=done,
                            progress_total=max(total, done))
        writer.commit()
        writer.wait_merging_threads()
    except BaseException:
        try:
            writer.rollback()
        except Exception:  # noqa: BLE001
            pass
        shutil.rmtree(gen, ignore_errors=True)
        raise
    del writer
    cursor.update(built=True, built_at=timezone.now().isoformat(), documents=done)
    engine.write_cursor(gen, cursor)
    engine.set_current(base, gen)
    if progress:
        progress(done, max(total, done))
    _report(force=True, state="ok", progress_done=done, progress_total=max(total, done),
            documents=done, last_event_id=start, error="")
    try:
        cleanup(base)
    except OSError:
        logger.warning("could not remove old search index generations", exc_info=True)
    return gen


_rebuild_thread: threading.Thread | None = None
_last_failure = -1e9
RETRY_FAILED_BUILD_SECONDS = 60.0


def _start_background_build(base: Path) -> bool:
    """Build a new generation in a thread (the worker keeps applying events to the current
    one meanwhile). False when a build is already running in this process."""
    global _rebuild_thread
    if _rebuild_thread is not None and _rebuild_thread.is_alive():
        return False
    if time.monotonic() - _last_failure < RETRY_FAILED_BUILD_SECONDS:
        return False  # the last build failed a moment ago: do not retry in a tight loop

    def run():
        global _last_failure
        try:
            build(base)
        except Exception as exc:  # noqa: BLE001
            _last_failure = time.monotonic()
            logger.exception("search index rebuild failed")
            _report(force=True, state="error", error=f"{type(exc).__name__}: {exc}"[:2000])
        finally:
            close_old_connections()

    _rebuild_thread = threading.Thread(target=run, name="jiyue-search-rebuild", daemon=True)
    _rebuild_thread.start()
    return True


def rebuilding() -> bool:
    return _rebuild_thread is not None and _rebuild_thread.is_alive()


# --- following the outbox ------------------------------------------------------------------

def collect(events) -> Changes:
    ch = Changes()
    for e in events:
        topic, payload = e.topic, e.payload or {}
        if topic.startswith(("resource.", "placement.")):
            rid = payload.get("id")
            gid = payload.get("resource") or e.aggregate_id
            if isinstance(rid, int):
                ch.ids.add(rid)
            elif gid:
                ch.global_ids.add(str(gid))
            if topic == "resource.deleted" and gid:
                ch.global_ids.add(str(gid))
        elif topic.startswith("site."):
            code = payload.get("site") or e.aggregate_id
            if code:
                ch.sites.add(str(code))
        elif topic == "search.dictionary":
            for key in ("word", "old"):
                if payload.get(key):
                    ch.words.add(str(payload[key])[:100])
        elif topic == "search.rebuild":
            ch.rebuild = max(ch.rebuild, e.id)
    return ch


def _ids_for_words(words, old_seg: segment.Segmenter | None, base: Path) -> set[int]:
    """Documents that contain one of these words as they were segmented before (with the old
    dictionary: the previous segmenter, the shipped dictionaries alone, the word whole)."""
    import tantivy

    r = engine._reader(base)
    if r is None:
        return set()
    sch = r.schema
    new_seg = segment.segmenter()
    subs = []
    for word in words:
        variants = {tuple(new_seg.tokens(word)), tuple(segment.base_segmenter().tokens(word)),
                    tuple(segment.normalise(word).split())}
        if old_seg is not None:
            variants.add(tuple(old_seg.tokens(word)))
        for tokens in variants:
            tokens = list(tokens)[:engine.MAX_PHRASE * 2]
            if not tokens:
                continue
            for field_name, _boost in engine.MATCH_FIELDS:
                subs.append((tantivy.Occur.Should, engine._alt_query(sch, tokens, field_name)))
    if not subs:
        return set()
    return set(engine.resource_ids(tantivy.Query.boolean_query(subs), base=base))


def _resolve(ch: Changes) -> tuple[set[int], set[str]]:
    """Resource ids to re-index, and global ids of resources that no longer exist."""
    from jiyue.library.models import Placement, Resource

    ids = set(ch.ids)
    gone = set()
    if ch.global_ids:
        found = dict(Resource.objects.filter(global_id__in=ch.global_ids)
                     .values_list("global_id", "pk"))
        ids |= set(found.values())
        gone = ch.global_ids - set(found)
    if ch.sites:
        ids |= set(Placement.objects.filter(site__code__in=ch.sites)
                   .values_list("resource_id", flat=True).distinct())
    return ids, gone


def reindex(writer, ids, gone=()) -> tuple[int, int]:
    """Replace the documents of these resources with their current state (or remove them)."""
    import tantivy

    seg = segment.segmenter()
    sch = engine.schema()
    indexed = deleted = 0
    # (delete_documents_by_term would turn a Python int into an i64 term that never matches
    # the u64 field: term queries know the field's type)
    for gid in gone:
        writer.delete_documents_by_query(tantivy.Query.term_query(sch, "global_id", gid))
        deleted += 1
    ids = sorted(ids)
    for i in range(0, len(ids), REINDEX_BATCH):
        chunk = ids[i:i + REINDEX_BATCH]
        docs = documents.build(chunk)
        for rid in chunk:
            writer.delete_documents_by_query(tantivy.Query.term_query(sch, "resource_id", rid))
            doc = docs.get(rid)
            if doc is None:
                deleted += 1
            else:
                writer.add_document(engine.tantivy_doc(engine.segment_doc(doc, seg)))
                indexed += 1
    return indexed, deleted


def sync(*, background: bool = False, max_events: int = MAX_EVENTS_PER_SYNC,
         raise_busy: bool = False) -> SyncReport:
    """Bring this node's replica up to date with the outbox (the worker calls it every
    JIYUE_SEARCH_SYNC_SECONDS). A missing index is built first (in a thread when
    `background`, the worker's case; inline otherwise)."""
    report = SyncReport()
    if not _sync_lock.acquire(blocking=not background):
        return report
    try:
        return _sync(report, background, max_events)
    except IndexBusy:
        report.busy = True
        if raise_busy:
            raise
        logger.info("search index busy: another process writes it")
        return report
    except Exception as exc:
        _report(force=True, state="error", error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    finally:
        _sync_lock.release()


def _sync(report: SyncReport, background: bool, max_events: int) -> SyncReport:
    base = engine.base_dir()
    gen = engine.current_generation(base)
    if needs_build(gen):
        if background:
            # the current generation (if any) keeps serving queries until the build is done
            report.rebuilding = _start_background_build(base) or rebuilding()
            return report
        else:
            close_writer()
            gen = build(base)
            report.rebuilt = True
    index, writer = _writer_for(gen)
    cursor = engine.read_cursor(gen)
    position = int(cursor.get("last_event_id", 0))
    while report.events < max_events:
        events = outbox.read(position, limit=EVENT_BATCH)
        if not events:
            break
        ch = collect(events)
        if ch.rebuild and ch.rebuild > int(cursor.get("rebuild_after", 0)):
            if background:
                report.rebuilding = _start_background_build(base) or rebuilding()
            else:
                close_writer()
                build(base)
                report.rebuilt = True
                return _sync(report, background, max_events)
        old_seg = None
        if ch.words:
            old_seg = segment._current
            segment.invalidate()
        ids, gone = _resolve(ch)
        if ch.words:
            ids |= _ids_for_words(ch.words, old_seg, base)
        indexed, deleted = reindex(writer, ids, gone)
        writer.commit()
        position = events[-1].id
        cursor["last_event_id"] = position
        engine.write_cursor(gen, cursor)
        report.events += len(events)
        report.indexed += indexed
        report.deleted += deleted
        engine.invalidate_readers(base)
    index.reload()
    report.documents = index.searcher().num_docs
    report.cursor = position
    state = "rebuilding" if report.rebuilding or rebuilding() else "ok"
    _report(force=bool(report.events) or report.rebuilt, state=state, last_event_id=position,
            documents=report.documents, error="",
            **({} if state == "rebuilding" else {"progress_done": 0, "progress_total": 0}))
    return report


def status(base: Path | None = None) -> dict:
    """This node's replica as seen on disk: generation, cursor, documents, backlog."""
    base = Path(base or engine.base_dir())
    gen = engine.current_generation(base)
    cursor = engine.read_cursor(gen) if gen else {}
    position = int(cursor.get("last_event_id", 0))
    return {"node": node(), "directory": str(base), "generation": gen.name if gen else None,
            "built": bool(cursor.get("built")), "cursor": position,
            "documents": engine.document_count(base) if gen else 0,
            "backlog": backlog(position)}


def backlog(position: int) -> int:
    from jiyue.core.models import Event

    return Event.objects.filter(id__gt=position).count()


def request_rebuild(actor=None) -> None:
    """Ask every node to rebuild its replica (each node's worker builds a new generation in
    the background and swaps it in)."""
    from django.db import transaction

    with transaction.atomic():
        outbox.emit("search.rebuild", "search", "all",
                     {"by": getattr(actor, "pk", None), "at": timezone.now().isoformat()})
