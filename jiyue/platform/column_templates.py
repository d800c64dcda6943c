"""The standard column tree applied when a site is created (editable afterwards).

Slugs are stable: other parts of the platform (the demo, importers, inspections) refer to them.
"""

from __future__ import annotations

NEWS, POLICY, NONE = "news", "policy", "none"


def _c(slug, title, ctype, interval=NONE, layout="list", description="", children=None):
    return {"slug": slug, "title": title, "type": ctype, "update_interval": interval,
            "list_layout": layout, "description": description or title,
            "children": children or []}


def column_template(level: str, kind: str) -> list[dict]:
    """The columns for a site of this level (province/city/county) and kind (portal/department)."""
    news = []
    if kind == "portal":
        news.append(_c("zwyw", "政务要闻", "信息发布", NEWS, "summary", "本级政府重要政务活动报道"))
    news += [
        _c("bmdt", "部门动态" if kind == "portal" else "工作动态", "信息发布", NEWS, "summary",
           "各部门工作动态" if kind == "portal" else "本单位工作动态"),
        _c("tzgg", "通知公告", "信息发布", POLICY, "list", "通知、公告、公示"),
        _c("zcwj", "政策文件", "信息发布", POLICY, "table", "规章、行政规范性文件及其他政策文件"),
        _c("zcjd", "政策解读", "解读回应", POLICY, "summary", "政策文件的文字、图文和专家解读"),
        _c("tpxw", "图片新闻", "信息发布", NONE, "cards", "图片报道"),
        _c("bsfw", "办事服务", "办事服务", NONE, "guides", "办事指南与在线办理入口"),
        _c("hdjl", "互动交流", "互动交流", NONE, "list", "咨询、建议、调查与访谈", [
            _c("ldxx", "领导信箱", "互动交流", NONE, "list", "给领导写信"),
            _c("zjdc", "征集调查", "互动交流", NONE, "list", "意见征集与网上调查"),
            _c("zxft", "在线访谈", "互动交流", NONE, "list", "在线访谈"),
        ]),
        _c("xxgk", "政府信息公开", "信息公开", NONE, "table", "政府信息公开目录", [
            _c("gkzn", "公开指南", "信息公开", NONE, "list", "政府信息公开指南"),
            _c("gkzd", "公开制度", "信息公开", NONE, "list", "政府信息公开制度"),
            _c("fdzdgk", "法定主动公开内容", "信息公开", POLICY, "table", "法定主动公开内容"),
            _c("gknb", "公开年报", "信息公开", NONE, "list", "政府信息公开工作年度报告"),
            _c("ysqgk", "依申请公开", "信息公开", NONE, "list", "依申请公开的渠道和办理"),
        ]),
        _c("wjxz", "文件下载", "信息发布", NONE, "list", "表格与文件下载"),
        _c("yqlj", "友情链接", "外链", NONE, "list", "相关网站链接"),
    ]
    return news
