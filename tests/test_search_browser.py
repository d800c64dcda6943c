"""Search in Chromium, as a citizen does it: on a published page of a department site, type in
the header's search box (completion offers words, also for pinyin), see highlighted results,
click a facet, go to page 2, follow a result; the results page is axe-core clean and keyboard
usable; no script error and nothing the Content-Security-Policy refused."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.test_public_browser import _axe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CZT = "3400000002"


@pytest.fixture
def served(live_server, province, settings, tmp_path):
    """A published and indexed department site behind the live server, answering as
    `jiyue serve` does (files for /sites/<code>/…, the application for /sites/<code>/_/…)."""
    from jiyue.library import services
    from jiyue.search import replica
    from tests.publishing_util import serve_published
    from tests.publishing_util import make_article, publish

    settings.JIYUE_PUBLIC_ROOT = tmp_path / "public"
    settings.JIYUE_OUTBOX_LAG_SECONDS = 0
    settings.JIYUE_PUBLISH_AUTORUN = False
    settings.JIYUE_RATE_LIMIT_EXEMPT = ["127.0.0.1"]
    for i in range(14):
        make_article(province, title=f"社会保险经办服务动态（第{i + 1}期）",
                     summary="各地社会保险经办机构优化服务流程，方便群众办理社保业务。")
    make_article(province, title="住房公积金提取办法调整说明")
    shared = make_article(province, org="jyt", title="高校毕业生社保补贴申领指南",
                          summary="毕业生可申领社会保险补贴。")
    services.attach(shared, province.column("czt", "bmdt"))
    publish()
    replica.sync()
    serve_published(live_server, settings.JIYUE_PUBLIC_ROOT)
    return f"http://127.0.0.1:{urlsplit(live_server.url).port}/sites/{CZT}/"


def test_search_from_a_published_page(served, browser):
    page = browser.new_context(locale="zh-CN").new_page()
    # axe-core is injected as an inline script: it runs in a second context that ignores the
    # Content-Security-Policy, on the same URLs (the first context keeps the policy enforced)
    checker = browser.new_context(locale="zh-CN", bypass_csp=True).new_page()

    def axe(url):
        checker.goto(url)
        return _axe(checker)

    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: ("Refused" in m.text or "Content Security Policy" in m.text)
            and errors.append(m.text))
    page.goto(served)
    box = page.locator("header form.search input[name=q]")
    # completion: pinyin initials of a word offer the word
    box.fill("gjj")
    option = page.locator("header .suggest-list [role=option]").first
    option.wait_for()
    assert "公积金" in page.locator("header .suggest-list").inner_text()
    assert box.get_attribute("aria-expanded") == "true"
    box.press("Escape")
    # a search from the header box
    box.fill("社保")
    box.press("Enter")
    page.wait_for_url("**/_/search?q=*")
    assert page.locator(".count").inner_text().startswith("共找到 15 条结果")
    assert "已同时搜索：社会保险" in page.locator(".expanded").inner_text()
    assert page.locator(".search-hits li").count() == 10
    assert page.locator(".search-hits .hit-title em").count() >= 10
    assert page.evaluate("getComputedStyle(document.querySelector('.search-hits em')).fontWeight") == "700"
    assert axe(page.url) == []
    # a facet: only the department's own items (文章 by 安徽省财政厅)
    page.locator(".facets a", has_text="安徽省财政厅").click()
    page.wait_for_load_state()
    assert page.locator(".count").inner_text().startswith("共找到 14 条结果")
    assert page.locator(".active-filters").count() == 1
    # page 2, by keyboard: focus the link and press Enter
    page.locator(".pager a[rel=next]").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**page=2*")
    assert page.locator(".search-hits li").count() == 4
    assert page.locator(".pager [aria-current=page]").inner_text() == "2"
    assert axe(page.url) == []
    # follow a result to its published page
    first = page.locator(".search-hits .hit-title a").first
    title = first.inner_text()
    first.click()
    page.wait_for_url("**/content/*.html")
    assert page.locator("h1").inner_text() == title
    # nothing found: help, and the way to the whole platform
    page.goto(served + "_/search?q=%E7%81%AB%E6%98%9F%E6%8E%A2%E6%B5%8B")
    assert "在全平台所有网站中搜索" in page.locator("main").inner_text()
    assert axe(page.url) == []
    assert errors == []
