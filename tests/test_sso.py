"""One login for every site on the platform, whatever its domain: the identity host hands a
site host a one-time ticket after one top-level redirect; forged, replayed, expired and
misdirected tickets are refused and audited; logging out anywhere logs out everywhere.

Django's test client keeps one cookie jar for every host, so each host gets its own client
here (as a browser keeps cookies per host); `test_sso_over_real_http_across_domains` proves the
whole flow over HTTP with one `requests` session that keeps cookies per domain, the way a
browser does."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from jiyue.accounts.models import User
from jiyue.audit.models import AuditEntry
from jiyue.identity.models import SsoSession, SsoTicket

PASSWORD = "Citizen@2026x"
PORTAL, CZT, JYT = "www.ah.gov.cn", "czt.ah.gov.cn", "jyt.ah.gov.cn"


@pytest.fixture(autouse=True)
def _fresh(settings):
    from django.core.cache import cache

    cache.clear()
    settings.JIYUE_IDP_URL = "http://testserver"
    yield
    cache.clear()


@pytest.fixture
def citizen(db):
    from jiyue.identity.services import create_citizen

    user = create_citizen(email="zhang.san@example.cn", password=PASSWORD)
    user.real_name = "张三"
    user.save(update_fields=["real_name"])
    return user


@pytest.fixture
def idp():
    return Client()


def site_client(host: str) -> Client:
    return Client(HTTP_HOST=host)


def central_login(idp: Client, next_url: str = ""):
    r = idp.post("/account/login/", {"identifier": "zhang.san@example.cn", "password": PASSWORD,
                                     "next": next_url})
    assert r.status_code == 302, r.content.decode()[:500]
    return r


def sso_round_trip(idp: Client, site: Client, host: str, next_path: str = "/zwgk/"):
    """A site's /_/account/login -> the identity host -> back with a ticket -> logged in."""
    r = site.get("/_/account/login", {"next": next_path})
    assert r.status_code == 302
    to_idp = urlsplit(r["Location"])
    assert (to_idp.scheme, to_idp.netloc, to_idp.path) == ("http", "testserver", "/account/sso/")
    r = idp.get(f"{to_idp.path}?{to_idp.query}")
    assert r.status_code == 302
    back = urlsplit(r["Location"])
    assert back.netloc == host and back.path == "/_/account/sso/callback"
    return site.get(f"{back.path}?{back.query}"), parse_qs(back.query)["ticket"][0]


def status(client: Client) -> dict:
    r = client.get("/_/account/status")
    assert r.status_code == 200 and "no-store" in r["Cache-Control"]
    return r.json()


# --- the round trip --------------------------------------------------------------------------

def test_logged_in_centrally_means_logged_in_on_a_site_without_credentials(province, citizen, idp):
    central_login(idp)
    czt = site_client(CZT)
    assert status(czt)["authenticated"] is False
    r, _ticket = sso_round_trip(idp, czt, CZT)
    assert r.status_code == 302 and r["Location"] == "/zwgk/"
    s = status(czt)
    assert s["authenticated"] is True and s["name"] == "张三"
    assert s["links"]["logout"] == "/_/account/logout"
    assert s["links"]["profile"] == "http://testserver/account/profile/"
    site_session = SsoSession.objects.get(user=citizen).site_sessions.get()
    assert site_session.host == CZT and site_session.site == province.sites["czt"]
    assert AuditEntry.objects.filter(action="identity.sso.redeem", outcome="success").exists()


def test_a_site_login_asks_for_credentials_once_then_comes_back(province, citizen, idp):
    jyt = site_client(JYT)
    r = jyt.get("/_/account/login", {"next": "/bsfw/"})
    r = idp.get(r["Location"].removeprefix("http://testserver"))
    assert r.status_code == 302 and r["Location"].startswith("/account/login/?next=")
    form = idp.get(r["Location"])
    assert form.status_code == 200 and 'name="password"' in form.content.decode()
    r = central_login(idp, next_url=form.context["next"])
    assert r["Location"].startswith("/account/sso/?")
    r = idp.get(r["Location"])
    callback = urlsplit(r["Location"])
    assert callback.netloc == JYT
    r = jyt.get(f"{callback.path}?{callback.query}")
    assert r["Location"] == "/bsfw/" and status(jyt)["authenticated"] is True


def test_site_login_without_next_returns_to_the_referring_page(province, citizen, idp):
    czt = site_client(CZT)
    r = czt.get("/_/account/login", HTTP_REFERER=f"http://{CZT}/content/12.html")
    assert parse_qs(urlsplit(r["Location"]).query)["next"] == ["/content/12.html"]
    r = czt.get("/_/account/login", HTTP_REFERER="https://evil.example.com/")
    assert parse_qs(urlsplit(r["Location"]).query)["next"] == ["/"]
    r = czt.get("/_/account/login", {"next": "https://evil.example.com/"})
    assert parse_qs(urlsplit(r["Location"]).query)["next"] == ["/"]


# --- refused tickets and requests ------------------------------------------------------------

def test_replayed_forged_expired_and_misdirected_tickets_are_refused(province, citizen, idp):
    central_login(idp)
    czt, jyt = site_client(CZT), site_client(JYT)

    r = czt.get("/_/account/sso/callback", {"ticket": "forged-ticket-value"})
    assert r.status_code == 400 and "登录链接无效或已过期" in r.content.decode()
    assert province.sites["czt"].name in r.content.decode()  # in the site's theme

    r, ticket = sso_round_trip(idp, czt, CZT)
    assert r.status_code == 302
    replay = site_client(CZT)
    r = replay.get("/_/account/sso/callback", {"ticket": ticket})
    assert r.status_code == 400 and status(replay)["authenticated"] is False

    # a ticket for czt presented on jyt is refused and burnt
    r = idp.get("/account/sso/", {"site": province.sites["czt"].code, "host": CZT, "next": "/"})
    ticket = parse_qs(urlsplit(r["Location"]).query)["ticket"][0]
    assert jyt.get("/_/account/sso/callback", {"ticket": ticket}).status_code == 400
    assert czt.get("/_/account/sso/callback", {"ticket": ticket}).status_code == 400

    r = idp.get("/account/sso/", {"site": province.sites["jyt"].code, "host": JYT, "next": "/"})
    ticket = parse_qs(urlsplit(r["Location"]).query)["ticket"][0]
    SsoTicket.objects.filter(used_at__isnull=True).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert jyt.get("/_/account/sso/callback", {"ticket": ticket}).status_code == 400
    assert status(jyt)["authenticated"] is False

    reasons = list(AuditEntry.objects.filter(action="identity.sso.redeem", outcome="failure")
                   .order_by("id").values_list("detail__reason", flat=True))
    assert reasons == ["unknown", "replayed", "wrong_host", "replayed", "expired"]
    # tickets are stored only as digests
    assert not SsoTicket.objects.filter(ticket_hash=ticket).exists()


def test_the_identity_host_sends_tickets_only_to_hosts_of_the_named_site(province, citizen, idp):
    central_login(idp)
    czt = province.sites["czt"].code
    for host in ("evil.example.com", JYT, "czt.ah.gov.cn.evil.com", "czt.ah.gov.cn/x", ""):
        r = idp.get("/account/sso/", {"site": czt, "host": host, "next": "/"})
        assert r.status_code == 400 and "网站或地址不属于本平台" in r.content.decode(), host
    r = idp.get("/account/sso/", {"site": "9999999999", "host": CZT})
    assert r.status_code == 400
    assert not SsoTicket.objects.exists()
    assert AuditEntry.objects.filter(action="identity.sso.start", outcome="denied").count() == 6
    # the site's development host name and a port are fine
    r = idp.get("/account/sso/", {"site": czt, "host": f"{czt}.localhost:8000", "next": "//evil.com"})
    assert r["Location"].startswith(f"http://{czt}.localhost:8000/_/account/sso/callback?ticket=")
    assert SsoTicket.objects.get().next == "/"


def test_a_disabled_account_gets_no_site_session(province, citizen, idp):
    central_login(idp)
    r = idp.get("/account/sso/", {"site": province.sites["czt"].code, "host": CZT, "next": "/"})
    User.objects.filter(pk=citizen.pk).update(is_active=False)
    czt = site_client(CZT)
    callback = urlsplit(r["Location"])
    assert czt.get(f"{callback.path}?{callback.query}").status_code == 400
    assert status(czt)["authenticated"] is False


# --- single logout ---------------------------------------------------------------------------

def test_logout_on_a_site_ends_the_central_and_every_site_session(province, citizen, idp):
    central_login(idp)
    czt, jyt = site_client(CZT), site_client(JYT)
    sso_round_trip(idp, czt, CZT)
    sso_round_trip(idp, jyt, JYT)
    assert status(czt)["authenticated"] and status(jyt)["authenticated"]

    page = jyt.get("/_/account/logout")
    assert page.status_code == 200 and "退出登录" in page.content.decode()
    s = status(jyt)
    jyt_csrf = Client(HTTP_HOST=JYT, enforce_csrf_checks=True)
    jyt_csrf.cookies = jyt.cookies
    r = jyt_csrf.post("/_/account/logout", {"next": "/zwgk/"})
    assert r.status_code == 403  # no CSRF token
    r = jyt_csrf.post("/_/account/logout", {"next": "/zwgk/", "csrfmiddlewaretoken": s["csrf_token"]})
    assert r.status_code == 302 and r["Location"] == "/zwgk/"

    assert status(jyt)["authenticated"] is False
    assert status(czt)["authenticated"] is False
    r = idp.get("/account/profile/")
    assert r.status_code == 302 and r["Location"].startswith("/account/login/")
    assert SsoSession.objects.get().ended_at is not None
    entry = AuditEntry.objects.get(action="identity.sso.logout")
    assert entry.detail["sessions"] == 3


def test_logout_on_the_identity_host_ends_site_sessions(province, citizen, idp):
    central_login(idp)
    czt = site_client(CZT)
    sso_round_trip(idp, czt, CZT)
    assert idp.get("/account/logout/").status_code == 200  # a confirmation, not a GET logout
    assert status(czt)["authenticated"] is True
    r = idp.post("/account/logout/")
    assert r.status_code == 302
    assert status(czt)["authenticated"] is False
    # the old ticket flow cannot be resumed after logout
    r = idp.get("/account/sso/", {"site": province.sites["czt"].code, "host": CZT})
    assert r["Location"].startswith("/account/login/")


# --- staff use the same login page ------------------------------------------------------------

STAFF_PASSWORD = "Passw0rd!x"


def test_the_admin_sends_staff_to_the_central_login_page(province, client):
    r = client.get("/admin/pages/")
    assert r.status_code == 302 and r["Location"].startswith("/account/login/?next=/admin/pages/")
    r = client.post("/account/login/", {"identifier": "czt_editor", "password": STAFF_PASSWORD,
                                        "next": "/admin/pages/"})
    assert r.status_code == 302 and r["Location"] == "/admin/pages/"
    assert client.get("/admin/").status_code == 200
    client.logout()
    r = client.post("/account/login/", {"identifier": "czt_editor", "password": STAFF_PASSWORD})
    assert r["Location"] == "/admin/"  # staff land in the admin, citizens on their profile


@pytest.mark.second_factor
def test_staff_with_totp_give_a_code_as_the_second_step(province, client):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.test_staff_security import totp_code

    user = province.users["czt_publisher"]
    device = TOTPDevice.objects.create(user=user, name="手机", confirmed=True)
    r = client.post("/account/login/", {"identifier": "czt_publisher", "password": STAFF_PASSWORD,
                                        "next": "/admin/"})
    body = r.content.decode()
    assert r.status_code == 200 and 'name="code"' in body and 'name="password"' not in body
    assert client.get("/admin/").status_code == 302  # not logged in yet
    wrong = "000000" if totp_code(device) != "000000" else "111111"
    r = client.post("/account/login/", {"step": "2", "code": wrong, "next": "/admin/"})
    assert "动态验证码错误" in r.content.decode()
    r = client.post("/account/login/", {"step": "2", "code": totp_code(device), "next": "/admin/"})
    assert r.status_code == 302 and r["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200  # the session counts as verified


@pytest.mark.second_factor
def test_staff_who_need_totp_but_have_none_are_sent_to_enrol(province, client):
    from django.urls import reverse

    from jiyue.accounts import security

    r = client.post("/account/login/", {"identifier": "czt_publisher", "password": STAFF_PASSWORD})
    assert r.status_code == 302 and r["Location"].startswith(reverse(security.ENROL_URL))


# --- over real HTTP, across registrable domains ----------------------------------------------

@pytest.fixture
def two_domains(transactional_db):
    """A provincial portal (www.ah.gov.cn) and a city site (www.hefei.gov.cn): different
    registrable domains. Created here: live_server tests flush the database afterwards."""
    from jiyue.platform.models import Organisation
    from jiyue.platform.services import create_site
    from tests.conftest import credit_code, ensure_wagtail_roots

    ensure_wagtail_roots()
    sites = {}
    for i, (key, name, domain, region, code) in enumerate([
            ("portal", "安徽省人民政府", "www.ah.gov.cn", "340000", "3400000001"),
            ("hefei", "合肥市人民政府", "www.hefei.gov.cn", "340100", "3401000001")], 1):
        org = Organisation.add_root(name=name, short_name=name[:2], code=credit_code(90 + i, region),
                                    kind="government", region_code=region, key=key)
        sites[key] = create_site(organisation=org, name=name, level="province" if i == 1 else "city",
                                 kind="portal", domain=domain, code=code, sponsor=name,
                                 state="running")
    return sites


@pytest.fixture
def resolve_to_loopback(monkeypatch):
    """Every host name resolves to 127.0.0.1 (like the browser test's --host-resolver-rules)."""
    import urllib3.util.connection as connection

    original = connection.create_connection

    def create_connection(address, *args, **kwargs):
        return original(("127.0.0.1", address[1]), *args, **kwargs)

    monkeypatch.setattr(connection, "create_connection", create_connection)


@pytest.mark.django_db(transaction=True)
def test_sso_over_real_http_across_domains(live_server, two_domains, resolve_to_loopback, settings):
    import requests

    from jiyue.identity.services import create_citizen

    create_citizen(email="zhang.san@example.cn", password=PASSWORD)
    port = urlsplit(live_server.url).port
    settings.JIYUE_IDP_URL = f"http://localhost:{port}"
    portal, hefei = f"http://www.ah.gov.cn:{port}", f"http://www.hefei.gov.cn:{port}"
    browser = requests.Session()  # one cookie jar, cookies kept per host as a browser does

    def get(url, **kw):
        return browser.get(url, timeout=10, **kw)

    def logged_in(base):
        r = get(f"{base}/_/account/status")
        assert "no-store" in r.headers["Cache-Control"]
        return r.json()["authenticated"]

    assert not logged_in(portal) and not logged_in(hefei)
    # 1. log in on the portal: its /_/account/login leads to the central login form
    r = get(f"{portal}/_/account/login?next=/zwgk/")
    assert urlsplit(r.url).netloc == f"localhost:{port}" and urlsplit(r.url).path == "/account/login/"
    assert 'name="password"' in r.text
    r = browser.post(r.url, timeout=10, data={
        "identifier": "zhang.san@example.cn", "password": PASSWORD,
        "csrfmiddlewaretoken": browser.cookies.get("csrftoken", domain="localhost.local"),
        "next": parse_qs(urlsplit(r.url).query)["next"][0]},
        headers={"Referer": r.url})
    assert [urlsplit(h.headers["Location"]).path for h in r.history] == [
        "/account/sso/", "/_/account/sso/callback", "/zwgk/"]
    assert r.url == f"{portal}/zwgk/"
    assert logged_in(portal)

    # 2. the city site (another registrable domain): one redirect round trip, no form
    r = get(f"{hefei}/_/account/login?next=/bsfw/")
    hops = [urlsplit(h.headers["Location"]) for h in r.history]
    assert [(h.netloc, h.path) for h in hops] == [
        (f"localhost:{port}", "/account/sso/"),               # top-level redirect out ...
        (f"www.hefei.gov.cn:{port}", "/_/account/sso/callback"),  # ... and straight back
        ("", "/bsfw/")]
    # /bsfw/ itself is a published file (jiyue serve / nginx), not built in this test
    assert r.url == f"{hefei}/bsfw/"
    assert 'name="password"' not in r.text
    assert logged_in(hefei) and logged_in(portal)
    # the cookies really are per host: nothing was shared between the two domains
    assert {c.domain for c in browser.cookies if c.name == "sessionid"} == {
        "localhost.local", "www.ah.gov.cn", "www.hefei.gov.cn"}

    # 3. log out on the city site: the portal and the identity host are logged out too
    token = get(f"{hefei}/_/account/status").json()["csrf_token"]
    r = browser.post(f"{hefei}/_/account/logout", timeout=10,
                     data={"csrfmiddlewaretoken": token, "next": "/"},
                     headers={"Referer": f"{hefei}/"}, allow_redirects=False)
    assert r.status_code == 302
    assert not logged_in(hefei) and not logged_in(portal)
    r = get(f"http://localhost:{port}/account/profile/")
    assert urlsplit(r.url).path == "/account/login/"


def test_housekeeping_removes_spent_tickets_and_finished_logins(province, citizen, idp):
    from django.contrib.sessions.models import Session

    from jiyue.identity.tasks import cleanup

    central_login(idp)
    czt = site_client(CZT)
    sso_round_trip(idp, czt, CZT)
    live = SsoSession.objects.get()
    SsoSession.objects.filter(pk=live.pk).update(created_at=timezone.now() - timedelta(days=3))
    SsoTicket.objects.update(expires_at=timezone.now() - timedelta(days=2))
    assert cleanup() == 1  # the ticket; the login's sessions are still alive
    assert SsoSession.objects.filter(pk=live.pk).exists() and status(czt)["authenticated"]
    Session.objects.all().delete()  # every session expired
    assert cleanup() == 2  # the SsoSession and (cascaded) its site-session record
    assert not SsoSession.objects.exists()
