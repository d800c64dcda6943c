"""Themes: Jinja2 templates and local assets, shared by the publisher and the dynamic pages.

A theme is a directory `themes/<name>/` with `templates/` (Jinja2) and `assets/` (copied into
every site that uses it, under `assets/`, with a content hash in each file name so browsers may
cache them for a long time). Templates run with no database access: the publisher (or a
dynamic view) hands them plain data.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import jinja2
from django.utils import translation
from django.utils.translation import gettext, ngettext

THEMES = Path(__file__).resolve().parent / "themes"


def available() -> list[str]:
    return sorted(p.name for p in THEMES.iterdir() if (p / "templates").is_dir())


def _dir(name: str) -> Path:
    path = THEMES / name
    if not (path / "templates").is_dir():
        path = THEMES / "default"
    return path


_translations: dict[tuple[str, str], str] = {}


def _cached_gettext(message: str) -> str:
    """Templates translate the same few dozen strings on every page: look each up once."""
    key = (translation.get_language() or "", message)
    value = _translations.get(key)
    if value is None:
        value = _translations[key] = gettext(message)
    return value


@lru_cache(maxsize=8)
def environment(name: str = "default") -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_dir(name) / "templates")),
        autoescape=jinja2.select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True, lstrip_blocks=True, auto_reload=False,
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_callables(_cached_gettext, ngettext, newstyle=True)
    env.globals["asset"] = lambda root, file: root + "assets/" + asset_names(name)[file]
    env.globals["colour_css"] = lambda root, colour: root + colour_stylesheet(colour)[0]
    return env


@lru_cache(maxsize=32)
def app_environment(name: str, templates: str) -> jinja2.Environment:
    """The theme's environment that also finds an app's own public templates (directory
    `templates`, names like `letters/public/write.html`): the theme's own copy first, so a
    theme may restyle an app's pages; same globals and translations."""
    base = environment(name)
    return base.overlay(loader=jinja2.ChoiceLoader([base.loader, jinja2.FileSystemLoader(templates)]))


def render(theme: str, template: str, context: dict, templates: str | None = None) -> str:
    env = environment(theme) if templates is None else app_environment(theme, str(templates))
    with translation.override("zh-hans"):
        return env.get_template(template).render(context)


@lru_cache(maxsize=8)
def assets(name: str = "default") -> dict[str, bytes]:
    """The theme's asset files under their published (hashed) names."""
    out = {}
    base = _dir(name) / "assets"
    for path in sorted(base.rglob("*")):
        if path.is_file():
            out[asset_names(name)[path.relative_to(base).as_posix()]] = path.read_bytes()
    return out


@lru_cache(maxsize=8)
def asset_names(name: str = "default") -> dict[str, str]:
    """Source name → published name with a content hash: `site.css` → `site.1a2b3c4d.css`."""
    base = _dir(name) / "assets"
    names = {}
    for path in sorted(base.rglob("*")):
        if path.is_file():
            rel = path.relative_to(base).as_posix()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
            stem, dot, ext = rel.rpartition(".")
            names[rel] = f"{stem}.{digest}.{ext}" if dot else f"{rel}.{digest}"
    return names


DEFAULT_COLOUR = "#9f1d20"


def colour_stylesheet(colour: str) -> tuple[str, bytes]:
    """The small stylesheet that gives a site its main colour, as (path in the site's tree,
    bytes): `assets/main.9f1d20.css` holding `:root{--main:#9f1d20}`. Published with the theme
    assets and linked from every page, so that pages need no inline style (the
    Content-Security-Policy allows none); named by the colour, so it can be cached for ever."""
    value = (colour or "").strip().lower()
    if not (len(value) == 7 and value[0] == "#"
            and all(c in "0123456789abcdef" for c in value[1:])):
        value = DEFAULT_COLOUR
    return f"assets/main.{value[1:]}.css", f":root{{--main:{value}}}\n".encode()


@lru_cache(maxsize=8)
def version(name: str = "default") -> str:
    """A digest of the whole theme: when it changes, the sites that use it are rebuilt."""
    h = hashlib.sha256()
    base = _dir(name)
    for path in sorted(base.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(base).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]
