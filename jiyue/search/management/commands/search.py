"""`jiyue search rebuild|sync|status|query`: this node's search index replica."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext


class Command(BaseCommand):
    @property
    def help(self):
        return gettext("站内搜索索引：rebuild 全量重建本节点索引，sync 立即处理待同步事件，"
                       "status 查看各节点索引状态，query 在本节点索引中搜索。")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        rebuild = sub.add_parser("rebuild", help=gettext("全量重建本节点的搜索索引（建好后切换）"))
        rebuild.add_argument("--node-dir", help=gettext("索引目录（默认 JIYUE_SEARCH_DIR）"))
        rebuild.add_argument("--no-progress", action="store_true", help=gettext("不显示进度条"))
        sub.add_parser("sync", help=gettext("立即把待处理的事件同步到本节点索引"))
        sub.add_parser("status", help=gettext("各节点索引副本的文档数、游标、积压和状态"))
        query = sub.add_parser("query", help=gettext("在本节点索引中搜索（诊断用）"))
        query.add_argument("text")
        query.add_argument("--site", action="append", default=[], help=gettext("网站标识码"))
        query.add_argument("--limit", type=int, default=10)
        query.add_argument("--json", action="store_true", help=gettext("输出 JSON"))

    def handle(self, *args, subcommand, **options):
        return getattr(self, f"do_{subcommand}")(**options) or ""

    def do_rebuild(self, node_dir=None, no_progress=False, **options):
        from jiyue.core.progress import progress_bar
        from jiyue.search import replica

        base = Path(node_dir) if node_dir else None
        with progress_bar(self.stderr._out, gettext("重建搜索索引"), gettext("条"),
                          enabled=not no_progress) as progress:
            try:
                gen = replica.build(base, progress=progress)
            except replica.IndexBusy as exc:
                raise CommandError(str(exc)) from exc
        from jiyue.search import engine

        self.stdout.write(gettext("搜索索引已重建：%(n)d 条文档，目录 %(dir)s。")
                          % {"n": engine.document_count(gen.parent), "dir": gen})

    def do_sync(self, **options):
        from jiyue.search import replica

        try:
            report = replica.sync(raise_busy=True)
        except replica.IndexBusy as exc:
            raise CommandError(str(exc)) from exc
        finally:
            replica.close_writer()
        self.stdout.write(gettext("已处理 %(events)d 个事件：更新 %(indexed)d 条，删除 %(deleted)d 条；"
                                  "索引共 %(docs)d 条文档，游标 %(cursor)d。")
                          % {"events": report.events, "indexed": report.indexed,
                             "deleted": report.deleted, "docs": report.documents,
                             "cursor": report.cursor})

    def do_status(self, **options):
        from jiyue.search import replica
        from jiyue.search.admin_views import replica_rows

        local = replica.status()
        self.stdout.write(gettext("本节点 %(node)s：目录 %(dir)s，索引版本 %(gen)s，%(docs)d 条文档，"
                                  "游标 %(cursor)d，积压 %(backlog)d。")
                          % {"node": local["node"], "dir": local["directory"],
                             "gen": local["generation"] or gettext("（尚未建立）"),
                             "docs": local["documents"], "cursor": local["cursor"],
                             "backlog": local["backlog"]})
        states = {"ok": gettext("正常"), "rebuilding": gettext("重建中"), "error": gettext("出错")}
        for row in replica_rows():
            r = row["replica"]
            state = states.get(r.state, r.state)
            if r.state == "rebuilding" and r.progress_total:
                state += f" {r.progress_done}/{r.progress_total}"
            if row["silent"]:
                state += gettext("（无响应）")
            synced = r.synced_at.strftime("%Y-%m-%d %H:%M:%S") if r.synced_at else "—"
            self.stdout.write(gettext("节点 %(node)s：%(docs)d 条文档，游标 %(cursor)d，积压 %(backlog)d，"
                                      "状态 %(state)s，最近同步 %(synced)s")
                              % {"node": r.node, "docs": r.documents, "cursor": r.last_event_id,
                                 "backlog": row["backlog"], "state": state, "synced": synced})
            if r.error:
                self.stdout.write("  " + r.error[:300])

    def do_query(self, text, site=(), limit=10, json=False, **options):
        from jiyue.search import engine

        result = engine.execute(engine.EngineQuery(engine.clauses_for(text),
                                                   filters=engine.Filters(sites=site),
                                                   limit=limit, highlight=False, facets=()))
        if json:
            import json as _json

            self.stdout.write(_json.dumps({"total": result.total, "hits": [
                {"id": h.resource_id, "title": h.fields.get("title"), "score": h.score}
                for h in result.hits]}, ensure_ascii=False))
            return
        self.stdout.write(gettext("共 %(n)d 条结果") % {"n": result.total})
        for h in result.hits:
            self.stdout.write(f"{h.resource_id}\t{h.score:.3f}\t{h.fields.get('title')}")
