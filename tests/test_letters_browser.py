"""A letter from end to end in Chromium: a citizen writes to the governor's mailbox on the portal
(the public form, anonymous), the portal's dispatcher accepts it and routes it to the 财政厅 in
the admin, the 财政厅's handler replies with a reply template, the 财政厅's dispatcher reviews,
approves and publishes it, and the citizen opens the letter with the query code and rates the
reply. Nothing is blocked by the Content-Security-Policy on the way."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PORTAL = "3400000001"


@pytest.fixture
def served(live_server, province, settings, tmp_path):
    from jiyue.letters.models import Mailbox, ReplyTemplate
    from tests.publishing_util import publish, serve_published

    settings.JIYUE_HOME = tmp_path
    settings.JIYUE_PUBLIC_ROOT = tmp_path / "public"
    settings.JIYUE_OUTBOX_LAG_SECONDS = 0
    settings.JIYUE_PUBLISH_AUTORUN = False
    publish()
    serve_published(live_server, settings.JIYUE_PUBLIC_ROOT)
    box = Mailbox.objects.create(organisation=province.orgs["portal"], site=province.sites["portal"],
                                 kind=Mailbox.LEADER, name="省长信箱", leader_name="王省长",
                                 allow_anonymous=True)
    ReplyTemplate.objects.create(organisation=province.orgs["czt"], title="政策咨询答复",
                                 body="您好！感谢您对财政工作的关注。")
    port = urlsplit(live_server.url).port
    return {"admin": f"http://127.0.0.1:{port}", "site": f"http://127.0.0.1:{port}/sites/{PORTAL}",
            "mailbox": box}


def _watch(page, errors, public=False):
    """Anything the Content-Security-Policy refused; on the public pages also script errors.
    (The admin's own side requests can meet a locked table on the threaded SQLite live server.)"""
    page.on("console", lambda m: "Content Security Policy" in m.text and errors.append(m.text))
    if public:
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: "Refused" in m.text and errors.append(m.text))


def _staff(browser, base, username, errors):
    ctx = browser.new_context(locale="zh-CN")
    page = ctx.new_page()
    _watch(page, errors)
    page.goto(f"{base}/admin/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "Passw0rd!x")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    return ctx, page


def _open_letter(page, base, title):
    page.goto(f"{base}/admin/letters/")
    page.get_by_role("link", name=title).first.click()
    page.wait_for_selector(".letters-actions")


def test_citizen_writes_staff_route_reply_review_publish_citizen_rates(served, browser, province):
    from jiyue.letters.models import Letter

    errors: list[str] = []
    site, base = served["site"], served["admin"]
    title = "关于小微企业减税政策的咨询"

    # the citizen writes to the governor's mailbox
    citizen = browser.new_context(locale="zh-CN").new_page()
    _watch(citizen, errors, public=True)
    citizen.goto(f"{site}/_/letters/new?mailbox={served['mailbox'].pk}")
    citizen.select_option("select[name=type]", "consult")
    citizen.fill("input[name=title]", title)
    citizen.fill("textarea[name=content]", "请问小微企业2026年还能享受增值税减免吗？需要到哪里申请？")
    citizen.fill("input[name=name]", "孙女士")
    citizen.fill("input[name=phone]", "13905510000")
    citizen.check("input[name=anonymous]")
    citizen.check("input[name=consent_publish]")
    citizen.get_by_role("button", name="提交").click()
    citizen.wait_for_selector("#query-code")
    code = citizen.locator("#query-code").inner_text().strip()
    letter = Letter.objects.get(query_code=code)
    assert letter.title == title and letter.status == "submitted"

    # the portal's dispatcher accepts it and routes it to the 财政厅
    ctx, page = _staff(browser, base, "portal_dispatcher", errors)
    _open_letter(page, base, title)
    with page.expect_navigation():
        page.locator("#act-accept button").click()
    page.select_option("#act-assign select[name=assign-to_organisation]", str(province.orgs["czt"].pk))
    with page.expect_navigation():
        page.locator("#act-assign button").click()
    assert "已转办至安徽省财政厅" in page.locator(".messages").inner_text()
    ctx.close()
    letter.refresh_from_db()
    assert letter.status == "handling" and letter.organisation == province.orgs["czt"]

    # the 财政厅's handler replies, starting from a reply template
    ctx, page = _staff(browser, base, "czt_handler", errors)
    _open_letter(page, base, title)
    page.select_option("#pick-template select", label="政策咨询答复")
    with page.expect_navigation():
        page.locator("#pick-template button").click()
    reply = page.locator("#act-draft textarea")
    assert reply.input_value().startswith("您好！感谢您对财政工作的关注。")
    reply.fill(reply.input_value() + "小微企业2026年继续享受增值税减免，无需申请，申报时直接享受。")
    with page.expect_navigation():
        page.locator("#act-draft button").click()
    ctx.close()
    letter.refresh_from_db()
    assert letter.status == "reviewing"

    # the 财政厅's dispatcher reviews, approves and publishes
    ctx, page = _staff(browser, base, "czt_dispatcher", errors)
    _open_letter(page, base, title)
    assert "无需申请" in page.locator("#act-approve textarea").input_value()
    with page.expect_navigation():
        page.locator("#act-approve button").click()
    with page.expect_navigation():
        page.locator("#act-publish button").click()
    assert "已公开" in page.locator(".messages").inner_text()
    ctx.close()
    letter.refresh_from_db()
    assert letter.status == "replied" and letter.published

    # the citizen reads the reply with the query code and rates it
    citizen.goto(f"{site}/_/letters/q/{code}")
    assert "无需申请" in citizen.content()
    citizen.check("input[name=rating][value=satisfied]")
    citizen.get_by_role("button", name="提交评价").click()
    citizen.wait_for_selector("#letter-rating")
    assert "满意" in citizen.locator("#letter-rating").inner_text()
    letter.refresh_from_db()
    assert letter.rating == "satisfied" and letter.status == "closed"
    assert errors == []
