"""Two application nodes sharing one PostgreSQL database, each with its own index replica
following the outbox with its own cursor: what is published or withdrawn in the database is
found (or no longer found) through both nodes' search API within seconds."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="the two-node test needs PostgreSQL (nodes share one database; "
                              "run with DATABASE_URL=postgres://…)"),
]

WITHIN = 15.0  # seconds: outbox lag (1 s here) + sync interval + a margin for a busy machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url() -> str:
    s = connection.settings_dict
    auth = urllib.parse.quote(s["USER"] or "postgres")
    if s.get("PASSWORD"):
        auth += ":" + urllib.parse.quote(s["PASSWORD"])
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _search(port: int, q: str) -> list[str]:
    url = f"http://127.0.0.1:{port}/api/v1/search?" + urllib.parse.urlencode({"q": q, "scope": "all"})
    with urllib.request.urlopen(url, timeout=10) as r:
        return [item["title"] for item in json.loads(r.read())["results"]]


def _until(predicate, timeout: float, what: str) -> float:
    started = time.monotonic()
    last = None
    while time.monotonic() - started < timeout:
        try:
            if predicate():
                return time.monotonic() - started
        except Exception as exc:  # noqa: BLE001 - the node may still be starting
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s (last error: {last!r})")


@pytest.fixture
def nodes(province, tmp_path):
    started = []
    ports = {}
    for name in ("node-a", "node-b"):
        home = tmp_path / name
        home.mkdir()
        port = _free_port()
        env = {**os.environ, "DATABASE_URL": _database_url(), "JIYUE_HOME": str(home),
               "JIYUE_NODE": name, "JIYUE_SEARCH_DIR": str(home / "search"),
               "JIYUE_TASKS": "db", "JIYUE_OUTBOX_LAG_SECONDS": "1",
               "JIYUE_SEARCH_SYNC_SECONDS": "0.5", "JIYUE_RATE_LIMITS": "api=100000/m,search=100000/m"}
        env.pop("REDIS_URL", None)
        log = open(home / "serve.log", "w")
        p = subprocess.Popen([sys.executable, "-m", "jiyue.cli", "serve", "--host", "127.0.0.1",
                              "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
        started.append((p, log, home))
        ports[name] = port
    try:
        yield ports
    finally:
        for p, log, _home in started:
            try:
                os.killpg(p.pid, signal.SIGTERM)  # serve and its worker (its own session)
                p.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(p.pid, signal.SIGKILL)
            log.close()


def test_both_nodes_follow_publishing_and_withdrawal(province, make_policy, nodes):
    from jiyue.library import services
    from jiyue.search.models import Replica

    t0 = time.monotonic()
    make_policy(title="关于做好2026年度企业职工基本养老保险工作的通知", publish=True,
                doc_number="皖财〔2026〕3号")
    # both nodes build their replica from scratch, then report in
    _until(lambda: Replica.objects.filter(node__in=nodes, state="ok", documents=1).count() == 2,
           120, "both replicas built")
    for port in nodes.values():
        _until(lambda: _search(port, "养老保险"), 30, "the first document found")

    doc = make_policy(title="关于调整城乡居民最低生活保障标准的通知", publish=True,
                      doc_number="皖财〔2026〕4号")
    seconds = {}
    for name, port in nodes.items():
        seconds[name] = _until(lambda: "关于调整城乡居民最低生活保障标准的通知" in _search(port, "最低生活保障"),
                               WITHIN, f"{name} finds the new document")
    print("found after", seconds, "ready after", time.monotonic() - t0)

    services.withdraw_resource(province.users["czt_publisher"], doc)
    for name, port in nodes.items():
        _until(lambda: _search(port, "最低生活保障") == [], WITHIN, f"{name} drops the withdrawn document")
    # each node reports its own cursor; both reach the newest event, with one document left
    from jiyue.core.outbox import last_id

    newest = last_id()
    _until(lambda: sorted(Replica.objects.filter(node__in=nodes)
                          .values_list("last_event_id", "documents")) == [(newest, 1), (newest, 1)],
           WITHIN, "both replicas report the newest event")
