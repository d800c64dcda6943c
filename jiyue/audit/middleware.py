import logging

from .context import current_request, pending_failures

logger = logging.getLogger(__name__)


class AuditContextMiddleware:
    """Makes the request available to `record()` (source address), and keeps refusals.

    A service that records a refusal and then raises inside `transaction.atomic` rolls its own
    audit entry back. After the view, entries recorded with outcome denied/failure that did
    not survive are written again, outside the rolled-back transaction."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_request.set(request)
        pending = pending_failures.set([])
        try:
            return self.get_response(request)
        finally:
            try:
                restore_rolled_back(pending_failures.get())
            finally:
                pending_failures.reset(pending)
                current_request.reset(token)


def restore_rolled_back(entries) -> int:
    if not entries:
        return 0
    from django.db import DatabaseError, transaction

    from .models import AuditEntry

    # Every atomic block the view opened has ended by now (jiyue does not use ATOMIC_REQUESTS).
    restored = 0
    present = set(AuditEntry.objects.filter(pk__in=[pk for pk, _ in entries]).values_list("pk", flat=True))
    for pk, values in entries:
        if pk in present:
            continue
        try:
            with transaction.atomic():
                AuditEntry.objects.create(**values)
            restored += 1
        except DatabaseError:
            logger.exception("could not restore a rolled-back audit entry %s", values.get("action"))
    return restored

