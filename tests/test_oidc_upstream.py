"""The optional upstream provincial identity provider ("使用省统一身份认证登录"), tested with a
second provider over real HTTP: the platform itself acting as the upstream (its own OIDC
provider on the live server, a linked system registered for the callback)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.template import Context, Template

from tests.test_oidc import PASSWORD, Browser, audit_entries, idp, make_citizen, register_client  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def upstream_person(username, email, real_name):
    """Somebody known to the upstream provider (here: an account of the same platform, staff
    so that it is never itself the local account a citizen is mapped onto)."""
    from django.utils import timezone

    from jiyue.accounts.models import User

    return User.objects.create_user(username=username, password=PASSWORD, email=email,
                                    email_verified=True, real_name=real_name,
                                    password_changed_at=timezone.now())


@pytest.fixture
def upstream(idp, settings):
    system, secret = register_client(name="本平台（作为上级身份提供方）", skip_consent=True,
                                     redirect_uris=f"{idp}/o/upstream/callback/")
    settings.JIYUE_UPSTREAM_OIDC_ISSUER = idp
    settings.JIYUE_UPSTREAM_OIDC_CLIENT_ID = system.application.client_id
    settings.JIYUE_UPSTREAM_OIDC_CLIENT_SECRET = secret
    return idp


def sign_in_upstream(base, username, next_path="/account/profile/"):
    browser = Browser()
    page = browser.go(f"{base}/o/upstream/login/?next={next_path}")
    assert urlsplit(page.url).path == "/account/login/"  # the upstream's login page
    page = browser.log_in(page, username, PASSWORD)
    return browser, page


def test_the_login_page_button_appears_only_when_an_upstream_is_configured(settings):
    html = Template("{% load oidc_upstream %}{% upstream_login_button '/account/profile/' %}")
    settings.JIYUE_UPSTREAM_OIDC_ISSUER = ""
    assert "省统一身份认证" not in html.render(Context())
    settings.JIYUE_UPSTREAM_OIDC_ISSUER = "https://tyrz.ah.gov.cn"
    settings.JIYUE_UPSTREAM_OIDC_CLIENT_ID = "jiyue"
    rendered = html.render(Context())
    assert "使用省统一身份认证登录" in rendered
    assert 'href="/o/upstream/login/?next=%2Faccount%2Fprofile%2F"' in rendered


def test_an_upstream_person_becomes_a_local_citizen_once(upstream):
    from jiyue.accounts.models import User
    from jiyue.oidc.models import Subject, UpstreamIdentity

    wang = upstream_person("wang_up", "wangwu@ahzwfw.gov.cn", "王五")
    browser, page = sign_in_upstream(upstream, "wang_up")
    assert page.status_code == 200 and urlsplit(page.url).path == "/account/profile/"

    link = UpstreamIdentity.objects.get()
    assert link.issuer == upstream and link.sub == Subject.objects.get(user=wang).sub
    citizen = link.user
    assert citizen != wang and citizen.kind == "citizen"
    assert citizen.email == "wangwu@ahzwfw.gov.cn" and citizen.email_verified
    assert citizen.real_name == "王五" and not citizen.has_usable_password()
    assert "王五" in page.text
    entry = audit_entries("oidc.upstream.login", outcome="success")[-1]
    assert entry.actor == citizen and entry.detail["mapped"] == "created"
    assert audit_entries("oidc.upstream.link", actor=citizen)

    # Next time: the same local account, through the link.
    users = User.objects.count()
    browser, page = sign_in_upstream(upstream, "wang_up")
    assert page.status_code == 200 and User.objects.count() == users
    entry = audit_entries("oidc.upstream.login", outcome="success")[-1]
    assert entry.actor == citizen and entry.detail["mapped"] == "linked"


def test_an_upstream_person_is_matched_to_the_citizen_with_the_same_verified_email(upstream):
    from jiyue.oidc.models import UpstreamIdentity

    zhao = make_citizen("zhaoliu", email="zhaoliu@example.cn", real_name="赵六")
    upstream_person("zhao_up", "zhaoliu@example.cn", "赵六")
    browser, page = sign_in_upstream(upstream, "zhao_up")
    assert page.status_code == 200 and "赵六" in page.text
    assert UpstreamIdentity.objects.get().user == zhao
    assert audit_entries("oidc.upstream.login", outcome="success")[-1].detail["mapped"] == "email"


def test_a_forged_upstream_callback_logs_nobody_in(upstream):
    browser = Browser()
    start = browser.http.get(f"{upstream}/o/upstream/login/", allow_redirects=False)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    # A callback with a state this browser never started (an attacker's code and state).
    forged = browser.go(f"{upstream}/o/upstream/callback/?code=stolen&state=not-{state}")
    assert forged.status_code == 400 and "省统一身份认证未能完成" in forged.text
    assert audit_entries("oidc.upstream.login", outcome="failure")
    assert not audit_entries("oidc.token")  # no code was ever exchanged
    assert urlsplit(browser.go(f"{upstream}/account/profile/").url).path == "/account/login/"
