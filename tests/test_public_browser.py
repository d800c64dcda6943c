"""Published pages in Chromium: zero axe-core violations (WCAG 2.1 AA) on every page type of
the portal and a department site, keyboard use, the 关怀版 (elder mode) switch, 360 px
screens, no external requests, and pages that work without JavaScript."""

from __future__ import annotations

import functools
import io
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.publishing_util import make_article, make_guide, publish, store

pytestmark = [pytest.mark.browser]
AXE = os.environ.get("JIYUE_AXE_JS", str(Path(__file__).resolve().parent.parent
                                         / ".cache/axe-core-4.11.0/axe.min.js"))
PORTAL, CZT = "3400000001", "3400000002"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def demo_pages(province, make_policy, settings, tmp_path):
    """A published province with every kind of page, served over HTTP from the files alone."""
    from django.core.files.images import ImageFile
    from PIL import Image as PILImage
    from wagtail.documents.models import Document
    from wagtail.images.models import Image

    from jiyue.library.models import FileResource, ImageResource, Interpretation, LinkResource

    settings.JIYUE_PUBLIC_ROOT = tmp_path / "public"
    settings.JIYUE_OUTBOX_LAG_SECONDS = 0
    settings.JIYUE_PUBLISH_AUTORUN = False
    ids = {}
    for org in ("czt", "portal"):
        doc = make_policy(org=org, publish=True, title=f"关于进一步优化营商环境的若干措施（{org}）",
                          place=("zcwj", "fdzdgk"), doc_number="皖政〔2026〕8号" if org == "portal" else "皖财〔2026〕12号",
                          summary="从市场准入、政务服务等方面提出二十条措施。", keywords="营商环境,政务服务")
        interp = store(Interpretation(organisation=province.orgs[org], title="图解：优化营商环境二十条",
                                      interprets=doc, body="<p>一图读懂。</p>", live=False),
                       province.column(org, "zcjd"))
        art = None
        for i in range(25):
            art = make_article(province, org=org, title=f"第{i + 1}期政务动态：基层调研与服务改进",
                               summary="工作组深入一线调研，听取群众意见。")
        make_article(province, org=org, title="关于2026年元旦放假安排的通知", place=("tzgg",))
        guide = make_guide(province, org=org, place=("bsfw",))
        buf = io.BytesIO()
        PILImage.new("RGB", (800, 500), (30, 90, 160)).save(buf, "PNG")
        img = Image.objects.create(title="调研现场", file=ImageFile(buf, name=f"{org}.png"))
        pic = store(ImageResource(organisation=province.orgs[org], title="调研现场图片", image=img,
                                  alt="工作人员在服务大厅为群众办理业务", live=False),
                    province.column(org, "tpxw"))
        d = Document.objects.create(title="政府采购投诉书格式", file=__import__(
            "django.core.files.base", fromlist=["ContentFile"]).ContentFile(b"%PDF-1.4 demo", name="ts.pdf"))
        f = store(FileResource(organisation=province.orgs[org], title="政府采购投诉书格式",
                               document=d, live=False), province.column(org, "wjxz"))
        store(LinkResource(organisation=province.orgs[org], title="安徽政务服务网",
                           url="https://www.ahzwfw.gov.cn/", live=False),
              province.column(org, "yqlj"))
        ids[org] = {"policy": doc.pk, "article": art.pk, "guide": guide.pk,
                    "interpretation": interp.pk, "image": pic.pk, "file": f.pk}
    publish()
    www = tmp_path / "www"  # pages are reached as /sites/<code>/..., as jiyue serve and nginx offer
    www.mkdir()
    (www / "sites").symlink_to(settings.JIYUE_PUBLIC_ROOT)
    handler = functools.partial(_Quiet, directory=str(www))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sites", ids
    server.shutdown()


def _page_paths(ids):
    return {"home": "index.html", "column": "bmdt/", "column-archive": "bmdt/list-1.html",
            "policy-list": "zcwj/", "directory": "xxgk/", "directory-column": "xxgk/fdzdgk/",
            "cards": "tpxw/", "guides": "bsfw/", "article": f"content/{ids['article']}.html",
            "policy": f"content/{ids['policy']}.html", "guide": f"content/{ids['guide']}.html",
            "interpretation": f"content/{ids['interpretation']}.html",
            "image": f"content/{ids['image']}.html", "file": f"content/{ids['file']}.html",
            "map": "map/", "search": "search/", "404": "404.html"}


def _axe(page):
    if not os.path.exists(AXE):
        pytest.skip("axe-core is not available (scripts/test fetches it from npm)")
    page.add_script_tag(path=AXE)
    result = page.evaluate("async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                           WCAG)
    return [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]


def test_every_page_type_has_no_accessibility_violations(browser, demo_pages):
    base, ids = demo_pages
    page = browser.new_page()
    failures = {}
    for org, code in (("portal", PORTAL), ("czt", CZT)):
        for name, path in _page_paths(ids[org]).items():
            page.goto(f"{base}/{code}/{path}")
            violations = _axe(page)
            if violations:
                failures[f"{org}:{name}"] = violations
        # the same pages in 关怀版
        page.goto(f"{base}/{code}/index.html")
        page.evaluate("localStorage.setItem('jiyue-elder', '1')")
        for name in ("home", "article", "directory", "guide"):
            page.goto(f"{base}/{code}/{_page_paths(ids[org])[name]}")
            assert page.evaluate("document.documentElement.classList.contains('elder')")
            violations = _axe(page)
            if violations:
                failures[f"{org}:{name}:elder"] = violations
        page.evaluate("localStorage.removeItem('jiyue-elder')")
    assert not failures, failures


def test_keyboard_reaches_content_and_switches_elder_mode(browser, demo_pages):
    base, ids = demo_pages
    page = browser.new_page()
    page.goto(f"{base}/{CZT}/index.html")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "跳到主要内容"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    assert page.evaluate("document.activeElement.id") == "main"
    # from the top of the page, Tab on to the 关怀版 switch and press it with the keyboard
    page.goto(f"{base}/{CZT}/index.html")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.hasAttribute('data-elder-toggle')"):
            break
    else:
        raise AssertionError("the 关怀版 switch is not reachable by keyboard")
    page.keyboard.press("Enter")
    assert page.evaluate("document.documentElement.classList.contains('elder')")
    assert page.get_attribute("[data-elder-toggle]", "aria-pressed") == "true"
    # the choice is kept on the next page
    page.goto(f"{base}/{CZT}/content/{ids['czt']['article']}.html")
    metrics = page.evaluate("""() => {
      const px = (el, p) => parseFloat(getComputedStyle(el)[p]);
      const body = document.querySelector('.rich p') || document.querySelector('main p');
      const h1 = document.querySelector('h1');
      const targets = [...document.querySelectorAll('main a, nav a, header button:not([hidden]), footer a')]
        .filter(a => a.offsetParent !== null).map(a => a.getBoundingClientRect())
        .map(r => [r.width, r.height]);
      const anim = [...document.querySelectorAll('*')].some(e => {
        const s = getComputedStyle(e);
        return (s.animationName !== 'none' && parseFloat(s.animationDuration) > 0) ||
               parseFloat(s.transitionDuration) > 0; });
      return {elder: document.documentElement.classList.contains('elder'),
              body: px(body, 'fontSize'), h1: px(h1, 'fontSize'),
              line: px(body, 'lineHeight') / px(body, 'fontSize'),
              targets, anim, speech: !!document.querySelector('[data-read-aloud]')};
    }""")
    assert metrics["elder"]
    assert metrics["body"] >= 24  # 18 pt
    assert metrics["h1"] >= 40  # 30 pt
    assert metrics["line"] >= 1.3
    small = [t for t in metrics["targets"] if t[0] < 60 or t[1] < 60]
    assert not small, small[:5]
    assert not metrics["anim"] and metrics["speech"]
    # and can be switched off again
    page.click("[data-elder-toggle]")
    page.reload()
    assert not page.evaluate("document.documentElement.classList.contains('elder')")


def test_narrow_screens_local_resources_and_no_javascript(browser, demo_pages):
    base, ids = demo_pages
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    for name, path in _page_paths(ids["czt"]).items():
        page.goto(f"{base}/{CZT}/{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, (name, width)
    outside = [u for u in requests if not u.startswith(base.rsplit("/sites", 1)[0])]
    assert not outside, outside[:5]
    context.close()
    # without JavaScript every page still shows its content and navigation
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{base}/{CZT}/index.html")
    assert page.locator("nav.mainnav a").count() >= 10
    page.click("nav.mainnav >> text=政策文件")
    assert page.locator("h1").inner_text() == "政策文件"
    page.click("table.doc-table a")
    assert "营商环境" in page.locator("h1").inner_text()
    assert page.locator("table.meta-table").is_visible()
    context.close()


def test_not_found_page_works_at_any_depth(browser, demo_pages, settings):
    """The servers answer a missing path with the site's 404.html, whatever its depth."""
    base, ids = demo_pages
    page = browser.new_page()
    body = (Path(settings.JIYUE_PUBLIC_ROOT) / CZT / "404.html").read_bytes()
    page.route("**/xxgk/no/such/page.html", lambda route: route.fulfill(
        status=404, body=body, content_type="text/html; charset=utf-8"))
    page.goto(f"{base}/{CZT}/xxgk/no/such/page.html")
    assert page.locator("h1").inner_text() == "页面不存在"
    assert page.evaluate("getComputedStyle(document.querySelector('.masthead')).backgroundColor") \
        == "rgb(159, 29, 32)"  # the theme's stylesheet loaded
    page.click("text=返回首页")
    assert page.url == f"{base}/{CZT}/"


@pytest.fixture
def city_demo(db, settings, tmp_path):
    """The city demo platform (a city portal, its departments, county portals), published by
    `jiyue demo` itself, served from the files alone under /sites/<code>/."""
    from django.core.management import call_command

    settings.JIYUE_PUBLIC_ROOT = tmp_path / "public"
    settings.JIYUE_PUBLISH_AUTORUN = False
    call_command("demo", city=True, verbosity=0)
    www = tmp_path / "www"
    www.mkdir()
    (www / "sites").symlink_to(settings.JIYUE_PUBLIC_ROOT)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(www)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sites", Path(settings.JIYUE_PUBLIC_ROOT)
    server.shutdown()


def test_demo_sites_of_every_type_meet_the_page_rules(browser, city_demo):
    """Each site type of the demo — city portal, city department, county portal — on its home
    page, a column, an article, the disclosure directory and a service guide: the footer and
    meta rules, and no axe-core violations."""
    import re

    from jiyue.library.models import Placement
    from jiyue.platform.models import Site

    base, public = city_demo
    page = browser.new_page()
    failures = {}
    kinds = {("city", "portal"), ("city", "department"), ("county", "portal")}
    checked = set()
    for site in Site.objects.order_by("code"):
        if (site.level, site.kind) in checked or (site.level, site.kind) not in kinds:
            continue
        checked.add((site.level, site.kind))
        live = Placement.objects.filter(site=site, state="live", resource__live=True)
        article = live.filter(resource__kind__in=["article", "policy"]).order_by("resource_id").first()
        guide = live.filter(resource__kind="guide").order_by("resource_id").first()
        paths = {"home": "", "column": "tzgg/", "directory": "xxgk/",
                 "article": f"content/{article.resource_id}.html"}
        if guide:
            paths["guide"] = f"content/{guide.resource_id}.html"
        for name, path in paths.items():
            page.goto(f"{base}/{site.code}/{path}")
            html = page.content()
            assert f"网站标识码：{site.code}" in html and "主办单位：" in html, (site.code, name)
            assert "我为政府网站找错" in html and "beian.miit.gov.cn" in html
            metas = dict(re.findall(r'<meta name="([^"]+)" content="([^"]*)"', html))
            expected = {"home": ["SiteName", "SiteDomain", "SiteIDCode"],
                        "column": ["ColumnName", "ColumnDescription", "ColumnKeywords", "ColumnType"],
                        "article": ["ArticleTitle", "PubDate", "ContentSource", "Keywords",
                                    "Author", "Description", "Image", "Url"]}.get(name, [])
            assert set(expected) <= set(metas), (site.code, name, metas)
            violations = _axe(page)
            if violations:
                failures[f"{site.code}:{name}"] = violations
    assert checked == kinds
    assert not failures, failures
