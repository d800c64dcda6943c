"""In a real browser (Debian's Chromium, driven by Playwright): an editor writes a policy
document in the admin and submits it, two reviewers approve it, and it is published on the
department site and the portal through the API."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, base, username):
    page.goto(f"{base}/admin/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "Passw0rd!x")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/")


def test_editor_writes_reviewers_approve_published_everywhere(browser, live_server, province, client):
    from jiyue.library import services
    from jiyue.library.models import Placement, PolicyDocument

    base = live_server.url
    # the admin runs under its stated policy (docs/security.md): nothing it does is blocked
    csp_errors = []

    def watch(page):
        page.on("console", lambda m: csp_errors.append(m.text)
                if "Content Security Policy" in m.text else None)

    ctx = browser.new_context(locale="zh-CN")
    page = ctx.new_page()
    watch(page)
    login(page, base, "czt_editor")
    page.goto(f"{base}/admin/snippets/library/policydocument/add/")
    assert "政策文件" in page.content()
    page.fill("input[name=title]", "安徽省财政厅关于加强预算绩效管理的通知")
    page.fill("input[name=doc_number]", "皖财[2026]21号")
    page.fill("input[name=issuing_body]", "安徽省财政厅")
    # an editor of one department has it preselected as the owner
    assert page.locator("select[name=organisation]").input_value() == str(province.orgs["czt"].pk)
    page.fill("input[name=written_on]", "2026-01-12")
    editor = page.locator("[data-field-wrapper] .Draftail-Editor .public-DraftEditor-content").last
    editor.click()
    page.keyboard.insert_text("各市财政局：为加强预算绩效管理，现将有关事项通知如下。")
    # Draftail writes its content to the hidden input a moment later (polled from here: the
    # admin's Content-Security-Policy has no 'unsafe-eval' for Playwright's string predicates)
    for _ in range(100):
        if "预算绩效" in page.locator("input[name=body]").input_value():
            break
        page.wait_for_timeout(50)
    assert "预算绩效" in page.locator("input[name=body]").input_value()
    zcwj = province.column("czt", "zcwj")
    page.select_option("select[name=place_in]", [str(zcwj.pk)])
    page.locator("footer button[type=submit]").first.click()  # 保存草稿
    page.wait_for_load_state("networkidle")
    if "/edit/" not in page.url:
        errors = page.locator(".w-field--error").all_inner_texts()
        raise AssertionError(f"the draft was not saved: {errors}")
    doc = PolicyDocument.objects.get(title="安徽省财政厅关于加强预算绩效管理的通知")
    assert doc.doc_number == "皖财〔2026〕21号" and not doc.live
    assert [p.column_id for p in doc.placements.all()] == [zcwj.pk]
    # "提交审核" sits in the save button's dropdown
    page.locator("footer [data-w-dropdown-target=toggle]").first.click()
    with page.expect_navigation():
        page.locator("button[name=action-submit]").first.click()
    doc.refresh_from_db()
    msgs = page.locator(".messages").all_inner_texts()
    assert doc.workflow_in_progress, f"not submitted: {page.url} {msgs}"
    ctx.close()

    for reviewer, secrecy in (("czt_reviewer1", False), ("czt_reviewer2", True)):
        ctx = browser.new_context(locale="zh-CN")
        page = ctx.new_page()
        watch(page)
        login(page, base, reviewer)
        page.goto(f"{base}/admin/snippets/library/policydocument/edit/{doc.pk}/")
        # a reviewer cannot publish past the review
        assert page.locator("button[name=action-publish]").count() == 0
        page.locator("footer [data-w-dropdown-target=toggle]").first.click()
        if secrecy:  # the final level asks for the 保密审查 confirmation in a dialog
            page.locator("button[data-workflow-action-name=approve]").first.click()
            page.wait_for_selector("input[name=secrecy_confirmed]")
            page.check("input[name=secrecy_confirmed]")
            with page.expect_navigation():
                page.locator("input[name=secrecy_confirmed]").locator(
                    "xpath=ancestor::form").locator("[type=submit]").last.click()
        else:
            with page.expect_navigation():
                page.locator("button[data-workflow-action-name=approve]"
                             ":not([data-workflow-action-modal-url])").click()
        ctx.close()
        doc.refresh_from_db()

    assert doc.live and doc.index_number, "approved at two levels, the document is published"
    assert not csp_errors, csp_errors
    # the portal takes it into its 政策文件 column (shared to all)
    services.place(province.users["portal_editor"], doc, province.column("portal", "zcwj"))
    for site in ("3400000002", "3400000001"):
        r = client.get("/api/v1/resources", {"site": site})
        assert [x["title"] for x in r.json()["results"]] == ["安徽省财政厅关于加强预算绩效管理的通知"]
    assert Placement.objects.filter(resource=doc, state="live").count() == 2
