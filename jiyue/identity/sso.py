"""Single sign-on across site hosts with different registrable domains, without third-party
cookies.

A login happens on the identity host (settings.JIYUE_IDP_URL). A site host's
`/_/account/login` sends the browser (top-level) to the identity host's
`/account/sso/?site=<code>&host=<host>&next=<path>`; a citizen already logged in there is sent
straight back with a one-time ticket to `/_/account/sso/callback?ticket=...`, which opens a
session on the site host. Tickets are random, kept as HMAC-SM3 digests, valid for 60 seconds,
bound to one site host and usable once.

Each login on the identity host is an SsoSession; each site session opened from it is an
SsoSiteSession. Logging out anywhere (`end()`, called on Django's user_logged_out signal) deletes
the identity host's session and every site session of that SsoSession.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from importlib import import_module
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jiyue import audit
from jiyue.security import crypto, keyring

from .models import SsoSession, SsoSiteSession, SsoTicket

SESSION_KEY = "jiyue_sso"
TICKET_SECONDS = 60


def backend() -> str:
    """The authentication backend a session opened without a password is recorded under:
    the first configured backend that loads users (not axes' lockout-only backend)."""
    for path in settings.AUTHENTICATION_BACKENDS:
        if not path.startswith("axes."):
            return path
    return "django.contrib.auth.backends.ModelBackend"


class TicketError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --- hosts -------------------------------------------------------------------------------

def idp_url() -> str:
    return str(getattr(settings, "JIYUE_IDP_URL", "") or settings.WAGTAILADMIN_BASE_URL).rstrip("/")


def idp_netloc() -> str:
    return urlsplit(idp_url()).netloc.lower()


def is_idp_host(request) -> bool:
    return request.get_host().lower() == idp_netloc()


def hostname_of(netloc: str) -> str:
    """"Host[:port]" -> lower-case host name without port (IPv6 in brackets kept)."""
    netloc = (netloc or "").strip().lower()
    if netloc.startswith("["):
        return netloc[:netloc.find("]") + 1] if "]" in netloc else ""
    return netloc.rpartition(":")[0] if ":" in netloc else netloc


def site_hostnames(site) -> set[str]:
    names = {f"{site.code}.localhost".lower(), (site.domain or "").lower()}
    if site.cn_domain:
        try:
            names.add(site.cn_domain.encode("idna").decode("ascii").lower())
        except UnicodeError:
            pass
    names.discard("")
    return names


def is_site_hostname(host: str) -> bool:
    """Whether a host name (no port) belongs to a site of the platform."""
    from django.db.models import Q

    from jiyue.platform.models import Site

    host = host.lower().rstrip(".")
    if host.endswith(".localhost"):
        return Site.objects.filter(code=host[:-len(".localhost")]).exists()
    try:
        cn = host.encode("ascii").decode("idna")
    except UnicodeError:
        cn = host
    return Site.objects.filter(Q(domain=host) | Q(cn_domain=cn)).exists()


def client_hostnames() -> set[str]:
    """Host names of the registered OIDC clients' redirect URIs (when the provider is installed)."""
    from django.apps import apps

    if not apps.is_installed("oauth2_provider"):
        return set()
    try:
        from oauth2_provider.models import get_application_model

        names = set()
        for row in get_application_model().objects.values_list("redirect_uris",
                                                                "post_logout_redirect_uris"):
            for uri in " ".join(v or "" for v in row).split():
                host = urlsplit(uri).hostname
                if host:
                    names.add(host.lower())
        return names
    except Exception:  # the provider's tables are not there yet (migrations)
        return set()


def local_path(value: str) -> str | None:
    """A path on the same host ("/..."), or None for anything that could leave it."""
    value = (value or "").strip()
    if (not value.startswith("/") or value.startswith("//") or "\\" in value
            or any(ord(c) < 32 for c in value) or len(value) > 2000):
        return None
    return value


def safe_next(request, url: str, default: str) -> str:
    """`url` when it stays on this host or goes to a site of the platform or a registered OIDC
    client (http/https only); otherwise `default`. Never an open redirect."""
    url = (url or "").strip()
    if not url or len(url) > 2000 or any(ord(c) < 32 for c in url) or "\\" in url:
        return default
    if local_path(url):
        return url
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:  # e.g. an unbalanced "[" in the host
        return default
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password \
            or (request.is_secure() and parts.scheme != "https"):
        return default
    if host in (hostname_of(request.get_host()), hostname_of(idp_netloc())) \
            or is_site_hostname(host) or host in client_hostnames():
        return url
    return default


def prefix(request) -> str:
    """"/sites/<code>" when the request came through the /sites/<code>/ route, else ""."""
    code = request.headers.get("X-Jiyue-Site", "").strip()
    return f"/sites/{code}" if code else ""


# --- SSO sessions -------------------------------------------------------------------------

def _digest(value: str) -> str:
    return crypto.hmac_sm3(keyring.get().index_key, f"sso\x00{value}".encode()).hex()


def begin(request, user) -> SsoSession:
    """Record a login on the identity host (call right after django.contrib.auth.login)."""
    sso = SsoSession.objects.create(sid=secrets.token_urlsafe(32), user=user,
                                    central_key=request.session.session_key or "")
    request.session[SESSION_KEY] = sso.sid
    return sso


def current(request) -> SsoSession | None:
    """The live SsoSession of this identity-host session, created when the login happened some
    other way (e.g. before this app existed). Keeps its session key up to date."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    sid = request.session.get(SESSION_KEY)
    sso = SsoSession.objects.filter(sid=sid, user=user, ended_at__isnull=True).first() if sid else None
    if sso is None:
        if not request.session.session_key:
            request.session.save()
        return begin(request, user)
    if request.session.session_key and sso.central_key != request.session.session_key:
        SsoSession.objects.filter(pk=sso.pk).update(central_key=request.session.session_key)
        sso.central_key = request.session.session_key
    return sso


def issue_ticket(request, site, host: str, next_path: str) -> str:
    """A ticket for `host` (a host of `site`), for the logged-in user of this request."""
    sso = current(request)
    ticket = secrets.token_urlsafe(32)
    SsoTicket.objects.create(ticket_hash=_digest(ticket), sso=sso, site=site, host=host.lower(),
                             next=next_path or "/",
                             expires_at=timezone.now() + timedelta(seconds=TICKET_SECONDS))
    audit.record(request.user, None, None, "identity.sso.ticket", site, host=host.lower())
    return ticket


def callback_url(request, host: str, ticket: str) -> str:
    return f"{request.scheme}://{host}/_/account/sso/callback?" + urlencode({"ticket": ticket})


def redeem(request, site, ticket: str) -> SsoTicket:
    """Check and consume a ticket presented on this site host, or raise TicketError (audited)."""
    host = request.get_host().lower()
    row = None
    if ticket and len(ticket) <= 100:
        row = SsoTicket.objects.select_related("sso", "sso__user").filter(
            ticket_hash=_digest(ticket)).first()

    def refuse(reason):
        user = row.sso.user if row is not None else None
        audit.record(user, None, None, "identity.sso.redeem", site, outcome="failure",
                     reason=reason, host=host)
        return TicketError(reason)

    if row is None:
        raise refuse("unknown")
    now = timezone.now()
    if row.used_at is not None:
        raise refuse("replayed")
    if row.site_id != site.pk or row.host != host:
        SsoTicket.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now)
        raise refuse("wrong_host")
    if row.expires_at <= now:
        raise refuse("expired")
    if row.sso.ended_at is not None:
        raise refuse("logged_out")
    if not row.sso.user.is_active:
        raise refuse("disabled")
    with transaction.atomic():
        consumed = SsoTicket.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now)
    if not consumed:
        raise refuse("replayed")
    return row


def attach_site_session(request, site, sso: SsoSession) -> None:
    """After logging in on a site host: link this session to the identity-host login."""
    request.session[SESSION_KEY] = sso.sid
    if not request.session.session_key:
        request.session.save()
    SsoSiteSession.objects.create(sso=sso, site=site, host=request.get_host().lower(),
                                  session_key=request.session.session_key)


def end(request, user=None) -> int:
    """Single logout: delete the identity-host session and every site session linked to this
    request's login (the current session is flushed by django.contrib.auth.logout itself).
    Returns the number of other sessions ended."""
    session = getattr(request, "session", None)
    sid = session.get(SESSION_KEY) if session is not None else None
    if not sid:
        return 0
    sso = SsoSession.objects.filter(sid=sid, ended_at__isnull=True).first()
    if sso is None:
        return 0
    keys = {sso.central_key, *sso.site_sessions.values_list("session_key", flat=True)}
    keys.discard(session.session_key)
    keys.discard("")
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in keys:
        store(session_key=key).delete()
    SsoSession.objects.filter(pk=sso.pk).update(ended_at=timezone.now())
    SsoTicket.objects.filter(sso=sso, used_at__isnull=True).update(used_at=timezone.now())
    try:
        host = request.get_host().lower()
    except Exception:  # a request built outside a server (the test client's logout())
        host = ""
    audit.record(user or sso.user, None, None, "identity.sso.logout", sso.user,
                 sessions=len(keys) + 1, host=host)
    return len(keys)


def end_all_for(user) -> None:
    """End every SSO login of a user (account deletion, password reset)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for sso in SsoSession.objects.filter(user=user, ended_at__isnull=True):
        for key in {sso.central_key, *sso.site_sessions.values_list("session_key", flat=True)} - {""}:
            store(session_key=key).delete()
        SsoSession.objects.filter(pk=sso.pk).update(ended_at=timezone.now())
