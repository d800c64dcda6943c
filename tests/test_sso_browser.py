"""Single sign-on in Chromium, on published (static) pages of two sites with different
registrable domains: the login island in the header, one login on the portal, the city site
logged in after one redirect round trip without a form, one logout for both."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

from tests.conftest import CHROMIUM
from tests.test_sso import PASSWORD, two_domains  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def chromium():
    """Like conftest's `browser`, with every host name resolved to 127.0.0.1."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (scripts/test installs it as root)")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync",
            "--host-resolver-rules=MAP * 127.0.0.1"])
        yield b
        b.close()


@pytest.fixture
def served(live_server, two_domains, settings, tmp_path):  # noqa: F811
    """The live server answering as `jiyue serve` does: published files by Host, the
    application for /_/, /account/ and the rest."""
    from tests.publishing_util import publish, serve_published

    settings.JIYUE_PUBLIC_ROOT = tmp_path / "public"
    settings.JIYUE_OUTBOX_LAG_SECONDS = 0
    settings.JIYUE_PUBLISH_AUTORUN = False
    publish()
    serve_published(live_server, settings.JIYUE_PUBLIC_ROOT)
    port = urlsplit(live_server.url).port
    settings.JIYUE_IDP_URL = f"http://localhost:{port}"
    return port


def test_one_login_and_one_logout_across_two_domains_in_chromium(served, chromium):
    from jiyue.identity.services import create_citizen

    user = create_citizen(email="zhang.san@example.cn", password=PASSWORD)
    user.real_name = "张三"
    user.save(update_fields=["real_name"])
    portal, hefei = f"http://www.ah.gov.cn:{served}", f"http://www.hefei.gov.cn:{served}"
    page = chromium.new_context(locale="zh-CN").new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # script errors and anything the Content-Security-Policy refused (no inline script)
    page.on("console", lambda m: "Refused" in m.text and errors.append(m.text))

    island = page.locator(".account-island")
    page.goto(f"{portal}/")
    assert island.locator("a").inner_text() == "登录/注册"
    island.locator("a").click()
    page.wait_for_url(f"http://localhost:{served}/account/login/**")
    page.fill("input[name=identifier]", "zhang.san@example.cn")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{portal}/")
    page.wait_for_selector(".account-island[data-logged-in=true]")
    assert island.locator(".account-name").inner_text() == "张三"

    # the city site: not logged in on its host yet; 登录 comes back without a form
    page.goto(f"{hefei}/")
    assert island.locator("a").inner_text() == "登录/注册"
    navigations = []
    page.on("framenavigated", lambda f: f == page.main_frame and navigations.append(f.url))
    island.locator("a").click()
    page.wait_for_selector(".account-island[data-logged-in=true]")
    assert page.url == f"{hefei}/"
    assert not any("/account/login/" in u for u in navigations)
    assert island.locator(".account-name").inner_text() == "张三"

    # 退出 on the city site ends the portal's session too
    island.locator("button").click()
    page.wait_for_url(f"{hefei}/")
    page.wait_for_selector(".account-island a")
    assert island.locator("a").inner_text() == "登录/注册"
    page.goto(f"{portal}/")
    page.wait_for_timeout(300)
    assert page.locator(".account-island[data-logged-in=true]").count() == 0
    assert island.locator("a").inner_text() == "登录/注册"
    assert errors == []


def test_the_identity_pages_have_no_accessibility_violations(served, chromium):
    from jiyue.identity.services import create_citizen
    from tests.test_public_browser import _axe

    create_citizen(email="li.si@example.cn", password=PASSWORD)
    idp = f"http://localhost:{served}"
    # axe is injected as a script: this context ignores the pages' Content-Security-Policy
    page = chromium.new_context(locale="zh-CN", bypass_csp=True).new_page()
    failures = {}

    def check(name):
        violations = _axe(page)
        if violations:
            failures[name] = violations

    page.goto(f"{idp}/account/login/")
    check("login")
    page.click("button[type=submit]")  # both fields missing: errors shown
    check("login-errors")
    page.goto(f"{idp}/account/register/")
    check("register")
    page.goto(f"{idp}/account/password/reset/")
    check("reset")
    page.goto(f"{idp}/account/login/")
    page.fill("input[name=identifier]", "li.si@example.cn")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{idp}/account/profile/")
    check("profile")
    for path in ("profile/password/", "profile/email/", "profile/delete/", "logout/"):
        page.goto(f"{idp}/account/{path}")
        check(path)
    page.goto(f"http://www.hefei.gov.cn:{served}/_/account/sso/callback?ticket=forged")
    check("site-ticket-refused")
    assert not failures, failures
