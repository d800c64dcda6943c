"""`jiyue demo [--city]`: build the demo province (or city platform) on the embedded defaults."""

import io
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext


class Command(BaseCommand):
    @property
    def help(self):  # a property: argparse needs a real str, not a lazy translation
        return gettext("创建演示平台：省级（41 个站点）或 --city 市级（市门户、8 个部门、3 个县区门户）。可重复运行。")

    def add_arguments(self, parser):
        parser.add_argument("--city", action="store_true", help=gettext("创建市级演示平台（合肥市）"))
        parser.add_argument("--serve", action="store_true", help=gettext("创建后启动服务"))
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, city=False, serve=False, port=8000, **options):
        from jiyue.core.models import Platform
        from jiyue.demo.loader import DEMO_PASSWORD, Loader

        key = "hf" if city else "ah"
        call_command("migrate", interactive=False, verbosity=0)
        existing = Platform.objects.first()
        if existing and existing.code != key:
            level = gettext("市级") if city else gettext("省级")
            raise CommandError(gettext("此数据目录已是平台 %(platform)s；请为%(level)s演示使用另一个 JIYUE_HOME。")
                               % {"platform": existing, "level": level})
        if existing and not existing.is_demo:
            raise CommandError(gettext("此数据目录是生产平台，不能写入演示数据。"))
        last = {}

        def progress(done, total, label):
            if total and (done == total or done - last.get(label, 0) >= max(1, total // 20)):
                last[label] = done
                bar = "#" * int(30 * done / total)
                sys.stdout.write(f"\r{label} [{bar:<30}] {done}/{total}")
                sys.stdout.flush()
                if done == total:
                    sys.stdout.write("\n")

        verbose = options.get("verbosity", 1) > 0
        result = Loader(key, progress if verbose else None).run()
        # publish every site now (a full build writes only what changed on a rerun); the events
        # of loading are handed to every consumer first, so the build covers them. What the
        # demo's made-up history would notify (replies to demo applicants, alerts on old demo
        # letters) goes to memory, not to the console the demo's verification codes are printed on.
        from django.test import override_settings

        from jiyue.core import outbox

        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            outbox.dispatch()
        call_command("publish", "--full", no_progress=not verbose, verbosity=0,
                     stdout=io.StringIO())
        if not verbose:
            return
        self.stdout.write(self.style.SUCCESS(
            gettext("演示平台就绪：新建信息资源 %(count)d 条。") % {"count": result["created"]}))
        self.stdout.write("\n" + gettext("演示账号（密码均为 %(password)s，仅用于演示）：") % {"password": DEMO_PASSWORD})
        self.stdout.write(f"{gettext('用户名'):<22}{gettext('姓名'):<8}{gettext('角色')}")
        for row in result["accounts"][:12]:
            self.stdout.write(f"{row['username']:<24}{row['name']:<8}{row['roles']}")
        if len(result["accounts"]) > 12:
            self.stdout.write(gettext("……共 %(count)d 个账号，完整列表：jiyue demo_accounts")
                              % {"count": len(result["accounts"])})
        from jiyue.platform.models import Site

        portal = Site.objects.filter(kind="portal").order_by("code").first()
        if portal:
            self.stdout.write("\n" + gettext("公众网站（已发布为静态页面）：http://%(host)s:%(port)s/ "
                                             "或 http://localhost:%(port)s/sites/%(code)s/")
                              % {"host": portal.local_hostname, "port": port, "code": portal.code})
            self.stdout.write(gettext("管理后台：http://localhost:%(port)s/admin/") % {"port": port})
        if serve:
            call_command("serve", port=port)
