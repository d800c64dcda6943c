"""Serving benchmark (not a test): requests per second for one published page, side by side.

    .venv/bin/python bench/bench_serving.py                      # build, publish, measure
    .venv/bin/python bench/bench_serving.py --home DIR           # reuse a published JIYUE_HOME
    .venv/bin/python bench/bench_serving.py --json out.json --duration 10 --connections 64

It needs Debian's nginx and wrk (`scripts/test` installs both as root). The page is the portal's
home page of the demo province, published with `jiyue demo` and `jiyue publish --full` in a
fresh temporary JIYUE_HOME (or a synthetic ~20 KB page with .gz/.br siblings when the publisher
is not there, or with --synthetic). All servers are started, then each target is loaded with
`wrk -t<threads> -c<connections> -d<duration>s` on the loopback (after a short warm-up), one
at a time, in interleaved rounds; wrk and the server share the machine's cores.

Targets (TARGETS below, in order): nginx on a plain copy of the page (stock settings: the
baseline), nginx with deploy/nginx/jiyue.conf on the published tree by Host header, and
`jiyue serve --workers 2` (granian) by Host header. A new target is a `Target` subclass with
`start(ctx) -> Endpoint` and `stop()`, appended to TARGETS (or passed to `run()`).
Results are printed as a table (req/s and ratio to nginx on the plain file) and as JSON; they
are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
NGINX = "/usr/sbin/nginx"
PYTHON = sys.executable


# --- the published page --------------------------------------------------------------------
@dataclass
class Context:
    home: Path                 # JIYUE_HOME of the application
    public: Path               # the published tree
    host: str                  # a site host name under public/_hosts/
    path: str                  # the page's URL path on that host
    page: Path                 # the page's file
    work: Path                 # scratch directory for the servers
    source: str = ""           # "published demo" or "synthetic"
    env: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        return self.page.stat().st_size


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(home: Path, public: Path) -> dict:
    env = {**os.environ, "JIYUE_HOME": str(home), "JIYUE_PUBLIC_ROOT": str(public),
           "DJANGO_SETTINGS_MODULE": "jiyue.settings", "JIYUE_TASKS": "db"}
    env.setdefault("JIYUE_LOG_LEVEL", "ERROR")
    return env


def publisher_available() -> bool:
    import importlib.util

    return (importlib.util.find_spec("jiyue.publishing.engine") is not None
            and (REPO / "jiyue/publishing/management/commands/publish.py").exists())


def publish_demo(home: Path, env: dict) -> None:
    jiyue = [PYTHON, "-m", "jiyue.cli"]
    for step in (["migrate", "-v0"], ["demo", "-v0"], ["publish", "--full", "--no-progress"]):
        t = time.perf_counter()
        subprocess.run([*jiyue, *step], env=env, cwd=home, check=True, stdout=subprocess.DEVNULL)
        print(f"  jiyue {' '.join(step)}: {time.perf_counter() - t:.1f} s", file=sys.stderr)


def synthetic_tree(public: Path) -> None:
    """A representative page (~20 KB of Chinese HTML) with its siblings, as the publisher
    writes them."""
    import brotli

    code = "3400000001"
    site = public / code
    site.mkdir(parents=True, exist_ok=True)
    items = "".join(
        f'<li><a href="content/{i}.html">关于做好2026年度第{i}批财政资金预算编制工作的通知</a>'
        f"<span>2026-11-{i % 28 + 1:02d}</span></li>\n" for i in range(120))
    html = (f"<!doctype html><html lang=zh-CN><head><meta charset=utf-8><title>安徽省人民政府"
            f"</title><link rel=stylesheet href=assets/site.css></head><body><header>"
            f"<h1>安徽省人民政府</h1></header><main><ul>{items}</ul></main></body></html>")
    data = html.encode()
    (site / "index.html").write_bytes(data)
    (site / "index.html.gz").write_bytes(gzip.compress(data, compresslevel=6, mtime=0))
    (site / "index.html.br").write_bytes(brotli.compress(data, quality=5))
    (site / "404.html").write_bytes("<!doctype html><title>页面不存在</title>".encode())
    hosts = public / "_hosts"
    hosts.mkdir(exist_ok=True)
    if not (hosts / "www.ah.gov.cn").is_symlink():
        (hosts / "www.ah.gov.cn").symlink_to(f"../{code}")


def prepare(args) -> Context:
    work = Path(tempfile.mkdtemp(prefix="jiyue-bench-serving-"))
    home = Path(args.home).resolve() if args.home else work / "home"
    home.mkdir(parents=True, exist_ok=True)
    public = home / "public"
    env = app_env(home, public)
    if not (public / "_hosts").is_dir():
        if args.synthetic or not publisher_available():
            print("building a synthetic published page", file=sys.stderr)
            synthetic_tree(public)
        else:
            print(f"publishing the demo province into {home}", file=sys.stderr)
            publish_demo(home, env)
    source = "synthetic" if args.synthetic or not publisher_available() else "published demo"
    host = args.host or pick_host(public)
    site = (public / "_hosts" / host).resolve()
    if args.path == "auto":
        articles = sorted((int(p.stem) for p in (site / "content").glob("*.html")
                           if p.stem.isdigit()), reverse=True)
        args.path = f"/content/{articles[0]}.html" if articles else "/"
    page = site / args.path.lstrip("/")
    if args.path.endswith("/"):
        page = page / "index.html"
    if not page.is_file():
        raise SystemExit(f"no published page {page}")
    return Context(home=home, public=public, host=host, path=args.path, page=page, work=work,
                   source=source, env=env)


def pick_host(public: Path) -> str:
    names = sorted(p.name for p in (public / "_hosts").iterdir() if p.is_symlink())
    for name in names:
        if name.startswith("www."):
            return name
    return next(n for n in names if not n.endswith(".localhost"))


# --- targets ---------------------------------------------------------------------------------
@dataclass
class Endpoint:
    url: str
    headers: dict


class Target:
    name = ""
    label = ""
    encodings = ("identity", "br")   # Accept-Encoding variants this target is measured with

    def start(self, ctx: Context) -> Endpoint:
        raise NotImplementedError

    def stop(self) -> None:
        pass


class _Nginx(Target):
    workers = 2

    def _run(self, ctx: Context, name: str, site_config: str) -> int:
        from tests.test_nginx import main_config

        prefix = ctx.work / name
        prefix.mkdir()
        (prefix / "site.conf").write_text(site_config, encoding="utf-8")
        conf = prefix / "nginx.conf"
        conf.write_text(main_config(prefix, prefix / "site.conf", workers=self.workers),
                        encoding="utf-8")
        args = [NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
        subprocess.run([*args, "-t"], check=True, capture_output=True)
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


class NginxPlain(_Nginx):
    name = "nginx-plain"
    label = "nginx, a plain file of the same size (stock settings)"
    encodings = ("identity",)

    def start(self, ctx):
        root = ctx.work / "plain"
        root.mkdir()
        shutil.copyfile(ctx.page, root / "page.html")
        port = free_port()
        self._run(ctx, self.name, f"server {{ listen 127.0.0.1:{port}; root {root}; }}\n")
        return Endpoint(f"http://127.0.0.1:{port}/page.html", {})


class NginxTree(_Nginx):
    name = "nginx-tree"
    label = "nginx, deploy/nginx/jiyue.conf, published page by Host"

    def start(self, ctx):
        from tests.test_nginx import render_config

        port = free_port()
        config = render_config(ctx.public, ctx.home / "static", f"127.0.0.1:{free_port()}", port,
                               ipv6=False)
        self._run(ctx, self.name, config)
        return Endpoint(f"http://127.0.0.1:{port}{ctx.path}", {"Host": ctx.host})


class JiyueServe(Target):
    name = "jiyue-serve"
    label = "jiyue serve --workers 2 (granian), published page by Host"
    workers = 2

    def start(self, ctx):
        port = free_port()
        self.process = subprocess.Popen(
            [PYTHON, "-m", "jiyue.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(self.workers), "--no-jobs"],
            env=ctx.env, cwd=ctx.home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        return Endpoint(f"http://127.0.0.1:{port}{ctx.path}", {"Host": ctx.host})

    def stop(self):
        os.killpg(self.process.pid, 15)
        self.process.wait(timeout=30)


class WagtailDynamic(Target):
    """Wagtail's own dynamic serving of the same article: a Wagtail page model
    (bench/wagtailbench) in the site's page tree, on the same database, rendering the same
    template; DEBUG off, cached templates, persistent connections; granian WSGI with the same
    number of workers, straight to Django (no file server in front)."""

    name = "wagtail-dynamic"
    label = "Wagtail page model, the same article rendered per request (granian, 2 workers)"
    encodings = ("identity",)
    workers = 2

    def start(self, ctx):
        m = re.fullmatch(r"/content/(\d+)\.html", ctx.path)
        if not m:
            raise SystemExit("the Wagtail comparison needs an article page: --path /content/<id>.html")
        env = {**ctx.env, "DJANGO_SETTINGS_MODULE": "bench.wagtailbench.settings",
               "PYTHONPATH": str(REPO)}
        subprocess.run([PYTHON, "-m", "django", "migrate", "wagtailbench", "-v0"], env=env,
                       cwd=REPO, check=True)
        script = (
            "from jiyue.platform.models import Site\n"
            "from bench.wagtailbench.models import BenchArticlePage\n"
            f"site = Site.objects.get(code='{ctx.page.parent.parent.name}')\n"
            "home = site.home\n"
            "page = home.get_children().filter(slug='bench-article').first()\n"
            f"page or home.add_child(instance=BenchArticlePage(title='bench', slug='bench-article', resource_id={m.group(1)}))\n"
            "print(site.wagtail_site.hostname)\n")
        out = subprocess.run([PYTHON, "-m", "django", "shell", "-c", script], env=env, cwd=REPO,
                             check=True, capture_output=True, text=True).stdout
        hostname = out.strip().splitlines()[-1]
        port = free_port()
        self.process = subprocess.Popen(
            [PYTHON, "-m", "granian", "--interface", "wsgi", "--workers", str(self.workers),
             "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
             "jiyue.wsgi:application"],
            env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        return Endpoint(f"http://127.0.0.1:{port}/bench-article/", {"Host": hostname})

    def stop(self):
        os.killpg(self.process.pid, 15)
        self.process.wait(timeout=30)


TARGETS: list[type[Target]] = [NginxPlain, NginxTree, JiyueServe, WagtailDynamic]


# --- measuring -------------------------------------------------------------------------------
def wait_ready(endpoint: Endpoint, headers: dict, timeout=90) -> tuple[int, int, str]:
    deadline = time.time() + timeout
    while True:
        try:
            req = urllib.request.Request(endpoint.url, headers={**endpoint.headers, **headers})
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, len(r.read()), r.headers.get("Content-Encoding", "")
        except urllib.error.HTTPError as e:
            raise SystemExit(f"{endpoint.url}: HTTP {e.code}")
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.3)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(endpoint: Endpoint, headers: dict, args, duration: int) -> dict:
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s", "--latency"]
    for name, value in {**endpoint.headers, **headers}.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, endpoint.url], check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if m:
            lat[f"p{pct}_ms"] = round(float(m.group(1)) * _UNITS[m.group(2)], 3)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"rps": rps, **lat, "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(0) if errors else "", "command": " ".join(cmd)}


def run(args, targets: list[type[Target]] | None = None) -> dict:
    for tool in (NGINX, "wrk"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing: apt-get install nginx wrk (scripts/test does)")
    ctx = prepare(args)
    print(f"page: http://{ctx.host}{ctx.path} ({ctx.size} bytes, {ctx.source})", file=sys.stderr)
    started: list[tuple[Target, Endpoint]] = []
    cases = []  # (target, endpoint, encoding, request headers, response bytes)
    samples: dict[int, list[dict]] = {}
    try:
        for cls in targets or TARGETS:
            target = cls()
            started.append((target, target.start(ctx)))
        for target, endpoint in started:
            for encoding in target.encodings:
                if encoding not in args.encodings:
                    continue
                headers = {} if encoding == "identity" else {"Accept-Encoding": encoding}
                status, length, sent = wait_ready(endpoint, headers)
                if encoding != "identity" and sent != encoding:
                    raise SystemExit(f"{target.name}: asked for {encoding}, got {sent or 'identity'}")
                cases.append((target, endpoint, encoding, headers, length))
        # Rounds interleave the targets, so that a slow moment of the machine does not fall
        # on one of them only; each row reports its median round.
        for round_ in range(args.rounds):
            for i, (target, endpoint, encoding, headers, _) in enumerate(cases):
                if round_ == 0:
                    wrk(endpoint, headers, args, args.warmup)
                result = wrk(endpoint, headers, args, args.duration)
                samples.setdefault(i, []).append(result)
                print(f"  round {round_ + 1}: {target.name:<14} {encoding:<9} "
                      f"{result['rps']:>10,.0f} req/s", file=sys.stderr)
    finally:
        for target, _ in started:
            target.stop()
    rows = []
    for i, (target, _, encoding, _, length) in enumerate(cases):
        runs = sorted(samples[i], key=lambda r: r["rps"])
        median = runs[len(runs) // 2]
        rows.append({"target": target.name, "label": target.label, "encoding": encoding,
                     "bytes": length, **median, "rps_rounds": [r["rps"] for r in samples[i]]})
    base = next((r["rps"] for r in rows if r["target"] == "nginx-plain"), None)
    wagtail = next((r["rps"] for r in rows if r["target"] == "wagtail-dynamic"), None)
    for row in rows:
        row["ratio_to_nginx_plain"] = round(row["rps"] / base, 3) if base else None
        row["ratio_to_wagtail"] = round(row["rps"] / wagtail, 1) if wagtail else None
    return {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                    "nginx": nginx_version(), "granian": granian_version()},
        "page": {"host": ctx.host, "path": ctx.path, "bytes": ctx.size, "source": ctx.source},
        "wrk": {"threads": args.threads, "connections": args.connections,
                "duration_s": args.duration, "rounds": args.rounds},
        "results": rows,
    }


def nginx_version() -> str:
    out = subprocess.run([NGINX, "-v"], capture_output=True, text=True).stderr
    return out.strip().split("/")[-1]


def granian_version() -> str:
    import granian

    return granian.__version__


def table(report: dict) -> str:
    lines = ["| target | encoding | response bytes | req/s (median) | rounds | p50 ms | p99 ms "
             "| × nginx plain file | × Wagtail |", "|---|---|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        rounds = " / ".join(f"{x:,.0f}" for x in r["rps_rounds"])
        lines.append(f"| {r['label']} | {r['encoding']} | {r['bytes']:,} | {r['rps']:,.0f} | "
                     f"{rounds} | {r.get('p50_ms', '')} | {r.get('p99_ms', '')} | "
                     f"{r['ratio_to_nginx_plain']:.2f} | {r.get('ratio_to_wagtail') or ''} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="a JIYUE_HOME to use (published already, or published into)")
    parser.add_argument("--synthetic", action="store_true", help="a synthetic page, no publisher")
    parser.add_argument("--host", help="site host name (default: the first www.* under _hosts)")
    parser.add_argument("--path", default="auto",
                        help="the page's URL path (default: the site's newest article page)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3,
                        help="measurements per target, interleaved; the median is reported")
    parser.add_argument("--encodings", default="identity,br",
                        help="Accept-Encoding variants to measure (identity, br, gzip)")
    parser.add_argument("--json", help="write the JSON report to this file (default: stdout)")
    args = parser.parse_args(argv)
    args.encodings = tuple(e.strip() for e in args.encodings.split(","))
    report = run(args)
    print(table(report))
    text = json.dumps(report, ensure_ascii=False, indent=2)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)


if __name__ == "__main__":
    main()
