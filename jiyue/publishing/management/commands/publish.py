"""`jiyue publish [--site CODE] [--full]`: publish waiting changes, or rebuild, with progress."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext
from tqdm import tqdm

from jiyue.publishing import engine
from jiyue.platform.models import Site


class Command(BaseCommand):
    @property
    def help(self):
        return gettext("发布静态页面：默认只处理待发布的变更；--full 全量重建。")

    def add_arguments(self, parser):
        parser.add_argument("--site", help=gettext("只发布这个网站标识码的站点"))
        parser.add_argument("--full", action="store_true", help=gettext("全量重建（逐字节比较，只写入变化的文件）"))
        parser.add_argument("--no-progress", action="store_true", help=gettext("不显示进度条"))
        parser.add_argument("--jobs", type=int, default=1,
                            help=gettext("全量重建时同时处理的站点数（进程数）"))

    def handle(self, *args, site=None, full=False, no_progress=False, jobs=1, **options):
        if site and not Site.objects.filter(code=site).exists():
            raise CommandError(gettext("没有网站标识码为 %(code)s 的站点。") % {"code": site})
        bars = {}

        def progress_for(code):
            def progress(done, total):
                if no_progress:
                    return
                bar = bars.get(code)
                if bar is None:
                    bar = bars[code] = tqdm(total=total, desc=code, unit=gettext("页"),
                                            file=self.stderr._out, leave=True)
                bar.total = total
                bar.n = done
                bar.refresh()
            return progress

        if full:
            codes = [site] if site else list(Site.objects.order_by("code").values_list("code", flat=True))
            results = []
            if jobs > 1 and len(codes) > 1:
                results = engine.run_full(jobs=jobs, progress=progress_for(gettext("站点")))
            else:
                for code in codes:
                    results += engine.run_full(code, progress=progress_for(code))
        else:
            published = set(engine.SiteState.objects.filter(last_run_at__isnull=False)
                            .values_list("site_code", flat=True))
            never = [s for s in Site.objects.order_by("code").values_list("code", flat=True)
                     if s not in published]
            for code in ([site] if site else never):
                if code in never:
                    engine.mark(code, "site")
            codes = [site] if site else engine.pending_sites()
            results = []
            if len(codes) > 1 and engine.default_processes() > 1:
                # sites side by side (JIYUE_PUBLISH_PROCESSES), as the background job does
                results = engine.run_pending(progress=progress_for(gettext("站点")))
            else:
                for code in codes:
                    results += engine.run_pending(code, progress=progress_for(code))
        for bar in bars.values():
            bar.close()
        for s in results:
            self.stdout.write(gettext("%(site)s：%(mode)s，规划 %(planned)d 页，渲染 %(rendered)d 页，"
                                      "写入 %(written)d 个文件，删除 %(deleted)d 个，用时 %(sec).2f 秒")
                              % {"site": s.site, "mode": gettext("全量") if s.full else gettext("增量"),
                                 "planned": s.planned, "rendered": s.rendered, "written": s.written,
                                 "deleted": s.deleted, "sec": s.seconds})
        if not results:
            self.stdout.write(gettext("没有待发布的变更。"))
