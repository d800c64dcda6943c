"""Dynamic pages under the reserved prefix `/_/` of every site host, in the site's theme.

The site is found from the `X-Jiyue-Site` header (set by the file server and nginx for
`/sites/<code>/_/...`) or from the Host header (domain, Chinese domain, `<code>.localhost`).
Links in these pages are relative, like the published pages, so they work under both.
"""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from jiyue.platform.models import Site


def site_for(request) -> Site:
    code = request.headers.get("X-Jiyue-Site", "").strip()
    if code:
        site = Site.objects.filter(code=code).first()
    else:
        host = request.get_host().split(":")[0].lower().rstrip(".")
        if host.endswith(".localhost"):
            site = Site.objects.filter(code=host[:-len(".localhost")]).first()
        else:
            try:
                cn = host.encode("ascii").decode("idna")
            except UnicodeError:
                cn = host
            site = Site.objects.filter(Q(domain=host) | Q(cn_domain=cn)).first()
    if site is None:
        raise Http404("unknown site")
    return site


def render_page(request, site: Site, template: str, path: str, status: int = 200,
                templates=None, **extra) -> HttpResponse:
    """A dynamic page in the site's theme (never cached). `templates`: an app's template
    directory, for its own pages (`<app>/public/<name>.html`, which extend the theme's base)."""
    from jiyue.publishing.pages import Renderer, SiteContext

    renderer = Renderer(SiteContext(site))
    rendered = renderer.simple(template, path, str(templates) if templates else None, **extra)
    response = HttpResponse(rendered.text, status=status, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


def see_other(location: str) -> HttpResponseRedirect:
    """303 See Other: the answer to a form POST (redirect-after-POST)."""
    response = HttpResponseRedirect(location)
    response.status_code = 303
    return response


def limited(request, site: Site, path: str, scope: str = "public_form", message: str | None = None,
            back: tuple[str, str] | None = None) -> HttpResponse | None:
    """Count this request against `scope` (jiyue.security.ratelimit, per client address): None
    while within the limit, else the 429 page in the site's theme with Retry-After. `message`
    may name the seconds to wait as %(n)s; `back` is (href, label) of the page's way back
    (default the site's home page)."""
    from jiyue.security import ratelimit

    seconds = ratelimit.wait(scope, request)
    if seconds is None:
        return None
    text = (message or _("您的提交过于频繁，请 %(n)s 秒后再试。")) % {"n": seconds}
    response = render_page(request, site, "limited.html", path, status=429,
                           title=_("请求过于频繁"), message=text, back=back)
    response["Retry-After"] = str(seconds)
    return response


def limited_json(request, scope: str = "public_form", message: str | None = None,
                 **fields) -> HttpResponse | None:
    """`limited` for a page's script: None while within the limit, else a JSON 429 with
    Retry-After, `{"message": …, **fields}` (`message` may name the seconds as %(n)s)."""
    from django.http import JsonResponse

    from jiyue.security import ratelimit

    seconds = ratelimit.wait(scope, request)
    if seconds is None:
        return None
    text = (message or _("您的提交过于频繁，请 %(n)s 秒后再试。")) % {"n": seconds}
    response = JsonResponse({"message": text, **fields}, status=429,
                            json_dumps_params={"ensure_ascii": False})
    response["Retry-After"] = str(seconds)
    return response


def platform_home(request):
    """`/` on a host that is not a site's (e.g. http://localhost:8000/): the platform's portal,
    under /sites/<code>/, or the admin while there is no site yet. On a site's host `/` is the
    site's published home page (served before Django); Wagtail's page serving stays the
    fallback there."""
    from django.shortcuts import redirect

    try:
        site_for(request)
    except Http404:
        portal = (Site.objects.filter(kind="portal").order_by("code").first()
                  or Site.objects.order_by("code").first())
        return redirect(f"/sites/{portal.code}/" if portal else "/admin/")
    from wagtail.views import serve

    return serve(request, "")


@require_GET
def search(request):
    """Search results, in the site's theme (jiyue.search.services; docs/search.md). An exact
    文号 or 索引号 goes straight to the document (302)."""
    from django.shortcuts import redirect

    from jiyue.search import services
    from jiyue.search.forms import SearchParams

    site = site_for(request)
    refused = limited(request, site, "_/search", "search", _("您的搜索请求过于频繁，请 %(n)s 秒后再试。"))
    if refused is not None:
        return refused
    params = SearchParams.parse(request.GET, strict=False)
    result = services.search(site=site, params=params,
                             links=services.Links.for_request(request, site))
    if result.jump:
        response = redirect(result.jump)
        response["Cache-Control"] = "no-store"
        return response
    return render_page(request, site, "search.html", "_/search", q=params.q, title="",
                       **search_context(result, params))


def search_context(result, params) -> dict:
    """Plain data for search.html: results, facet and sort links (query strings relative to
    the page, so they work on every host and under /sites/<code>/), pages."""
    from urllib.parse import urlencode

    state = {"q": params.q, "scope": result.scope if params.scope else None, "site": params.site,
             "org": params.org, "kind": params.kind, "topic": params.topic, "year": params.year,
             "sort": params.sort if params.sort != "relevance" else None}

    def href(**changes):
        values = {**state, **changes}
        return "?" + urlencode([(k, v) for k, v in values.items() if v not in (None, "")])

    names = {"site": _("站点"), "organisation": _("发布机构"), "kind": _("类型"),
             "topic": _("主题分类"), "year": _("年份")}
    param_of = {"site": "site", "organisation": "org", "kind": "kind", "topic": "topic",
                "year": "year"}
    facets, active = [], []
    for name, values in result.facets.items():
        key = param_of[name]
        items = []
        for v in values:
            items.append({"label": v.label, "count": v.count, "active": v.active,
                          "href": href(**{key: None if v.active else v.value, "page": None})})
            if v.active:
                active.append({"facet": names[name], "label": v.label,
                               "href": href(**{key: None})})
        if items and (len(items) > 1 or any(i["active"] for i in items)):
            facets.append({"name": name, "title": names[name], "items": items[:20],
                           "more": max(0, len(items) - 20)})
    sorts = [{"label": label, "active": result.sort == value,
              "href": href(sort=None if value == "relevance" else value)}
             for value, label in (("relevance", _("按相关度")), ("date", _("按时间")))]
    scopes = [{"value": value, "label": label, "active": result.scope == value}
              for value, label in (("site", _("本站")), ("placed", _("本站及引用")),
                                   ("all", _("全平台")))]
    pages = []
    if result.pages > 1:
        lo = max(1, result.page - 4)
        hi = min(result.pages, lo + 8)
        lo = max(1, hi - 8)
        pages = [{"n": n, "href": href(page=n if n > 1 else None), "current": n == result.page}
                 for n in range(lo, hi + 1)]
    return {
        "searched": bool(result.query), "result": result, "facets": facets, "active": active,
        "sorts": sorts, "scopes": scopes, "pages": pages,
        "prev": href(page=result.page - 1 if result.page > 2 else None) if result.page > 1 else None,
        "next": href(page=result.page + 1) if result.page < result.pages else None,
        "suggestion": ({"text": result.suggestion,
                        "href": href(q=result.suggestion, page=None)} if result.suggestion else None),
        "all_sites": href(scope="all", site=None, page=None) if result.scope != "all" else None,
        "clear": href(site=None, org=None, kind=None, topic=None, year=None, page=None) if active else None,
        "first": (result.page - 1) * result.page_size + 1,
    }


@require_GET
def search_suggest(request):
    """`/_/search/suggest?q=`: completions as JSON for the search boxes (search.js)."""
    from django.http import JsonResponse

    from jiyue.search import services

    site = site_for(request)
    refused = limited_json(request, "search_suggest", _("请求过于频繁，请 %(n)s 秒后再试。"),
                           suggestions=[])
    if refused:
        return refused
    q = request.GET.get("q", "").replace("\x00", "")[:50]
    items = services.suggest(q, site=site) if q.strip() else []
    response = JsonResponse({"q": q, "suggestions": items},
                            json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response
