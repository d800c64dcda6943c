"""One guard for every object URL of a scoped admin viewset.

Wagtail's generic views check model-level permissions; this wraps each URL of a viewset so that
an object the user may not see answers 404, and a write the user may not do answers 403,
whatever the view. Viewsets list their read-only view names."""

from __future__ import annotations

from functools import wraps
from typing import Callable

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import URLPattern
from django.contrib.admin.utils import unquote

READ_ONLY_VIEWS = {"usage", "history", "history_results", "revisions_view", "revisions_compare",
                   "inspect", "workflow_history", "workflow_history_detail", "preview_on_edit"}


def scope_patterns(patterns, model, can_view: Callable, can_write: Callable,
                   read_only=READ_ONLY_VIEWS):
    out = []
    for p in patterns:
        if isinstance(p, URLPattern):
            p.callback = _guard(p.callback, model, p.name, can_view, can_write, read_only)
        out.append(p)
    return out


def _guard(view, model, view_name, can_view, can_write, read_only):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        pk = kwargs.get("pk")
        if pk is not None:
            obj = model._default_manager.filter(pk=unquote(str(pk))).first()
            if obj is None or not can_view(request.user, obj):
                raise Http404
            if view_name not in read_only and not can_write(request.user, obj, view_name):
                raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def scoped_index_view(base_view_class):
    """An index view whose rows come from the viewset's `get_queryset(request)`."""

    class ScopedIndexView(base_view_class):
        scope_queryset = None

        def get_base_queryset(self):
            return self.scope_queryset(self.request)

    return ScopedIndexView


class ScopedViewSetMixin:
    """For ModelViewSets: lists come from `get_queryset(request)`."""

    def get_queryset(self, request):  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def index_view_class(self):
        return scoped_index_view(super().index_view_class)

    def get_index_view_kwargs(self, **kwargs):
        return {**super().get_index_view_kwargs(**kwargs), "scope_queryset": self.get_queryset}
