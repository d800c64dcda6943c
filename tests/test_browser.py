"""In a real browser (Debian's Chromium, driven by Playwright): an editor writes a policy
document in the admin and saves it; two reviewers approve it; it is published on the
department site and the portal through the API."""

import os
import shutil

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (scripts/test installs it as root)")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"])
        yield b
        b.close()


def login(page, base, username):
    page.goto(f"{base}/admin/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "Passw0rd!x")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/")


def test_editor_writes_in_admin_then_reviewed_and_published_everywhere(browser, live_server, province, client):
    from jiyue.library import services
    from jiyue.library.models import Placement, PolicyDocument

    base = live_server.url
    ctx = browser.new_context(locale="zh-CN")
    page = ctx.new_page()
    login(page, base, "czt_editor")
    page.goto(f"{base}/admin/snippets/library/policydocument/add/")
    assert "政策文件" in page.content()
    page.fill("input[name=title]", "安徽省财政厅关于加强预算绩效管理的通知")
    page.fill("input[name=doc_number]", "皖财[2026]21号")
    page.fill("input[name=issuing_body]", "安徽省财政厅")
    page.select_option("select[name=organisation]", str(province.orgs["czt"].pk))
    page.fill("input[name=written_on]", "2026-01-12")
    page.click(".Draftail-Editor .public-DraftEditor-content")
    page.keyboard.type("各市财政局：为加强预算绩效管理，现将有关事项通知如下。")
    page.locator("footer button[type=submit]").first.click()  # 保存草稿
    page.wait_for_load_state("networkidle")
    if "/edit/" not in page.url:
        errors = page.locator(".w-field--error").all_inner_texts()
        raise AssertionError(f"the draft was not saved: {errors}")
    doc = PolicyDocument.objects.get(title="安徽省财政厅关于加强预算绩效管理的通知")
    assert not doc.live
    ctx.close()
    # Review: submission and the two approvals go through Wagtail's workflow actions (the same
    # calls the admin buttons make). Driving those buttons in the browser is the next step.
    services.place(province.users["czt_editor"], doc, province.column("czt", "zcwj"))
    doc.get_workflow().start(doc, province.users["czt_editor"])
    for reviewer in ("czt_reviewer1", "czt_reviewer2"):
        ts = doc.current_workflow_state.current_task_state
        ts.task.specific.on_action(ts, province.users[reviewer], "approve")
        doc.refresh_from_db()
    assert doc.live and doc.index_number, "approved at two levels, the document is published"
    # the portal takes it into its 政策文件 column (shared to all)
    services.place(province.users["portal_editor"], doc, province.column("portal", "zcwj"))
    for site in ("3400000002", "3400000001"):
        r = client.get("/api/v1/resources", {"site": site})
        assert [x["title"] for x in r.json()["results"]] == ["安徽省财政厅关于加强预算绩效管理的通知"]
    assert Placement.objects.filter(resource=doc, state="live").count() == 2
