"""`/api/v1/search` and `/api/v1/search/suggest` (a django-ninja Router mounted in
jiyue/api/api.py). Anonymous, read-only: what the public sees on the sites."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Query, Router, Schema

from jiyue.api.errors import error, limited

from . import services
from .forms import MAX_PAGE, MAX_PAGE_SIZE, ParamError, SearchParams

router = Router(tags=[gettext_lazy("站内搜索")])


class SiteOut(Schema):
    code: str = Field(description=gettext_lazy("网站标识码"))
    name: str = Field(description=gettext_lazy("网站名称"))


class ResultOut(Schema):
    id: str = Field(description=gettext_lazy("信息资源的全局编号（与 /api/v1/resources/{id} 相同）"))
    title: str = Field(description=gettext_lazy("标题"))
    title_html: str = Field(description=gettext_lazy("标题（HTML，已转义，查询词用 <em> 标出）"))
    url: str = Field(description=gettext_lazy("公开页面的完整地址"))
    snippet: str = Field(description=gettext_lazy("正文摘录（纯文本）"))
    snippet_html: str = Field(description=gettext_lazy("正文摘录（HTML，已转义，查询词用 <em> 标出）"))
    site: SiteOut = Field(description=gettext_lazy("链接所在的网站"))
    kind: str = Field(description=gettext_lazy("资源类型代码，如 article、policy、guide"))
    kind_label: str = Field(description=gettext_lazy("资源类型名称"))
    organisation: str = Field(description=gettext_lazy("发布机构"))
    published_at: str | None = Field(description=gettext_lazy("发布时间（YYYY-MM-DD HH:MM，北京时间）"))
    doc_number: str = Field(description=gettext_lazy("文号（政策文件）"))
    index_number: str = Field(description=gettext_lazy("索引号"))


class FacetOut(Schema):
    value: str = Field(description=gettext_lazy("作为筛选参数时使用的值"))
    label: str = Field(description=gettext_lazy("显示名称"))
    count: int = Field(description=gettext_lazy("结果数"))
    active: bool = Field(description=gettext_lazy("是否为当前筛选条件"))


class SearchOut(Schema):
    q: str = Field(description=gettext_lazy("实际搜索的查询（规范化后）"))
    total: int = Field(description=gettext_lazy("结果总数"))
    page: int
    pages: int = Field(description=gettext_lazy("总页数（最多 %(n)s 页）") % {"n": MAX_PAGE})
    page_size: int
    sort: str
    scope: str
    results: list[ResultOut]
    facets: dict[str, list[FacetOut]] = Field(description=gettext_lazy(
        "分面统计：site（站点）、organisation（发布机构）、kind（类型）、topic（主题分类）、year（年份）"))
    suggestion: str | None = Field(description=gettext_lazy("“您是不是要找”：可能想搜索的词（有更多结果时）"))
    expanded: list[str] = Field(description=gettext_lazy("同时搜索的同义词、拼音或首字母转换出的词"))
    relaxed: bool = Field(description=gettext_lazy("没有同时包含全部关键词的结果时为 true：结果只包含部分关键词"))
    jump: str | None = Field(description=gettext_lazy("查询恰为某文件的文号或索引号时，该文件的地址"))


class SuggestionOut(Schema):
    text: str
    type: str = Field(description=gettext_lazy("query（常用搜索词、词语）或 title（标题）"))


class SuggestOut(Schema):
    q: str
    suggestions: list[SuggestionOut]


def _site(code: str | None):
    from jiyue.platform.models import Site

    if not code:
        return None
    return Site.objects.exclude(state=Site.STATE_CLOSED).filter(code=code[:32]).first()


def _dt(value) -> str | None:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else None


def _plain(html_text: str) -> str:
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", html_text or ""))


@router.get("", response={200: SearchOut}, summary=gettext_lazy("全文搜索"),
            description=gettext_lazy(
                "在公开发布的信息中搜索（中文分词，同义词、拼音与首字母，文号/索引号直达）。"
                "指定 site 时默认搜索该站点发布的全部信息（scope=placed），不指定时搜索全平台。"
                "结果地址为完整地址；查询恰为文号或索引号时 jump 给出该文件地址。"
                "参数无效返回 422（application/problem+json，detail 为中文说明），站点不存在返回 404，"
                "请求过于频繁返回 429（带 Retry-After）。"))
def search(request,
           q: str = Query("", description=gettext_lazy("查询词（至多 100 字，超出部分忽略）"),
                          examples=["社保缴费", "shebao", "皖政办〔2026〕3号"]),
           site: str | None = Query(None, description=gettext_lazy("网站标识码：在该站点上搜索"),
                                    examples=["3400000002"]),
           scope: str | None = Query(
               None, description=gettext_lazy("范围：site 本站（该站点机构自己的信息）、placed 本站及引用"
                                              "（该站点发布的全部信息，指定 site 时的默认值）、all 全平台")),
           kind: str | None = Query(None, description=gettext_lazy("资源类型代码，如 article、policy、guide"),
                                    examples=["policy"]),
           org: int | None = Query(None, ge=1, le=2**63 - 1,
                                   description=gettext_lazy("发布机构编号（见分面 organisation）")),
           topic: int | None = Query(None, ge=1, le=2**63 - 1,
                                     description=gettext_lazy("主题分类编号（见分面 topic）")),
           year: int | None = Query(None, ge=1900, le=2999, description=gettext_lazy("发布年份"),
                                    examples=[2026]),
           sort: str = Query(
               "relevance", description=gettext_lazy("排序：relevance 相关度，date 发布时间（新的在前）")),
           page: int = Query(1, ge=1, le=MAX_PAGE, description=gettext_lazy("页码（1 至 %(n)s）") % {"n": MAX_PAGE}),
           page_size: int = Query(10, ge=1, le=MAX_PAGE_SIZE,
                                  description=gettext_lazy("每页条数（1 至 %(n)s）") % {"n": MAX_PAGE_SIZE})):
    refused = limited(request, "search", _("搜索请求过于频繁，请 %(n)s 秒后再试。"))
    if refused is not None:
        return refused
    try:
        params = SearchParams.parse(
            {"q": q, "scope": scope, "kind": kind, "org": org, "topic": topic, "year": year,
             "sort": sort, "page": page, "page_size": page_size}, strict=True)
    except ParamError as exc:
        return error(422, exc.message, errors=[{"loc": ["query", exc.name], "msg": exc.message}])
    s = _site(site)
    if site and s is None:
        return error(404, _("网站标识码为“%(code)s”的站点不存在或已关停。") % {"code": site[:32]})
    result = services.search(site=s, params=params, links=services.Links.absolute())
    return {
        "q": result.query, "total": result.total, "page": result.page, "pages": result.pages,
        "page_size": result.page_size, "sort": result.sort, "scope": result.scope,
        "results": [{"id": h.global_id or str(h.resource_id), "title": h.title,
                     "title_html": h.title_html, "url": h.url, "snippet": _plain(h.snippet_html),
                     "snippet_html": h.snippet_html,
                     "site": {"code": h.site_code, "name": h.site_name}, "kind": h.kind,
                     "kind_label": h.kind_label, "organisation": h.organisation,
                     "published_at": _dt(h.published_at), "doc_number": h.doc_number,
                     "index_number": h.index_number} for h in result.hits],
        "facets": {name: [{"value": v.value, "label": v.label, "count": v.count, "active": v.active}
                          for v in values] for name, values in result.facets.items()},
        "suggestion": result.suggestion, "expanded": result.expanded, "relaxed": result.relaxed,
        "jump": result.jump,
    }


@router.get("/suggest", response={200: SuggestOut}, summary=gettext_lazy("搜索词补全"),
            description=gettext_lazy("输入时的补全：常用搜索词和词语（按汉字前缀、拼音或首字母），"
                                     "以及以输入开头的标题（指定 site 时为该站点的信息）。"))
def suggest(request,
            q: str = Query("", description=gettext_lazy("已输入的内容（至多 50 字）"),
                           examples=["公积", "gongj", "sb"]),
            site: str | None = Query(None, description=gettext_lazy("网站标识码"),
                                     examples=["3400000002"]),
            limit: int = Query(8, ge=1, le=20, description=gettext_lazy("至多返回条数（1 至 20）"))):
    refused = limited(request, "search_suggest", _("搜索请求过于频繁，请 %(n)s 秒后再试。"))
    if refused is not None:
        return refused
    s = _site(site)
    if site and s is None:
        return error(404, _("网站标识码为“%(code)s”的站点不存在或已关停。") % {"code": site[:32]})
    q = (q or "").replace("\x00", "")[:50]
    return {"q": q, "suggestions": services.suggest(q, site=s, limit=limit) if q.strip() else []}
