"""The participation pages in the site's theme: the theme's Jinja2 environment with this app's
templates in front (`templates/participation/public/*.html` extend the theme's base.html)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=8)
def environment(theme: str) -> jinja2.Environment:
    from jiyue.web import theme as themes

    base = themes.environment(theme)
    return base.overlay(loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(TEMPLATES)),
                                                    base.loader]))


def render(request, site, template: str, path: str, status: int = 200, **extra) -> HttpResponse:
    """Like jiyue.web.views.render_page, with this app's templates available."""
    from jiyue.publishing.pages import Rendered, Renderer, SiteContext

    renderer = Renderer(SiteContext(site))
    context = renderer._base(path, Rendered(""))
    context["crumbs"] = [{"href": context["root"] + "_/participation", "title": _("公众参与")}]
    context.update(extra)
    with translation.override("zh-hans"):
        text = environment(renderer.ctx.theme).get_template(template).render(context)
    response = HttpResponse(text, status=status, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response
