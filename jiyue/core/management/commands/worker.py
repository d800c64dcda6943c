from django.core.management.base import BaseCommand
from django.utils.translation import gettext


class Command(BaseCommand):
    @property
    def help(self):  # a property: argparse needs a real str, not a lazy translation
        return gettext("运行后台任务工作进程（嵌入式数据库队列或 Redis 队列），并运行周期任务调度。")

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help=gettext("运行完当前队列中的任务后退出"))
        parser.add_argument("--no-scheduler", action="store_true", help=gettext("不运行周期任务调度"))

    def handle(self, *args, batch=False, no_scheduler=False, **options):
        from jiyue.core import periodic, worker

        if batch:
            periodic.tick()
            worker.run_pending()
            return
        worker.run_forever(scheduler=not no_scheduler)
