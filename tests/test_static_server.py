"""The file server in front of Django (`jiyue.web.static_server`): routing by Host and under
/sites/<code>/, application prefixes passed on, content negotiation, validators, 404 pages,
traversal, redirects, freshness after the publisher renames a file in; and `jiyue serve` for
real."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from email.utils import formatdate

import pytest

from jiyue.web.static_server import StaticServer, normalise_host, parse_accept_encoding

PORTAL, CZT = "3400000001", "3400000002"
PAGE = "<!doctype html><html lang=zh-CN><title>安徽省人民政府</title><h1>首页</h1></html>".encode()
NOT_FOUND = "<!doctype html><title>页面不存在</title><p>页面不存在</p>".encode()


def fake_brotli(data: bytes) -> bytes:
    try:
        import brotli
    except ImportError:  # the server never decodes: any distinct bytes do
        return b"BR" + gzip.compress(data, mtime=0)
    return brotli.compress(data)


def write(path, data: bytes, siblings: bool = False):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if siblings:
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(data, mtime=0))
        path.with_name(path.name + ".br").write_bytes(fake_brotli(data))


def make_tree(base):
    """A published tree as docs/publishing.md describes it (two sites, host links)."""
    public = base / "public"
    portal, czt = public / PORTAL, public / CZT
    write(portal / "index.html", PAGE, siblings=True)
    write(portal / "404.html", NOT_FOUND, siblings=True)
    write(portal / "xxgk" / "index.html", "<h1>信息公开</h1>".encode(), siblings=True)
    write(portal / "xxgk" / "list-2.html", "<h1>第二页</h1>".encode(), siblings=True)
    write(portal / "assets" / "site.css", b"body{color:#333}", siblings=True)
    write(portal / "assets" / "logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", siblings=True)
    write(portal / "sitemap.xml", b"<?xml version='1.0'?><urlset/>", siblings=True)
    write(portal / "files" / ("ab" * 32 + ".pdf"), b"%PDF-1.4 fake")
    write(portal / "files" / ("cd" * 32 + ".png"), b"\x89PNG fake")
    write(portal / "中文" / "index.html", "<h1>中文路径</h1>".encode())
    write(portal / ".jiyue-tmp-index.html.123", b"half written")
    write(czt / "index.html", "<h1>安徽省财政厅</h1>".encode(), siblings=True)  # no 404.html
    write(base / "secret.txt", b"outside the tree")
    write(public / "outside.html", b"outside the site")
    (portal / "escape.html").symlink_to(base / "secret.txt")
    (portal / "escape2.html").symlink_to("../outside.html")
    hosts = public / "_hosts"
    hosts.mkdir()
    for name, code in [("www.ah.gov.cn", PORTAL), (f"{PORTAL}.localhost", PORTAL),
                       ("czt.ah.gov.cn", CZT)]:
        (hosts / name).symlink_to(f"../{code}")
    (hosts / "evil.example").symlink_to("../..")
    return public


class Inner:
    """Stands in for Django: records what it was given."""

    def __init__(self):
        self.calls = []
        self.remotes = []

    def __call__(self, environ, start_response):
        self.remotes.append(environ.get("REMOTE_ADDR"))
        self.calls.append({"path": environ["PATH_INFO"], "qs": environ.get("QUERY_STRING"),
                           "site": environ.get("HTTP_X_JIYUE_SITE"),
                           "method": environ["REQUEST_METHOD"]})
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"django"]


@pytest.fixture
def public(tmp_path, settings):
    root = make_tree(tmp_path)
    settings.JIYUE_PUBLIC_ROOT = root
    return root


@pytest.fixture
def inner():
    return Inner()


@pytest.fixture
def app(public, inner):
    return StaticServer(inner, host_ttl=0)


class Response:
    def __init__(self, status, headers, body):
        self.status = int(status.split()[0])
        self.status_line = status
        self.header_list = headers
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body


def call(app, path, host="www.ah.gov.cn", method="GET", qs="", **headers):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": qs,
               "SCRIPT_NAME": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
               "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr}
    if host is not None:
        environ["HTTP_HOST"] = host
    for name, value in headers.items():
        if name == "REMOTE":
            environ["REMOTE_ADDR"] = value
            continue
        environ["HTTP_" + name.upper()] = value
    got = {}

    def start_response(status, response_headers, exc_info=None):
        assert "status" not in got, "start_response called twice"
        for name, value in response_headers:  # what a WSGI server would insist on
            assert isinstance(name, str) and isinstance(value, str)
            value.encode("latin-1")
        got["status"], got["headers"] = status, response_headers

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return Response(got["status"], got["headers"], body)


# --- routing ---------------------------------------------------------------------------------
def test_host_serves_its_site(app, inner):
    r = call(app, "/")
    assert r.status == 200 and r.body == PAGE
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["content-length"] == str(len(PAGE))
    assert r.headers["cache-control"] == "public, max-age=300"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["vary"] == "Accept-Encoding"
    assert call(app, "/index.html", host="WWW.AH.GOV.CN:8000").body == PAGE
    assert call(app, "/", host=f"{PORTAL}.localhost:8000").body == PAGE
    assert call(app, "/", host="www.ah.gov.cn.").body == PAGE
    assert "财政厅" in call(app, "/", host="czt.ah.gov.cn").body.decode()
    assert "信息公开" in call(app, "/xxgk/").body.decode()
    assert "第二页" in call(app, "/xxgk/list-2.html").body.decode()
    assert inner.calls == []


def test_ipv4_clients_of_the_dual_stack_socket_reach_django_as_ipv4(app, inner):
    """`jiyue serve` listens on ::; an IPv4 client arrives as ::ffff:a.b.c.d, and Django (the
    audit log, rate limits) sees a.b.c.d. IPv6 clients keep their address."""
    for remote, seen in (("::ffff:192.0.2.7", "192.0.2.7"), ("::FFFF:10.0.0.1", "10.0.0.1"),
                         ("2001:db8::1", "2001:db8::1"), ("::1", "::1"),
                         ("127.0.0.1", "127.0.0.1")):
        call(app, "/api/v1/sites", REMOTE=remote)
        call(app, f"/sites/{CZT}/_/search", REMOTE=remote)
        assert inner.remotes[-2:] == [seen, seen], remote


def test_unknown_hosts_and_app_prefixes_go_to_django(app, inner):
    assert call(app, "/", host="admin.jiyue.example").body == b"django"
    assert call(app, "/", host=None).body == b"django"  # SERVER_NAME 127.0.0.1 is no site
    for path in ("/_/search", "/admin/", "/api/v1/sites", "/static/x.css", "/media/a.png",
                 "/documents/1/a.pdf"):
        assert call(app, path, X_JIYUE_SITE="3400000002").body == b"django"
    r = call(app, "/_/form", method="POST")
    assert r.status == 200 and r.body == b"django"
    assert [c["path"] for c in inner.calls][2:4] == ["/_/search", "/admin/"]
    # a client cannot choose the site for Django: only /sites/<code>/ sets the header
    assert all(c["site"] is None for c in inner.calls)


def test_sites_prefix_serves_files_and_passes_app_paths(app, inner):
    assert call(app, f"/sites/{PORTAL}/", host="localhost:8000").body == PAGE
    assert call(app, f"/sites/{PORTAL}/index.html", host=None).body == PAGE
    assert "财政厅" in call(app, f"/sites/{CZT}/", host="www.ah.gov.cn").body.decode()
    assert "信息公开" in call(app, f"/sites/{PORTAL}/xxgk/", host="other.example").body.decode()
    assert inner.calls == []
    r = call(app, f"/sites/{CZT}/_/search", host="localhost", qs="q=%E9%A2%84%E7%AE%97")
    assert r.body == b"django"
    assert inner.calls[-1] == {"path": "/_/search", "qs": "q=%E9%A2%84%E7%AE%97", "site": CZT,
                               "method": "GET"}
    call(app, f"/sites/{PORTAL}/api/v1/sites", host="localhost", method="POST")
    assert inner.calls[-1] == {"path": "/api/v1/sites", "qs": "", "site": PORTAL,
                               "method": "POST"}
    # /sites/<code>/ for a site without a directory: a plain 404, not Django
    r = call(app, "/sites/3400009999/", host="localhost")
    assert r.status == 404 and "未找到" in r.body.decode()
    assert len(inner.calls) == 2


def test_host_links_appear_without_restart(app, public):
    assert call(app, "/", host="new.ah.gov.cn").body == b"django"
    (public / "_hosts" / "new.ah.gov.cn").symlink_to(f"../{CZT}")
    assert "财政厅" in call(app, "/", host="new.ah.gov.cn").body.decode()


# --- files -----------------------------------------------------------------------------------
# What both servers (jiyue serve, nginx) send for files of the tree made by make_tree():
# path -> (Content-Type, Cache-Control).
TYPES_AND_CACHING = {
    "/assets/site.css": ("text/css; charset=utf-8", "public, max-age=31536000, immutable"),
    "/assets/logo.svg": ("image/svg+xml; charset=utf-8", "public, max-age=31536000, immutable"),
    "/sitemap.xml": ("application/xml; charset=utf-8", "public, max-age=300"),
    f"/files/{'ab' * 32}.pdf": ("application/pdf", "public, max-age=31536000, immutable"),
    f"/files/{'cd' * 32}.png": ("image/png", "public, max-age=31536000, immutable"),
}


def test_content_types_and_cache_lifetimes(app):
    for path, (ctype, cache) in TYPES_AND_CACHING.items():
        r = call(app, path, ACCEPT_ENCODING="gzip, br")
        assert r.status == 200, path
        assert (r.headers["content-type"], r.headers["cache-control"]) == (ctype, cache), path
    r = call(app, f"/files/{'cd' * 32}.png", ACCEPT_ENCODING="gzip, br")
    assert "content-encoding" not in r.headers and "vary" not in r.headers
    # a UTF-8 path arrives as latin-1 text in WSGI
    r = call(app, "/中文/".encode().decode("latin-1"))
    assert r.status == 200 and "中文路径" in r.body.decode()


def test_accept_encoding_chooses_br_then_gzip(app, public):
    index = public / PORTAL / "index.html"
    r = call(app, "/", ACCEPT_ENCODING="gzip, deflate, br, zstd")
    assert r.headers["content-encoding"] == "br" and r.body == index.with_name("index.html.br").read_bytes()
    assert r.headers["content-length"] == str(len(r.body))
    assert r.headers["vary"] == "Accept-Encoding"
    etag_br = r.headers["etag"]
    r = call(app, "/", ACCEPT_ENCODING="gzip")
    assert r.headers["content-encoding"] == "gzip" and gzip.decompress(r.body) == PAGE
    etag_gz = r.headers["etag"]
    r = call(app, "/", ACCEPT_ENCODING="br;q=0, gzip;q=0.5")
    assert r.headers["content-encoding"] == "gzip"
    r = call(app, "/", ACCEPT_ENCODING="identity")
    assert "content-encoding" not in r.headers and r.body == PAGE
    etag_plain = r.headers["etag"]
    assert len({etag_br, etag_gz, etag_plain}) == 3
    assert call(app, "/", ACCEPT_ENCODING="*").headers["content-encoding"] == "br"
    # a page without siblings is sent as it is
    r = call(app, "/中文/".encode().decode("latin-1"), ACCEPT_ENCODING="gzip, br")
    assert "content-encoding" not in r.headers
    assert parse_accept_encoding("gzip;q=0, br;q=0.1") == (True, False)
    assert parse_accept_encoding("x-gzip") == (False, True)


def test_etag_last_modified_and_304(app):
    r = call(app, "/xxgk/", ACCEPT_ENCODING="br")
    etag, last_modified = r.headers["etag"], r.headers["last-modified"]
    assert etag.startswith('"') and not etag.startswith("W/")
    for headers in ({"IF_NONE_MATCH": etag}, {"IF_NONE_MATCH": f'"x", W/{etag}'},
                    {"IF_NONE_MATCH": "*"}, {"IF_MODIFIED_SINCE": last_modified},
                    {"IF_MODIFIED_SINCE": formatdate(time.time() + 60, usegmt=True)}):
        r = call(app, "/xxgk/", ACCEPT_ENCODING="br", **headers)
        assert r.status == 304 and r.body == b"", headers
        assert r.headers["etag"] == etag and r.headers["cache-control"] == "public, max-age=300"
        assert "content-length" not in r.headers
    # the gzip representation has another tag: a cached br copy is not "not modified" for it
    assert call(app, "/xxgk/", ACCEPT_ENCODING="gzip", IF_NONE_MATCH=etag).status == 200
    assert call(app, "/xxgk/", ACCEPT_ENCODING="br", IF_NONE_MATCH='"other"').status == 200
    # If-None-Match wins over If-Modified-Since
    assert call(app, "/xxgk/", ACCEPT_ENCODING="br", IF_NONE_MATCH='"other"',
                IF_MODIFIED_SINCE=last_modified).status == 200
    old = formatdate(time.time() - 86400 * 365 * 20, usegmt=True)
    assert call(app, "/xxgk/", ACCEPT_ENCODING="br", IF_MODIFIED_SINCE=old).status == 200
    assert call(app, "/xxgk/", ACCEPT_ENCODING="br", IF_MODIFIED_SINCE="garbage").status == 200


def test_head_and_other_methods(app, inner):
    get = call(app, "/", ACCEPT_ENCODING="gzip")
    head = call(app, "/", method="HEAD", ACCEPT_ENCODING="gzip")
    assert head.status == 200 and head.body == b""
    assert head.header_list == get.header_list
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        r = call(app, "/", method=method)
        assert r.status == 405 and r.headers["allow"] == "GET, HEAD"
        assert "不支持" in r.body.decode()
    assert inner.calls == []


def test_missing_file_gets_the_site_404_page(app):
    r = call(app, "/no/such/page.html")
    assert r.status == 404 and r.body == NOT_FOUND
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "etag" not in r.headers
    r = call(app, "/no/such/", ACCEPT_ENCODING="gzip")
    assert r.status == 404 and gzip.decompress(r.body) == NOT_FOUND
    assert r.headers["content-encoding"] == "gzip"
    r = call(app, f"/sites/{PORTAL}/missing.html", host=None)
    assert r.status == 404 and r.body == NOT_FOUND
    r = call(app, "/missing.html", method="HEAD")
    assert r.status == 404 and r.body == b""
    # a site without 404.html: plain Chinese text
    r = call(app, "/missing.html", host="czt.ah.gov.cn")
    assert r.status == 404 and r.headers["content-type"] == "text/plain; charset=utf-8"
    assert "页面不存在" in r.body.decode()


@pytest.mark.parametrize("path", [
    "/../3400000002/index.html", "/xxgk/../index.html", "/./index.html", "/..", "/xxgk/..",
    "/index.html\x00.png", "/.jiyue-tmp-index.html.123", "/escape.html", "/escape2.html",
    "/..\\outside.html", "/%2e%2e/outside.html",
])
def test_traversal_and_hidden_files_are_not_served(app, path):
    r = call(app, path)
    assert r.status == 404 and r.body == NOT_FOUND


@pytest.mark.parametrize("path", [
    "/sites/../outside.html", "/sites/_hosts/www.ah.gov.cn/index.html", "/sites/./index.html",
    "/sites/..%2f3400000001/index.html", f"/sites/{PORTAL}/../{CZT}/index.html",
])
def test_traversal_under_sites(app, inner, path):
    r = call(app, path, host=None)
    assert r.status == 404 and inner.calls == []


def test_hosts_cannot_name_paths(app, inner, public):
    assert normalise_host("WWW.Ah.Gov.CN:443") == "www.ah.gov.cn"
    assert normalise_host("[::1]:8000") == "[::1]"
    for bad in ("../3400000001", "a/b", "..", ".", "", "www..ah", "x\x00y", "evil.example"):
        inner.calls.clear()
        r = call(app, "/index.html", host=bad)
        assert r.body == b"django" and inner.calls, bad  # not a site: Django answers (and 400s)


def test_directory_without_slash_redirects(app):
    r = call(app, "/xxgk", qs="a=1")
    assert r.status == 301 and r.headers["location"] == "/xxgk/?a=1"
    r = call(app, f"/sites/{PORTAL}/xxgk", host=None)
    assert r.status == 301 and r.headers["location"] == f"/sites/{PORTAL}/xxgk/"
    r = call(app, f"/sites/{PORTAL}", host=None)
    assert r.status == 301 and r.headers["location"] == f"/sites/{PORTAL}/"
    r = call(app, "/中文".encode().decode("latin-1"))
    assert r.status == 301 and r.headers["location"] == "/%E4%B8%AD%E6%96%87/"


def _replace(path, data: bytes, mtime_ns: int | None = None):
    """What the publisher does: write a temporary file beside it and rename it over."""
    tmp = path.with_name(".jiyue-tmp-" + path.name)
    tmp.write_bytes(data)
    if mtime_ns is not None:
        os.utime(tmp, ns=(mtime_ns, mtime_ns))
    os.replace(tmp, path)


def test_cache_stays_fresh_when_files_are_renamed_in(app, public):
    index = public / PORTAL / "index.html"
    first = call(app, "/")
    assert call(app, "/").body == PAGE  # from the cache now
    # same size and same mtime: only the inode tells them apart
    same_size = PAGE.replace("首页".encode(), "主页".encode())
    assert len(same_size) == len(PAGE)
    _replace(index, same_size, mtime_ns=index.stat().st_mtime_ns)
    r = call(app, "/")
    assert r.body == same_size
    newer = PAGE + b"<p>new</p>"
    _replace(index, newer)
    r = call(app, "/", IF_NONE_MATCH=first.headers["etag"])
    assert r.status == 200 and r.body == newer and r.headers["etag"] != first.headers["etag"]
    assert r.headers["content-length"] == str(len(newer))
    # compressed siblings too
    call(app, "/", ACCEPT_ENCODING="gzip")
    _replace(index.with_name("index.html.gz"), gzip.compress(newer, mtime=0))
    assert gzip.decompress(call(app, "/", ACCEPT_ENCODING="gzip").body) == newer
    # removed: 404
    for p in (index, index.with_name("index.html.gz"), index.with_name("index.html.br")):
        p.unlink()
    assert call(app, "/", ACCEPT_ENCODING="gzip").status == 404


def test_large_files_are_streamed(public, inner):
    app = StaticServer(inner, host_ttl=0, small_file=16)
    big = public / PORTAL / "files" / ("ef" * 32 + ".pdf")
    data = os.urandom(300_000)
    write(big, data)
    r = call(app, big.relative_to(public / PORTAL).as_posix().join(["/", ""]))
    assert r.status == 200 and r.body == data and r.headers["content-length"] == str(len(data))
    assert call(app, "/").body == PAGE  # over the limit: from disk, still right
    _replace(big, data[:1000])
    assert call(app, "/files/" + big.name).body == data[:1000]
    r = call(app, "/missing")  # a 404 page over the limit is streamed too
    assert r.status == 404 and r.body == NOT_FOUND
    r = call(app, "/missing", method="HEAD")
    assert r.status == 404 and r.body == b"" and r.headers["content-length"] == str(len(NOT_FOUND))


def test_cache_budget_is_kept(public, inner):
    app = StaticServer(inner, host_ttl=0, cache_budget=100)
    for _ in range(3):
        for path in ("/", "/xxgk/", "/assets/site.css", "/sitemap.xml"):
            assert call(app, path).status == 200
    assert app._cached_bytes <= 100


# --- `jiyue serve` for real ------------------------------------------------------------------
def _fetch(url, headers=None, timeout=60):
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}),
                                        timeout=5) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.3)


def test_jiyue_serve_serves_published_sites(tmp_path):
    from tests.test_commands import _free_port

    public = make_tree(tmp_path)
    env = {**os.environ, "JIYUE_HOME": str(tmp_path / "home"), "JIYUE_PUBLIC_ROOT": str(public),
           "JIYUE_TASKS": "db"}
    env.pop("DATABASE_URL", None)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "jiyue.cli", "serve", "--host", "127.0.0.1",
                               "--port", str(port), "--no-jobs"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        status, headers, body = _fetch(base + "/", {"Host": "www.ah.gov.cn"})
        assert status == 200 and body == PAGE
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        status, headers, body = _fetch(base + "/", {"Host": "www.ah.gov.cn",
                                                    "Accept-Encoding": "gzip"})
        assert headers["Content-Encoding"] == "gzip" and gzip.decompress(body) == PAGE
        status, headers, body = _fetch(base + "/", {"Host": "www.ah.gov.cn",
                                                    "If-None-Match": headers["ETag"],
                                                    "Accept-Encoding": "gzip"})
        assert status == 304
        status, _, body = _fetch(f"{base}/sites/{CZT}/")
        assert status == 200 and "财政厅" in body.decode()
        status, _, body = _fetch(f"{base}/sites/{PORTAL}/nothing.html")
        assert status == 404 and body == NOT_FOUND
        # Django still answers next to the files
        status, _, body = _fetch(f"{base}/admin/login/", {"Host": "localhost"})
        assert status in (200, 500)  # no migrations in this throwaway home: it is Django
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
