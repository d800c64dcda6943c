"""The 12345 round trip over real HTTP: jiyue served by the live server, and an independent
small "12345 platform" written here from the contract in docs/hotline.md (its own HMAC-SM3
signing and checking, its own idempotency by message id), as the other side.

An order created at 12345 becomes a letter in jiyue; the department handles it; the status and
the reply flow back to 12345; 12345's 回访 closes the letter; resending changes nothing; bad
signatures, replayed nonces and stale timestamps are refused; while 12345 is down messages
wait, and are delivered exactly once when it is back (even when an answer is lost)."""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from tests.test_hotline import KEY, PATH, order_message, signature, signed, update

OUR_CODE = "ahjy"   # how jiyue signs its pushes to 12345


class Platform12345:
    """The other side: checks every push from jiyue as the contract says and stores each
    message once (by message id); `drop_next` stores a message and then drops the connection
    without answering (an answer lost on the way)."""

    def __init__(self, port: int = 0):
        self.stored: dict[str, dict] = {}
        self.received: list[str] = []
        self.refused: list[str] = []
        self.nonces: set[str] = set()
        self.drop_next = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ts, nonce = self.headers.get("X-Jiyue-Timestamp", ""), self.headers.get("X-Jiyue-Nonce", "")
                good = (self.headers.get("X-Jiyue-Peer") == OUR_CODE and self.path == "/messages"
                        and ts.isdigit() and abs(int(ts) - time.time()) <= 300
                        and nonce not in outer.nonces
                        and self.headers.get("X-Jiyue-Signature") == signature(KEY, "POST", "/messages",
                                                                               ts, nonce, body))
                if not good:
                    outer.refused.append(nonce)
                    return self._answer(401, {"title": "签名校验失败", "detail": "签名不正确。"})
                outer.nonces.add(nonce)
                message = json.loads(body)
                outer.received.append(message["message_id"])
                duplicate = message["message_id"] in outer.stored
                outer.stored.setdefault(message["message_id"], message)
                if outer.drop_next:
                    outer.drop_next = False
                    self.close_connection = True
                    self.connection.close()
                    return None
                return self._answer(200, {"message_id": message["message_id"], "order_no": message["order_no"],
                                          "result": "duplicate" if duplicate else "stored"})

            def _answer(self, status, data):
                raw = json.dumps(data, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def messages(self, kind=None):
        return [m for m in self.stored.values() if kind is None or m["type"] == kind]


def send_to_jiyue(base: str, message: dict, headers: dict | None = None) -> tuple[int, dict]:
    body = json.dumps(message, ensure_ascii=False).encode()
    headers = headers or signed(body)
    request = urllib.request.Request(base + PATH, data=body, method="POST",
                                     headers={**headers, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def twelve345():
    platform = Platform12345()
    yield platform
    platform.stop()


def test_round_trip_with_an_independent_12345_platform(transactional_db, live_server, province, twelve345,
                                                       settings):
    from jiyue.core import outbox
    from jiyue.hotline.client import send_pending
    from jiyue.hotline.models import Message, Peer
    from jiyue.letters import services as letters
    from jiyue.letters.models import Letter, Mailbox

    Peer.objects.create(code="ah12345", name="安徽省12345热线", organisation=province.orgs["portal"],
                        url=f"http://127.0.0.1:{twelve345.port}/messages", key=KEY, our_code=OUR_CODE,
                        push_letters=True, push_types=["consult"])
    base, czt = live_server.url, province.orgs["czt"]
    settings.JIYUE_OUTBOX_LAG_SECONDS = 0

    def sync(now=None):
        outbox.dispatch("hotline")
        return send_pending(now)

    # 1. an order created at 12345 becomes a letter of 财政厅; sending it again changes nothing
    create = order_message(order_no="GD20260506000777", unit_code=czt.code)
    status, answer = send_to_jiyue(base, create)
    assert (status, answer["result"]) == (200, "created")
    assert send_to_jiyue(base, create)[1]["result"] == "duplicate"
    letter = Letter.objects.get(external_ref="GD20260506000777")
    assert (letter.organisation, letter.channel, letter.status) == (czt, "hotline", "accepted")
    assert Letter.objects.count() == 1

    # 2. refused: a wrong key, a replayed nonce, a stale timestamp
    body = json.dumps(create, ensure_ascii=False).encode()
    assert send_to_jiyue(base, create, signed(body, key="not-the-key-not-the-key"))[0] == 401
    replay = signed(body)
    assert send_to_jiyue(base, create, replay)[0] == 200
    assert send_to_jiyue(base, create, replay)[0] == 401
    assert send_to_jiyue(base, create, signed(body, timestamp=int(time.time()) - 600))[0] == 401

    # 3. the department handles it: 办理中 and the reply reach 12345, signed, once
    letters.act(letter, "assign", province.users["czt_dispatcher"])
    letters.act(letter, "draft", province.users["czt_handler"], reply="您好，可通过电子税务局在线申请减免。")
    letters.act(letter, "approve", province.users["czt_dispatcher"])
    assert sync() == 2
    assert sync() == 0
    assert [m["type"] for m in twelve345.messages()] == ["order.status", "order.reply"]
    assert twelve345.messages("order.status")[0]["status"]["status"] == "办理中"
    reply = twelve345.messages("order.reply")[0]
    assert reply["order_no"] == "GD20260506000777" and "电子税务局" in reply["reply"]["content"]
    assert not twelve345.refused

    # 4. 12345 calls the citizen back: 满意 closes the letter; then 已办结; nothing is echoed
    visit = update("order.satisfaction", "GD20260506000777", "v-777", result="满意", note="很及时")
    assert send_to_jiyue(base, visit)[1]["result"] == "closed"
    assert send_to_jiyue(base, visit)[1]["result"] == "duplicate"
    assert send_to_jiyue(base, update("order.status", "GD20260506000777", "s-777", status="已办结"))[1][
        "result"] == "unchanged"
    letter.refresh_from_db()
    assert (letter.status, letter.rating) == ("closed", "satisfied")
    assert sync() == 0 and len(twelve345.stored) == 2

    # 5. 12345 is down: a citizen's consultation on the website waits, then arrives once
    port = twelve345.port
    twelve345.stop()
    box = Mailbox.objects.create(organisation=czt, site=province.sites["czt"], kind=Mailbox.DEPARTMENT,
                                 name="财政厅信箱", allow_anonymous=True)
    web = letters.submit(mailbox=box, type="consult", title="咨询政府采购政策", anonymous=True,
                         content="请问中小企业参加政府采购有哪些扶持政策？")
    assert sync() == 0
    now = timezone.now()
    pending = Message.objects.get(direction="out", kind="order.create")
    assert (pending.state, pending.attempts) == ("pending", 1) and pending.last_error
    back = Platform12345(port)
    try:
        back.drop_next = True            # it stores the order, but the answer is lost
        assert send_pending(now + timedelta(seconds=10)) == 0   # not due yet
        assert send_pending(now + timedelta(seconds=31)) == 0
        assert send_pending(now + timedelta(seconds=31 + 61)) == 1
        assert send_pending(now + timedelta(seconds=250)) == 0
        pending.refresh_from_db()
        assert (pending.state, pending.attempts, pending.result) == ("sent", 3, "duplicate")
        orders = back.messages("order.create")
        assert len(orders) == 1 and back.received.count(orders[0]["message_id"]) == 2
        assert orders[0]["order_no"] == f"AH{web.serial}" and orders[0]["order"]["category"] == "咨询"
    finally:
        back.stop()
