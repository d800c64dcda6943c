"""The 12345 exchange inside one instance: signed messages from the 12345 platform become
letters and their status changes, our letters' changes become queued messages, the sender's
retries, and the admin screens. The signing here is an independent implementation of the
contract in docs/hotline.md (the `cryptography` package directly), not jiyue's own code."""

from __future__ import annotations

import json
import re
import secrets
import time
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes, hmac
from django.utils import timezone

PATH = "/api/v1/hotline/messages"
KEY = "test-shared-key-0123456789abcdefghijkl"


def sm3hex(body: bytes) -> str:
    h = hashes.Hash(hashes.SM3())
    h.update(body)
    return h.finalize().hex()


def signature(key: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    h = hmac.HMAC(key.encode("utf-8"), hashes.SM3())
    h.update("\n".join([method, path, timestamp, nonce, sm3hex(body)]).encode("utf-8"))
    return h.finalize().hex()


def signed(body: bytes, *, peer="ah12345", key=KEY, path=PATH, timestamp=None, nonce=None) -> dict:
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    return {"X-Jiyue-Peer": peer, "X-Jiyue-Timestamp": timestamp, "X-Jiyue-Nonce": nonce,
            "X-Jiyue-Signature": signature(key, "POST", path, timestamp, nonce, body)}


def order_message(order_no="GD20260506000123", message_id=None, unit_code="", **order) -> dict:
    return {"message_id": message_id or f"m-{order_no}-create", "type": "order.create",
            "order_no": order_no, "sent_at": "2026-05-06T09:30:00+08:00",
            "order": {"category": "咨询", "title": "咨询小微企业税费减免政策",
                      "content": "请问今年小微企业的税费减免政策如何申请？需要哪些材料？",
                      "caller": {"name": "张三", "phone": "13800001234"},
                      "unit": {"name": "安徽省财政厅", "code": unit_code},
                      "due_at": "2026-05-13T18:00:00+08:00", "status": "转办",
                      "steps": [{"at": "2026-05-06T09:20:00+08:00", "action": "受理", "unit": "12345"}],
                      **order}}


def update(kind: str, order_no: str, message_id: str, **part) -> dict:
    key = kind.split(".", 1)[1]
    return {"message_id": message_id, "type": kind, "order_no": order_no, key: part}


def post(client, message: dict | bytes, **kw):
    body = message if isinstance(message, bytes) else json.dumps(message, ensure_ascii=False).encode()
    headers = kw.pop("headers", None) or signed(body, **kw)
    return client.post(PATH, body, content_type="application/json",
                       **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})


@pytest.fixture(autouse=True)
def _no_outbox_lag(settings):
    """The outbox is read at once (PostgreSQL's default lag would hide fresh events)."""
    settings.JIYUE_OUTBOX_LAG_SECONDS = 0
    settings.JIYUE_HOTLINE_AUTOSEND = False


@pytest.fixture
def peer(province):
    from jiyue.hotline.models import Peer

    return Peer.objects.create(code="ah12345", name="安徽省12345热线", organisation=province.orgs["portal"],
                               url="http://127.0.0.1:9/messages", key=KEY, our_code="ahjy")


def dispatch():
    from jiyue.core import outbox

    outbox.dispatch("hotline")


def outbound():
    from jiyue.hotline.models import Message

    return [(m.kind, json.loads(m.body)) for m in Message.objects.filter(direction="out").order_by("id")]


def test_an_order_becomes_one_letter_however_often_it_is_sent(client, province, peer):
    from jiyue.letters.models import Letter, Mailbox

    message = order_message(unit_code=province.orgs["czt"].code)
    r = post(client, message)
    assert r.status_code == 200, r.content
    assert r.json()["result"] == "created"
    letter = Letter.objects.get(external_ref="GD20260506000123")
    assert (letter.channel, letter.type, letter.status) == ("hotline", "consult", "accepted")
    assert letter.organisation == province.orgs["czt"]          # routed to the 承办单位 by its code
    assert (letter.name, letter.phone) == ("张三", "13800001234")
    assert letter.query_code == r.json()["query_code"]
    assert letter.mailbox.kind == Mailbox.HOTLINE and letter.mailbox.organisation == province.orgs["portal"]
    assert letter.hotline_order.due_at is not None and letter.hotline_order.steps[0]["action"] == "受理"
    # resent (a new nonce), and the same order under another message id: nothing new
    assert post(client, message).json()["result"] == "duplicate"
    assert post(client, order_message(message_id="other-id", title="改了标题")).json()["result"] == "duplicate"
    assert Letter.objects.filter(channel="hotline").count() == 1
    assert Letter.objects.get(pk=letter.pk).title == "咨询小微企业税费减免政策"
    # what applying the order did (the transfer to 财政厅) is not sent back to 12345
    dispatch()
    assert outbound() == []


def test_refused_requests_change_nothing(client, province, peer):
    from jiyue.letters.models import Letter

    body = json.dumps(order_message(), ensure_ascii=False).encode()
    cases = {
        "bad signature": signed(body, key="wrong-key-wrong-key-wrong-key"),
        # well outside the 300-s window: a slow machine may take seconds between signing and
        # checking (+301 was accepted once when the "future" had come closer meanwhile)
        "stale timestamp": signed(body, timestamp=int(time.time()) - 400),
        "future timestamp": signed(body, timestamp=int(time.time()) + 400),
        "unknown peer": signed(body, peer="nobody"),
        "signed for another path": signed(body, path="/api/v1/hotline/other"),
        "no headers": {},
    }
    for label, headers in cases.items():
        r = post(client, body, headers=headers or {"X-Jiyue-Peer": "ah12345"})
        assert r.status_code == 401, label
        assert r["Content-Type"].startswith("application/problem+json") and r.json()["detail"], label
    # a body changed after signing
    headers = signed(body)
    r = post(client, body.replace("张三".encode(), "李四".encode()), headers=headers)
    assert r.status_code == 401
    assert not Letter.objects.exists()
    # the same request twice: the second is a replay
    headers = signed(body)
    assert post(client, body, headers=headers).status_code == 200
    r = post(client, body, headers=headers)
    assert r.status_code == 401 and "nonce" in r.json()["detail"]
    # a disabled peer is refused
    peer.enabled = False
    peer.save()
    assert post(client, order_message(order_no="GD2")).status_code == 401
    assert Letter.objects.count() == 1


def test_bad_schema_is_400_with_chinese_field_messages(client, province, peer):
    from jiyue.hotline.models import Message
    from jiyue.letters.models import Letter

    bad = order_message(category="闲聊", content="短", caller={"phone": "x" * 40})
    r = post(client, bad)
    assert r.status_code == 400
    problem = r.json()
    assert set(problem["errors"]) >= {"order.category", "order.content", "order.caller.phone"}
    assert "诉求类型" in problem["detail"] and "取值须为" in problem["detail"]
    assert "不能少于5个字" in problem["detail"]
    r = post(client, {"message_id": "x1", "type": "order.status", "order_no": "GD1"})
    assert r.status_code == 400 and "status" in r.json()["errors"]
    r = post(client, b"[1, 2]")
    assert r.status_code == 400 and r.json()["errors"] == {"body": ["请求体须为 JSON 对象。"]}
    assert not Letter.objects.exists()
    assert Message.objects.filter(state="applied").count() == 0


def _handle(province, letter, reply="您好，小微企业可登录电子税务局申请，材料为营业执照和申请表。"):
    from jiyue.letters import services as letters

    letters.act(letter, "assign", province.users["czt_dispatcher"])
    letters.act(letter, "draft", province.users["czt_handler"], reply=reply)
    return letters.act(letter, "approve", province.users["czt_dispatcher"])


def test_handled_order_flows_back_and_satisfaction_closes_it(client, province, peer):
    from jiyue.hotline.models import Message, WorkOrder
    from jiyue.letters.models import Letter

    post(client, order_message(unit_code=province.orgs["czt"].code))
    letter = Letter.objects.get(external_ref="GD20260506000123")
    _handle(province, letter)
    dispatch()
    dispatch()  # a second run queues nothing more
    sent = outbound()
    assert [(k, b.get("status", {}).get("status")) for k, b in sent] == [
        ("order.status", "办理中"), ("order.reply", None)]
    reply = sent[1][1]
    assert reply["order_no"] == "GD20260506000123" and reply["message_id"].startswith("ahjy-")
    assert reply["reply"]["content"].startswith("您好") and reply["reply"]["unit"]["name"] == "安徽省财政厅"
    # 12345 calls the citizen back (回访): satisfied closes the letter
    visit = update("order.satisfaction", "GD20260506000123", "m-visit-1", result="满意", note="答复清楚")
    r = post(client, visit)
    assert r.status_code == 200 and r.json()["result"] == "closed"
    letter.refresh_from_db()
    assert (letter.status, letter.rating) == ("closed", "satisfied")
    assert WorkOrder.objects.get(order_no="GD20260506000123").satisfaction == "满意"
    assert post(client, visit).json()["result"] == "duplicate"
    # then 已办结 at 12345: the letter is already closed
    r = post(client, update("order.status", "GD20260506000123", "m-close-1", status="已办结"))
    assert r.json()["result"] == "unchanged"
    dispatch()
    assert len(outbound()) == 2   # the rating that came from 12345 is not echoed
    assert Message.objects.filter(direction="in", state="applied").count() == 3


def test_conflicts_and_unknown_orders(client, province, peer):
    from jiyue.letters.models import Letter

    post(client, order_message(unit_code=province.orgs["czt"].code))
    r = post(client, update("order.status", "GD20260506000123", "c1", status="已办结"))
    assert r.status_code == 409 and r.json()["detail"] == "信件尚未答复，不能办结。"
    r = post(client, update("order.satisfaction", "GD20260506000123", "c2", result="满意"))
    assert r.status_code == 409
    r = post(client, update("order.reply", "GD20260506000123", "c3", content="对方答复"))
    assert r.status_code == 409
    r = post(client, update("order.status", "GD-UNKNOWN", "c4", status="受理"))
    assert r.status_code == 404
    r = post(client, update("order.status", "GD-OTHER", "m-GD20260506000123-create", status="受理"))
    assert r.status_code == 409   # the message id of the create, reused for something else
    # 退回重办 after a reply reopens the letter; dissatisfied 回访 reopens it too
    letter = Letter.objects.get(external_ref="GD20260506000123")
    _handle(province, letter)
    r = post(client, update("order.status", "GD20260506000123", "c5", status="退回", note="答复不完整"))
    assert r.json()["result"] == "reopened"
    letter.refresh_from_db()
    assert letter.status == "handling" and letter.reopened_count == 1


def test_our_letters_are_pushed_when_the_peer_wants_them(client, province, peer):
    from jiyue.letters import services as letters
    from jiyue.letters.models import Mailbox

    peer.push_letters, peer.push_types = True, ["consult", "help"]
    peer.save()
    box = Mailbox.objects.create(organisation=province.orgs["czt"], site=province.sites["czt"],
                                 kind=Mailbox.LEADER, name="厅长信箱", allow_anonymous=True)
    mine = letters.submit(mailbox=box, type="consult", title="公积金提取咨询", anonymous=True,
                          content="请问异地购房能否提取住房公积金？", phone="13900001111")
    letters.submit(mailbox=box, type="complain", title="投诉某窗口", anonymous=True,
                   content="办事窗口工作人员态度不好，请核实。")
    dispatch()
    sent = outbound()
    assert len(sent) == 1
    kind, body = sent[0]
    assert kind == "order.create" and body["order_no"] == f"AH{mine.serial}"
    assert body["order"]["category"] == "咨询" and body["order"]["caller"]["anonymous"] is True
    assert body["order"]["caller"]["phone"] == "13900001111"
    # its later changes follow; the citizen's rating becomes 回访满意度
    letters.act(mine, "accept", province.users["czt_dispatcher"])
    _handle(province, mine)
    letters.rate(mine, "basic", "基本解决")
    dispatch()
    kinds = [k for k, _b in outbound()]
    assert kinds == ["order.create", "order.status", "order.status", "order.reply", "order.satisfaction"]
    assert outbound()[-1][1]["satisfaction"]["result"] == "基本满意"


def test_sender_retries_with_back_off_in_order(province, peer, monkeypatch):
    from jiyue.hotline import client as sender
    from jiyue.hotline.models import Message

    calls = []
    answers = []

    def fake_post(url, headers, body):
        calls.append(json.loads(body)["message_id"])
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(sender, "_post", fake_post)
    now = timezone.now()
    first = Message.objects.create(peer=peer, direction="out", message_id="a", kind="order.create",
                                   order_no="N1", body='{"message_id":"a"}', state="pending", next_attempt_at=now)
    second = Message.objects.create(peer=peer, direction="out", message_id="b", kind="order.status",
                                    order_no="N1", body='{"message_id":"b"}', state="pending", next_attempt_at=now)
    answers[:] = [OSError("connection refused")]
    assert sender.send_pending(now) == 0
    first.refresh_from_db()
    assert (first.state, first.attempts) == ("pending", 1) and "connection refused" in first.last_error
    assert first.next_attempt_at == now + timedelta(seconds=30)
    assert calls == ["a"]            # "b" waits behind "a"
    assert sender.send_pending(now + timedelta(seconds=10)) == 0 and calls == ["a"]
    answers[:] = [(503, {}), (200, {"result": "created"}), (200, {"result": "recorded"})]
    assert sender.send_pending(now + timedelta(seconds=31)) == 0
    first.refresh_from_db()
    assert first.attempts == 2 and first.next_attempt_at == now + timedelta(seconds=31 + 60)
    assert sender.send_pending(now + timedelta(seconds=100)) == 2
    assert calls == ["a", "a", "a", "b"]
    assert set(Message.objects.values_list("state", flat=True)) == {"sent"}
    assert sender.send_pending(now + timedelta(hours=1)) == 0   # delivered once
    # a 409 is final: 发送失败 until someone retries it
    second.refresh_from_db()
    third = Message.objects.create(peer=peer, direction="out", message_id="c", kind="order.status",
                                   order_no="N2", body='{"message_id":"c"}', state="pending", next_attempt_at=now)
    answers[:] = [(409, {"detail": "信件尚未答复，不能办结。"})]
    sender.send_pending(now)
    third.refresh_from_db()
    assert (third.state, third.last_error) == ("failed", "信件尚未答复，不能办结。")
    assert sender.backoff(30) == timedelta(hours=1)


def test_admin_configuration_is_for_the_system_admin(client, province):
    from jiyue.audit.models import AuditEntry
    from jiyue.hotline.models import Peer

    for name in ("czt_site_admin", "platform_operator", "security_admin", "czt_dispatcher"):
        client.force_login(province.users[name])
        r = client.get("/admin/hotline/peers/")
        assert r.status_code == 403 or (r.status_code == 302 and r["Location"] == "/admin/"), name
        assert "/admin/hotline/peers/" not in client.get("/admin/").content.decode()  # no menu item
    assert AuditEntry.objects.filter(action="hotline.peer.view", outcome="denied").count() == 4
    client.force_login(province.users["system_admin"])
    assert client.get("/admin/hotline/peers/").status_code == 200
    data = {"code": "ah12345", "name": "安徽省12345热线", "organisation": province.orgs["portal"].pk,
            "url": "http://12345.example.gov.cn/messages", "enabled": "on", "action": "save"}
    r = client.post("/admin/hotline/peers/add/", data)
    assert r.status_code == 200 and "须为 HTTPS" in r.content.decode()
    r = client.post("/admin/hotline/peers/add/", {**data, "url": "https://12345.example.gov.cn/messages"},
                    follow=True)
    peer = Peer.objects.get(code="ah12345")
    key = r.context["key"]
    assert len(key) >= 40 and key in r.content.decode() and peer.key == key
    assert key not in client.get(f"/admin/hotline/peers/{peer.pk}/key/", follow=True).content.decode()
    r = client.post(f"/admin/hotline/peers/{peer.pk}/", {"action": "rotate"}, follow=True)
    peer.refresh_from_db()
    assert r.context["key"] == peer.key != key
    client.post(f"/admin/hotline/peers/{peer.pk}/", {"action": "disable"})
    peer.refresh_from_db()
    assert not peer.enabled
    assert {"hotline.peer.create", "hotline.peer.rotate_key", "hotline.peer.disable"} <= set(
        AuditEntry.objects.values_list("action", flat=True))


def test_message_log_and_retry_for_the_operator(client, province, peer):
    from jiyue.hotline.models import Message

    m = Message.objects.create(peer=peer, direction="out", message_id="z", kind="order.reply",
                               order_no="GD9", body="{}", state="failed", attempts=30,
                               last_error="无法连接对方：timed out")
    client.force_login(province.users["czt_dispatcher"])
    r = client.get("/admin/hotline/messages/")
    assert r.status_code == 403 or (r.status_code == 302 and r["Location"] == "/admin/")
    client.post("/admin/hotline/messages/", {"message": m.pk})
    m.refresh_from_db()
    assert m.state == "failed"
    client.force_login(province.users["platform_operator"])
    r = client.get("/admin/hotline/messages/", {"state": "failed"})
    page = r.content.decode()
    assert r.status_code == 200 and "GD9" in page and "无法连接对方" in page and "重发" in page
    client.post("/admin/hotline/messages/", {"message": m.pk})
    m.refresh_from_db()
    assert m.state == "pending" and m.next_attempt_at <= timezone.now()


def test_demo_orders_arrive_through_the_signed_path_once(province):
    from types import SimpleNamespace

    from jiyue.hotline import demo
    from jiyue.letters.models import Letter

    loader = SimpleNamespace(orgs=province.orgs, sites=province.sites, key="ah")
    demo.load(loader)
    demo.load(loader)
    letters = Letter.objects.filter(channel="hotline")
    assert letters.count() == 3
    assert letters.filter(organisation=province.orgs["czt"], status="accepted").count() == 1
    assert letters.filter(anonymous=True).count() == 1


def test_letters_the_peer_handles_follow_its_messages(client, province, peer):
    """对方办理: our letter pushed to the peer is handed over; the peer's 转办, 办理中, reply,
    退回 and 已办结 drive it through the letters' services; staff here cannot act on it; only
    the citizen's rating goes back."""
    from django.core.exceptions import ValidationError

    from jiyue.audit.models import AuditEntry
    from jiyue.hotline.models import WorkOrder
    from jiyue.letters import services as letters
    from jiyue.letters.models import Letter, Mailbox

    peer.push_letters, peer.push_mode = True, "handle"
    peer.save()
    box = Mailbox.objects.create(organisation=province.orgs["czt"], site=province.sites["czt"],
                                 kind=Mailbox.LEADER, name="厅长信箱", allow_anonymous=True)
    mine = letters.submit(mailbox=box, type="consult", title="公积金提取咨询", anonymous=True,
                          content="请问异地购房能否提取住房公积金？")
    other = letters.submit(mailbox=box, type="help", title="求助：路灯不亮", anonymous=True,
                           content="小区门口路灯坏了一个月。")
    dispatch()
    assert [k for k, _b in outbound()] == ["order.create", "order.create"]
    mine.refresh_from_db()
    order_no = f"AH{mine.serial}"
    assert mine.handled_by["name"] == "安徽省12345热线" and mine.handled_by["ref"] == order_no
    assert WorkOrder.objects.get(order_no=order_no).handled_by_peer
    assert mine.steps.filter(action="hand_over", public=True).exists()

    # staff here cannot act on it: the services refuse, the admin offers nothing and says why
    dispatcher = province.users["czt_dispatcher"]
    try:
        letters.act(mine, "accept", dispatcher)
    except ValidationError as exc:
        assert "由对方同步" in exc.messages[0] and "安徽省12345热线" in exc.messages[0]
    else:
        raise AssertionError("a handed-over letter was accepted here")
    client.force_login(dispatcher)
    page = client.get(f"/admin/letters/{mine.pk}/").content.decode()
    assert "由对方办理" in page and 'id="act-accept"' not in page
    r = client.post(f"/admin/letters/{mine.pk}/", {"action": "accept"}, follow=True)
    assert "本平台不能受理" in r.content.decode()
    assert "公积金提取咨询" not in client.get("/admin/letters/").content.decode()  # not in 我的待办
    client.logout()
    assert Letter.objects.get(pk=mine.pk).status == "submitted"

    # the peer's 转办 (a public step naming its unit), 办理中, then its reply
    unit = {"name": "合肥市财政局", "code": "11340100MB0000000X"}
    moved = update("order.status", order_no, "p-1", status="转办", unit=unit)
    assert post(client, moved).json()["result"] == "transferred"
    assert post(client, {**moved, "message_id": "p-1b"}).json()["result"] == "unchanged"
    mine.refresh_from_db()
    assert mine.status == "accepted" and mine.organisation == province.orgs["czt"]
    assert post(client, update("order.status", order_no, "p-2", status="办理中")).json()["result"] == "handling"
    reply = update("order.reply", order_no, "p-3", content="您好，异地购房可凭购房合同提取。",
                   unit=unit, replied_at="2026-05-08T10:00:00+08:00")
    assert post(client, reply).json()["result"] == "replied"
    assert post(client, reply).json()["result"] == "duplicate"
    assert post(client, {**reply, "message_id": "p-3b"}).json()["result"] == "unchanged"
    progress = client.get(f"/api/v1/letters/{mine.query_code}").json()
    assert progress["status"] == "replied" and progress["can_rate"]
    assert progress["reply"]["organisation"] == "合肥市财政局"
    assert progress["reply"]["replied_at"].startswith("2026-05-08T10:00:00")
    assert any(s["action"] == "remote_assign" and "合肥市财政局" in s["note"] for s in progress["steps"])
    mine.refresh_from_db()
    approve = mine.steps.get(action="approve")
    assert approve.actor is None and "安徽省12345热线" in approve.note
    assert not AuditEntry.objects.filter(action="letter.approve").exists()   # no review here
    dispatch()
    assert [k for k, _b in outbound()] == ["order.create", "order.create"]  # nothing echoed

    # the citizen's rating goes to the peer; 不满意 reopens; the peer's new reply, then 已办结
    letters.rate(mine, "dissatisfied", "没说清楚材料")
    dispatch()
    assert outbound()[-1][1]["satisfaction"]["result"] == "不满意"
    assert Letter.objects.get(pk=mine.pk).status == "handling"
    again = update("order.reply", order_no, "p-4", content="补充：需购房合同和身份证。", unit=unit)
    assert post(client, again).json()["result"] == "replied"
    assert post(client, update("order.status", order_no, "p-5", status="已办结")).json()["result"] == "closed"
    mine.refresh_from_db()
    assert (mine.status, mine.reply) == ("closed", "补充：需购房合同和身份证。")
    r = post(client, update("order.reply", order_no, "p-6", content="又一个答复"))
    assert r.status_code == 409   # a new reply only after the peer handles it again
    # the peer takes it up again on its own (its staff reopened it): 办理中 reopens ours
    assert post(client, update("order.status", order_no, "p-7", status="办理中")).json()["result"] == "reopened"
    # the refused reply, sent again under its id, now applies
    assert post(client, update("order.reply", order_no, "p-6", content="又一个答复")).json()["result"] == "replied"
    steps = [(x["action"], x["organisation"]) for x in client.get(f"/api/v1/letters/{mine.query_code}").json()["steps"]]
    assert ("assign", "安徽省财政厅") not in steps and ("hand_over", "安徽省财政厅") in steps

    # 退回: not accepted there, with the reason; 已办结 before any reply is a conflict
    other_no = f"AH{other.serial}"
    r = post(client, update("order.status", other_no, "q-1", status="已办结"))
    assert r.status_code == 409 and r.json()["detail"] == "信件尚未答复，不能办结。"
    assert post(client, update("order.status", other_no, "q-2", status="退回",
                               note="不属于本市职责")).json()["result"] == "rejected"
    other.refresh_from_db()
    assert (other.status, other.reject_reason) == ("rejected", "不属于本市职责")
    dispatch()
    assert [k for k, _b in outbound()].count("order.status") == 0


def test_the_peer_form_takes_the_mode_and_the_other_sides_key(client, province):
    from jiyue.audit.models import AuditEntry
    from jiyue.hotline.models import Peer

    client.force_login(province.users["system_admin"])
    shared = "shared-key-made-by-the-other-platform-0123"
    data = {"code": "hf", "name": "合肥市政府网站集约化平台", "organisation": province.orgs["portal"].pk,
            "url": "https://www.hefei.gov.cn/api/v1/hotline/messages", "enabled": "on",
            "push_letters": "on", "push_mode": "handle", "key": shared, "action": "save"}
    r = client.post("/admin/hotline/peers/add/", {**data, "key": "too-short"})
    assert r.status_code == 200 and "共享密钥须为32至200位" in r.content.decode()
    r = client.post("/admin/hotline/peers/add/", data, follow=True)
    peer = Peer.objects.get(code="hf")
    assert (peer.push_mode, peer.key) == ("handle", shared) and shared not in r.content.decode()
    assert "对方办理" in client.get("/admin/hotline/peers/").content.decode()
    form = client.get(f"/admin/hotline/peers/{peer.pk}/").content.decode()
    assert "<legend" in form and re.search(r'<input[^>]*name="push_mode"[^>]*value="handle"[^>]*checked', form)
    assert shared not in form
    other = "another-key-from-the-other-side-456789"
    client.post(f"/admin/hotline/peers/{peer.pk}/", {**data, "push_mode": "record", "key": other})
    peer.refresh_from_db()
    assert (peer.push_mode, peer.key) == ("record", other)
    assert AuditEntry.objects.filter(action="hotline.peer.set_key").count() == 1
