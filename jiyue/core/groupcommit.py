"""Group commit: concurrent writers in one process share one transaction.

A public form under load (letters, for example) spends most of its database time on the
per-request transaction: compiling a handful of INSERTs and waiting for the commit. With a
`GroupWriter`, the first request to arrive becomes the *leader*: it writes its own item and
every item queued behind it in one transaction (`write_batch`, typically `bulk_create`), commits,
and wakes the others with their results; whoever queued while it was writing leads the next
batch. Nobody answers before the commit that holds their item, so a receipt still means the
item is stored; under no load a batch is one item and nothing waits.

If a batch fails (a unique collision, one bad row), every item of it is written again on its
own (`write_one`, in its own transaction) so that one item's error never costs another item.

A caller already inside a transaction (a view that also stores attachments, a test wrapped in
a transaction) writes directly with `write_one`: its item must commit or roll back with its
own transaction, never with someone else's. `JIYUE_GROUP_COMMIT=0` turns grouping off.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Generic, Sequence, TypeVar

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class _Slot:
    __slots__ = ("item", "event", "lead", "result", "error")

    def __init__(self, item):
        self.item = item
        self.event = threading.Event()
        self.lead = False
        self.result = None
        self.error: BaseException | None = None


class GroupWriter(Generic[T, R]):
    def __init__(self, write_batch: Callable[[Sequence[T]], Sequence[R]],
                 write_one: Callable[[T], R], max_batch: int = 200):
        self._write_batch = write_batch
        self._write_one = write_one
        self._max = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Slot] = []
        self._busy = False  # a leader is writing; the queue is only non-empty while busy

    @property
    def writing(self) -> bool:
        """A batch is being written now (monitoring, tests)."""
        return self._busy

    @property
    def waiting(self) -> int:
        """Items queued behind the batch being written (monitoring, tests)."""
        with self._lock:
            return len(self._queue)

    def write(self, item: T) -> R:
        if (not getattr(settings, "JIYUE_GROUP_COMMIT", True)
                or transaction.get_connection().in_atomic_block):
            return self._write_one(item)
        slot = _Slot(item)
        with self._lock:
            self._queue.append(slot)
            if not self._busy:
                self._busy = True
                slot.lead = True
        if not slot.lead:
            slot.event.wait()  # woken with a result, or to lead the next batch
        if slot.lead:
            self._lead()
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _lead(self) -> None:
        with self._lock:
            batch, self._queue = self._queue[:self._max], self._queue[self._max:]
        try:
            self._flush(batch)
        finally:
            with self._lock:
                if self._queue:
                    nxt = self._queue[0]
                    nxt.lead = True
                    nxt.event.set()
                else:
                    self._busy = False
            for s in batch[1:]:  # batch[0] is the leader itself
                s.event.set()

    def _flush(self, batch: list[_Slot]) -> None:
        if len(batch) > 1:
            try:
                with transaction.atomic():
                    results = self._write_batch([s.item for s in batch])
                for s, r in zip(batch, results):
                    s.result = r
                return
            except Exception:  # noqa: BLE001 - written again one by one below
                logger.info("group commit of %d items failed; writing them one by one", len(batch),
                            exc_info=True)
        for s in batch:
            try:
                s.result = self._write_one(s.item)
            except BaseException as exc:  # noqa: BLE001 - handed to the item's own caller
                s.error = exc
