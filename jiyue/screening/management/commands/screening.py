"""`jiyue screening import FILE [--category C] [--level L]`, `jiyue screening status`,
`jiyue screening check TEXT`: the sensitive-word list from the command line."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from jiyue.core.progress import progress_bar


class Command(BaseCommand):
    @property
    def help(self):
        return gettext("敏感词表：从文件导入、查看状态、检查一段文字。")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help=gettext("从 TXT/CSV 文件导入（每行“词语”、“词语 分类”或“词语,分类,级别”）"))
        imp.add_argument("file", help=gettext("词表文件，UTF-8 或 GB18030"))
        imp.add_argument("--category", default="other", help=gettext("未写分类时的分类（默认：其他）"))
        imp.add_argument("--level", default="review", help=gettext("未写级别时的级别：禁止/审核/放行（默认：审核）"))
        imp.add_argument("--no-progress", action="store_true", help=gettext("不显示进度条"))
        sub.add_parser("status", help=gettext("词数（按级别、分类）"))
        chk = sub.add_parser("check", help=gettext("列出一段文字命中的词"))
        chk.add_argument("text")

    def handle(self, *args, action=None, **options):
        getattr(self, f"do_{action}")(**options)

    def do_import(self, file=None, category="other", level="review", no_progress=False, **options):
        from jiyue import audit
        from jiyue.screening import services

        cat, lvl = services.parse_category(category), services.parse_level(level)
        if cat is None:
            raise CommandError(gettext("未知的分类“%(c)s”。") % {"c": category})
        if lvl is None:
            raise CommandError(gettext("未知的级别“%(l)s”（可用：禁止、审核、放行）。") % {"l": level})
        path = Path(file)
        if not path.is_file():
            raise CommandError(gettext("找不到文件：%(path)s") % {"path": path})
        try:
            text = services.decode(path.read_bytes())
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        with progress_bar(self.stderr._out, gettext("导入"), gettext("行"),
                          enabled=not no_progress) as progress:
            report = services.import_text(text, default_category=cat, default_level=lvl,
                                          progress=lambda r: progress(r.done, r.total))
        for line, message in report.errors[:200]:
            self.stderr.write(gettext("第 %(line)s 行：%(message)s") % {"line": line, "message": message})
        if len(report.errors) > 200:
            self.stderr.write(gettext("……另有 %(n)s 行错误未列出。") % {"n": len(report.errors) - 200})
        audit.record(None, None, "", "screening.word.import", path.name, added=report.added,
                     updated=report.updated, errors=len(report.errors))
        self.stdout.write(self.style.SUCCESS(gettext(
            "导入完成：共 %(rows)s 行，新增 %(added)s 个，更新 %(updated)s 个，未变化 %(unchanged)s 个，错误 %(errors)s 行。")
            % {"rows": report.total, "added": report.added, "updated": report.updated,
               "unchanged": report.unchanged, "errors": len(report.errors)}))

    def do_status(self, **options):
        from django.db.models import Count

        from jiyue.screening.models import Category, Level, SensitiveWord

        total = SensitiveWord.objects.count()
        on = SensitiveWord.objects.filter(enabled=True).count()
        self.stdout.write(gettext("共 %(n)s 个词，启用 %(on)s 个。") % {"n": total, "on": on})
        levels, cats = dict(Level.choices), dict(Category.choices)
        for row in SensitiveWord.objects.filter(enabled=True).values("level").annotate(n=Count("id")):
            self.stdout.write(f"  {levels.get(row['level'], row['level'])}: {row['n']}")
        for row in SensitiveWord.objects.filter(enabled=True).values("category").annotate(n=Count("id")):
            self.stdout.write(f"  {cats.get(row['category'], row['category'])}: {row['n']}")

    def do_check(self, text="", **options):
        from jiyue.screening import services

        hits = services.find(text)
        if not hits:
            self.stdout.write(gettext("没有命中。"))
        for h in hits:
            self.stdout.write(f"{h.word}\t{h.category}\t{h.level}\t{h.start}-{h.end}")
