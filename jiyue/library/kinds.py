"""The registry of resource kinds. A new kind is a Resource subclass registered here from its
app's `ready()`; the admin, API and demo read the registry instead of naming kinds. List such an
app after `jiyue.library` and before Wagtail's apps in INSTALLED_APPS: Wagtail builds the admin
menus while its own apps get ready. `tests/extrakind` is a worked example."""

from __future__ import annotations

_kinds: dict[str, type] = {}


def register(model: type) -> type:
    _kinds[model.kind_code] = model
    return model


def resource_models() -> list[type]:
    return list(_kinds.values())


def kinds() -> dict[str, type]:
    return dict(_kinds)


def model_for(kind: str) -> type:
    return kinds()[kind]


def specific_many(resources) -> list:
    """The given resources as instances of their kinds, with one query per kind (not per item)."""
    resources = list(resources)
    by_kind: dict[str, list[int]] = {}
    for r in resources:
        by_kind.setdefault(r.kind, []).append(r.pk)
    loaded = {}
    for kind, ids in by_kind.items():
        model = kinds().get(kind)
        if model is not None:
            loaded.update(model._default_manager.select_related("organisation", "topic").in_bulk(ids))
    return [loaded.get(r.pk, r) for r in resources]


def register_builtin():
    """Called from LibraryConfig.ready(); other apps register their kinds in their own ready()."""
    from . import models as m

    for model in (m.Article, m.PolicyDocument, m.Interpretation, m.ServiceGuide,
                  m.FileResource, m.ImageResource, m.LinkResource):
        register(model)
