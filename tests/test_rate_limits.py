"""Rate limits on the public search page and the API (jiyue.security.ratelimit): the N+1st
request in a window is refused with 429, a Chinese message and Retry-After; other addresses
and exempt addresses are not limited; the next window starts afresh; the settings come from
the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from jiyue.security import ratelimit


class Clock:
    """Stands in for the time module of the rate limiter: a window that does not move unless
    the test moves it."""

    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    from django.core.cache import cache

    cache.clear()
    c = Clock(1_800_000_000.0 + 20)  # 20 s into a minute, and into an hour
    monkeypatch.setattr(ratelimit, "time", c)
    yield c
    cache.clear()


def test_search_page_is_limited_per_address(province, client, settings, clock):
    settings.JIYUE_RATE_LIMITS = "search=3/m"
    host = {"HTTP_HOST": "czt.ah.gov.cn"}
    for _ in range(3):
        assert client.get("/_/search", {"q": "预算"}, **host).status_code == 200
    r = client.get("/_/search", {"q": "预算"}, **host)
    assert r.status_code == 429
    html = r.content.decode()
    assert "请求过于频繁" in html and "秒后再试" in html and "安徽省财政厅" in html  # in the theme
    assert r["Retry-After"] == "40"  # the rest of the minute
    assert r["Content-Security-Policy"].startswith("default-src 'self'")
    # another address is counted on its own
    assert client.get("/_/search", {"q": "预算"}, REMOTE_ADDR="10.1.2.3", **host).status_code == 200
    # the next window starts afresh
    clock.now += 60
    assert client.get("/_/search", {"q": "预算"}, **host).status_code == 200


def test_exempt_addresses_are_not_limited(province, client, settings, clock):
    settings.JIYUE_RATE_LIMITS = "search=2/m,api=2/m"
    settings.JIYUE_RATE_LIMIT_EXEMPT = ["10.9.9.9", "2001:db8::9"]
    for address in ("10.9.9.9", "2001:db8::9"):
        for _ in range(5):
            assert client.get("/_/search", {"q": "x"}, REMOTE_ADDR=address,
                              HTTP_HOST="czt.ah.gov.cn").status_code == 200
            assert client.get("/api/v1/sites", REMOTE_ADDR=address).status_code == 200
    for _ in range(2):
        assert client.get("/api/v1/sites", REMOTE_ADDR="10.9.9.8").status_code == 200
    assert client.get("/api/v1/sites", REMOTE_ADDR="10.9.9.8").status_code == 429


def test_api_is_limited_per_address_whoever_calls(province, client, settings, clock):
    from jiyue.api.models import issue_token

    settings.JIYUE_RATE_LIMITS = "api=4/h"
    token = issue_token(province.users["czt_editor"], "测试")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/v1/sites").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/resources", **auth).status_code == 200
    assert client.get("/api/v1/no-such-endpoint/").status_code == 404
    r = client.get("/api/v1/resources", **auth)
    assert r.status_code == 429
    assert r["Content-Type"].startswith("application/problem+json")
    body = json.loads(r.content)
    assert body["status"] == 429 and "请求过于频繁" in body["detail"]
    assert r["Retry-After"] == str(3600 - 20)
    # the published pages and the admin are not the API's business
    assert client.get("/admin/login/").status_code == 200
    # behind nginx the client is X-Real-IP, each counted on its own
    settings.JIYUE_TRUST_X_REAL_IP = True
    assert client.get("/api/v1/sites", HTTP_X_REAL_IP="2001:db8::1").status_code == 200
    assert client.get("/api/v1/sites", HTTP_X_REAL_IP="2001:db8::2").status_code == 200


def test_rate_limit_settings_come_from_the_environment(tmp_path):
    env = {**os.environ, "JIYUE_HOME": str(tmp_path), "JIYUE_RATE_LIMITS": "search=7/m, api=9/s",
           "JIYUE_RATE_LIMIT_EXEMPT": "10.0.0.1, ::1,", "DJANGO_SETTINGS_MODULE": "jiyue.settings"}
    out = subprocess.run([sys.executable, "-c", (
        "import django; django.setup();"
        "from django.conf import settings; from jiyue.security import ratelimit as r;"
        "import json; print(json.dumps([settings.JIYUE_RATE_LIMIT_EXEMPT,"
        " r.limits()['search'], r.limits()['api'], r.limits()['login']]))")],
        env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    exempt, search, api, login = json.loads(out.stdout.strip().splitlines()[-1])
    assert exempt == ["10.0.0.1", "::1"]
    assert search == [7, 60] and api == [9, 1] and login == [10, 60]  # the rest keep defaults
