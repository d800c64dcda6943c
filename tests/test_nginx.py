"""deploy/nginx/jiyue.conf, run for real: Debian's nginx as an ordinary process (a temporary
prefix, a free port, pid and logs in a temporary directory) in front of a published tree and a
small stand-in for the application."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import socket
import subprocess
import threading
import time
from email.utils import formatdate
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from tests.test_static_server import CZT, NOT_FOUND, PAGE, PORTAL, TYPES_AND_CACHING, make_tree

NGINX = "/usr/sbin/nginx"
TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "nginx" / "jiyue.conf"

pytestmark = [
    pytest.mark.nginx,
    pytest.mark.skipif(not os.path.exists(NGINX),
                       reason="Debian's nginx is not installed (/usr/sbin/nginx): "
                              "apt-get install nginx, or run scripts/test as root"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def render_config(public: Path, static: Path, upstream: str, port: int,
                  ipv6: bool = True, template: str | None = None) -> str:
    """The template with its three settings and its listening port filled in."""
    text = TEMPLATE.read_text(encoding="utf-8") if template is None else template
    text, n1 = re.subn(r'map "" \$jiyue_public \{ default "[^"]*"; \}',
                       f'map "" $jiyue_public {{ default "{public}"; }}', text)
    text, n2 = re.subn(r'map "" \$jiyue_static \{ default "[^"]*"; \}',
                       f'map "" $jiyue_static {{ default "{static}"; }}', text)
    text, n3 = re.subn(r"(upstream jiyue_app \{\s*server )[^;]+;", rf"\g<1>{upstream};", text)
    text, n4 = re.subn(r"listen 80 default_server;", f"listen 127.0.0.1:{port} default_server;",
                       text)
    text, n5 = re.subn(r"listen \[::\]:80 default_server;",
                       f"listen [::1]:{port} default_server;" if ipv6 else "", text)
    assert (n1, n2, n3, n4, n5) == (1, 1, 1, 1, 1), "the template's settings moved"
    return text


def main_config(prefix: Path, site_config: Path, workers: int = 1) -> str:
    """nginx.conf around a site file: Debian's http defaults, everything in `prefix`."""
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the temporary tree
    return f"""{user}daemon off;
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    include {site_config};
}}
"""


class Upstream:
    """The application's stand-in: answers JSON describing the request it was sent."""

    def __init__(self):
        class Quiet(WSGIRequestHandler):
            def log_message(self, *args):
                pass

        self.server = make_server("127.0.0.1", 0, self.app, WSGIServer, Quiet)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def app(environ, start_response):
        seen = {key: environ.get(key) for key in (
            "PATH_INFO", "QUERY_STRING", "REQUEST_METHOD", "HTTP_HOST", "HTTP_X_JIYUE_SITE",
            "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_REAL_IP")}
        body = json.dumps(seen).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Nginx:
    def __init__(self, tmp: Path, public: Path, static: Path, upstream_port: int):
        self.prefix = tmp / "nginx"
        self.prefix.mkdir()
        self.port = free_port()
        self.ipv6 = ipv6_available()
        site = self.prefix / "jiyue.conf"
        site.write_text(render_config(public, static, f"127.0.0.1:{upstream_port}", self.port,
                                      self.ipv6), encoding="utf-8")
        conf = self.prefix / "nginx.conf"
        conf.write_text(main_config(self.prefix, site), encoding="utf-8")
        args = [NGINX, "-p", str(self.prefix), "-c", str(conf), "-e", str(self.prefix / "error.log")]
        check = subprocess.run([*args, "-t"], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"nginx did not start: {self.process.stderr.read()}")
                time.sleep(0.05)

    def request(self, path, host="www.ah.gov.cn", method="GET", address="127.0.0.1", **headers):
        conn = http.client.HTTPConnection(address, self.port, timeout=10)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            if host is not None:
                conn.putheader("Host", host)
            for name, value in headers.items():
                conn.putheader(name.replace("_", "-"), value)
            conn.endheaders()
            r = conn.getresponse()
            body = r.read()
            return r.status, r.headers, body
        finally:
            conn.close()

    def errors(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text() if path.exists() else ""

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nginx")
    public = make_tree(tmp)
    static = tmp / "static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "admin.css").write_bytes(b".admin{}")
    upstream = Upstream()
    nginx = Nginx(tmp, public, static, upstream.port)
    try:
        yield nginx, public
    finally:
        nginx.stop()
        upstream.close()


def test_pages_by_host_and_under_sites(served):
    nginx, _ = served
    status, headers, body = nginx.request("/")
    assert status == 200 and body == PAGE
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "public, max-age=300"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Vary"] == "Accept-Encoding"
    assert nginx.request("/", host=f"{PORTAL}.localhost:8000")[2] == PAGE
    assert nginx.request("/", host="WWW.AH.GOV.CN")[2] == PAGE
    assert "财政厅" in nginx.request("/", host="czt.ah.gov.cn")[2].decode()
    assert "信息公开" in nginx.request("/xxgk/")[2].decode()
    assert nginx.request(f"/sites/{PORTAL}/", host="localhost")[2] == PAGE
    assert "财政厅" in nginx.request(f"/sites/{CZT}/index.html", host="other.example")[2].decode()
    assert "信息公开" in nginx.request(f"/sites/{PORTAL}/xxgk/")[2].decode()
    status, _, body = nginx.request("/%E4%B8%AD%E6%96%87/")
    assert status == 200 and "中文路径" in body.decode()
    if nginx.ipv6:
        assert nginx.request("/", address="::1")[2] == PAGE


def test_content_types_and_cache_lifetimes(served):
    nginx, _ = served
    for path, want in TYPES_AND_CACHING.items():
        for prefix in ("", f"/sites/{PORTAL}"):
            status, headers, _ = nginx.request(prefix + path)
            assert status == 200, path
            assert (headers["Content-Type"], headers["Cache-Control"]) == want, prefix + path
            status, headers, _ = nginx.request(prefix + path, Accept_Encoding="gzip, br")
            assert (headers["Content-Type"], headers["Cache-Control"]) == want, prefix + path


@pytest.mark.parametrize("prefix", ["", f"/sites/{PORTAL}"])
def test_br_and_gzip_siblings_by_accept_encoding(served, prefix):
    nginx, public = served
    index = public / PORTAL / "index.html"
    status, headers, body = nginx.request(prefix + "/", Accept_Encoding="gzip, deflate, br, zstd")
    assert status == 200 and headers["Content-Encoding"] == "br"
    assert body == index.with_name("index.html.br").read_bytes()
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers.get_all("Vary") == ["Accept-Encoding"]
    assert headers["Cache-Control"] == "public, max-age=300"
    etag_br = headers["ETag"]
    status, headers, body = nginx.request(prefix + "/", Accept_Encoding="gzip")
    assert headers["Content-Encoding"] == "gzip" and gzip.decompress(body) == PAGE
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers.get_all("Vary") == ["Accept-Encoding"]
    etag_gz = headers["ETag"]
    for accept, coding in (("br;q=0, gzip", "gzip"), ("gzip;q=0.5, br;q=1.0", "br"),
                           ("x-gzip", "gzip"), ("gzip;q=0, br;q=0", None), ("deflate", None),
                           ("BR", "br"), ("brotli", None)):
        status, headers, body = nginx.request(prefix + "/", Accept_Encoding=accept)
        assert headers["Content-Encoding"] == coding, accept
        assert headers["Vary"] == "Accept-Encoding"
    status, headers, body = nginx.request(prefix + "/")
    assert "Content-Encoding" not in headers and body == PAGE
    assert len({etag_br, etag_gz, headers["ETag"]}) == 3
    status, headers, body = nginx.request(prefix + "/assets/site.css", Accept_Encoding="br")
    assert headers["Content-Encoding"] == "br"
    assert headers["Content-Type"] == "text/css; charset=utf-8"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_etag_last_modified_and_304(served):
    nginx, _ = served
    for encoding in ("br", "gzip", "identity"):
        status, headers, _ = nginx.request("/xxgk/", Accept_Encoding=encoding)
        etag, last_modified = headers["ETag"], headers["Last-Modified"]
        assert etag.startswith('"')
        status, headers, body = nginx.request("/xxgk/", Accept_Encoding=encoding,
                                              If_None_Match=etag)
        assert status == 304 and body == b"" and headers["ETag"] == etag
        assert headers["Cache-Control"] == "public, max-age=300"
        status, _, _ = nginx.request("/xxgk/", Accept_Encoding=encoding,
                                     If_Modified_Since=last_modified)
        assert status == 304
        old = formatdate(time.time() - 86400 * 365 * 20, usegmt=True)
        assert nginx.request("/xxgk/", Accept_Encoding=encoding, If_Modified_Since=old)[0] == 200
        assert nginx.request("/xxgk/", Accept_Encoding=encoding, If_None_Match='"x"')[0] == 200


def test_head(served):
    nginx, _ = served
    status, headers, body = nginx.request("/", method="HEAD", Accept_Encoding="br")
    assert status == 200 and body == b"" and headers["Content-Encoding"] == "br"


def test_not_found_page_with_status_404(served):
    nginx, _ = served
    for path in ("/no/such/page.html", f"/sites/{PORTAL}/no/such/page.html", "/no/such/"):
        status, headers, body = nginx.request(path)
        assert status == 404 and body == NOT_FOUND, path
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert headers["Cache-Control"] == "public, max-age=60"
        status, headers, body = nginx.request(path, Accept_Encoding="gzip")
        assert status == 404 and gzip.decompress(body) == NOT_FOUND, path
        status, headers, body = nginx.request(path, Accept_Encoding="gzip, br")
        assert status == 404 and headers["Content-Encoding"] == "br", path
        assert headers["Content-Type"] == "text/html; charset=utf-8"
    # a site without 404.html, and a /sites/ code without a site: plain Chinese text
    for path, host in (("/missing.html", "czt.ah.gov.cn"), ("/sites/3400009999/", "x.example"),
                       (f"/sites/{CZT}/missing.html", "x.example")):
        status, headers, body = nginx.request(path, host=host)
        assert status == 404 and "页面不存在" in body.decode(), path
        assert headers["Content-Type"] == "text/plain; charset=utf-8"


def test_traversal_and_hidden_files(served):
    nginx, _ = served
    # (nginx follows symbolic links inside a site's directory, which the publisher never
    # makes: deploy/nginx/README.md; `jiyue serve` refuses those that lead out of the site)
    for path in ("/.jiyue-tmp-index.html.123", "/xxgk/../.jiyue-tmp-index.html.123",
                 f"/sites/{PORTAL}/.jiyue-tmp-index.html.123", "/%2e%2e/outside.html",
                 "/sites/_hosts/www.ah.gov.cn/index.html", "/sites/..%2f3400000001/index.html",
                 "/sites/../outside.html", f"/sites/{PORTAL}/../../outside.html"):
        status, _, body = nginx.request(path)
        assert status in (400, 403, 404) and b"outside" not in body and b"half" not in body, path
    # nginx itself resolves "..": this is the portal's own page, never a step out of the site
    status, _, body = nginx.request("/xxgk/../index.html")
    assert status == 200 and body == PAGE
    # not a site's host name: the application (nginx trusts the host links themselves, which
    # only the publisher writes; `jiyue serve` also checks where they lead)
    for host in ("_hosts", "a_b.example", "[::1]"):
        status, _, body = nginx.request("/index.html", host=host)
        assert json.loads(body)["PATH_INFO"] == "/index.html", host
    for host in ("../3400000001", "a/b", "www..ah.gov.cn"):
        assert nginx.request("/index.html", host=host)[0] == 400, host  # nginx refuses them


def test_directory_redirects(served):
    nginx, _ = served
    status, headers, _ = nginx.request("/xxgk?a=1")
    assert status == 301 and headers["Location"] == "/xxgk/?a=1"
    status, headers, _ = nginx.request(f"/sites/{PORTAL}/xxgk")
    assert status == 301 and headers["Location"] == f"/sites/{PORTAL}/xxgk/"
    status, headers, _ = nginx.request(f"/sites/{PORTAL}")
    assert status == 301 and headers["Location"] == f"/sites/{PORTAL}/"


def test_application_paths_are_proxied(served):
    nginx, _ = served
    status, headers, body = nginx.request("/api/v1/sites?page=2", X_Jiyue_Site="3400000002",
                                          X_Forwarded_For="10.9.9.9")
    seen = json.loads(body)
    assert status == 200 and seen["PATH_INFO"] == "/api/v1/sites"
    assert seen["QUERY_STRING"] == "page=2" and seen["HTTP_HOST"] == "www.ah.gov.cn"
    assert seen["HTTP_X_JIYUE_SITE"] is None  # only nginx sets it
    assert seen["HTTP_X_FORWARDED_FOR"] == "10.9.9.9, 127.0.0.1"
    assert seen["HTTP_X_FORWARDED_PROTO"] == "http" and seen["HTTP_X_REAL_IP"] == "127.0.0.1"
    for path in ("/_/search", "/admin/login/", "/documents/1/a.pdf", "/media/images/a.png"):
        assert json.loads(nginx.request(path)[2])["PATH_INFO"] == path
    seen = json.loads(nginx.request("/_/form", method="POST", Content_Length="0")[2])
    assert seen["REQUEST_METHOD"] == "POST"
    # /sites/<code>/_/... reaches the application as /_/... for that site
    seen = json.loads(nginx.request(f"/sites/{CZT}/_/search?q=%E9%A2%84%E7%AE%97",
                                    host="localhost")[2])
    assert seen["PATH_INFO"] == "/_/search" and seen["QUERY_STRING"] == "q=%E9%A2%84%E7%AE%97"
    assert seen["HTTP_X_JIYUE_SITE"] == CZT
    seen = json.loads(nginx.request(f"/sites/{PORTAL}/api/v1/resources")[2])
    assert seen["PATH_INFO"] == "/api/v1/resources" and seen["HTTP_X_JIYUE_SITE"] == PORTAL
    # a host that is no site's: the application answers everything
    seen = json.loads(nginx.request("/", host="admin.jiyue.example")[2])
    assert seen["PATH_INFO"] == "/" and seen["HTTP_HOST"] == "admin.jiyue.example"


def test_static_files_from_static_root(served):
    nginx, _ = served
    status, headers, body = nginx.request("/static/css/admin.css")
    assert status == 200 and body == b".admin{}"
    assert headers["Content-Type"].startswith("text/css")


def test_new_sites_and_renamed_files_need_no_reload(served):
    nginx, public = served
    (public / "_hosts" / "new.ah.gov.cn").symlink_to(f"../{CZT}")
    assert "财政厅" in nginx.request("/", host="new.ah.gov.cn")[2].decode()
    page = public / CZT / "xxgk.html"
    tmp = page.with_name(".jiyue-tmp-xxgk.html")
    for text in ("第一版", "第二版"):
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, page)
        # open files are checked again once a second (open_file_cache_valid 1s)
        deadline = time.monotonic() + 1.5
        while (served_text := nginx.request("/xxgk.html", host="new.ah.gov.cn")[2].decode()) != text \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        assert served_text == text
    problems = [line for line in nginx.errors().splitlines()
                if re.search(r"\[(emerg|alert|crit)\]", line)
                and "Too many levels of symbolic links" not in line]  # the escape tests
    assert not problems


def test_nginx_serves_what_the_publisher_wrote(province, settings, tmp_path):
    """The real publisher's tree behind nginx: pages by host and under /sites/, their types,
    compressed variants, validators, the site's 404 page, a feed, and the API proxied."""
    import brotli

    from tests.publishing_util import make_article, publish

    settings.JIYUE_PUBLIC_ROOT = tmp_path / "public"
    settings.JIYUE_OUTBOX_LAG_SECONDS = 0
    settings.JIYUE_PUBLISH_AUTORUN = False
    art = make_article(province, title="全省财政工作会议召开")
    publish()
    upstream = Upstream()
    nginx = Nginx(tmp_path, settings.JIYUE_PUBLIC_ROOT, tmp_path, upstream.port)
    try:
        home = (settings.JIYUE_PUBLIC_ROOT / CZT / "index.html").read_bytes()
        status, headers, body = nginx.request("/", host="czt.ah.gov.cn")
        assert status == 200 and body == home
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert headers["ETag"] and headers["Last-Modified"]
        status, headers, _ = nginx.request("/", host="czt.ah.gov.cn",
                                           If_None_Match=headers["ETag"])
        assert status == 304
        status, headers, body = nginx.request(f"/content/{art.pk}.html", host="czt.ah.gov.cn",
                                              Accept_Encoding="gzip, deflate, br")
        assert headers["Content-Encoding"] == "br" and "全省财政工作会议召开" in brotli.decompress(body).decode()
        status, headers, body = nginx.request("/bmdt/", host=f"{CZT}.localhost",
                                              Accept_Encoding="gzip")
        assert headers["Content-Encoding"] == "gzip" and art.title in gzip.decompress(body).decode()
        status, headers, body = nginx.request(f"/sites/{CZT}/rss.xml", host="localhost")
        assert status == 200 and headers["Content-Type"].startswith("application/xml")
        assert art.title in body.decode()
        status, _, body = nginx.request("/no/such/page.html", host="czt.ah.gov.cn")
        assert status == 404 and "页面不存在" in body.decode()
        status, _, body = nginx.request("/api/v1/sites?page=1", host="czt.ah.gov.cn")
        seen = json.loads(body)
        assert seen["PATH_INFO"] == "/api/v1/sites" and seen["HTTP_HOST"] == "czt.ah.gov.cn"
        status, _, body = nginx.request(f"/sites/{CZT}/_/search?q=x", host="localhost")
        seen = json.loads(body)
        assert seen["PATH_INFO"] == "/_/search" and seen["HTTP_X_JIYUE_SITE"] == CZT
    finally:
        nginx.stop()
        upstream.close()
