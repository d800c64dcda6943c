"""`jiyue letters check [--now ISO] [--no-screen]`: run the letters' clock once (warnings,
escalations, inspection alerts, screening catch-up) and print a summary; `jiyue letters
screen`: screen every letter not screened yet."""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext


class Command(BaseCommand):
    @property
    def help(self):
        return gettext("信件：检查办理时限（到期提醒、超期督办、巡查预警）；补做来信筛查。")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        chk = sub.add_parser("check", help=gettext("检查办理时限并打印汇总（可重复运行，不会重复提醒）"))
        chk.add_argument("--now", help=gettext("按此时间检查（ISO 格式，如 2024-10-11T09:00），用于核对"))
        chk.add_argument("--no-screen", action="store_true", help=gettext("不补做来信筛查"))
        sub.add_parser("screen", help=gettext("筛查所有尚未筛查的来信"))

    def handle(self, *args, action=None, **options):
        getattr(self, f"do_{action}")(**options)

    def do_check(self, now=None, no_screen=False, **options):
        from jiyue.letters import clock

        when = None
        if now:
            try:
                when = datetime.fromisoformat(now)
            except ValueError:
                raise CommandError(gettext("时间格式不正确：%(v)s（示例：2024-10-11T09:00）") % {"v": now}) from None
            if timezone.is_naive(when):
                when = timezone.make_aware(when)
        summary = clock.check(when, screen=not no_screen)
        self.stdout.write(summary.text())
        o = clock.overview(when)
        self.stdout.write(gettext(
            "办理中 %(open)d 封，其中已超期 %(overdue)d 封；未答复的有效咨询：满30天 %(a)d 封，满60天 %(b)d 封，满80天 %(c)d 封。")
            % {"open": o["open"], "overdue": o["overdue"], "a": o["unanswered_30"],
               "b": o["unanswered_60"], "c": o["unanswered_80"]})
        if o["oldest"] is not None:
            self.stdout.write(gettext("最早的未答复咨询来信时间：%(t)s")
                              % {"t": timezone.localtime(o["oldest"]).strftime("%Y-%m-%d %H:%M")})

    def do_screen(self, **options):
        from jiyue.letters.screening import screen_pending

        n = screen_pending(limit=10_000_000, older_than_seconds=0)
        self.stdout.write(gettext("已筛查 %(n)d 封来信。") % {"n": n})
