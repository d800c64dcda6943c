"""Helpers for publishing tests: publish through the outbox, snapshot and compare trees."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import brotli

from tests.conftest import store  # noqa: F401  (re-exported for the publishing tests)


def publish():
    """What the background jobs do after a change: the outbox consumer, then the publisher."""
    from jiyue.core import outbox
    from jiyue.publishing import engine

    outbox.dispatch("publisher")
    return engine.run_pending()


def snapshot(root: Path) -> dict[str, bytes]:
    out = {}
    for p in sorted(Path(root).rglob("*")):
        if p.is_file() or p.is_symlink():
            rel = p.relative_to(root).as_posix()
            out[rel] = (b"->" + str(p.readlink()).encode()) if p.is_symlink() else p.read_bytes()
    return out


def check_siblings(root: Path) -> None:
    """Every compressed sibling holds exactly its page."""
    for p in Path(root).rglob("*.gz"):
        assert gzip.decompress(p.read_bytes()) == p.with_suffix("").read_bytes(), p
    for p in Path(root).rglob("*.br"):
        assert brotli.decompress(p.read_bytes()) == p.with_suffix("").read_bytes(), p


def page(root: Path, code: str, path: str) -> str:
    return (Path(root) / code / path).read_text(encoding="utf-8")


def make_article(province, org="czt", title="厅领导调研基层财政工作", place=("bmdt",), publish=True,
                 **extra):
    from jiyue.library.models import Article

    a = Article(organisation=province.orgs[org], title=title,
                body="<p>调研组一行深入基层，了解财政资金使用情况。</p>", live=False, **extra)
    return store(a, *(province.column(org, slug) for slug in place), publish=publish, clean=True)


def make_guide(province, org="czt", title="政府采购供应商投诉处理", place=("bsfw",)):
    from jiyue.library.models import ServiceGuide

    g = ServiceGuide(organisation=province.orgs[org], title=title, legal_basis="《政府采购法》",
                     agency="安徽省财政厅", applicants="参加政府采购活动的供应商",
                     conditions="<p>质疑答复不满意的</p>", materials="<p>投诉书</p>",
                     process="<p>受理、审查、决定</p>", location="合肥市", hours="工作日",
                     promised_limit="30个工作日", statutory_limit="30个工作日", fees="不收费",
                     consult_phone="0551-12345678", complaint_phone="0551-12345679",
                     online_url="https://www.ahzwfw.gov.cn/", live=False)
    return store(g, *(province.column(org, slug) for slug in place), clean=True)


def today():
    return date.today()


def serve_published(live_server, public_root) -> None:
    """Put the embedded file server in front of the (session-wide) live server's application,
    as `jiyue serve` does. A previous test's file server is taken off first: stacked, the outer
    one would hand `/_/…` to the inner one without the site it found."""
    from jiyue.web.static_server import StaticServer

    httpd = live_server.thread.httpd
    app = httpd.get_app()
    while isinstance(app, StaticServer):
        app = app.inner
    httpd.set_app(StaticServer(app, public_root=public_root))
