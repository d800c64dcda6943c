"""jiyue as an OpenID Connect provider, proven over real HTTP with Authlib as the independent
client: discovery → authorize (PKCE S256, state, nonce) → the central login form → consent →
code → token → id_token verified with the JWKS → userinfo → refresh → RP-initiated logout; and
every bad input refused with the right OAuth error and recorded in the audit log.

The provider runs on pytest-django's live server (a real port); a `requests` session plays the
person's browser (cookies, CSRF token, redirects followed by hand so the callback to the client
is caught), Authlib plays the linked system.
"""

from __future__ import annotations

import base64
import gc
import json
import threading
import time
import warnings
from urllib.parse import parse_qs, urljoin, urlsplit

import lxml.html
import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc6749.errors import MismatchingStateException
from authlib.oidc.core import CodeIDToken
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from joserfc.errors import InvalidClaimError  # what Authlib's OIDC claims raise

with warnings.catch_warnings():  # authlib.jose still works; it points to joserfc for the future
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebKey, jwt
    from authlib.jose.errors import BadSignatureError

from tests.test_nginx import served  # noqa: E402,F401  (deploy/nginx/jiyue.conf, run for real)

pytestmark = pytest.mark.django_db(transaction=True)

REDIRECT = "http://localhost/callback"
AFTER_LOGOUT = "http://localhost/logged-out"
PASSWORD = "Zh-2026!secret"
SCOPE = "openid profile email phone"
_OPEN: list[requests.Session] = []   # HTTP sessions to close when the test ends


# --- the provider, the people, the linked system ------------------------------------------------

@pytest.fixture
def idp(live_server, settings, monkeypatch):
    """The provider on a real port; its issuer is the live server's URL."""
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on the test port
    settings.JIYUE_IDP_URL = live_server.url
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    # Every request comes from 127.0.0.1: the per-address limits are exercised elsewhere.
    settings.JIYUE_RATE_LIMIT_EXEMPT = ["127.0.0.1", "::1"]
    cache.clear()
    yield live_server.url
    # Close the kept-alive connections while the server still runs: its request threads end
    # now, not after the session's last test has stopped sharing the in-memory database.
    while _OPEN:
        _OPEN.pop().close()
    gc.collect()  # responses caught in reference cycles (exceptions) still hold their sockets
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(
            "process_request_thread" in t.name for t in threading.enumerate()):
        time.sleep(0.02)


def make_citizen(username="zhangsan", **extra):
    from jiyue.accounts.models import User

    fields = dict(kind="citizen", email=f"{username}@example.cn", email_verified=True,
                  mobile="138 0013 8000", mobile_verified=True, real_name="张三",
                  real_name_level="verified")
    fields.update(extra)
    return User.objects.create_user(username=username, password=PASSWORD, **fields)


def register_client(name="安徽政务服务网", **options):
    """Registered as the platform does it (services, audited), by a system administrator."""
    from jiyue.accounts.models import Role, RoleGrant, User
    from jiyue.oidc import services

    admin = User.objects.filter(username="sysadmin").first()
    if admin is None:
        admin = User.objects.create_user(username="sysadmin", password=PASSWORD, real_name="系统管理员")
        RoleGrant.objects.create(user=admin, role=Role.SYSTEM_ADMIN)
    options.setdefault("redirect_uris", REDIRECT)
    options.setdefault("post_logout_redirect_uris", AFTER_LOGOUT)
    system, secret = services.register(admin, name=name, kind="gov_service", **options)
    return system, secret


def audit_entries(action, **filters):
    from jiyue.audit.models import AuditEntry

    return list(AuditEntry.objects.filter(action=action, **filters).order_by("id"))


class RP:
    """The linked system: Authlib's OAuth2Session plus what it remembers between redirects."""

    def __init__(self, base, client_id, secret, scope=SCOPE):
        self.meta = requests.get(f"{base}/.well-known/openid-configuration", timeout=30).json()
        self.client_id = client_id
        self.session = OAuth2Session(client_id, secret, scope=scope, redirect_uri=REDIRECT,
                                     code_challenge_method="S256",
                                     token_endpoint_auth_method="client_secret_basic"
                                     if secret else "none")
        _OPEN.append(self.session)
        self.verifier = self.nonce = self.state = None

    def authorization_url(self, **extra):
        self.verifier = generate_token(48)
        self.nonce = generate_token(20)
        uri, self.state = self.session.create_authorization_url(
            self.meta["authorization_endpoint"], code_verifier=self.verifier, nonce=self.nonce,
            **extra)
        return uri

    def fetch_token(self, callback, **kwargs):
        kwargs.setdefault("code_verifier", self.verifier)
        kwargs.setdefault("state", self.state)
        return self.session.fetch_token(self.meta["token_endpoint"], authorization_response=callback,
                                        **kwargs)

    def verify_id_token(self, id_token, *, nonce=None, access_token=None):
        jwks = requests.get(self.meta["jwks_uri"], timeout=30).json()
        claims = jwt.decode(
            id_token, JsonWebKey.import_key_set(jwks), claims_cls=CodeIDToken,
            claims_options={"iss": {"essential": True, "value": self.meta["issuer"]},
                            "aud": {"essential": True, "value": self.client_id},
                            "exp": {"essential": True}},
            claims_params={"nonce": nonce or self.nonce, "client_id": self.client_id,
                           "access_token": access_token})
        claims.validate()
        return claims

    def refresh(self, refresh_token):
        return self.session.refresh_token(self.meta["token_endpoint"], refresh_token=refresh_token)

    def userinfo(self, access_token):
        return requests.get(self.meta["userinfo_endpoint"], timeout=30,
                            headers={"Authorization": f"Bearer {access_token}"})


class Browser:
    """The person's browser: one cookie jar, redirects followed one at a time."""

    def __init__(self):
        self.http = requests.Session()
        _OPEN.append(self.http)

    def go(self, url, *, stop=(REDIRECT, AFTER_LOGOUT)):
        """GET url and follow redirects. Returns the URL when it reaches the client (`stop`),
        else the last response (a page)."""
        for _ in range(20):
            if url.startswith(stop):
                return url
            response = self.http.get(url, allow_redirects=False, timeout=30)
            if response.is_redirect:
                url = urljoin(url, response.headers["Location"])
                continue
            return response
        raise AssertionError("too many redirects")

    def submit(self, page, data, *, stop=(REDIRECT, AFTER_LOGOUT), button=None):
        """Fill the page's first POST form (hidden fields and CSRF token kept) and follow."""
        doc = lxml.html.fromstring(page.text)
        form = [f for f in doc.forms if (f.method or "").upper() == "POST"][0]
        fields = {k: v for k, v in form.form_values()}
        fields.update(data)
        if button:
            fields.update(button)
        action = urljoin(page.url, form.action or page.url)
        response = self.http.post(action, data=fields, allow_redirects=False, timeout=30,
                                  headers={"Referer": page.url})
        if response.is_redirect:
            return self.go(urljoin(action, response.headers["Location"]), stop=stop)
        return response

    def log_in(self, page, identifier, password):
        assert "identifier" in page.text and "password" in page.text, page.text[:500]
        return self.submit(page, {"identifier": identifier, "password": password})


def sign_in(base, rp, browser, identifier, password=PASSWORD, consent=True):
    """The whole front channel: authorize → central login → consent → callback URL."""
    page = browser.go(rp.authorization_url())
    assert urlsplit(page.url).path == "/account/login/", page.url
    page = browser.log_in(page, identifier, password)
    if isinstance(page, str):
        return page
    assert "authorizationForm" in page.text, page.text[:800]
    return browser.submit(page, {"allow": "on"} if consent else {})


# --- the whole flow ---------------------------------------------------------------------------

def test_authlib_client_signs_a_citizen_in_and_out(idp):
    from django.contrib.sessions.models import Session

    from jiyue.oidc.models import Subject

    citizen = make_citizen()
    system, secret = register_client()

    # Discovery, at the issuer's root and under /o/.
    meta = requests.get(f"{idp}/.well-known/openid-configuration", timeout=30).json()
    assert meta == requests.get(f"{idp}/o/.well-known/openid-configuration", timeout=30).json()
    assert meta["issuer"] == idp
    assert meta["authorization_endpoint"] == f"{idp}/o/authorize/"
    assert meta["token_endpoint"] == f"{idp}/o/token/"
    assert meta["userinfo_endpoint"] == f"{idp}/o/userinfo/"
    assert meta["end_session_endpoint"] == f"{idp}/o/logout/"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["response_types_supported"] == ["code"]
    assert meta["id_token_signing_alg_values_supported"][0] == "RS256"
    assert {"openid", "profile", "email", "phone"} <= set(meta["scopes_supported"])
    assert {"sub", "phone_number", "real_name_level"} <= set(meta["claims_supported"])
    jwks = requests.get(meta["jwks_uri"], timeout=30).json()
    assert jwks["keys"][0]["kty"] == "RSA" and jwks["keys"][0]["alg"] == "RS256"
    assert "d" not in jwks["keys"][0]  # the public half only

    rp = RP(idp, system.application.client_id, secret)
    browser = Browser()

    # Authorize: not logged in, so the central login page, then the Chinese consent screen.
    page = browser.go(rp.authorization_url())
    assert urlsplit(page.url).path == "/account/login/"
    page = browser.log_in(page, "zhangsan@example.cn", PASSWORD)
    assert page.status_code == 200
    assert "“安徽政务服务网”请求使用您的账号登录" in page.text
    assert "手机号码及是否已验证" in page.text
    callback = browser.submit(page, {"allow": "on"})
    params = parse_qs(urlsplit(callback).query)
    assert params["state"] == [rp.state] and params["code"]
    assert params["iss"] == [idp]  # RFC 9207

    # Code → tokens, and the id_token verified with the JWKS (signature, iss, aud, exp, nonce).
    token = rp.fetch_token(callback)
    assert token["token_type"].lower() == "bearer" and token["refresh_token"]
    claims = rp.verify_id_token(token["id_token"], access_token=token["access_token"])
    sub = Subject.objects.get(user=citizen).sub
    assert claims["sub"] == sub and sub != str(citizen.pk)
    assert claims["nonce"] == rp.nonce
    assert claims["name"] == "张三"
    assert claims["email"] == "zhangsan@example.cn" and claims["email_verified"] is True
    assert claims["phone_number"] == "+8613800138000" and claims["phone_number_verified"] is True
    assert claims["real_name_level"] == "verified"
    assert claims["account_type"] == "citizen"
    assert "organisation" not in claims

    # Userinfo with the access token: the same person, the decrypted mobile number.
    info = rp.userinfo(token["access_token"])
    assert info.status_code == 200
    info = info.json()
    assert info["sub"] == sub and info["phone_number"] == "+8613800138000"
    assert info["preferred_username"] == "zhangsan"

    # Refresh: a new pair; the old refresh token is spent (rotation).
    fresh = rp.refresh(token["refresh_token"])
    assert fresh["access_token"] != token["access_token"]
    assert fresh["refresh_token"] != token["refresh_token"]
    assert rp.userinfo(fresh["access_token"]).json()["sub"] == sub
    assert rp.userinfo(token["access_token"]).status_code == 401

    # Everything is in the audit log.
    assert audit_entries("oidc.consent", actor=citizen, outcome="success")
    assert audit_entries("oidc.authorize", actor=citizen, outcome="success")
    grants = [e.detail["grant_type"] for e in audit_entries("oidc.token", actor=citizen,
                                                            outcome="success")]
    assert grants == ["authorization_code", "refresh_token"]
    assert audit_entries("oidc.userinfo", actor=citizen, outcome="success")

    # RP-initiated logout ends the central session; tokens are revoked.
    session_key = browser.http.cookies.get("sessionid")
    assert Session.objects.filter(session_key=session_key).exists()
    landing = browser.go(f"{rp.meta['end_session_endpoint']}?" + requests.compat.urlencode({
        "id_token_hint": token["id_token"], "post_logout_redirect_uri": AFTER_LOGOUT,
        "state": "bye", "client_id": rp.client_id}))
    assert landing == f"{AFTER_LOGOUT}?state=bye"
    assert not Session.objects.filter(session_key=session_key).exists()
    assert rp.userinfo(fresh["access_token"]).status_code == 401
    assert audit_entries("oidc.logout", actor=citizen, outcome="success")
    assert audit_entries("auth.logout", actor=citizen)
    # The next authorization asks for credentials again.
    page = browser.go(rp.authorization_url())
    assert urlsplit(page.url).path == "/account/login/"


def test_trusted_system_skips_consent_and_a_public_client_uses_pkce_alone(idp):
    make_citizen()
    system, secret = register_client(name="12345 热线", skip_consent=True, confidential=False)
    assert secret is None
    rp = RP(idp, system.application.client_id, None)
    browser = Browser()
    page = browser.go(rp.authorization_url())
    callback = browser.log_in(page, "zhangsan", PASSWORD)
    assert isinstance(callback, str) and callback.startswith(REDIRECT)  # no consent screen
    token = rp.fetch_token(callback)
    assert rp.verify_id_token(token["id_token"])["preferred_username"] == "zhangsan"
    entry = audit_entries("oidc.authorize", outcome="success")[-1]
    assert entry.detail["skip_consent"] is True


def test_refusing_consent_returns_access_denied_and_no_code(idp):
    citizen = make_citizen()
    system, secret = register_client()
    rp = RP(idp, system.application.client_id, secret)
    callback = sign_in(idp, rp, Browser(), "zhangsan", consent=False)
    params = parse_qs(urlsplit(callback).query)
    assert params["error"] == ["access_denied"] and "code" not in params
    assert params["state"] == [rp.state]
    assert audit_entries("oidc.consent", actor=citizen, outcome="denied")


# --- bad input -----------------------------------------------------------------------------------

def oauth_error(call):
    with pytest.raises(OAuthError) as info:
        call()
    return info.value.error


def token_refusal(reason):
    entries = [e for e in audit_entries("oidc.token") if e.detail.get("reason") == reason]
    assert entries, f"no oidc.token audit entry with reason {reason}"
    return entries[-1]


def test_wrong_and_expired_codes_are_invalid_grant(idp):
    from oauth2_provider.models import Grant

    make_citizen()
    system, secret = register_client()
    rp = RP(idp, system.application.client_id, secret)
    browser = Browser()
    callback = sign_in(idp, rp, browser, "zhangsan")

    forged = callback.replace("code=", "code=x")
    assert oauth_error(lambda: rp.fetch_token(forged)) == "invalid_grant"
    assert token_refusal("code_unknown").outcome == "failure"

    Grant.objects.update(expires=Grant.objects.get().created.replace(year=2000))
    assert oauth_error(lambda: rp.fetch_token(callback)) == "invalid_grant"
    assert token_refusal("code_expired").detail["error"] == "invalid_grant"
    assert not Grant.objects.exists()  # an expired code is gone for good


def test_a_replayed_code_is_refused_and_revokes_what_it_issued(idp):
    make_citizen()
    system, secret = register_client()
    rp = RP(idp, system.application.client_id, secret)
    callback = sign_in(idp, rp, Browser(), "zhangsan")
    token = rp.fetch_token(callback)
    assert rp.userinfo(token["access_token"]).status_code == 200

    # An attacker who intercepted the code tries it again.
    assert oauth_error(lambda: rp.fetch_token(callback)) == "invalid_grant"
    entry = token_refusal("code_replayed")
    assert entry.outcome == "denied" and entry.detail["revoked_tokens"] >= 1
    # RFC 6749 4.1.2: the tokens issued from that code are revoked.
    assert rp.userinfo(token["access_token"]).status_code == 401
    assert oauth_error(lambda: rp.refresh(token["refresh_token"])) == "invalid_grant"


def test_a_reused_refresh_token_revokes_the_whole_family(idp):
    make_citizen()
    system, secret = register_client()
    rp = RP(idp, system.application.client_id, secret)
    token = rp.fetch_token(sign_in(idp, rp, Browser(), "zhangsan"))
    fresh = rp.refresh(token["refresh_token"])
    assert oauth_error(lambda: rp.refresh(token["refresh_token"])) == "invalid_grant"
    assert token_refusal("refresh_token_reused").outcome == "denied"
    # The stolen-and-replayed case: the legitimate holder's newer token dies too.
    assert oauth_error(lambda: rp.refresh(fresh["refresh_token"])) == "invalid_grant"
    assert rp.userinfo(fresh["access_token"]).status_code == 401


def test_forged_state(idp):
    make_citizen()
    system, secret = register_client()
    rp = RP(idp, system.application.client_id, secret)
    browser = Browser()
    callback = sign_in(idp, rp, browser, "zhangsan")

    # Client side: a callback whose state is not the one this client sent is refused by
    # Authlib before any token request.
    forged = callback.replace(f"state={rp.state}", "state=forged")
    with pytest.raises(MismatchingStateException):
        rp.fetch_token(forged)
    assert not audit_entries("oidc.token")

    # Server side: an authorization request without state never issues a code.
    uri = rp.authorization_url()
    no_state = "&".join(p for p in uri.split("&") if not p.startswith("state="))
    landing = browser.go(no_state)
    params = parse_qs(urlsplit(landing).query)
    assert params["error"] == ["invalid_request"] and "code" not in params
    entry = audit_entries("oidc.authorize", outcome="failure")[-1]
    assert entry.detail["reason"] == "state_missing"


def test_wrong_nonce_and_tampered_id_token_fail_verification(idp):
    make_citizen()
    system, secret = register_client()
    rp = RP(idp, system.application.client_id, secret)
    browser = Browser()
    token = rp.fetch_token(sign_in(idp, rp, browser, "zhangsan"))
    rp.verify_id_token(token["id_token"])  # the genuine token verifies

    with pytest.raises(InvalidClaimError) as info:
        rp.verify_id_token(token["id_token"], nonce="not-the-nonce-i-sent")
    assert "nonce" in str(info.value)

    head, body, signature = token["id_token"].split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["preferred_username"] = "admin"
    forged_body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    tampered = f"{head}.{forged_body}.{signature}"
    with pytest.raises(BadSignatureError):
        rp.verify_id_token(tampered)

    # The provider refuses it too: a logout with the tampered token as hint ends nothing.
    page = browser.go(f"{rp.meta['end_session_endpoint']}?" + requests.compat.urlencode({
        "id_token_hint": tampered, "post_logout_redirect_uri": AFTER_LOGOUT}))
    assert page.status_code == 400
    assert "身份令牌无效" in page.text
    assert audit_entries("oidc.logout", outcome="failure")[-1].detail["error"] == "InvalidIDTokenError"
    garbage = "." + base64.urlsafe_b64encode(b"\x8e\xff").decode() + ".x"  # not even JSON
    assert browser.go(f"{rp.meta['end_session_endpoint']}?id_token_hint={garbage}").status_code == 400
    assert rp.userinfo(token["access_token"]).status_code == 200  # still signed in


def test_pkce_is_required_with_s256_and_a_wrong_or_reused_verifier_burns_the_code(idp):
    make_citizen()
    system, secret = register_client()
    rp = RP(idp, system.application.client_id, secret)
    browser = Browser()

    callback = sign_in(idp, rp, browser, "zhangsan")
    good_verifier = rp.verifier
    assert oauth_error(lambda: rp.fetch_token(callback, code_verifier=generate_token(48))) \
        == "invalid_grant"
    assert token_refusal("pkce_mismatch").outcome == "failure"
    # One attempt per code: the right verifier no longer helps.
    assert oauth_error(lambda: rp.fetch_token(callback, code_verifier=good_verifier)) == "invalid_grant"

    # A verifier from an earlier authorization does not fit a new code.
    page = browser.go(rp.authorization_url())  # logged in already: straight to consent
    first = rp.fetch_token(browser.submit(page, {"allow": "on"}))
    assert first["access_token"]
    old_verifier = rp.verifier
    callback = browser.go(rp.authorization_url())
    assert isinstance(callback, str)  # consent remembered while a token is alive
    assert oauth_error(lambda: rp.fetch_token(callback, code_verifier=old_verifier)) == "invalid_grant"
    assert token_refusal("pkce_mismatch")

    # Without PKCE, or with the plain method, no code at all.
    uri = rp.authorization_url()
    for strip, replace in [("code_challenge", None), ("code_challenge_method", "plain")]:
        parts = [p for p in uri.split("&") if not p.startswith(strip + "=")]
        if replace:
            parts.append(f"{strip}={replace}")
        params = parse_qs(urlsplit(browser.go("&".join(parts))).query)
        assert params["error"] == ["invalid_request"] and "code" not in params


def test_a_disabled_account_cannot_log_in_and_its_tokens_are_refused(idp):
    from jiyue.accounts.models import User

    citizen = make_citizen()
    system, secret = register_client()
    rp = RP(idp, system.application.client_id, secret)
    token = rp.fetch_token(sign_in(idp, rp, Browser(), "zhangsan"))
    second = rp.fetch_token(sign_in(idp, rp, Browser(), "zhangsan"))

    # Disabled behind the application's back (a bulk update: no signals) ...
    User.objects.filter(pk=citizen.pk).update(is_active=False)
    assert oauth_error(lambda: rp.refresh(token["refresh_token"])) == "invalid_grant"
    assert token_refusal("account_disabled").outcome == "denied"
    assert rp.userinfo(second["access_token"]).status_code == 401

    # ... and through the model: every token is revoked at once.
    User.objects.filter(pk=citizen.pk).update(is_active=True)
    citizen.refresh_from_db()
    citizen.is_active = False
    citizen.save()
    assert oauth_error(lambda: rp.refresh(second["refresh_token"])) == "invalid_grant"
    assert audit_entries("oidc.revoke", outcome="success")[-1].detail["reason"] == "account_disabled"

    # No login, so no code.
    browser = Browser()
    page = browser.go(rp.authorization_url())
    page = browser.log_in(page, "zhangsan", PASSWORD)
    assert not isinstance(page, str)
    assert "账号已停用" in page.text
    assert [e.detail.get("reason") for e in audit_entries("auth.login", outcome="denied")] == ["disabled"]


def test_a_locked_account_gets_no_code(idp, settings):
    settings.JIYUE_LOCKOUT_FAILURES = settings.AXES_FAILURE_LIMIT = 5
    make_citizen()
    system, secret = register_client()
    rp = RP(idp, system.application.client_id, secret)
    browser = Browser()
    page = browser.go(rp.authorization_url())
    for _ in range(5):
        page = browser.log_in(page, "zhangsan", "wrong-password-1A")
        assert not isinstance(page, str)
    page = browser.log_in(page, "zhangsan", PASSWORD)  # the right password, too late
    assert not isinstance(page, str)
    assert "已被锁定" in page.text
    assert "authorizationForm" not in page.text
    assert "locked" in [e.detail.get("reason") for e in audit_entries("auth.login", outcome="denied")]
    assert not audit_entries("oidc.authorize", outcome="success")


def test_a_disabled_linked_system_is_an_unknown_client(idp):
    from jiyue.accounts.models import User
    from jiyue.oidc import services

    make_citizen()
    system, secret = register_client()
    rp = RP(idp, system.application.client_id, secret)
    browser = Browser()
    token = rp.fetch_token(sign_in(idp, rp, browser, "zhangsan"))

    services.set_enabled(User.objects.get(username="sysadmin"), system, False)
    assert rp.userinfo(token["access_token"]).status_code == 401
    assert oauth_error(lambda: rp.refresh(token["refresh_token"])) == "invalid_client"
    page = browser.go(rp.authorization_url())
    assert page.status_code == 400, page.text  # not sent back to the client
    assert "该系统未在平台登记，或已被停用" in page.text, page.text
    entry = audit_entries("oidc.client.disable")[-1]
    assert entry.detail["revoked_tokens"] >= 2


# --- staff and the second factor -----------------------------------------------------------------

def _staff(username="czt_operator"):
    from django.utils import timezone

    from jiyue.accounts.models import Role, RoleGrant, User
    from jiyue.platform.models import Organisation
    from tests.conftest import credit_code

    org = Organisation.objects.filter(key="czt").first() or Organisation.add_root(
        name="安徽省财政厅", short_name="皖财", code=credit_code(2), kind="department",
        region_code="340000", key="czt")
    user = User.objects.create_user(username=username, password=PASSWORD, real_name="李四",
                                    organisation=org, email="lisi@czt.ah.gov.cn",
                                    password_changed_at=timezone.now())
    RoleGrant.objects.create(user=user, role=Role.PLATFORM_OPERATOR)
    return user


def _totp(device):
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return str(totp.token()).zfill(device.digits)


@pytest.mark.second_factor
def test_staff_sign_in_through_the_same_provider_with_their_second_factor(idp):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    staff = _staff()
    device = TOTPDevice.objects.create(user=staff, name="手机", confirmed=True)
    system, secret = register_client(name="12345 热线工单系统")
    rp = RP(idp, system.application.client_id, secret)
    browser = Browser()
    page = browser.go(rp.authorization_url())
    page = browser.log_in(page, "czt_operator", PASSWORD)
    assert not isinstance(page, str) and 'name="code"' in page.text  # the TOTP step
    page = browser.submit(page, {"code": _totp(device)})
    callback = browser.submit(page, {"allow": "on"}) if not isinstance(page, str) else page
    claims = rp.verify_id_token(rp.fetch_token(callback)["id_token"])
    assert claims["account_type"] == "staff"
    assert claims["organisation"] == {"name": "安徽省财政厅", "code": staff.organisation.code}


@pytest.mark.second_factor
@pytest.mark.django_db(transaction=False)
def test_a_staff_session_without_its_second_factor_gets_no_code(client):
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from oauth2_provider.models import Grant

    staff = _staff()
    TOTPDevice.objects.create(user=staff, name="手机", confirmed=True)
    system, secret = register_client()
    client.force_login(staff)  # password only: the session is not OTP-verified
    response = client.get("/o/authorize/", {
        "response_type": "code", "client_id": system.application.client_id,
        "redirect_uri": REDIRECT, "scope": "openid", "state": "s1",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256"})
    from django.urls import reverse

    from jiyue.accounts import security

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse(security.VERIFY_URL)  # the TOTP step, then back
    assert parse_qs(location.query)["next"][0].startswith("/o/authorize/?")
    assert not Grant.objects.exists()
    entry = audit_entries("oidc.authorize", actor=staff)[-1]
    assert entry.outcome == "denied" and entry.detail["reason"] == "second_factor_missing"


# --- the token endpoint's rate limit --------------------------------------------------------------

@pytest.mark.django_db(transaction=False)
def test_the_token_endpoint_is_rate_limited_per_address(client, settings):
    settings.JIYUE_RATE_LIMITS = "token=3/m"
    settings.JIYUE_RATE_LIMIT_EXEMPT = []
    cache.clear()
    system, secret = register_client()
    data = {"grant_type": "authorization_code", "code": "nothing", "redirect_uri": REDIRECT,
            "client_id": system.application.client_id, "client_secret": secret,
            "code_verifier": "x" * 43}
    codes = [client.post("/o/token/", data, REMOTE_ADDR="203.0.113.9").status_code for _ in range(4)]
    assert codes == [400, 400, 400, 429]
    assert audit_entries("oidc.token", outcome="denied")[-1].detail["reason"] == "rate_limited"


# --- 对接系统 in the admin: the 系统管理员 only ---------------------------------------------------

@pytest.mark.django_db(transaction=False)
def test_the_system_admin_registers_changes_and_disables_a_linked_system(client, province):
    from django.contrib.auth.hashers import check_password
    from oauth2_provider.models import Application

    admin = province.users["system_admin"]
    client.force_login(admin)
    page = client.get("/admin/oidc/clients/")
    assert page.status_code == 200
    assert "还没有登记对接系统" in page.content.decode()
    assert "/.well-known/openid-configuration" in page.content.decode()

    form = {"name": "合肥市城市平台", "client_id": "hefei-city", "kind": "city",
            "redirect_uris": "http://city.hefei.gov.cn/cb\nhttps://*.hefei.gov.cn/cb\n"
                             "https://city.hefei.gov.cn/cb#top",
            "post_logout_redirect_uris": "ftp://city.hefei.gov.cn/", "confidential": "on"}
    page = client.post("/admin/oidc/clients/add/", form)
    text = page.content.decode()
    assert page.status_code == 200
    assert "只有本机地址（localhost、127.0.0.1）可以使用 http" in text
    assert "不能使用通配符" in text and "不能包含 # 片段" in text
    assert "必须是以 https:// 开头的完整网址" in text
    assert not Application.objects.exists()

    form.update(redirect_uris="https://city.hefei.gov.cn/oidc/callback\nhttp://localhost:8080/cb",
                post_logout_redirect_uris="https://city.hefei.gov.cn/")
    page = client.post("/admin/oidc/clients/add/", form)
    assert page.status_code == 302
    app = Application.objects.get(client_id="hefei-city")
    assert app.redirect_uris == "https://city.hefei.gov.cn/oidc/callback http://localhost:8080/cb"
    assert app.algorithm == "RS256" and not app.skip_authorization
    shown = client.get(page["Location"])
    secret = lxml.html.fromstring(shown.content.decode()).get_element_by_id("client-secret").text
    assert len(secret) >= 64 and check_password(secret, app.client_secret)
    assert secret not in app.client_secret  # stored hashed
    again = client.get(page["Location"])  # shown once
    assert again.status_code == 302 and secret not in client.get(again["Location"]).content.decode()
    created = audit_entries("oidc.client.create", actor=admin)
    assert len(created) == 1 and created[0].detail["client_id"] == "hefei-city"
    assert secret not in json.dumps(created[0].detail)

    # The same client id cannot be registered twice.
    page = client.post("/admin/oidc/clients/add/", form)
    assert "客户端标识已被使用" in page.content.decode()

    edit = f"/admin/oidc/clients/{app.pk}/"
    page = client.post(edit, {**form, "skip_consent": "on", "action": "save",
                              "redirect_uris": "https://city.hefei.gov.cn/oidc/callback"})
    assert page.status_code == 302
    app.refresh_from_db()
    assert app.skip_authorization and app.redirect_uris == "https://city.hefei.gov.cn/oidc/callback"
    changes = audit_entries("oidc.client.update", actor=admin)[-1].detail["changes"]
    assert set(changes) == {"skip_consent", "redirect_uris"}

    page = client.post(edit, {"action": "reset_secret"})
    new_secret = lxml.html.fromstring(client.get(page["Location"]).content.decode()) \
        .get_element_by_id("client-secret").text
    app.refresh_from_db()
    assert check_password(new_secret, app.client_secret) and not check_password(secret, app.client_secret)
    assert audit_entries("oidc.client.secret", actor=admin)

    client.post(edit, {"action": "disable"})
    assert not app.linked_system.__class__.objects.get(pk=app.pk).enabled
    assert "已停用" in client.get("/admin/oidc/clients/").content.decode()
    assert audit_entries("oidc.client.disable", actor=admin)


@pytest.mark.django_db(transaction=False)
@pytest.mark.parametrize("who", ["security_admin", "audit_admin", "platform_operator",
                                 "czt_site_admin", "czt_editor"])
def test_nobody_else_may_touch_linked_systems(client, province, who):
    from oauth2_provider.models import Application

    from jiyue.oidc import services

    system, _ = services.register(province.users["system_admin"], name="12345 热线",
                                  redirect_uris="https://12345.ah.gov.cn/cb")
    user = province.users[who]
    client.force_login(user)
    assert "/admin/oidc/clients/" not in client.get("/admin/").content.decode()  # no menu item
    attempts = [client.get("/admin/oidc/clients/"),
                client.post("/admin/oidc/clients/add/", {
                    "name": "假冒系统", "kind": "other", "redirect_uris": "https://evil.example.com/cb"}),
                client.post(f"/admin/oidc/clients/{system.pk}/", {"action": "disable"}),
                client.post(f"/admin/oidc/clients/{system.pk}/", {"action": "reset_secret"})]
    # Refused: 403 from the view, or Wagtail's redirect to the dashboard for a PermissionDenied.
    assert all(r.status_code == 403 or (r.status_code == 302 and r["Location"] == "/admin/")
               for r in attempts), [r.status_code for r in attempts]
    assert Application.objects.count() == 1
    system.refresh_from_db()
    assert system.enabled
    from jiyue.audit.models import AuditEntry

    # Every attempt is in the audit log (by this view, or by the admin's own guard first).
    denied = AuditEntry.objects.filter(actor=user, outcome="denied",
                                       action__in=("oidc.client.view", "admin.access"))
    assert denied.values("detail").count() >= 4
    with pytest.raises(PermissionDenied):
        services.set_enabled(user, system, False)
    assert audit_entries("oidc.client.disable", actor=user, outcome="denied")


# --- the signing key ------------------------------------------------------------------------------

def test_the_signing_key_is_private_kept_and_rotated_without_breaking_old_tokens(tmp_path, settings, client):
    from oauth2_provider.utils import jwk_from_pem

    from jiyue.oidc import keys

    # The running platform signs with the key in $JIYUE_HOME/keys/, readable by its owner only.
    path = settings.JIYUE_HOME / "keys" / keys.ACTIVE
    assert settings.OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"] == path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600

    home = tmp_path / "keys"
    pem = keys.active_key(home)
    assert (home / keys.ACTIVE).stat().st_mode & 0o777 == 0o600
    assert home.stat().st_mode & 0o777 == 0o700
    assert keys.active_key(home) == pem  # generated once, then kept
    retired = keys.rotate(home)
    active, old = keys.load(home)
    assert active != pem and old == [pem] and retired.stat().st_mode & 0o777 == 0o600

    # After a rotation the JWKS publishes the new key first and still the old one.
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": active,
                                "OIDC_RSA_PRIVATE_KEYS_INACTIVE": old}
    published = [k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]]
    assert published == [jwk_from_pem(active).thumbprint(), jwk_from_pem(pem).thumbprint()]


# --- behind nginx ---------------------------------------------------------------------------------

@pytest.mark.nginx
@pytest.mark.django_db(transaction=False)
def test_nginx_passes_the_provider_s_paths_to_the_application(served):
    """deploy/nginx/jiyue.conf refuses paths with a hidden segment ("/."): discovery and the
    JWKS must still reach the application."""
    nginx, _ = served
    for path in ("/.well-known/openid-configuration", "/.well-known/jwks.json",
                 "/o/.well-known/openid-configuration", "/o/.well-known/jwks.json",
                 "/o/authorize/?client_id=x", "/o/token/", "/account/login/"):
        status, _, body = nginx.request(path, host="localhost")
        assert status == 200, path
        assert json.loads(body)["PATH_INFO"] == path.split("?")[0]
    assert nginx.request("/.hidden", host="localhost")[0] == 404  # the rule itself still holds
