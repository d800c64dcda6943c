"""The static publisher: pages, national page rules, feeds, sitemaps, incremental updates."""

from __future__ import annotations

import re
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from tests.publishing_util import (check_siblings, make_article, make_guide, page, publish, store,
                                   snapshot)

SCHEMAS = Path(__file__).parent / "schemas"
PORTAL, CZT, JYT = "3400000001", "3400000002", "3400000003"


@pytest.fixture
def public(settings, tmp_path):
    settings.JIYUE_PUBLIC_ROOT = tmp_path / "public"
    settings.JIYUE_OUTBOX_LAG_SECONDS = 0
    settings.JIYUE_PUBLISH_AUTORUN = False
    return settings.JIYUE_PUBLIC_ROOT


def metas(html: str) -> dict[str, str]:
    return dict(re.findall(r'<meta name="([^"]+)" content="([^"]*)"', html))


def validate(xml: bytes, schema: str) -> None:
    xsd = etree.XMLSchema(etree.parse(str(SCHEMAS / schema)))
    doc = etree.fromstring(xml)
    assert xsd.validate(doc), xsd.error_log


def test_every_site_gets_home_columns_details_feeds_and_sitemap(province, make_policy, public):
    doc = make_policy(publish=True)
    art = make_article(province)
    guide = make_guide(province)
    publish()
    czt = public / CZT
    for path in ["index.html", "404.html", "robots.txt", "rss.xml", "atom.xml", "sitemap.xml",
                 "map/index.html", "search/index.html", "bmdt/index.html", "zcwj/index.html",
                 "xxgk/index.html", "xxgk/fdzdgk/index.html", "bsfw/index.html",
                 f"content/{doc.pk}.html", f"content/{art.pk}.html", f"content/{guide.pk}.html",
                 "bmdt/rss.xml", "bmdt/atom.xml"]:
        assert (czt / path).is_file(), path
        if path.endswith((".html", ".xml", ".txt")):
            assert (czt / (path + ".gz")).is_file() and (czt / (path + ".br")).is_file()
    check_siblings(public)
    # every site answers on its domain and local host through the host links
    assert (public / "_hosts" / "czt.ah.gov.cn").resolve() == czt.resolve()
    assert (public / "_hosts" / f"{CZT}.localhost").resolve() == czt.resolve()
    # the portal and the other department have their own trees, without czt's items
    assert (public / PORTAL / "index.html").is_file()
    assert not (public / JYT / f"content/{art.pk}.html").exists()


def test_pages_follow_the_national_rules(province, make_policy, public):
    doc = make_policy(publish=True, keywords="预算,编制", source="安徽省财政厅办公室")
    art = make_article(province)
    publish()
    home = page(public, CZT, "index.html")
    m = metas(home)
    assert m["SiteName"] == "安徽省财政厅" and m["SiteDomain"] == "czt.ah.gov.cn"
    assert m["SiteIDCode"] == CZT
    column = page(public, CZT, "zcwj/index.html")
    m = metas(column)
    assert m["ColumnName"] == "政策文件" and m["ColumnType"] == "信息发布"
    assert m["ColumnDescription"] and m["ColumnKeywords"]
    detail = page(public, CZT, f"content/{doc.pk}.html")
    m = metas(detail)
    assert m["ArticleTitle"] == doc.title
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", m["PubDate"])
    assert m["ContentSource"] == "安徽省财政厅办公室" and m["Keywords"] == "预算,编制"
    assert m["Url"] == f"https://czt.ah.gov.cn/content/{doc.pk}.html"
    for key in ("Author", "Description", "Image"):
        assert key in m
    # the footer on every kind of page
    for html in (home, column, detail, page(public, CZT, f"content/{art.pk}.html"),
                 page(public, CZT, "404.html")):
        assert "主办单位：安徽省财政厅" in html and "承办单位：安徽省数据资源管理局" in html
        assert f"网站标识码：{CZT}" in html
        assert '<a href="https://beian.miit.gov.cn/" rel="noopener">皖ICP备05001234号</a>' in html
        assert "registerSystemInfo?recordcode=34010402700001" in html
        assert "党政机关网站标识" in html and "我为政府网站找错" in html
        assert 'lang="zh-CN"' in html and "http://" not in html.replace("http://www.w3.org", "")
        # no external requests: every src and stylesheet is local (relative)
        for url in re.findall(r'(?:src|<link rel="stylesheet" href)="([^"]+)"', html):
            assert not url.startswith(("http", "//")), url
    # dates and times in the national format; every item shows its publish time
    assert re.search(r"<time datetime=\"\d{4}-\d{2}-\d{2}\">\d{4}-\d{2}-\d{2}</time>", column)
    assert "发布时间：" in detail
    # the disclosure metadata table
    for label in ("索引号", "发布机构", "文号", "成文日期", "发布日期", "主题分类", "有效性"):
        assert f'<th scope="row">{label}</th>' in detail
    assert doc.index_number in detail and "皖财〔2026〕12号" in detail


def test_service_guide_page_lists_every_element(province, public):
    guide = make_guide(province)
    publish()
    html = page(public, CZT, f"content/{guide.pk}.html")
    for label in ("设定依据", "受理机构", "办理对象", "申请条件", "办理材料", "办理流程", "办理地点",
                  "办理时间", "法定办结时限", "收费标准及依据", "咨询电话", "监督投诉电话", "网上办理入口"):
        assert f'<th scope="row">{label}</th>' in html, label
    assert "0551-12345679" in html and 'href="https://www.ahzwfw.gov.cn/"' in html


def test_policy_and_interpretation_link_each_other(province, make_policy, public):
    from jiyue.library.models import Interpretation

    doc = make_policy(publish=True)
    publish()
    i = store(Interpretation(organisation=province.orgs["czt"], title="一图读懂预算编制通知",
                             interprets=doc, body="<p>解读</p>", live=False),
              province.column("czt", "zcjd"))
    publish()
    policy_page = page(public, CZT, f"content/{doc.pk}.html")
    assert "相关解读" in policy_page and f'href="{i.pk}.html"' not in policy_page
    assert f'href="../content/{i.pk}.html"' in policy_page
    interp_page = page(public, CZT, f"content/{i.pk}.html")
    assert "相关文件" in interp_page and f'href="../content/{doc.pk}.html"' in interp_page
    # the policy's title changes: the interpretation's page follows
    doc.title = "关于做好2026年度省级预算编制工作的通知"
    doc.save_revision().publish()
    publish()
    assert doc.title in page(public, CZT, f"content/{i.pk}.html")


def test_resource_on_another_site_names_the_owner_page_canonical(province, public):
    from jiyue.library import services

    art = make_article(province)
    services.attach(art, province.column("portal", "bmdt"))
    publish()
    portal_page = page(public, PORTAL, f"content/{art.pk}.html")
    assert f'<link rel="canonical" href="https://czt.ah.gov.cn/content/{art.pk}.html">' in portal_page
    assert "rel=\"canonical\"" not in page(public, CZT, f"content/{art.pk}.html")
    assert art.title in page(public, PORTAL, "bmdt/index.html")


def test_feeds_parse_and_sitemaps_validate(province, make_policy, public):
    make_policy(publish=True)
    art = make_article(province)
    publish()
    for path in ("rss.xml", "atom.xml", "bmdt/rss.xml", "bmdt/atom.xml"):
        feed = feedparser.parse((public / CZT / path).read_bytes())
        assert not feed.bozo, (path, feed.bozo_exception)
        titles = [e.title for e in feed.entries]
        assert art.title in titles or path.startswith("zcwj")
        assert feed.entries[0].link.startswith("https://czt.ah.gov.cn/content/")
    validate((public / CZT / "sitemap.xml").read_bytes(), "sitemap.xsd")
    locs = re.findall(r"<loc>([^<]+)</loc>", page(public, CZT, "sitemap.xml"))
    assert f"https://czt.ah.gov.cn/content/{art.pk}.html" in locs
    assert "https://czt.ah.gov.cn/bmdt/" in locs


def test_large_site_gets_a_sitemap_index(province, public, monkeypatch):
    from jiyue.publishing import pages

    monkeypatch.setattr(pages, "CHUNK", 2)
    from jiyue.publishing import engine

    monkeypatch.setattr(engine, "CHUNK", 2)
    arts = [make_article(province, title=f"动态{i}") for i in range(5)]
    publish()
    index = (public / CZT / "sitemap.xml").read_bytes()
    validate(index, "siteindex.xsd")
    maps = re.findall(rb"<loc>https://czt.ah.gov.cn/([^<]+)</loc>", index)
    assert b"sitemap-pages.xml" in maps and len(maps) >= 3
    urls = set()
    for m in maps:
        xml = (public / CZT / m.decode()).read_bytes()
        validate(xml, "sitemap.xsd")
        urls |= set(re.findall(rb"content/(\d+)\.html", xml))
    assert urls == {str(a.pk).encode() for a in arts}


def test_new_item_touches_only_the_first_and_newest_list_pages(province, public):
    from jiyue.publishing import pages

    for i in range(pages.PAGE_SIZE * 2 + 3):
        make_article(province, title=f"第{i}条动态")
    publish()
    col = public / CZT / "bmdt"
    assert {p.name for p in col.glob("list-*.html")} == {"list-1.html", "list-2.html", "list-3.html"}
    before = snapshot(public / CZT)
    new = make_article(province, title="最新一条动态")
    [stats] = publish()
    after = snapshot(public / CZT)
    changed = {k for k in after if before.get(k) != after[k]}
    changed = {k[:-3] if k.endswith((".gz", ".br")) else k for k in changed}
    assert changed == {"index.html", "bmdt/index.html", "bmdt/list-3.html", "bmdt/rss.xml",
                       "bmdt/atom.xml", "rss.xml", "atom.xml", "sitemap.xml",
                       f"content/{new.pk}.html"}
    assert "最新一条动态" in page(public, CZT, "bmdt/list-3.html")
    assert "第0条动态" in page(public, CZT, "bmdt/list-1.html")


def test_an_edit_rerenders_exactly_the_pages_that_show_the_item(province, public):
    from jiyue.publishing import pages

    arts = [make_article(province, title=f"第{i}条动态") for i in range(pages.PAGE_SIZE + 5)]
    publish()
    old = arts[0]  # on list-1 only (not on the first page, the home page or the feeds)
    old.title = "更正后的标题"
    old.save_revision().publish()
    [stats] = publish()
    written = {p for p in stats.paths_written} - {"sitemap.xml"}  # lastmod: same second or not
    assert written == {"bmdt/list-1.html", f"content/{old.pk}.html"}
    assert "更正后的标题" in page(public, CZT, "bmdt/list-1.html")


def test_withdrawn_content_disappears_everywhere(province, public):
    from jiyue.library import services

    art = make_article(province, title="即将撤下的动态")
    services.attach(art, province.column("portal", "bmdt"))
    services.attach(art, province.column("jyt", "bmdt"))
    publish()
    for code in (CZT, PORTAL, JYT):
        assert (public / code / f"content/{art.pk}.html").exists()
    services.withdraw_resource(province.users["czt_publisher"], art)
    publish()
    for code in (CZT, PORTAL, JYT):
        assert not (public / code / f"content/{art.pk}.html").exists()
        tree = snapshot(public / code)
        for path, data in tree.items():
            if path.endswith((".html", ".xml")):
                assert "即将撤下的动态".encode() not in data, (code, path)
                assert f"content/{art.pk}.html".encode() not in data, (code, path)


def test_withdrawing_one_placement_removes_it_from_that_site_only(province, public):
    from jiyue.library import services
    from jiyue.library.models import Placement

    art = make_article(province)
    services.attach(art, province.column("portal", "bmdt"))
    publish()
    p = Placement.objects.get(resource=art, site=province.sites["portal"])
    services.withdraw_placement(province.users["portal_site_admin"], p)
    publish()
    assert not (public / PORTAL / f"content/{art.pk}.html").exists()
    assert art.title not in page(public, PORTAL, "bmdt/index.html")
    assert (public / CZT / f"content/{art.pk}.html").exists()


def test_output_is_deterministic_and_rebuild_writes_nothing(province, make_policy, public):
    from jiyue.publishing import engine

    make_policy(publish=True)
    make_article(province)
    publish()
    first = snapshot(public)
    stats = engine.run_full()
    assert sum(s.written for s in stats) == 0
    assert snapshot(public) == first


def test_site_setting_change_rebuilds_that_site(province, public):
    make_article(province)
    publish()
    site = province.sites["czt"]
    site.phone = "0551-62998888"
    site.save()
    publish()
    assert "电话：0551-62998888" in page(public, CZT, "bmdt/index.html")
    assert "0551-62998888" not in page(public, JYT, "index.html")


def test_column_rename_and_move(province, public):
    art = make_article(province)
    publish()
    col = province.column("czt", "bmdt").specific
    col.title = "财政动态"
    col.save_revision().publish()
    publish()
    assert "财政动态" in page(public, CZT, "index.html")
    assert "财政动态" in page(public, CZT, f"content/{art.pk}.html")
    # moved under 信息公开: the list moves, the detail URL does not
    col.move(province.column("czt", "xxgk"), pos="last-child")
    publish()
    assert not (public / CZT / "bmdt" / "index.html").exists()
    assert art.title in page(public, CZT, "xxgk/bmdt/index.html")
    assert (public / CZT / f"content/{art.pk}.html").exists()


def test_theme_change_rebuilds_sites(province, public, monkeypatch):
    from jiyue.publishing import engine
    from jiyue.web import theme

    make_article(province)
    publish()
    monkeypatch.setattr(theme, "version", lambda name="default": "changed-theme")
    engine.mark(CZT, "r:0")  # any work at all: the run notices the theme and rebuilds
    [stats] = engine.run_pending()
    assert stats.full


def test_search_page_is_rendered_in_the_site_theme(province, client, public):
    art = make_article(province, title="财政资金直达基层")
    publish()
    r = client.get("/_/search", {"q": "直达"}, HTTP_HOST="czt.ah.gov.cn")
    html = r.content.decode()
    assert r.status_code == 200 and "安徽省财政厅" in html and "网站标识码：3400000002" in html
    assert f'href="../content/{art.pk}.html"' in html
    assert 'href="../assets/site.' in html
    r = client.get("/_/search", {"q": "直达"}, HTTP_HOST="localhost", HTTP_X_JIYUE_SITE=JYT)
    assert "安徽省教育厅" in r.content.decode() and art.title not in r.content.decode()
    assert client.get("/_/search", HTTP_HOST="unknown.gov.cn").status_code == 404


def test_publish_command_shows_progress(province, public, capsys):
    from django.core.management import call_command

    make_article(province)
    call_command("publish", "--full", "--site", CZT)
    out = capsys.readouterr()
    assert "全量" in out.out and CZT in out.err and "100%" in out.err


def test_full_rebuild_repairs_a_damaged_tree(province, public):
    from jiyue.publishing import engine

    art = make_article(province)
    publish()
    good = snapshot(public)
    (public / CZT / f"content/{art.pk}.html").unlink()
    (public / CZT / "index.html.br").unlink()
    (public / CZT / "bmdt/index.html").write_text("defaced", encoding="utf-8")
    (public / CZT / "stray.html").write_text("left over", encoding="utf-8")
    engine.run_full(CZT)
    assert snapshot(public) == good


def test_site_colour_and_logo(province, public):
    import io

    from django.core.exceptions import ValidationError
    from django.core.files.images import ImageFile
    from PIL import Image as PILImage
    from wagtail.images.models import Image

    site = province.sites["czt"]
    site.colour = "#ffcc00"  # white text on it would be unreadable
    with pytest.raises(ValidationError, match="对比度"):
        site.full_clean()
    buf = io.BytesIO()
    PILImage.new("RGB", (200, 80), (200, 30, 30)).save(buf, "PNG")
    site.logo = Image.objects.create(title="财政厅标志", file=ImageFile(buf, name="logo.png"))
    site.colour = "#0b4a8b"
    site.full_clean()
    site.save()
    art = make_article(province)
    publish()
    for path in ("index.html", f"content/{art.pk}.html", "xxgk/fdzdgk/index.html"):
        html = page(public, CZT, path)
        # the colour comes from a stylesheet of the site's own (no inline style: the CSP)
        css = re.search(r'<link rel="stylesheet" href="([^"]*assets/main\.[0-9a-f]{6}\.css)"', html).group(1)
        assert (public / CZT / path).parent.joinpath(css).resolve().read_text() == ":root{--main:#0b4a8b}\n"
        assert "<style" not in html and " style=" not in html
        logo = re.search(r'<img class="logo" src="([^"]+)"', html).group(1)
        assert (public / CZT / path).parent.joinpath(logo).resolve().is_file()
    site.logo = None
    site.save()
    publish()
    assert "logo" not in page(public, CZT, "index.html").split("</header>")[0].replace("site-name", "")
    assert not list((public / CZT / "files").glob("*.png"))


def test_renaming_a_column_below_the_navigation_rerenders_only_its_pages(province, make_policy,
                                                                           public):
    doc = make_policy(publish=True, place=("fdzdgk",))
    other = make_article(province)
    publish()
    col = province.column("czt", "fdzdgk").specific
    col.title = "法定主动公开"
    col.save_revision().publish()
    [stats] = publish()
    assert not stats.full
    assert set(stats.paths_written) == {
        "index.html", "map/index.html", "xxgk/index.html", "xxgk/fdzdgk/index.html",
        "xxgk/fdzdgk/rss.xml", "xxgk/fdzdgk/atom.xml", f"content/{doc.pk}.html"}
    assert f"content/{other.pk}.html" not in stats.paths_written
    assert "法定主动公开" in page(public, CZT, f"content/{doc.pk}.html")
    # moved to another section: new address, the old one gone, the item's page follows
    col.move(province.column("czt", "hdjl"), pos="last-child")
    [stats] = publish()
    assert not stats.full
    assert (public / CZT / "hdjl/fdzdgk/index.html").exists()
    assert not (public / CZT / "xxgk/fdzdgk").exists()
    assert 'href="../hdjl/fdzdgk/"' in page(public, CZT, f"content/{doc.pk}.html")


def test_the_platform_root_leads_to_the_portal(province, client, db):
    r = client.get("/", HTTP_HOST="localhost")
    assert r.status_code == 302 and r["Location"] == "/sites/3400000001/"


def test_the_root_without_any_site_is_the_admin(client, db):
    r = client.get("/", HTTP_HOST="localhost")
    assert r.status_code == 302 and r["Location"] == "/admin/"


def test_home_page_shows_no_empty_column_blocks(province, public):
    make_article(province)
    publish()
    home = page(public, CZT, "index.html")
    assert "厅领导调研基层财政工作" in home
    assert "本栏目暂无信息" not in home
    assert "本栏目暂无信息" in page(public, CZT, "zcjd/index.html")  # the column page says so
