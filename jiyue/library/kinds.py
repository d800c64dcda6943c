"""The registry of resource kinds. A new kind is a Resource subclass registered here (from any
app's `ready()`); the admin, API and demo read the registry instead of naming kinds."""

from __future__ import annotations

_kinds: dict[str, type] = {}


def register(model: type) -> type:
    _kinds[model.kind_code] = model
    return model


def resource_models() -> list[type]:
    if not _kinds:
        _register_builtin()
    return list(_kinds.values())


def kinds() -> dict[str, type]:
    if not _kinds:
        _register_builtin()
    return dict(_kinds)


def model_for(kind: str) -> type:
    return kinds()[kind]


def _register_builtin():
    from . import models as m

    for model in (m.Article, m.PolicyDocument, m.Interpretation, m.ServiceGuide,
                  m.FileResource, m.ImageResource, m.LinkResource):
        register(model)
