"""A department editor walks every admin page they can reach and sees nothing of another
department that is not public and shared."""

import re
from collections import deque

import pytest
from django.urls import reverse

from jiyue.library.models import PolicyDocument

# plain links, and the sidebar menu, which Wagtail renders as JSON ("url": "/admin/...")
LINK = re.compile(r'(?:href="|&quot;url&quot;: &quot;|"url": ")(/admin/[^"#?&]*)')
SKIP = ("/admin/logout/", "/admin/account/", "/admin/jsi18n/")


def crawl(client, start="/admin/", limit=250):
    seen, queue, pages = set(), deque([start]), {}
    while queue and len(seen) < limit:
        url = queue.popleft()
        if url in seen or url.startswith(SKIP):
            continue
        seen.add(url)
        r = client.get(url)
        pages[url] = r
        if r.status_code == 200 and "html" in r.get("Content-Type", ""):
            for link in LINK.findall(r.content.decode()):
                if link not in seen and "/delete/" not in link and "/unpublish/" not in link:
                    queue.append(link)
    return pages


def test_department_editor_sees_nothing_of_another_department(client, province, make_policy):
    draft = make_policy(title="财政厅内部草稿甲")
    unshared = make_policy(title="财政厅不予共享乙", sharing="none", doc_number="皖财〔2026〕60号", publish=True)
    shared = make_policy(title="财政厅公开共享丙", doc_number="皖财〔2026〕61号", publish=True)
    own = make_policy(org="jyt", title="教育厅自己的文件", doc_number="皖教〔2026〕2号")
    client.force_login(province.users["jyt_editor"])
    pages = crawl(client)
    ok = [u for u, r in pages.items() if r.status_code == 200]
    assert len(ok) > 20, "the crawl should reach the editor's admin"
    for url, r in pages.items():
        assert r.status_code < 500, url
        text = r.content.decode(errors="ignore")
        for forbidden in ("财政厅内部草稿甲", "财政厅不予共享乙", "czt_editor", "czt.ah.gov.cn"):
            assert forbidden not in text, f"{forbidden} visible at {url}"
    assert any("教育厅自己的文件" in r.content.decode(errors="ignore") for r in pages.values())
    # searching the admin does not find them either
    for url in ("/admin/search/", "/admin/snippets/library/policydocument/"):
        for scope in ("", "shared", "placed", "own"):
            text = client.get(url, {"q": "财政厅", "scope": scope}).content.decode()
            assert "财政厅内部草稿甲" not in text and "财政厅不予共享乙" not in text, (url, scope)
    # direct URLs of another department's objects
    vs = "wagtailsnippets_library_policydocument"
    for name in ("edit", "history", "usage", "delete", "inspect"):
        for obj in (draft, unshared):
            assert client.get(reverse(f"{vs}:{name}", args=[obj.pk])).status_code == 404, name
        # a published, shared resource is public: read-only views open, writes refused
        r = client.get(reverse(f"{vs}:{name}", args=[shared.pk]))
        # (Wagtail answers a refused admin page with a redirect to the dashboard and a message)
        assert r.status_code in (({302, 403}) if name in ("edit", "delete") else {200}), name
    r = client.post(reverse(f"{vs}:edit", args=[shared.pk]), {"title": "篡改"})
    assert r.status_code in (403, 302)
    shared.refresh_from_db()
    assert shared.title == "财政厅公开共享丙"
    site = province.sites["czt"]
    assert client.get(f"/admin/pages/{site.home.pk}/").status_code in (302, 403, 404)
    assert client.get(reverse("wagtailadmin_explore", args=[site.home.pk])).status_code in (302, 403, 404)


def test_library_lists_own_resources_first_and_the_shared_catalogue_on_request(client, province, make_policy):
    make_policy(title="财政厅公开共享文件", publish=True)
    make_policy(org="jyt", title="教育厅自己的草稿", doc_number="皖教〔2026〕5号")
    client.force_login(province.users["jyt_editor"])
    url = "/admin/snippets/library/policydocument/"
    own = client.get(url).content.decode()
    assert "教育厅自己的草稿" in own and "财政厅公开共享文件" not in own
    found = client.get(url, {"q": "自己的草稿"}).content.decode()
    assert "教育厅自己的草稿" in found
    shared = client.get(url, {"scope": "shared"}).content.decode()
    assert "财政厅公开共享文件" in shared and "教育厅自己的草稿" not in shared


def test_editor_cannot_create_resources_for_another_organisation(client, province):
    client.force_login(province.users["czt_editor"])
    r = client.post("/admin/snippets/library/article/add/", {
        "organisation": province.orgs["jyt"].pk, "title": "冒名发布", "article_type": "news",
        "body": '{"blocks": [{"key": "a", "text": "x", "type": "unstyled", "depth": 0, '
                '"inlineStyleRanges": [], "entityRanges": []}], "entityMap": {}}',
        "sharing": "all", "disclosure": "active"})
    assert r.status_code == 200 and "选择一个有效的选项" in r.content.decode()
    from jiyue.library.models import Resource

    assert not Resource.objects.filter(title="冒名发布").exists()


def test_publishers_take_items_down_and_editors_cannot_delete_what_is_published(client, province):
    """The admin's unpublish and delete buttons follow the library's rules: the publisher withdraws
    a published item; an editor may not delete it while it is on the sites."""
    from jiyue.audit.models import AuditEntry
    from tests.publishing_util import make_article

    article = make_article(province, title="已发布的工作动态")
    vs = "wagtailsnippets_library_article"
    client.force_login(province.users["czt_editor"])
    r = client.post(reverse(f"{vs}:delete", args=[article.pk]))
    article.refresh_from_db()
    assert article.live and r.status_code in (302, 403)
    assert AuditEntry.objects.filter(actor=province.users["czt_editor"], outcome="denied").exists()

    client.force_login(province.users["czt_publisher"])
    assert client.post(reverse(f"{vs}:unpublish", args=[article.pk])).status_code == 302
    article.refresh_from_db()
    assert not article.live

    client.force_login(province.users["czt_editor"])
    client.post(reverse(f"{vs}:delete", args=[article.pk]))
    assert not type(article).objects.filter(pk=article.pk).exists()
