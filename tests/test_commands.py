"""The `jiyue` command: setup creates the three administrators and no superuser; serve answers
on IPv4 and IPv6 with the admin and the API."""

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

ARGS = dict(code="ah", name="安徽省政府网站集约化平台", level="province", region_code="340000",
            system_admin="sys1", system_admin_password="Aa1!aaaaXX",
            security_admin="sec1", security_admin_password="Bb2@bbbbYY",
            audit_admin="aud1", audit_admin_password="Cc3#ccccZZ", no_input=True)


def test_setup_creates_three_separate_administrators(db):
    from jiyue.accounts.models import User

    call_command("setup", **ARGS)
    users = {u.username: {g.role for g in u.grants.all()} for u in User.objects.all()}
    assert users == {"sys1": {"system_admin"}, "sec1": {"security_admin"}, "aud1": {"audit_admin"}}
    assert not User.objects.filter(is_superuser=True).exists()
    with pytest.raises(CommandError, match="已初始化"):
        call_command("setup", **ARGS)


def test_setup_refuses_one_person_for_two_roles_and_weak_passwords(db):
    from jiyue.core.models import Platform

    with pytest.raises(CommandError, match="三员"):
        call_command("setup", **{**ARGS, "audit_admin": "sys1"})
    with pytest.raises(CommandError, match="至少 3 类|太短|常见"):
        call_command("setup", **{**ARGS, "audit_admin_password": "password"})
    assert not Platform.objects.exists()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, timeout=60):
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.status, r.read()
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.5)


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6 on this machine")
def test_serve_answers_on_ipv4_and_ipv6(tmp_path):
    env = {**os.environ, "JIYUE_HOME": str(tmp_path), "JIYUE_TASKS": "db"}
    env.pop("DATABASE_URL", None)  # a throwaway SQLite platform of its own
    jiyue = [sys.executable, "-m", "jiyue.cli"]
    subprocess.run([*jiyue, "migrate", "-v0"], env=env, check=True, timeout=300)
    port = _free_port()
    server = subprocess.Popen([*jiyue, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        status, body = _get(f"http://127.0.0.1:{port}/admin/login/")
        assert status == 200 and "登录政府网站集约化平台" in body.decode()
        status, body = _get(f"http://[::1]:{port}/api/v1/sites")
        assert status == 200 and b'"count": 0' in body
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
