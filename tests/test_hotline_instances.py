"""The 12345 round trip between two real jiyue instances.

Two `jiyue serve` processes (each with its embedded `jiyue worker`), each with its own
JIYUE_HOME and its own database (SQLite: a file in each home; PostgreSQL: two throwaway
databases, dropped afterwards). A (the province, "ah") pushes the letters written on its sites
to B (a city platform, "hf") as 对方办理; B handles them as 12345 orders. Each side is set up
by tests/hotline_node.py run in its environment (platform, organisations, sites, staff, the
peer configured by its system administrator; A generates the shared key, B enters it). Then,
over real HTTP only between the instances:

a citizen writes anonymously to A (POST /api/v1/letters) → B has a letter (channel hotline)
with the same 工单编号 → B transfers it to 市财政局 (A's public progress names the new unit),
assigns, drafts and approves a reply → A shows 已答复 with B's reply, 回复单位 and 回复时间 →
the citizen is not satisfied on A → B's letter is reopened, A's is 办理中 → B replies again →
A shows the new reply → B is stopped; the citizen is satisfied on A; A's message waits → B is
back; the message is delivered once; both letters are closed → resending messages either way
and replaying stored ones change nothing.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection

from tests.test_hotline import signed

REPO = Path(__file__).resolve().parent.parent
PATH = "/api/v1/hotline/messages"
WITHIN = 60.0   # seconds for one change to cross (a few seconds on an idle machine)
REPLY_1 = "您好，异地购房提取住房公积金需提供购房合同、不动产权证和身份证，可在线办理。"
REPLY_2 = "补充答复：购房合同须经备案；线上办理入口为“合肥公积金”小程序，一般3个工作日到账。"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _until(fetch, check, what: str, timeout: float = WITHIN):
    """Poll `fetch()` until `check(value)` holds; the value, or AssertionError with the last
    value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = fetch()
            if check(value):
                return value
            last = value
        except Exception as exc:  # noqa: BLE001 - an instance may still be starting
            last = exc
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {timeout} s; last seen: {last!r}")


def _http(method: str, url: str, data=None, headers: dict | None = None) -> tuple[int, dict]:
    body = data if isinstance(data, bytes) or data is None else json.dumps(data, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


class AgentError(AssertionError):
    pass


class Instance:
    """One jiyue instance: `jiyue serve` (and its worker) in its own process group, and the
    helper tests/hotline_node.py in its environment for setup and look-ups."""

    def __init__(self, name: str, home: Path, env: dict, port: int):
        self.name, self.home, self.env, self.port = name, home, env, port
        self.url = f"http://127.0.0.1:{port}"
        self.server = None
        self.log = open(home / "serve.log", "ab")  # noqa: SIM115 - closed in close()
        self.agent = subprocess.Popen([sys.executable, "-m", "tests.hotline_node"], env=env, cwd=REPO,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                      text=True, encoding="utf-8")

    def call(self, fn: str, expect_error: bool = False, **kwargs):
        self.agent.stdin.write(json.dumps({"fn": fn, "kwargs": kwargs}, ensure_ascii=False) + "\n")
        self.agent.stdin.flush()
        line = self.agent.stdout.readline()
        if not line:
            raise AgentError(f"{self.name}: the helper exited (see {self.home / 'serve.log'})")
        answer = json.loads(line)
        if expect_error:
            assert not answer["ok"], f"{fn} should have been refused"
            return answer["error"]
        if not answer["ok"]:
            raise AgentError(f"{self.name}.{fn}: {answer['error']}")
        return answer["value"]

    def start(self) -> None:
        self.server = subprocess.Popen(
            [sys.executable, "-m", "jiyue.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env, cwd=self.home, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 120) -> None:
        try:
            _until(lambda: _http("GET", f"{self.url}/api/v1/letters/mailboxes")[0], lambda s: s == 200,
                   f"{self.name} serves", timeout)
        except AssertionError as exc:
            self.log.flush()
            tail = (self.home / "serve.log").read_bytes()[-3000:].decode("utf-8", "replace")
            raise AssertionError(f"{exc}\n--- {self.name}'s serve.log ---\n{tail}") from None

    def stop(self) -> None:
        if self.server is None:
            return
        try:
            os.killpg(self.server.pid, signal.SIGTERM)  # serve and its worker (its own session)
            self.server.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait(timeout=10)
        self.server = None

    def close(self) -> None:
        self.stop()
        if self.agent.poll() is None:
            self.agent.stdin.close()
            try:
                self.agent.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.agent.kill()
        self.log.close()

    def get(self, path: str) -> tuple[int, dict]:
        return _http("GET", self.url + path)

    def post(self, path: str, data, headers: dict | None = None) -> tuple[int, dict]:
        return _http("POST", self.url + path, data, headers)

    def progress(self, query_code: str) -> dict:
        status, data = self.get(f"/api/v1/letters/{query_code}")
        assert status == 200, data
        return data


def _env(home: Path, database_url: str | None, sqlite: bool) -> dict:
    env = {**os.environ, "JIYUE_HOME": str(home), "DJANGO_SETTINGS_MODULE": "jiyue.settings",
           "JIYUE_TASKS": "db", "JIYUE_OUTBOX_LAG_SECONDS": "0" if sqlite else "0.5",
           "JIYUE_HOTLINE_ALLOW_HTTP": "True", "JIYUE_HOTLINE_RETRY_SECONDS": "1",
           "JIYUE_RATE_LIMIT_EXEMPT": "127.0.0.1,::1", "JIYUE_PUBLISH_PROCESSES": "1",
           "JIYUE_SERVE_THREADS": "4", "JIYUE_LOG_LEVEL": "WARNING", "PYTHONPATH": str(REPO)}
    for name in ("REDIS_URL", "JIYUE_TEST_REDIS_URL", "DATABASE_URL", "JIYUE_PUBLIC_ROOT",
                 "JIYUE_SEARCH_DIR", "JIYUE_STATIC_ROOT", "JIYUE_MEDIA_ROOT"):
        env.pop(name, None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def _server_url(database: str) -> str:
    s = connection.settings_dict
    auth = urllib.parse.quote(s["USER"] or "postgres")
    if s.get("PASSWORD"):
        auth += ":" + urllib.parse.quote(s["PASSWORD"])
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{database}"


def _migrate(env: dict, home: Path) -> None:
    subprocess.run([sys.executable, "-m", "jiyue.cli", "migrate", "-v0"], env=env, cwd=home, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture
def platforms(tmp_path):
    """Instances A and B, migrated, set up and serving. The schema is migrated once and copied
    (SQLite: the file, with the backup API; PostgreSQL: CREATE DATABASE … TEMPLATE)."""
    sqlite = connection.vendor == "sqlite"
    homes = {name: tmp_path / name for name in ("a", "b")}
    for home in homes.values():
        home.mkdir()
    ports = {name: _free_port() for name in homes}
    created: list[str] = []
    if sqlite:
        urls = {name: None for name in homes}
    else:
        import psycopg

        stem = f"jiyue_hotline_{os.getpid()}_{secrets.token_hex(3)}"
        urls = {name: _server_url(f"{stem}_{name}") for name in homes}
        admin = _server_url("postgres")
    envs = {name: _env(homes[name], urls[name], sqlite) for name in homes}
    instances: dict[str, Instance] = {}
    t0 = time.monotonic()
    try:
        if sqlite:
            _migrate(envs["a"], homes["a"])
            with sqlite3.connect(homes["a"] / "jiyue.sqlite3") as source, \
                    sqlite3.connect(homes["b"] / "jiyue.sqlite3") as target:
                source.backup(target)
                target.execute("PRAGMA journal_mode=WAL")
        else:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{stem}_a"')
                created.append(f"{stem}_a")
            _migrate(envs["a"], homes["a"])
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{stem}_b" TEMPLATE "{stem}_a"')
                created.append(f"{stem}_b")
        migrated = time.monotonic() - t0
        for name, home in homes.items():
            instances[name] = Instance(name, home, envs[name], ports[name])
        a, b = instances["a"], instances["b"]
        at_a = a.call("setup", side="a", peer_url=f"http://127.0.0.1:{ports['b']}{PATH}")
        b.call("setup", side="b", peer_url=f"http://127.0.0.1:{ports['a']}{PATH}", key=at_a["key"])
        for instance in instances.values():
            instance.start()
        for instance in instances.values():
            instance.wait_ready()
        print(f"\nmigrated in {migrated:.1f} s, serving after {time.monotonic() - t0:.1f} s")
        yield SimpleNamespace(a=a, b=b, key=at_a["key"], mailbox=at_a["mailbox"])
    finally:
        for instance in instances.values():
            instance.close()
        if created:
            with psycopg.connect(admin, autocommit=True) as conn:
                for name in reversed(created):
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _kinds(messages: list[dict], direction: str) -> list[str]:
    return [m["kind"] for m in messages if m["direction"] == direction]


def test_two_instances_exchange_work_orders_both_ways(platforms):
    a, b, key = platforms.a, platforms.b, platforms.key
    t0 = time.monotonic()
    timings = {}

    # 1. a citizen writes to A; B gets a letter with the same 工单编号
    status, receipt = a.post("/api/v1/letters", {
        "mailbox": platforms.mailbox, "type": "consult", "title": "咨询异地购房提取公积金",
        "content": "我在合肥工作，在老家买房，请问能否提取住房公积金？需要什么材料？", "anonymous": True})
    assert status == 201, receipt
    code, order_no = receipt["query_code"], f"AH{receipt['serial']}"
    at_b = _until(lambda: b.call("letter", order_no=order_no), lambda v: v is not None, "the order reaches B")
    assert (at_b["channel"], at_b["external_ref"], at_b["status"]) == ("hotline", order_no, "accepted")
    assert at_b["organisation"] == "合肥市人民政府"
    at_a = a.call("letter", order_no=order_no)
    assert at_a["handled_by"]["name"] == "合肥市政府网站集约化平台" and at_a["status"] == "submitted"
    # A's staff cannot handle it: B does
    error = a.call("act", expect_error=True, order_no=order_no, action="accept", user="a_portal_dispatcher")
    assert "对方办理" in error
    timings["created at B"] = time.monotonic() - t0

    # 2. B transfers it to 市财政局 (转办): A's public progress names the new 承办单位
    b.call("act", order_no=order_no, action="transfer", user="b_portal_dispatcher", to="czj",
           note="请市财政局办理")
    progress = _until(lambda: a.progress(code),
                      lambda p: any(s["action"] == "remote_assign" for s in p["steps"]), "转办 reaches A")
    assert progress["status"] == "accepted"
    assert any("合肥市财政局" in s["note"] for s in progress["steps"] if s["action"] == "remote_assign")
    timings["转办 at A"] = time.monotonic() - t0

    # 3. 市财政局 assigns, drafts, approves: A shows 已答复 with B's reply, 回复单位 and 回复时间
    b.call("act", order_no=order_no, action="assign", user="b_czj_dispatcher")
    b.call("act", order_no=order_no, action="draft", user="b_czj_handler", reply=REPLY_1)
    b.call("act", order_no=order_no, action="approve", user="b_czj_dispatcher")
    progress = _until(lambda: a.progress(code), lambda p: p["status"] == "replied", "the reply reaches A")
    at_b = b.call("letter", order_no=order_no)
    assert progress["reply"]["content"] == REPLY_1 and progress["reply"]["organisation"] == "合肥市财政局"
    assert abs(datetime.fromisoformat(progress["reply"]["replied_at"])   # the API shows milliseconds
               - datetime.fromisoformat(at_b["replied_at"])) < timedelta(milliseconds=1)
    assert progress["can_rate"] and at_b["status"] == "replied"
    timings["reply at A"] = time.monotonic() - t0

    # 4. the citizen is not satisfied (on A): A's letter is 办理中 again, B's is reopened
    status, progress = a.post(f"/api/v1/letters/{code}/rating",
                              {"rating": "dissatisfied", "comment": "材料说得不够具体"})
    assert status == 200 and progress["status"] == "handling", progress
    _until(lambda: b.call("letter", order_no=order_no),
           lambda v: (v["status"], v["rating"], v["reopened_count"]) == ("handling", "dissatisfied", 1),
           "B reopens the letter")
    assert a.progress(code)["status"] == "handling"
    timings["reopened at B"] = time.monotonic() - t0

    # 5. B replies again: A shows the new reply
    b.call("act", order_no=order_no, action="draft", user="b_czj_handler", reply=REPLY_2)
    b.call("act", order_no=order_no, action="approve", user="b_czj_dispatcher")
    progress = _until(lambda: a.progress(code),
                      lambda p: p["status"] == "replied" and p["reply"]["content"] == REPLY_2,
                      "the second reply reaches A")
    assert progress["reply"]["organisation"] == "合肥市财政局"
    timings["second reply at A"] = time.monotonic() - t0

    # 6. B is down: the citizen's 满意 waits at A, and is delivered once when B is back
    b.stop()
    down = time.monotonic()
    status, progress = a.post(f"/api/v1/letters/{code}/rating", {"rating": "satisfied"})
    assert status == 200 and progress["status"] == "closed", progress
    waiting = _until(lambda: [m for m in a.call("messages", order_no=order_no)
                              if m["kind"] == "order.satisfaction"],
                     lambda ms: len(ms) == 2 and ms[-1]["state"] == "pending" and ms[-1]["attempts"] >= 1,
                     "A's message waits while B is down")[-1]
    assert waiting["last_error"] and waiting["response_status"] is None
    b.start()
    b.wait_ready()
    # the retries double from 1 s (JIYUE_HOTLINE_RETRY_SECONDS): the next one comes within
    # about as long again as B was down
    _until(lambda: b.call("letter", order_no=order_no),
           lambda v: (v["status"], v["rating"]) == ("closed", "satisfied"), "B closes the letter",
           timeout=WITHIN + 2 * (time.monotonic() - down))
    delivered = _until(lambda: a.call("messages", order_no=order_no)[-1], lambda m: m["state"] == "sent",
                       "A's message is delivered")
    assert delivered["message_id"] == waiting["message_id"] and delivered["attempts"] >= 2
    timings["closed at B after the outage"] = time.monotonic() - t0

    # 7. resending either way, replaying stored messages, the same order under a new message
    #    id: answered `duplicate`, nothing changes
    a_log, b_log = a.call("messages", order_no=order_no), b.call("messages", order_no=order_no)
    create = next(m for m in a_log if m["kind"] == "order.create")
    assert a.call("resend", message_id=create["message_id"])["result"] == "duplicate"
    assert a.call("resend", message_id=delivered["message_id"])["result"] == "duplicate"
    last_reply = [m for m in b_log if m["direction"] == "out" and m["kind"] == "order.reply"][-1]
    assert b.call("resend", message_id=last_reply["message_id"])["result"] == "duplicate"
    stored = b.call("body", message_id=create["message_id"], direction="in").encode()
    status, answer = b.post(PATH, stored, signed(stored, peer="ah", key=key))
    assert (status, answer["result"]) == (200, "duplicate"), answer
    again = json.dumps({**json.loads(stored), "message_id": "ah-replayed-order"}, ensure_ascii=False).encode()
    status, answer = b.post(PATH, again, signed(again, peer="ah", key=key))
    assert (status, answer["result"]) == (200, "duplicate"), answer
    stored = a.call("body", message_id=last_reply["message_id"], direction="in").encode()
    status, answer = a.post(PATH, stored, signed(stored, peer="hf", key=key))
    assert (status, answer["result"]) == (200, "duplicate"), answer

    # both sides end closed, with one letter each, and each message applied once (no echo)
    time.sleep(1.5)  # let anything a resend might have caused cross (nothing should)
    at_a, at_b = a.call("letter", order_no=order_no), b.call("letter", order_no=order_no)
    assert (at_a["status"], at_a["rating"], at_a["reply"], at_a["reply_unit"]) == (
        "closed", "satisfied", REPLY_2, "合肥市财政局")
    assert (at_b["status"], at_b["rating"], at_b["reply"]) == ("closed", "satisfied", REPLY_2)
    assert a.call("letters_count") == {"api": 1} and b.call("letters_count") == {"hotline": 1}
    assert [s[0] for s in at_a["steps"]].count("approve") == 2
    a_log, b_log = a.call("messages", order_no=order_no), b.call("messages", order_no=order_no)
    assert _kinds(a_log, "out") == ["order.create", "order.satisfaction", "order.satisfaction"]
    assert _kinds(b_log, "out") == ["order.status", "order.status", "order.reply", "order.reply"]
    assert _kinds(a_log, "in") == ["order.status", "order.status", "order.reply", "order.reply"]
    assert _kinds(b_log, "in") == ["order.create", "order.satisfaction", "order.satisfaction",
                                   "order.create"]   # the last: the same order under a new id
    assert all(m["state"] in ("sent", "applied") for m in a_log + b_log)
    assert all(m["attempts"] == 1 for m in a_log + b_log if m["direction"] == "in")
    print("timings (s):", {k: round(v, 1) for k, v in timings.items()},
          "total", round(time.monotonic() - t0, 1))
