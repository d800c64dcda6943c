"""`jiyue serve`: the admin (/admin/) and API (/api/v1/) on IPv4 and IPv6, every site's
published files (by Host header, and under /sites/<code>/; jiyue.web.static_server), with the
embedded background worker and periodic scheduler started alongside as a supervised child
process."""

import logging
import os
import socket
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connections
from django.utils.translation import gettext


def dual_stack_available() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class Command(BaseCommand):
    @property
    def help(self):  # a property: argparse needs a real str, not a lazy translation
        return gettext("启动平台服务（管理后台与开放接口），默认同时监听 IPv4 与 IPv6。")

    def add_arguments(self, parser):
        parser.add_argument("--host", default=None,
                            help=gettext("监听地址；默认 :: （IPv4 与 IPv6 双栈），无 IPv6 时为 0.0.0.0"))
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1, help=gettext("HTTP 工作进程数"))
        parser.add_argument("--threads", type=int, default=None,
                            help=gettext("每个工作进程的请求线程数（默认 JIYUE_SERVE_THREADS 或 8）"))
        parser.add_argument("--no-jobs", action="store_true",
                            help=gettext("不随服务启动后台任务进程（另行运行 jiyue worker 时使用）"))

    def handle(self, *args, host=None, port=8000, workers=1, threads=None, no_jobs=False, **options):
        from granian.constants import Interfaces
        from granian import Granian as Server

        host = host or ("::" if dual_stack_available() else "0.0.0.0")
        call_command("collectstatic", interactive=False, verbosity=0)
        # The HTTP workers are forked: no database connection or thread may be open in this
        # process when they are (SQLite state does not survive a fork). The embedded job
        # worker therefore runs as a supervised child process of its own.
        connections.close_all()
        jobs = None if no_jobs or settings.JIYUE_TASKS == "immediate" else subprocess.Popen(
            [sys.executable, "-m", "jiyue.cli", "worker"])
        shown = f"[{host}]" if ":" in host else host
        self.stdout.write(gettext("jiyue 已启动：http://%(host)s:%(port)s/admin/  接口：/api/v1/  "
                                  "网站：/sites/<网站标识码>/  （后台任务：%(tasks)s）")
                          % {"host": shown, "port": port, "tasks": settings.JIYUE_TASKS})
        # More request threads than granian's rule of thumb (2 × cores + 1) on purpose: they
        # mostly wait on the database, and concurrent form submissions on them share commits.
        logging.getLogger("_granian").addFilter(
            lambda record: "seems quite high" not in record.getMessage())
        try:
            Server(
                "jiyue.wsgi:public_application", address=host, port=port, interface=Interfaces.WSGI,
                workers=workers,
                # requests of a worker run on these threads; concurrent form submissions on
                # them share transactions (core.groupcommit)
                blocking_threads=threads or int(os.environ.get("JIYUE_SERVE_THREADS", "8")),
                # /static/ and /media/ are served by jiyue.wsgi's file server, which gives
                # them the platform's security headers (nosniff, CSP, frame protection)
                log_access=False,
            ).serve()
        finally:
            if jobs is not None:
                jobs.terminate()
                jobs.wait(timeout=30)
