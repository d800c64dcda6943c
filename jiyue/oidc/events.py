"""Why the OAuth machinery refused a request, for the audit entry the view writes.

The validator runs deep inside oauthlib and only sees oauthlib's request; it notes the reason
here (`note(reason="code_replayed", ...)`) and the view, which knows the outcome and the HTTP
request, records one audit entry with it.
"""

from __future__ import annotations

from contextvars import ContextVar

_notes: ContextVar[dict | None] = ContextVar("jiyue_oidc_notes", default=None)


def begin() -> None:
    _notes.set({})


def note(**detail) -> None:
    current = _notes.get()
    if current is not None:
        for k, v in detail.items():
            current.setdefault(k, v)


def collected() -> dict:
    return dict(_notes.get() or {})
