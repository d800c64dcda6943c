"""The participation pages in the site's theme: this app's public templates
(`templates/participation/public/*.html`, which extend the theme's base.html; a theme may
override them), under the 公众参与 breadcrumb."""

from __future__ import annotations

from pathlib import Path

from django.http import HttpResponse
from django.utils.translation import gettext as _

from jiyue.web.views import render_page

TEMPLATES = Path(__file__).resolve().parent / "templates"


def render(request, site, template: str, path: str, status: int = 200, **extra) -> HttpResponse:
    root = "../" * path.count("/")  # the page's way back to the site root, as the theme's
    extra.setdefault("crumbs", [{"href": root + "_/participation", "title": _("公众参与")}])
    return render_page(request, site, template, path, status, templates=TEMPLATES, **extra)
