"""IPv6: `jiyue serve` (listening on :: by default, both families) and the nginx
configuration answer over http://[::1]:port/ as over http://127.0.0.1:port/; the application
accepts [::1] as a host name; the audit log records IPv6 source addresses, over a real
connection and through nginx's X-Real-IP. Skipped where the machine has no IPv6 loopback."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path

import pytest

from jiyue.security import headers as sec
from tests.test_static_server import CZT, PAGE, PORTAL, make_tree


def ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")


def free_dual_port() -> int:
    """A port free on both ::1 and 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET6) as s:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind(("::", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket() as s4:
                s4.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def request(address: str, port: int, path: str, host: str, method: str = "GET",
            body: bytes | None = None, **headers):
    conn = http.client.HTTPConnection(address, port, timeout=20)
    try:
        conn.request(method, path, body=body, headers={"Host": host, **{
            k.replace("_", "-"): v for k, v in headers.items()}})
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    finally:
        conn.close()


def wait_for(port: int, address: str = "::1", timeout: float = 60, process=None) -> None:
    deadline = time.time() + timeout
    while True:
        try:
            socket.create_connection((address, port), timeout=1).close()
            return
        except OSError:
            if time.time() > deadline or (process is not None and process.poll() is not None):
                raise RuntimeError(f"nothing listens on [{address}]:{port}")
            time.sleep(0.2)


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    """`jiyue serve` with its default address (::), a migrated home of its own (SQLite,
    whatever the test database is) and a published tree."""
    tmp = tmp_path_factory.mktemp("ipv6")
    public = make_tree(tmp)
    home = tmp / "home"
    env = {**os.environ, "JIYUE_HOME": str(home), "JIYUE_PUBLIC_ROOT": str(public),
           "JIYUE_TASKS": "db", "JIYUE_TRUST_X_REAL_IP": "1", "JIYUE_STAFF_2FA": "0"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    (home / "media" / "documents").mkdir(parents=True)
    (home / "media" / "documents" / "说明.txt").write_text("<p>上传的说明</p>", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "jiyue.cli", "migrate", "-v0"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    port = free_dual_port()
    server = subprocess.Popen([sys.executable, "-m", "jiyue.cli", "serve", "--port", str(port),
                               "--no-jobs"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_for(port, "::1", process=server)
        wait_for(port, "127.0.0.1", process=server)
        yield port, home / "jiyue.sqlite3", public
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def test_jiyue_serve_answers_over_ipv6_and_ipv4(serve):
    port, _, _ = serve
    for address in ("::1", "127.0.0.1"):
        # a published page by host name and under /sites/<code>/
        status, headers, body = request(address, port, "/", "www.ah.gov.cn")
        assert status == 200 and body == PAGE, address
        assert headers["Content-Security-Policy"] == sec.PUBLIC_CSP
        status, _, body = request(address, port, f"/sites/{CZT}/", "localhost")
        assert status == 200 and "财政厅" in body.decode(), address
        # the application, with the host names an IPv6 visitor sends
        for host in (f"[::1]:{port}", f"127.0.0.1:{port}", "localhost"):
            status, headers, body = request(address, port, "/api/v1/sites", host)
            assert status == 200 and json.loads(body)["count"] == 0, (address, host)
            assert headers["X-Frame-Options"] == "SAMEORIGIN"
        status, _, body = request(address, port, "/admin/login/", f"[::1]:{port}")
        assert status == 200 and "csrfmiddlewaretoken" in body.decode()
        # collected and uploaded files, with the platform's headers (not the HTTP server's bare
        # static answer)
        for path in ("/static/wagtailadmin/css/core.css",
                     "/media/documents/%E8%AF%B4%E6%98%8E.txt"):
            status, headers, body = request(address, port, path, "localhost")
            assert status == 200 and body, path
            assert headers["X-Content-Type-Options"] == "nosniff"
            assert headers["Content-Security-Policy"] == sec.PUBLIC_CSP
            assert headers["X-Frame-Options"] == "SAMEORIGIN"
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
        status, _, body = request(address, port, "/media/../jiyue.sqlite3", "localhost")
        assert status in (400, 404) and b"SQLite" not in body


def _failed_admin_login(address: str, port: int, username: str, **headers) -> int:
    host = f"[::1]:{port}" if ":" in address else f"127.0.0.1:{port}"
    status, h, body = request(address, port, "/admin/login/", host)
    cookie = SimpleCookie(h["Set-Cookie"])
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body.decode()).group(1)
    form = f"csrfmiddlewaretoken={token}&username={username}&password=wrong-password".encode()
    status, _, _ = request(address, port, "/admin/login/", host, method="POST", body=form,
                           Content_Type="application/x-www-form-urlencoded",
                           Cookie=f"csrftoken={cookie['csrftoken'].value}", **headers)
    return status


def _sources(db: Path, username: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT source_address, detail FROM audit_auditentry "
                            "WHERE outcome = 'failure' ORDER BY id").fetchall()
    return [addr for addr, detail in rows if username in (detail or "")]


def test_audit_log_records_ipv6_source_addresses_of_real_connections(serve):
    port, db, _ = serve
    assert _failed_admin_login("::1", port, "ipv6_visitor") == 200
    assert _failed_admin_login("127.0.0.1", port, "ipv4_visitor") == 200
    # behind nginx the client is X-Real-IP (JIYUE_TRUST_X_REAL_IP)
    assert _failed_admin_login("127.0.0.1", port, "proxied_visitor",
                               X_Real_IP="2001:db8:85a3::8a2e:370:7334") == 200
    deadline = time.time() + 10
    while not (_sources(db, "proxied_visitor")) and time.time() < deadline:
        time.sleep(0.2)
    assert _sources(db, "ipv6_visitor") == ["::1"]
    assert _sources(db, "ipv4_visitor") == ["127.0.0.1"]
    assert _sources(db, "proxied_visitor") == ["2001:db8:85a3::8a2e:370:7334"]


def test_audit_entries_keep_ipv6_addresses(province, client):
    """In process: an admin login from an IPv6 address and an entry recorded with one."""
    from jiyue import audit
    from jiyue.audit.models import AuditEntry

    user = province.users["czt_editor"]
    r = client.post("/admin/login/", {"username": "czt_editor", "password": "Passw0rd!x"},
                    REMOTE_ADDR="2001:db8::1")
    assert r.status_code == 302
    entry = AuditEntry.objects.filter(action="auth.login", outcome="success").latest("id")
    assert entry.source_address == "2001:db8::1"
    audit.record(user, None, "fe80::1ff:fe23:4567:890a", "test.ipv6", outcome="success")
    audit.record(user, None, "::ffff:192.0.2.1", "test.ipv6", outcome="success")
    got = list(AuditEntry.objects.filter(action="test.ipv6").order_by("id")
               .values_list("source_address", flat=True))
    assert got == ["fe80::1ff:fe23:4567:890a", "::ffff:192.0.2.1"]


@pytest.mark.nginx
def test_nginx_listens_on_ipv6_in_front_of_jiyue_serve(serve, tmp_path):
    """deploy/nginx/jiyue.conf (listen [::]:80 → [::1]:port here) with `jiyue serve` as its
    upstream over IPv6: published pages and the application, over ::1 and 127.0.0.1."""
    from tests import test_nginx as tn

    if not os.path.exists(tn.NGINX):
        pytest.skip("Debian's nginx is not installed (/usr/sbin/nginx)")
    app_port, db, public = serve
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    port = free_dual_port()
    site = prefix / "jiyue.conf"
    site.write_text(tn.render_config(public, tmp_path, f"[::1]:{app_port}", port, ipv6=True),
                    encoding="utf-8")
    conf = prefix / "nginx.conf"
    conf.write_text(tn.main_config(prefix, site), encoding="utf-8")
    args = [tn.NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    check = subprocess.run([*args, "-t"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    nginx = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(port, "::1", timeout=10, process=nginx)
        for address in ("::1", "127.0.0.1"):
            status, headers, body = request(address, port, "/", "www.ah.gov.cn")
            assert status == 200 and body == PAGE, address
            assert headers["Content-Security-Policy"] == sec.PUBLIC_CSP
            status, _, body = request(address, port, f"/sites/{PORTAL}/xxgk/", "localhost")
            assert status == 200 and "信息公开" in body.decode()
            status, _, body = request(address, port, "/api/v1/sites", "www.ah.gov.cn")
            assert status == 200 and json.loads(body)["count"] == 0, address
        # nginx passes the IPv6 client on as X-Real-IP; the audit log keeps it
        status, h, body = request("::1", port, "/admin/login/", "localhost")
        assert status == 200
        cookie = SimpleCookie(h["Set-Cookie"])
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body.decode()).group(1)
        form = f"csrfmiddlewaretoken={token}&username=via_nginx&password=wrong-password".encode()
        status, _, _ = request("::1", port, "/admin/login/", "localhost", method="POST",
                               body=form, Content_Type="application/x-www-form-urlencoded",
                               Cookie=f"csrftoken={cookie['csrftoken'].value}")
        assert status == 200
        assert _sources(db, "via_nginx") == ["::1"]
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
