"""The search service, the public page /_/search and the API /api/v1/search: scopes, filters,
facets, sort, paging, synonyms, pinyin, did-you-mean, completion, 文号/索引号 jump, statistics,
bad input. Content is published as editors do and indexed with `replica.sync()`."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from jiyue.search.models import QueryStat, SynonymGroup

CZT, JYT, PORTAL = "3400000002", "3400000003", "3400000001"
CZT_HOST = {"HTTP_HOST": "czt.ah.gov.cn"}


def article(province, title, org="czt", place=("bmdt",), body="<p>正文内容。</p>", **extra):
    from jiyue.library.models import Article
    from tests.conftest import store

    a = Article(organisation=province.orgs[org], title=title, body=body, live=False, **extra)
    return store(a, *(province.column(org, slug) for slug in place), clean=True)


def sync():
    from jiyue.search import replica

    replica.sync()


@pytest.fixture
def corpus(province, make_policy, settings):
    """Two departments' content: what each site shows, a shared item, a link, enough items
    for two pages, and a policy with a 文号."""
    from jiyue.library import services
    from jiyue.library.models import LinkResource
    from tests.conftest import store

    settings.JIYUE_RATE_LIMIT_EXEMPT = ["127.0.0.1"]
    c = {}
    c["social"] = article(province, "全省社会保险基金运行情况通报",
                          body="<p>今年以来，全省社会保险参保人数稳步增长，缴费基数按规定调整。</p>")
    c["fund"] = article(province, "住房公积金提取办法调整说明",
                        body="<p>职工提取住房公积金的条件和材料有所调整。</p>")
    c["hotline"] = article(province, "12345政务服务便民热线运行情况",
                           body="<p>热线全年受理群众诉求，办结率稳步提高。</p>")
    c["icp"] = article(province, "网站ICP备案信息说明", body="<p>本网站已完成ICP备案。</p>")
    from jiyue.library.models import Classification

    c["topic"] = Classification.objects.filter(scheme="topic", parent=None).order_by("pk").first()
    c["policy"] = make_policy(publish=True, title="关于做好2026年度预算编制工作的通知",
                              doc_number="皖财〔2026〕12号", topic=c["topic"])
    c["jyt"] = article(province, "学生社保补贴申领指南", org="jyt", place=("jyxw",) if False else ("bmdt",),
                       body="<p>在校学生参加社保可申领补贴。</p>")
    # the education department's item placed on the finance department's site too
    services.attach(c["jyt"], province.column("czt", "bmdt"))
    c["batch"] = [article(province, f"财政资金直达基层第{i}批下达", body="<p>资金直达基层。</p>")
                  for i in range(1, 13)]
    from datetime import timedelta

    from django.utils import timezone

    from jiyue.library.models import Resource

    now = timezone.now()
    for i, a in enumerate(c["batch"]):  # an hour apart, the last one newest
        Resource.objects.filter(pk=a.pk).update(published_at=now - timedelta(hours=12 - i))
    link = LinkResource(organisation=province.orgs["czt"], title="社会保险网上服务大厅",
                        url="https://example.gov.cn/", live=False)
    c["link"] = store(link, province.column("czt", "bmdt"), clean=True)
    sync()
    return c


def search(**kw):
    from jiyue.search import services
    from jiyue.search.forms import SearchParams

    q = kw.pop("q", "")
    site = kw.pop("site", None)
    scope = kw.pop("scope", None)
    return services.search(q, site=site, scope=scope, params=SearchParams(q=q, **kw))


def ids(result):
    return [h.resource_id for h in result.hits]


def test_scopes_filters_facets_sort_and_paging(corpus, province):
    czt = province.sites["czt"]
    # placed (the default on a site): own content and what is placed on it; never a link
    r = search(q="社保", site=czt)
    assert corpus["jyt"].pk in ids(r) and corpus["social"].pk in ids(r)
    assert corpus["link"].pk not in ids(r)
    # site: only this site's own organisation's resources
    r = search(q="社保", site=czt, scope="site")
    assert corpus["jyt"].pk not in ids(r) and corpus["social"].pk in ids(r)
    # all: every site; the education item links to its own site's canonical address
    r = search(q="补贴", site=province.sites["portal"], scope="all")
    [hit] = r.hits
    assert hit.url == f"https://jyt.ah.gov.cn/content/{corpus['jyt'].pk}.html"
    assert hit.site_name == "安徽省教育厅" and hit.kind_label == "文章"
    # on the finance site the same item has a page of its own: a relative link
    r = search(q="补贴", site=czt)
    assert r.hits[0].url == f"../content/{corpus['jyt'].pk}.html"
    # facets with labels and counts; a filter narrows
    r = search(q="社保", site=None, scope="all")
    orgs = {f.label: f.count for f in r.facets["organisation"]}
    assert orgs == {"安徽省财政厅": 1, "安徽省教育厅": 1}
    sites = {f.label: f.count for f in r.facets["site"]}
    assert sites["安徽省财政厅"] == 2 and sites["安徽省教育厅"] == 1
    assert {f.label for f in r.facets["kind"]} == {"文章"}
    assert [f.label for f in r.facets["year"]][0].endswith("年")
    only = search(q="社保", scope="all", org=province.orgs["jyt"].pk)
    assert ids(only) == [corpus["jyt"].pk]
    assert [f.active for f in only.facets["organisation"] if f.label == "安徽省教育厅"] == [True]
    assert search(q="社保", scope="all", kind="policy").total == 0
    # 主题分类 and year facets and filters
    r = search(q="预算编制", site=czt)
    assert [(f.label, f.count) for f in r.facets["topic"]] == [(str(corpus["topic"]), 1)]
    year = r.hits[0].published_at.year
    assert [f.value for f in r.facets["year"]] == [str(year)]
    assert search(q="预算编制", site=czt, topic=corpus["topic"].pk).total == 1
    assert search(q="预算编制", site=czt, year=year).total == 1
    assert search(q="预算编制", site=czt, year=2001).total == 0
    assert [f.label for f in search(q="预算编制", site=czt).facets["kind"]] == ["政策文件"]
    # paging and sort by date (newest first)
    r = search(q="直达基层", site=czt, sort="date", page_size=10)
    assert r.total == 12 and r.pages == 2 and len(r.hits) == 10
    r2 = search(q="直达基层", site=czt, sort="date", page_size=10, page=2)
    assert len(r2.hits) == 2 and not set(ids(r)) & set(ids(r2))
    dates = [h.published_at for h in r.hits + r2.hits]
    assert dates == sorted(dates, reverse=True)
    # highlighted title and snippet, escaped
    r = search(q="公积金", site=czt)
    assert "公积金</em>" in r.hits[0].title_html and "<em>" in r.hits[0].snippet_html


def test_synonyms_both_ways_pinyin_initials_and_latin_words(corpus, province):
    czt = province.sites["czt"]
    # 社保 finds 社会保险 (the default synonyms, the table being empty) and says so
    r = search(q="社保", site=czt, scope="site")
    assert ids(r) == [corpus["social"].pk] and r.expanded == ["社会保险"]
    # and the other way round
    r = search(q="社会保险", site=czt)
    assert corpus["jyt"].pk in ids(r) and "社保" in r.expanded
    # 12345 ↔ 政务服务便民热线
    assert corpus["hotline"].pk in ids(search(q="政务服务便民热线", site=czt))
    # the operator's groups replace the defaults
    from jiyue.search import smart

    SynonymGroup.objects.create(terms="热线,服务电话")
    smart.invalidate()  # what the admin does (other processes notice within seconds)
    assert corpus["hotline"].pk in ids(search(q="服务电话", site=czt))
    assert search(q="社保", site=czt, scope="site").total == 0  # defaults no longer apply
    SynonymGroup.objects.all().delete()
    smart.invalidate()
    smart.vocabulary(refresh=True)
    # pinyin, spaced pinyin and initials
    for typed in ("shebao", "she bao", "gjj", "gongjijin", "gongjj", "shb"):
        r = search(q=typed, site=czt)
        assert ids(r), typed
        assert r.expanded, typed
    assert corpus["fund"].pk in ids(search(q="gjj", site=czt))
    assert corpus["social"].pk in ids(search(q="shebao", site=czt))
    # a latin word stays itself
    r = search(q="ICP", site=czt)
    assert ids(r) == [corpus["icp"].pk]
    assert ids(search(q="12345", site=czt)) == [corpus["hotline"].pk]


def test_did_you_mean_and_or_fallback(corpus, province):
    czt = province.sites["czt"]
    from jiyue.search import smart

    smart.vocabulary(refresh=True)
    r = search(q="公基金", site=czt)  # a homophone typo
    assert r.suggestion == "公积金"
    r = search(q="设保", site=czt)
    assert r.suggestion == "社保"
    r = search(q="gongjijng", site=czt)  # a pinyin typo
    assert r.suggestion == "公积金"
    r = search(q="icq", site=czt)  # one edit from a latin word of the titles
    assert r.suggestion == "icp"
    # no suggestion when the query finds plenty
    assert search(q="直达基层", site=czt).suggestion is None
    # nothing has every word: the words found separately, and the page says so
    r = search(q="公积金 火星探测", site=czt)
    assert r.relaxed and corpus["fund"].pk in ids(r)


def test_number_jump_and_statistics(corpus, province):
    czt = province.sites["czt"]
    policy = corpus["policy"]
    for typed in ("皖财〔2026〕12号", "皖财[2026]12号", "皖财（2026）12号", " 皖财(2026)第12号 "):
        r = search(q=typed, site=czt)
        assert r.jump == f"../content/{policy.pk}.html", typed
    assert policy.index_number
    assert search(q=policy.index_number, site=czt).jump == f"../content/{policy.pk}.html"
    # from another site: the document's own site
    r = search(q="皖财[2026]12号", site=province.sites["jyt"])
    assert r.jump == f"https://czt.ah.gov.cn/content/{policy.pk}.html"
    # the page redirects
    c = Client()
    resp = c.get("/_/search", {"q": "皖财[2026]12号"}, **CZT_HOST)
    assert resp.status_code == 302 and resp["Location"] == f"../content/{policy.pk}.html"
    # under /sites/<code>/ another site's document is reached locally
    resp = c.get("/_/search", {"q": "皖财[2026]12号"}, HTTP_HOST="localhost",
                 HTTP_X_JIYUE_SITE=JYT)
    assert resp["Location"] == f"/sites/{CZT}/content/{policy.pk}.html"
    # statistics: counted per day and site, zero results recorded
    QueryStat.objects.all().delete()
    for _ in range(3):
        search(q="社保", site=czt)
    search(q="火星探测计划", site=czt)
    search(q="火星探测计划", site=czt, page=2)  # paging is not another search
    search(q="公积金 火星探测", site=czt)  # only some of the words found: no result for the operator
    rows = {s.query: s for s in QueryStat.objects.all()}
    assert rows["公积金 火星探测"].zero_count == 1
    assert rows["社保"].count == 3 and rows["社保"].zero_count == 0 and rows["社保"].last_total > 0
    assert rows["火星探测计划"].count == 1 and rows["火星探测计划"].zero_count == 1
    assert rows["社保"].site_code == CZT


def test_completion_by_prefix_pinyin_and_popular_queries(corpus, province):
    from jiyue.search import services, smart

    czt = province.sites["czt"]
    for _ in range(5):
        search(q="公积金提取", site=czt)
    smart.vocabulary(refresh=True)
    texts = [s["text"] for s in services.suggest("公积", site=czt)]
    assert "公积金提取" in texts[:3] and "公积金" in texts
    assert "住房公积金" in [s["text"] for s in services.suggest("住房", site=czt)]
    assert "公积金" in [s["text"] for s in services.suggest("gongj", site=czt)]
    assert "社保" in [s["text"] for s in services.suggest("sheb", site=czt)]
    titles = [s for s in services.suggest("财政资金", site=czt) if s["type"] == "title"]
    assert titles and all(t["text"].startswith("财政资金") for t in titles)
    assert services.suggest("财政资金", site=province.sites["jyt"]) == [] or all(
        s["type"] == "query" for s in services.suggest("财政资金", site=province.sites["jyt"]))
    c = Client()
    r = c.get("/_/search/suggest", {"q": "gongj"}, **CZT_HOST)
    assert r.status_code == 200 and "公积金" in [s["text"] for s in r.json()["suggestions"]]
    r = c.get("/api/v1/search/suggest", {"q": "公积", "site": CZT})
    assert r.status_code == 200 and "公积金提取" in [s["text"] for s in r.json()["suggestions"]]


BAD = ["", " ", "x" * 10_000, "\x01\x02\x1f", "title:x AND (", "*", '"', "\\", "😀🎉", "社保\u200b",
       "a" * 101, "<script>alert(1)</script>", "' OR 1=1 --", "((((((", "\ufffd", "公积金" * 2000]


def test_bad_input_never_fails(corpus, province):
    c = Client()
    czt = province.sites["czt"]
    for q in BAD:
        search(q=q, site=czt)
        r = c.get("/_/search", {"q": q}, **CZT_HOST)
        assert r.status_code == 200, repr(q[:20])
        assert b"<script>alert(1)</script>" not in r.content
        r = c.get("/api/v1/search", {"q": q, "site": CZT})
        assert r.status_code == 200 and r.json()["total"] >= 0, repr(q[:20])
        assert c.get("/_/search/suggest", {"q": q}, **CZT_HOST).status_code == 200
        assert c.get("/api/v1/search/suggest", {"q": q}).status_code == 200
    # NUL is refused at the door with a Chinese message
    assert c.get("/_/search", {"q": "a\x00b"}, **CZT_HOST).status_code == 400
    # out-of-range parameters on the page are ignored
    for params in ({"page": "999999999999999999999"}, {"page": "-1"}, {"kind": "nope"},
                   {"org": "x"}, {"year": "99999"}, {"scope": "galaxy"}, {"sort": "random"},
                   {"topic": "1e9"}, {"site": "../.."}):
        r = c.get("/_/search", {"q": "社保", **params}, **CZT_HOST)
        assert r.status_code == 200, params


def test_api_schema_validation_and_absolute_urls(corpus, province):
    c = Client()
    r = c.get("/api/v1/search", {"q": "社保", "site": CZT})
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 2 and body["page"] == 1 and body["pages"] == 1
    first = body["results"][0]
    assert set(first) >= {"title", "url", "snippet", "site", "kind", "published_at"}
    assert all(x["url"].startswith("https://") for x in body["results"])
    urls = {x["url"] for x in body["results"]}
    assert f"https://czt.ah.gov.cn/content/{corpus['jyt'].pk}.html" in urls  # live on the asked site
    assert body["expanded"] == ["社会保险"]
    assert {"site", "organisation", "kind", "topic", "year"} <= set(body["facets"])
    assert body["facets"]["organisation"][0].keys() >= {"value", "label", "count"}
    # without a site: every site, canonical addresses
    body = c.get("/api/v1/search", {"q": "补贴"}).json()
    assert body["results"][0]["url"] == f"https://jyt.ah.gov.cn/content/{corpus['jyt'].pk}.html"
    assert body["results"][0]["site"] == {"code": JYT, "name": "安徽省教育厅"}
    # the jump
    body = c.get("/api/v1/search", {"q": "皖财（2026）12号"}).json()
    assert body["jump"] == f"https://czt.ah.gov.cn/content/{corpus['policy'].pk}.html"
    # validation: problem+json 422 with a Chinese detail
    for params, word in (({"q": "x", "scope": "galaxy"}, "scope"), ({"q": "x", "page": "0"}, "page"),
                         ({"q": "x", "kind": "nope"}, "kind"), ({"q": "x", "sort": "random"}, "sort"),
                         ({"q": "x", "page_size": "500"}, "page_size"), ({"q": "x", "year": "abc"}, "year"),
                         ({"q": "x", "org": "99999999999999999999999"}, "org")):
        r = c.get("/api/v1/search", params)
        assert r.status_code == 422, params
        assert r["Content-Type"].startswith("application/problem+json")
        problem = r.json()
        assert re.search(r"[\u4e00-\u9fff]", problem["detail"])
        assert word in [e["loc"][-1] for e in problem["errors"]], problem
    detail = c.get("/api/v1/search", {"q": "x", "scope": "galaxy"}).json()["detail"]
    assert "本站" in detail and "全平台" in detail  # says what is allowed
    r = c.get("/api/v1/search", {"q": "x", "site": "9999999999"})
    assert r.status_code == 404
    # the OpenAPI description documents the operation and its parameters
    schema = c.get("/api/v1/openapi.json").json()
    op = schema["paths"]["/api/v1/search"]["get"]
    names = {p["name"] for p in op["parameters"]}
    assert names >= {"q", "site", "scope", "kind", "org", "topic", "year", "sort", "page", "page_size"}
    assert all(p.get("description") for p in op["parameters"])
    assert "/api/v1/search/suggest" in schema["paths"]


def test_api_and_page_rate_limits(corpus, province, settings):
    from django.core.cache import cache

    cache.clear()
    settings.JIYUE_RATE_LIMIT_EXEMPT = []
    settings.JIYUE_RATE_LIMITS = "search=2/m"
    c = Client()
    for _ in range(2):
        assert c.get("/api/v1/search", {"q": "社保"}).status_code == 200
    r = c.get("/api/v1/search", {"q": "社保"})
    assert r.status_code == 429 and int(r["Retry-After"]) > 0
    assert "频繁" in r.json()["detail"]
    # the page shares the address's search budget
    r = c.get("/_/search", {"q": "社保"}, **CZT_HOST)
    assert r.status_code == 429 and "秒后再试" in r.content.decode()
    # completion while typing has its own budget, and answers the script in JSON
    settings.JIYUE_RATE_LIMITS = "search_suggest=1/m"
    assert c.get("/_/search/suggest", {"q": "社保"}, **CZT_HOST).status_code == 200
    r = c.get("/_/search/suggest", {"q": "社保"}, **CZT_HOST)
    assert r.status_code == 429 and r.json()["suggestions"] == [] and "秒后再试" in r.json()["message"]
    cache.clear()


def test_page_shows_results_facets_notices_and_help(corpus, province):
    c = Client()
    html = c.get("/_/search", {"q": "社保"}, **CZT_HOST).content.decode()
    assert "共找到 2 条结果" in html and "已同时搜索：社会保险" in html
    assert "<em>社保</em>" in html or "<em>社会保险</em>" in html
    assert 'name="scope" value="placed" checked' in html
    assert "安徽省教育厅" in html and "来自：" not in html  # placed here: its page is on this site
    org = province.orgs["jyt"].pk
    assert f'href="?q=%E7%A4%BE%E4%BF%9D&amp;org={org}"' in html
    html = c.get("/_/search", {"q": "社保", "org": org}, **CZT_HOST).content.decode()
    assert "共找到 1 条结果" in html and "已选条件" in html and "取消筛选" in html
    html = c.get("/_/search", {"q": "补贴", "scope": "all"}, HTTP_HOST="www.ah.gov.cn").content.decode()
    assert "来自：安徽省教育厅" in html
    html = c.get("/_/search", {"q": "公基金"}, **CZT_HOST).content.decode()
    assert "您是不是要找" in html and "公积金" in html
    html = c.get("/_/search", {"q": "火星探测计划"}, **CZT_HOST).content.decode()
    assert "没有找到与“火星探测计划”相关的信息" in html and "在全平台所有网站中搜索" in html
    html = c.get("/_/search", {"q": "直达基层", "sort": "date"}, **CZT_HOST).content.decode()
    assert "共找到 12 条结果" in html and 'rel="next"' in html and "<strong aria-current=\"true\">按时间" in html
