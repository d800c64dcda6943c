"""`/_/account/` on a site host, rendered in the site's theme.

    login          -> top-level redirect to the identity host's /account/sso/ (or straight to
                      `next` when this host's session is already logged in)
    sso/callback   -> redeem the one-time ticket, open this host's session, go to `next`
    status         -> JSON for the published pages' login island (no-store)
    logout         -> single logout (POST; GET shows a confirmation)
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.http import HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from jiyue import audit
from jiyue.web.views import render_page, site_for

from . import sso
from .views import display_name


def _next(request, site_prefix: str) -> str:
    """`next` if it is a path on this host; else the page the person came from (same host);
    else the site's home page."""
    value = sso.local_path(request.GET.get("next") or request.POST.get("next") or "")
    if value is None:
        try:
            parts = urlsplit(request.headers.get("Referer", ""))
        except ValueError:
            parts = None
        if parts is not None and parts.netloc.lower() == request.get_host().lower() \
                and "/_/account/" not in parts.path:
            value = sso.local_path(parts.path + (f"?{parts.query}" if parts.query else ""))
    return value or f"{site_prefix}/"


@never_cache
@require_GET
def login(request):
    site = site_for(request)
    p = sso.prefix(request)
    next_path = _next(request, p)
    if request.user.is_authenticated:
        return HttpResponseRedirect(next_path)
    if sso.is_idp_host(request):  # /sites/<code>/ on the identity host: one session already
        return HttpResponseRedirect("/account/login/?" + urlencode({"next": next_path}))
    query = urlencode({"site": site.code, "host": request.get_host().lower(), "next": next_path})
    return HttpResponseRedirect(f"{sso.idp_url()}/account/sso/?{query}")


@never_cache
@require_GET
def callback(request):
    site = site_for(request)
    try:
        ticket = sso.redeem(request, site, request.GET.get("ticket", "").strip())
    except sso.TicketError:
        return render_page(request, site, "account.html", "_/account/sso/callback", status=400,
                           title=_("登录失败"), state="error",
                           message=_("登录链接无效或已过期，请重新登录。"))
    user = ticket.sso.user
    if request.user.is_authenticated and request.user.pk != user.pk:
        request.session.flush()
    auth_login(request, user, backend=sso.backend())
    sso.attach_site_session(request, site, ticket.sso)
    audit.record(user, None, None, "identity.sso.redeem", site, host=request.get_host().lower())
    return HttpResponseRedirect(sso.local_path(ticket.next) or f"{sso.prefix(request)}/")


@never_cache
@require_GET
def status(request):
    """For the login island of the static pages: who is logged in on this host, and links."""
    site_for(request)
    p = sso.prefix(request)
    user = request.user
    idp = sso.idp_url()
    data = {
        "authenticated": bool(user.is_authenticated),
        "name": display_name(user) if user.is_authenticated else "",
        "links": {
            "login": f"{p}/_/account/login",
            "logout": f"{p}/_/account/logout",
            "register": f"{idp}/account/register/",
            "profile": f"{idp}/account/profile/",
        },
    }
    if user.is_authenticated:
        data["csrf_token"] = get_token(request)
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def logout(request):
    site = site_for(request)
    p = sso.prefix(request)
    if request.method == "POST":
        if request.user.is_authenticated:
            auth_logout(request)  # and every other session of this login (signals.single_logout)
        return HttpResponseRedirect(_next(request, p))
    if not request.user.is_authenticated:
        return HttpResponseRedirect(f"{p}/")
    return render_page(request, site, "account.html", "_/account/logout", title=_("退出登录"),
                       state="logout", name=display_name(request.user),
                       csrf_token=get_token(request), next=_next(request, p))
