"""Dynamic pages under the reserved prefix `/_/` of every site host, in the site's theme.

The site is found from the `X-Jiyue-Site` header (set by the file server and nginx for
`/sites/<code>/_/...`) or from the Host header (domain, Chinese domain, `<code>.localhost`).
Links in these pages are relative, like the published pages, so they work under both.
"""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404, HttpResponse
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


def render_page(request, site: Site, template: str, path: str, status: int = 200, **extra):
    from jiyue.publishing.pages import Renderer, SiteContext

    renderer = Renderer(SiteContext(site))
    rendered = renderer.simple(template, path, **extra)
    response = HttpResponse(rendered.text, status=status, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
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
    """Search results. Until the search engine (issue 5) lands, this matches titles, summaries
    and keywords of what is public on this site."""
    from jiyue.library.services import public_placements
    from jiyue.publishing.pages import fmt_date

    from jiyue.api.middleware import retry_after
    from jiyue.security import ratelimit

    site = site_for(request)
    if not ratelimit.hit("search", ratelimit.client_key(request), request=request):
        seconds = retry_after("search")
        response = render_page(
            request, site, "limited.html", "_/search", status=429, title=_("请求过于频繁"),
            message=_("您的搜索请求过于频繁，请 %(n)s 秒后再试。") % {"n": seconds})
        response["Retry-After"] = str(seconds)
        return response
    # NUL cannot be stored or compared in PostgreSQL text; nothing else needs removing (the
    # query is a parameter, the page escapes it).
    q = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    results = None
    if q:
        qs = (public_placements().filter(site=site)
              .filter(Q(resource__title__icontains=q) | Q(resource__summary__icontains=q)
                      | Q(resource__keywords__icontains=q) | Q(resource__index_number=q))
              .exclude(resource__kind="link")
              .values_list("resource_id", "resource__title", "resource__summary",
                           "resource__published_at")
              .order_by("-resource__published_at", "-resource_id").distinct())
        rows = list(qs[:50])
        results = {"total": len(rows), "rows": [
            {"href": f"../content/{rid}.html", "title": title, "summary": summary[:120],
             "date": fmt_date(published)} for rid, title, summary, published in rows]}
    return render_page(request, site, "search.html", "_/search", q=q, results=results,
                       title="")
