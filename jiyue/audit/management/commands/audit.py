"""`jiyue audit verify|seal|archive|export`: the tamper-evident audit log from the command line."""

from __future__ import annotations

import getpass
import sys
from datetime import datetime, time, timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext
from tqdm import tqdm

MAX_LISTED = 20


def _date(value: str):
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise CommandError(gettext("日期格式应为 YYYY-MM-DD：%(value)s") % {"value": value}) from None


class Command(BaseCommand):
    @property
    def help(self):
        return gettext("审计日志：verify 校验哈希链，seal 封存新记录，archive 归档超过保存期的记录，"
                       "export 导出 CSV。")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify = sub.add_parser("verify", help=gettext("校验审计哈希链与签名检查点"))
        verify.add_argument("--archives", action="store_true",
                            help=gettext("同时校验归档文件的签名、SM3 校验值和其中每条记录"))
        verify.add_argument("--no-seal", action="store_true", help=gettext("校验前不封存新记录"))
        verify.add_argument("--no-progress", action="store_true", help=gettext("不显示进度条"))
        sub.add_parser("seal", help=gettext("把新记录封存进哈希链"))
        archive = sub.add_parser("archive", help=gettext("把超过保存期的记录移入签名归档文件"))
        archive.add_argument("--no-progress", action="store_true", help=gettext("不显示进度条"))
        export = sub.add_parser("export", help=gettext("导出审计记录为 CSV（UTF-8，带 BOM）"))
        export.add_argument("--since", help=gettext("起始日期 YYYY-MM-DD（含）"))
        export.add_argument("--until", help=gettext("截止日期 YYYY-MM-DD（含）"))
        export.add_argument("--action", help=gettext("只导出这类事件，如 auth. 或 resource.publish"))
        export.add_argument("--output", required=True, help=gettext("输出文件；- 表示标准输出"))

    def handle(self, *args, subcommand, **options):
        return getattr(self, f"do_{subcommand}")(**options) or ""

    # --- verify -------------------------------------------------------------------------------

    def _bar(self, no_progress: bool, unit: str):
        state = {}

        def progress(done, total):
            bar = state.get("bar")
            if bar is None:
                bar = state["bar"] = tqdm(total=total, unit=unit, file=self.stderr._out,
                                          disable=True if no_progress else None, leave=False)
            bar.total = total
            bar.n = done
            bar.refresh()

        def close():
            if "bar" in state:
                state["bar"].close()

        return progress, close

    def do_verify(self, archives=False, no_seal=False, no_progress=False, **options):
        from jiyue.audit.chain import verify

        progress, close = self._bar(no_progress, gettext("条"))
        try:
            report = verify(archives=archives, seal_first=not no_seal, progress=progress)
        finally:
            close()
        for note in report.notes:
            self.stdout.write(note)
        if report.ok:
            self.stdout.write(gettext("校验通过 %(n)d 条") % {"n": report.total})
            details = gettext("数据库中 %(db)d 条，已归档 %(archived)d 条（%(how)s）；尚未封存 %(unsealed)d 条。") % {
                "db": report.checked, "archived": report.archived, "unsealed": report.unsealed,
                "how": gettext("已逐条校验归档文件") if report.archives_checked
                else gettext("按归档清单衔接；加 --archives 逐条校验")}
            self.stdout.write(details)
            return
        self.stderr.write(gettext("审计日志校验失败：发现 %(n)d 处问题。") % {"n": len(report.problems)})
        for problem in report.problems[:MAX_LISTED]:
            self.stderr.write(f"- {problem.message}")
        if len(report.problems) > MAX_LISTED:
            self.stderr.write(gettext("……另有 %(n)d 处问题未列出。") % {"n": len(report.problems) - MAX_LISTED})
        raise CommandError(gettext("第一处问题：%(problem)s") % {"problem": report.problems[0].message})

    # --- seal ---------------------------------------------------------------------------------

    def do_seal(self, **options):
        from jiyue.audit.chain import seal
        from jiyue.audit.models import AuditHead

        n = seal()
        head = AuditHead.objects.filter(pk=1).first()
        self.stdout.write(gettext("已封存 %(n)d 条审计记录；链头 seq=%(seq)s。")
                          % {"n": n, "seq": head.head_seq if head else 0})

    # --- archive ------------------------------------------------------------------------------

    def do_archive(self, no_progress=False, **options):
        from jiyue.audit.archive import AuditChainError, archive, retention_days

        progress, close = self._bar(no_progress, gettext("条"))
        try:
            result = archive(progress=progress)
        except (ImproperlyConfigured, AuditChainError) as exc:
            raise CommandError(str(exc)) from None
        finally:
            close()
        if result is None:
            self.stdout.write(gettext("没有超过保存期（%(days)d 天）的审计记录需要归档。")
                              % {"days": retention_days()})
            return
        self.stdout.write(gettext("已归档 seq=%(first)d–%(last)d 共 %(n)d 条：%(path)s")
                          % {"first": result.first_seq, "last": result.last_seq, "n": result.count,
                             "path": result.path})

    # --- export -------------------------------------------------------------------------------

    def do_export(self, since=None, until=None, action=None, output="-", **options):
        from jiyue.audit import export, record
        from jiyue.audit.models import AuditEntry

        qs = AuditEntry.objects.order_by("id")
        tz = timezone.get_current_timezone()
        start = _date(since) if since else None
        end = _date(until) if until else None
        if start and end and start > end:
            raise CommandError(gettext("起始日期不能晚于截止日期。"))
        if start:
            qs = qs.filter(at__gte=datetime.combine(start, time.min, tzinfo=tz))
        if end:
            qs = qs.filter(at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz))
        if action:
            qs = qs.filter(action__startswith=action)
        count = qs.count()
        target = None if output == "-" else Path(output)
        if target is not None and not target.parent.is_dir():
            raise CommandError(gettext("输出目录不存在：%(dir)s") % {"dir": target.parent})
        record(None, None, None, "audit.export", gettext("审计日志 CSV"), object_type="audit.auditentry",
               via="cli", os_user=getpass.getuser(), output=str(target or "-"), count=count,
               filters={k: v for k, v in (("since", since), ("until", until), ("action", action)) if v})
        if target is None:
            for line in export.lines(qs):
                sys.stdout.write(line)
            return
        tmp = target.with_name(f".{target.name}.part")
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            for line in export.lines(qs):
                f.write(line)
        tmp.replace(target)
        self.stdout.write(gettext("已导出 %(n)d 条审计记录到 %(path)s") % {"n": count, "path": target})
