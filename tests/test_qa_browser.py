"""The ask page (/_/qa) in Chromium on a live server, as `jiyue serve` answers: ask a question,
see the answers with their sources, rate them 有用, follow a source; no accessibility
violations, nothing refused by the Content-Security-Policy."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.test_public_browser import _axe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CZT = "3400000002"


@pytest.fixture
def served(live_server, province, settings, tmp_path):
    from jiyue.qa import importer
    from tests.publishing_util import serve_published
    from tests.publishing_util import publish
    from tests.test_qa import KB_ROWS, _csv

    settings.JIYUE_PUBLIC_ROOT = tmp_path / "public"
    settings.JIYUE_OUTBOX_LAG_SECONDS = 0
    settings.JIYUE_PUBLISH_AUTORUN = False
    settings.JIYUE_QA_AUTOEMBED = False
    publish()
    importer.import_csv(_csv(KB_ROWS))
    serve_published(live_server, settings.JIYUE_PUBLIC_ROOT)
    return f"http://127.0.0.1:{urlsplit(live_server.url).port}/sites/{CZT}"


def test_ask_see_sources_and_rate_in_chromium(served, browser):
    from jiyue.qa.models import Question

    page = browser.new_context(locale="zh-CN").new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: "Refused" in m.text and errors.append(m.text))

    page.goto(f"{served}/_/qa")
    assert page.locator("h1").inner_text() == "智能问答"
    page.get_by_label("您的问题").fill("住房公积金怎么提取")
    page.get_by_role("button", name="提问").click()
    page.wait_for_selector(".qa-answer")
    first = page.locator(".qa-answer").first
    assert first.locator("h3").inner_text() == "住房公积金怎么提取？"
    assert "职工购买自住住房" in first.inner_text()
    source = first.locator(".qa-source a")
    assert "问答知识" in source.inner_text()
    answered = page.url

    page.get_by_role("button", name="有用").click()
    page.wait_for_selector("text=感谢您的评价")
    assert Question.objects.get().feedback == Question.USEFUL
    assert page.locator(".qa-answer").count() >= 1  # the answers stay in view

    source = page.locator(".qa-answer").first.locator(".qa-source a")
    source.click()
    page.wait_for_selector(".qa-entry")
    assert page.locator(".qa-entry h1").inner_text() == "住房公积金怎么提取？"
    assert "答复单位：安徽省财政厅" in page.locator(".qa-entry").inner_text()
    faq = page.url

    # an unanswerable question: said plainly, with the department's contact
    page.get_by_label("您的问题").fill("火星探测器的发射窗口是什么时候")
    page.get_by_role("button", name="提问").click()
    page.wait_for_selector("text=没有找到确切答案")
    unsure = page.url
    assert errors == []

    # axe-core is injected as an inline script, which the pages' policy refuses: check in a
    # context that bypasses the policy (the pages above ran under it)
    checker = browser.new_context(locale="zh-CN", bypass_csp=True).new_page()
    for url in (f"{served}/_/qa", answered, faq, unsure):
        checker.goto(url)
        assert _axe(checker) == [], url
