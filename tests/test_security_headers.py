"""Security headers on every response — Django, `jiyue serve`'s file server, nginx — and a
published theme that needs no 'unsafe-inline': no inline style, no event handler attributes,
and no inline script but the one allowed by its hash; in Chromium, no page raises a
Content-Security-Policy violation."""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from jiyue.security import headers as sec
from tests.test_static_server import CZT, PORTAL, call, make_tree

ROOT = Path(__file__).resolve().parent.parent
NGINX_CONF = ROOT / "deploy" / "nginx" / "jiyue.conf"


def csp_directives(value: str) -> dict[str, list[str]]:
    out = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def assert_public_headers(headers, csp=sec.PUBLIC_CSP):
    """`headers`: a case-insensitive mapping (lower-case keys for plain dicts)."""
    get = headers.get
    assert (get("Content-Security-Policy") or get("content-security-policy")) == csp
    assert (get("X-Frame-Options") or get("x-frame-options")) == "SAMEORIGIN"
    assert (get("X-Content-Type-Options") or get("x-content-type-options")) == "nosniff"
    assert (get("Referrer-Policy") or get("referrer-policy")) == "same-origin"


# --- the policies themselves ---------------------------------------------------------------

def test_public_policy_allows_nothing_inline_and_no_other_origin():
    d = csp_directives(sec.PUBLIC_CSP)
    for directive in ("default-src", "script-src", "style-src"):
        assert "'unsafe-inline'" not in d[directive] and "'unsafe-eval'" not in d[directive]
    for directive, sources in d.items():
        for source in sources:  # only 'self', hashes, 'none' and data: images
            assert source in ("'self'", "'none'") or source.startswith("'sha256-") or (
                source == "data:" and directive == "img-src"), (directive, source)
    assert d["object-src"] == ["'none'"] and d["frame-ancestors"] == ["'self'"]
    assert d["base-uri"] == ["'self'"]
    # the admin's own, looser policy still keeps other origins and framing out
    a = csp_directives(sec.ADMIN_CSP)
    assert "'unsafe-inline'" in a["script-src"] and a["frame-ancestors"] == ["'self'"]
    assert not [s for v in a.values() for s in v if "." in s or s.startswith("http")]


def test_the_only_inline_script_of_the_theme_is_allowed_by_its_hash():
    """Every inline <script> in the theme's templates has its sha256 in the public policy (an
    edited script without a new hash would be blocked by browsers), and there is no inline
    <style>, style attribute or event handler attribute to allow."""
    scripts = []
    for template in (ROOT / "jiyue/web/themes/default/templates").rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", text, re.I), template.name
        scripts += re.findall(r"<script>(.*?)</script>", text, re.S)
    assert scripts, "404.html sets <base> with an inline script"
    allowed = csp_directives(sec.PUBLIC_CSP)["script-src"]
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in allowed, script


# --- Django --------------------------------------------------------------------------------

def test_dynamic_pages_api_and_refusals_carry_the_headers(province, client):
    host = {"HTTP_HOST": "czt.ah.gov.cn"}
    r = client.get("/_/search", {"q": "预算"}, **host)
    assert r.status_code == 200
    assert_public_headers(r)
    assert "Strict-Transport-Security" not in r  # plain HTTP
    r = client.get("/api/v1/sites")
    assert r.status_code == 200
    assert_public_headers(r)
    r = client.get("/_/no-such-page/", **host)
    assert r.status_code == 404
    assert_public_headers(r)
    # a POST without its CSRF token is refused, with the headers all the same
    from django.test import Client

    r = Client(enforce_csrf_checks=True).post("/admin/login/", {"username": "x", "password": "y"})
    assert r.status_code == 403
    assert_public_headers(r, csp=sec.ADMIN_CSP)


def test_admin_has_its_own_stated_policy(province, client):
    r = client.get("/admin/login/")
    assert r.status_code == 200
    assert_public_headers(r, csp=sec.ADMIN_CSP)
    client.force_login(province.users["czt_editor"])
    r = client.get("/admin/")
    assert r.status_code == 200 and r["Content-Security-Policy"] == sec.ADMIN_CSP


def test_api_docs_page_is_served_from_the_platform(client, db):
    r = client.get("/api/v1/docs")
    assert r.status_code == 200
    assert r["Content-Security-Policy"] == sec.DOCS_CSP
    html = r.content.decode()
    assert "cdn." not in html and "https://" not in html  # Swagger UI from our static files


def test_hsts_over_https_only(province, client, settings):
    r = client.get("/_/search", secure=True, HTTP_HOST="czt.ah.gov.cn")
    assert r["Strict-Transport-Security"] == f"max-age={settings.SECURE_HSTS_SECONDS}"
    assert settings.SECURE_HSTS_SECONDS >= 180 * 86400
    assert "Strict-Transport-Security" not in client.get("/api/v1/sites")
    # JIYUE_HTTPS: TLS ends in front of the platform; every answer says so
    settings.JIYUE_HTTPS = True
    r = client.get("/api/v1/sites")
    assert r["Strict-Transport-Security"].startswith("max-age=")


def test_every_public_dynamic_page_needs_no_unsafe_inline(province, settings):
    """Every page discovery finds under /_/, /account/ and /o/ (anonymously and as a citizen,
    tests/test_payload_corpus.py) carries the public policy and has no inline style, style
    attribute, event handler attribute or inline script the policy would block."""
    from django.test import Client
    from lxml import html as lhtml

    from jiyue.accounts.models import User
    from tests.test_payload_corpus import discover, public_paths

    citizen = User.objects.create_user(username="csp_citizen", password="Passw0rd!x",
                                       kind="citizen", email="csp@example.cn")
    clients = {"anonymous": Client(), "citizen": Client()}
    clients["citizen"].force_login(citizen)
    paths, _ = public_paths()
    _, pages = discover(clients, paths, [])
    allowed = csp_directives(sec.PUBLIC_CSP)["script-src"]
    html_pages = 0
    for who, host, path, r in pages:
        assert r["Content-Security-Policy"] == sec.PUBLIC_CSP, (who, path)
        if r.status_code != 200 or not r["Content-Type"].startswith("text/html"):
            continue
        html_pages += 1
        doc = lhtml.fromstring(r.content)
        assert not doc.xpath("//style"), (who, path, "inline <style>")
        for el in doc.iter():
            if isinstance(el.tag, str):
                bad = [n for n in el.attrib if n == "style" or n.startswith("on")]
                assert not bad, (who, path, el.tag, bad)
        for script in doc.xpath("//script[not(@src)]"):
            if (script.get("type") or "").lower() in ("application/json", "application/ld+json"):
                continue  # data, not run
            digest = base64.b64encode(hashlib.sha256((script.text or "").encode()).digest()).decode()
            assert f"'sha256-{digest}'" in allowed, (who, path, "inline script")
    assert html_pages >= 5


# --- the file server of `jiyue serve` --------------------------------------------------------

@pytest.fixture
def files(tmp_path, settings):
    from jiyue.web.static_server import StaticServer

    public = make_tree(tmp_path)
    (public / PORTAL / "files" / "report.pdf").write_bytes(b"%PDF-1.4 x")
    settings.JIYUE_PUBLIC_ROOT = public

    def inner(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"django"]

    return lambda: StaticServer(inner, host_ttl=0)


def test_file_server_sends_the_headers_on_every_answer(files):
    app = files()
    for path, status, kwargs in [
            ("/", 200, {}), ("/assets/site.css", 200, {}), ("/assets/logo.svg", 200, {}),
            ("/", 304, {"IF_NONE_MATCH": "*"}), ("/no/such/page.html", 404, {}),
            ("/xxgk", 301, {}), ("/", 405, {"method": "POST"}),
            ("/sites/3400009999/", 404, {}), ("/", 200, {"ACCEPT_ENCODING": "br"})]:
        r = call(app, path, **kwargs)
        assert r.status == status, path
        assert_public_headers(r.headers)
        assert "strict-transport-security" not in r.headers
    r = call(app, "/missing.html", host="czt.ah.gov.cn")  # a site without 404.html: plain text
    assert r.status == 404 and r.headers["content-type"].startswith("text/plain")
    assert_public_headers(r.headers)
    # a PDF: framing only (a content policy can keep a browser's PDF viewer from showing it)
    r = call(app, "/files/report.pdf")
    assert r.status == 200 and r.headers["content-security-policy"] == sec.FILE_CSP
    assert r.headers["x-frame-options"] == "SAMEORIGIN"


def test_static_and_media_files_get_the_headers_too(tmp_path, settings):
    """`jiyue serve` serves /static/ and /media/ through the same file server (not the HTTP
    server's bare static answer): nosniff, the policy and frame protection on uploaded files;
    nothing outside the mounted directories."""
    from jiyue.web.static_server import StaticServer

    public = make_tree(tmp_path)
    static, media = tmp_path / "static", tmp_path / "media"
    (static / "css").mkdir(parents=True)
    (static / "css" / "admin.css").write_bytes(b".admin{}")
    (media / "documents").mkdir(parents=True)
    (media / "documents" / "note.txt").write_bytes(b"<script>alert(1)</script>")
    (media / "documents" / "a.pdf").write_bytes(b"%PDF-1.4 x")
    (tmp_path / "secret_key").write_bytes(b"do not serve")

    def inner(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"django"]

    app = StaticServer(inner, public_root=public, host_ttl=0,
                       mounts={"/static/": static, "/media/": media})
    r = call(app, "/static/css/admin.css", host="localhost")
    assert r.status == 200 and r.body == b".admin{}"
    assert r.headers["content-type"] == "text/css; charset=utf-8"
    assert r.headers["cache-control"] == "public, max-age=86400"
    assert_public_headers(r.headers)
    r = call(app, "/media/documents/note.txt", host="www.ah.gov.cn")
    assert r.status == 200 and r.headers["content-type"] == "text/plain; charset=utf-8"
    assert_public_headers(r.headers)
    assert call(app, "/media/documents/a.pdf").headers["content-security-policy"] == sec.FILE_CSP
    for path in ("/media/../secret_key", "/media/%2e%2e/secret_key", "/static/../secret_key",
                 "/media/documents/../../secret_key", "/media/documents/missing.txt"):
        r = call(app, path, host="localhost")
        assert r.status == 404 and b"do not serve" not in r.body, path
        assert_public_headers(r.headers)
    assert call(app, "/api/v1/sites", host="localhost").body == b"django"


def test_file_server_sends_hsts_over_https(files, settings):
    import io
    import sys

    app = files()

    def over_tls(path):
        got = {}

        def start_response(status, headers, exc_info=None):
            got["headers"] = dict(headers)

        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
                   "SCRIPT_NAME": "", "SERVER_NAME": "x", "SERVER_PORT": "443",
                   "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "https",
                   "HTTP_HOST": "www.ah.gov.cn", "wsgi.input": io.BytesIO(),
                   "wsgi.errors": sys.stderr}
        b"".join(app(environ, start_response))
        return got["headers"]

    hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
    for path in ("/", "/no/such/page.html", "/xxgk"):
        assert over_tls(path)["Strict-Transport-Security"] == hsts
        assert "strict-transport-security" not in call(app, path).headers
    settings.JIYUE_HTTPS = True  # TLS ends at a gateway in front: on every answer
    app = files()
    for path in ("/", "/no/such/page.html", "/xxgk"):
        assert call(app, path).headers["strict-transport-security"] == hsts


# --- nginx ---------------------------------------------------------------------------------

def test_nginx_config_repeats_the_platform_policy():
    text = NGINX_CONF.read_text(encoding="utf-8")
    m = re.search(r'map \$uri \$jiyue_csp_file \{\s*default "([^"]+)";\s*"~\*\\\.pdf\$" "([^"]+)";',
                  text)
    assert m, "the CSP map moved"
    assert (m.group(1), m.group(2)) == (sec.PUBLIC_CSP, sec.FILE_CSP)
    assert '"SAMEORIGIN"' in text and '"same-origin"' in text
    assert 'https "max-age=31536000"' in text


def _tls_files(tmp_path):
    """A self-signed certificate for localhost, as PEM files."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .sign(key, hashes.SHA256()))
    crt, pem = tmp_path / "tls.crt", tmp_path / "tls.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    return crt, pem


class _AppWithOwnPolicy:
    """The application's stand-in: /admin/ answers with a policy of its own, the rest without."""

    def __init__(self):
        class Quiet(WSGIRequestHandler):
            def log_message(self, *args):
                pass

        self.server = make_server("127.0.0.1", 0, self.app, WSGIServer, Quiet)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def app(environ, start_response):
        headers = [("Content-Type", "text/html; charset=utf-8")]
        if environ["PATH_INFO"].startswith("/admin/"):
            headers += [("Content-Security-Policy", sec.ADMIN_CSP),
                        ("X-Frame-Options", "DENY")]
        start_response("200 OK", headers)
        return [b"<p>app</p>"]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.nginx
def test_nginx_sends_the_headers_and_hsts_over_https(tmp_path):
    import http.client
    import os
    import ssl

    from tests import test_nginx as tn

    if not os.path.exists(tn.NGINX):
        pytest.skip("Debian's nginx is not installed (/usr/sbin/nginx)")
    public = make_tree(tmp_path)
    (public / PORTAL / "files" / "report.pdf").write_bytes(b"%PDF-1.4 x")
    app = _AppWithOwnPolicy()
    crt, pem = _tls_files(tmp_path)
    tls_port = tn.free_port()
    template = NGINX_CONF.read_text(encoding="utf-8").replace(
        "    listen [::]:80 default_server;\n",
        "    listen [::]:80 default_server;\n"
        f"    listen 127.0.0.1:{tls_port} ssl default_server;\n"
        f"    ssl_certificate {crt};\n    ssl_certificate_key {pem};\n", 1)
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    port = tn.free_port()
    site = prefix / "jiyue.conf"
    site.write_text(tn.render_config(public, tmp_path, f"127.0.0.1:{app.port}", port, False,
                                     template=template), encoding="utf-8")
    conf = prefix / "nginx.conf"
    conf.write_text(tn.main_config(prefix, site), encoding="utf-8")
    nginx = tn.Nginx.__new__(tn.Nginx)
    nginx.prefix, nginx.port, nginx.ipv6 = prefix, port, False
    import subprocess
    import time

    args = [tn.NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    check = subprocess.run([*args, "-t"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    nginx.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 10
        while True:
            try:
                import socket

                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.time() < deadline and nginx.process.poll() is None
                time.sleep(0.05)
        # answers nginx gives itself: pages, 404 pages, redirects, refusals, other hosts' 404s
        for path, host, status in [("/", "www.ah.gov.cn", 200), ("/assets/site.css", "www.ah.gov.cn", 200),
                                   ("/no/such/page.html", "www.ah.gov.cn", 404),
                                   (f"/sites/{PORTAL}/no/such.html", "x.example", 404),
                                   ("/missing.html", "czt.ah.gov.cn", 404),
                                   ("/xxgk", "www.ah.gov.cn", 301), (f"/sites/{PORTAL}", "x", 301),
                                   ("/.hidden", "www.ah.gov.cn", 404)]:
            got, headers, _ = nginx.request(path, host=host)
            assert got == status, path
            assert_public_headers(headers)
            assert headers.get_all("Content-Security-Policy") == [sec.PUBLIC_CSP], path
            assert "Strict-Transport-Security" not in headers
        got, headers, _ = nginx.request("/files/report.pdf")
        assert headers["Content-Security-Policy"] == sec.FILE_CSP
        # the application's answers: its own policy wins; without one, nginx adds the platform's
        got, headers, body = nginx.request("/admin/login/")
        assert body == b"<p>app</p>"
        assert headers.get_all("Content-Security-Policy") == [sec.ADMIN_CSP]
        assert headers.get_all("X-Frame-Options") == ["DENY"]
        got, headers, _ = nginx.request("/_/search?q=x")
        assert headers.get_all("Content-Security-Policy") == [sec.PUBLIC_CSP]
        # over HTTPS: HSTS on nginx's answers and on the application's
        ctx = ssl.create_default_context(cafile=str(crt))
        for path in ("/", "/no/such/page.html", "/_/search", "/xxgk"):
            conn = http.client.HTTPSConnection("localhost", tls_port, context=ctx, timeout=10)
            conn.request("GET", path, headers={"Host": "www.ah.gov.cn"})
            r = conn.getresponse()
            r.read()
            conn.close()
            assert r.headers["Strict-Transport-Security"] == "max-age=31536000", path
            assert r.headers["Content-Security-Policy"] == sec.PUBLIC_CSP
    finally:
        nginx.process.terminate()
        nginx.process.wait(timeout=10)
        app.close()


# --- the published theme ---------------------------------------------------------------------

def _published(province, make_policy, settings, tmp_path):
    from tests.publishing_util import make_article, make_guide, publish

    settings.JIYUE_PUBLIC_ROOT = tmp_path / "public"
    settings.JIYUE_OUTBOX_LAG_SECONDS = 0
    settings.JIYUE_PUBLISH_AUTORUN = False
    site = province.sites["czt"]
    site.colour = "#0b4a8b"
    site.save()
    ids = {"policy": make_policy(publish=True, place=("zcwj", "fdzdgk")).pk,
           "article": make_article(province, title="全省财政工作会议召开").pk,
           "guide": make_guide(province, place=("bsfw",)).pk}
    publish()
    return Path(settings.JIYUE_PUBLIC_ROOT), ids


def test_published_pages_need_no_unsafe_inline(province, make_policy, settings, tmp_path):
    """Every published HTML page: no inline style or style attribute, no event handler
    attribute, no javascript: URL, no inline script but the hashed one; the site's colour
    comes from a stylesheet of the site's own, named by the colour."""
    from lxml import html as lhtml

    public, _ = _published(province, make_policy, settings, tmp_path)
    allowed = csp_directives(sec.PUBLIC_CSP)["script-src"]
    pages = list((public / CZT).rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        doc = lhtml.fromstring(page.read_bytes())
        assert not doc.xpath("//style"), page
        for el in doc.iter():
            if not isinstance(el.tag, str):
                continue
            for name, value in el.attrib.items():
                assert name != "style" and not name.startswith("on"), (page, el.tag, name)
                if name in ("href", "src", "action"):
                    assert not value.strip().lower().startswith("javascript:"), (page, value)
        for script in doc.xpath("//script[not(@src)]"):
            digest = base64.b64encode(hashlib.sha256(script.text.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in allowed, page
            assert page.name == "404.html"
        links = doc.xpath("//link[@rel='stylesheet']/@href")
        colour = [h for h in links if re.search(r"assets/main\.[0-9a-f]{6}\.css$", h)]
        assert colour, page
        assert (page.parent / colour[0]).resolve().read_text() == ":root{--main:#0b4a8b}\n"


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@pytest.mark.browser
def test_published_pages_raise_no_csp_violation_in_chromium(browser, province, make_policy,
                                                             settings, tmp_path, client):
    """The published tree behind the real file server (its headers, its 404 handling), by
    host name and under /sites/<code>/, and the dynamic search page with the headers Django
    gives it: no `securitypolicyviolation` event and no CSP console error; the site's colour
    and the 404 page at any depth work under the policy."""
    from jiyue.web.static_server import StaticServer

    public, ids = _published(province, make_policy, settings, tmp_path)

    def inner(environ, start_response):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not here"]

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, StaticServer(inner, public_root=public, host_ttl=0),
                         _ThreadingWSGIServer, Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port
    search = client.get("/_/search", {"q": "预算"}, HTTP_HOST="czt.ah.gov.cn")
    assert search.status_code == 200
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script("""window.__csp = [];
        document.addEventListener('securitypolicyviolation',
          e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));""")
    errors = []
    page.on("console", lambda m: errors.append(m.text)
            if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text else None)

    def search_route(route):
        route.fulfill(status=200, body=search.content,
                      headers={k: v for k, v in search.items()})

    page.route("**/_/search*", search_route)
    try:
        for base in (f"http://{CZT}.localhost:{port}/", f"http://127.0.0.1:{port}/sites/{CZT}/"):
            paths = ["", "bmdt/", "zcwj/", "xxgk/", "xxgk/fdzdgk/", "bsfw/", "map/", "search/",
                     f"content/{ids['article']}.html", f"content/{ids['policy']}.html",
                     f"content/{ids['guide']}.html", "_/search?q=%E9%A2%84%E7%AE%97",
                     "no/such/deep/page.html", "nothing.html"]
            for path in paths:
                response = page.goto(base + path)
                assert response.headers["content-security-policy"] == sec.PUBLIC_CSP
                # the site's colour (its own stylesheet) and the theme's stylesheet applied
                assert page.evaluate(
                    "getComputedStyle(document.querySelector('.masthead')).backgroundColor"
                ) == "rgb(11, 74, 139)", base + path
                assert page.evaluate("window.__csp") == [], (base + path, page.evaluate("window.__csp"))
            # the 404 page's links lead back to this site, whatever the depth
            page.goto(base + "no/such/deep/page.html")
            assert page.locator("h1").inner_text() == "页面不存在"
            page.click("text=返回首页")
            assert page.url == base
        assert not errors, errors
    finally:
        context.close()
        server.shutdown()
        server.server_close()
