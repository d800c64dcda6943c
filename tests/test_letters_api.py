"""Letters through the API (issue 6): /api/v1/letters — writing (201 with the query code, 422 in
Chinese, anonymity rules, the rate limit and the trusted client), progress (masked, 404),
rating, the mailboxes of a site, and the OpenAPI description."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache

from jiyue.letters import services
from jiyue.letters.models import Letter, Mailbox, Status


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def boxes(province):
    leader = Mailbox.objects.create(organisation=province.orgs["portal"], site=province.sites["portal"],
                                    kind=Mailbox.LEADER, name="省长信箱", allow_anonymous=False)
    dept = Mailbox.objects.create(organisation=province.orgs["czt"], site=province.sites["czt"],
                                  kind=Mailbox.DEPARTMENT, name="财政厅信箱", allow_anonymous=True,
                                  types=["consult", "suggest"])
    return {"leader": leader, "dept": dept}


def body(box, **extra):
    data = {"mailbox": box.pk, "type": "consult", "title": "关于惠民补贴发放时间的咨询",
            "content": "请问2026年度惠民补贴什么时候发放？", "name": "张三", "phone": "13800138000",
            "email": "zs@example.cn", "address": "合肥市幸福路128号", "anonymous": True,
            "consent_publish": True}
    data.update(extra)
    return data


def post(client, data, **headers):
    return client.post("/api/v1/letters", json.dumps(data), content_type="application/json", **headers)


def test_writing_returns_the_query_code(province, boxes, client):
    r = post(client, body(boxes["dept"]))
    assert r.status_code == 201, r.content
    data = r.json()
    letter = Letter.objects.get()
    assert data["query_code"] == letter.query_code and data["serial"] == letter.serial
    assert data["status"] == "submitted" and data["due_at"].startswith(
        letter.due_at.astimezone().date().isoformat())
    assert letter.channel == "api" and letter.site == province.sites["czt"] and letter.anonymous
    # progress, as on the query page: masked, no contact data
    r = client.get(f"/api/v1/letters/{letter.query_code.lower()}")
    assert r.status_code == 200
    p = r.json()
    assert p["writer"] == "张*" and p["status"] == "submitted" and p["status_label"] == "待受理"
    assert p["steps"][0]["action"] == "submit" and p["steps"][0]["organisation"] == "安徽省财政厅"
    assert p["reply"] is None and p["can_rate"] is False
    for secret in ("13800138000", "zs@example.cn", "幸福路", "张三"):
        assert secret not in r.content.decode()


def test_bad_input_is_422_in_chinese_and_stores_nothing(province, boxes, client):
    r = post(client, body(boxes["dept"], type="report", title="", content="短", phone="abc"))
    assert r.status_code == 422 and r["Content-Type"].startswith("application/problem+json")
    p = r.json()
    assert set(p["errors"]) == {"type", "title", "content", "phone"}
    assert "该信箱不受理此类来信。" in p["detail"] and "请填写标题。" in p["detail"]
    r = post(client, body(boxes["leader"]))  # anonymous where it is not allowed
    assert r.status_code == 422 and "不接受匿名来信" in r.json()["errors"]["anonymous"][0]
    r = post(client, body(boxes["dept"], anonymous=False))  # neither logged in nor anonymous
    assert r.status_code == 422 and "请先登录" in r.json()["detail"]
    r = post(client, body(boxes["dept"], mailbox=999999))
    assert r.status_code == 422 and "mailbox" in r.json()["errors"]
    r = post(client, {"mailbox": "x", "title": 1})  # not the schema
    assert r.status_code == 422 and r.json()["detail"]
    r = client.post("/api/v1/letters", "{bad json", content_type="application/json")
    assert r.status_code in (400, 422)
    assert not Letter.objects.exists()


def test_a_citizen_with_a_session_writes_under_their_name(province, boxes, client):
    from jiyue.identity.services import create_citizen

    user = create_citizen(email="li.ming@example.cn", mobile="", password="Lm@2026-long-pass")
    client.force_login(user)
    r = post(client, body(boxes["leader"], anonymous=False, name="李明"))
    assert r.status_code == 201, r.content
    letter = Letter.objects.get()
    assert letter.citizen == user and not letter.anonymous


def test_unknown_codes_are_404(province, client):
    for code in ("AAAABBBBCCCC", "short"):
        r = client.get(f"/api/v1/letters/{code}")
        assert r.status_code == 404 and "没有找到该来信" in r.json()["detail"]
    r = client.post("/api/v1/letters/AAAABBBBCCCC/rating", json.dumps({"rating": "satisfied"}),
                    content_type="application/json")
    assert r.status_code == 404


def test_rating_through_the_api(province, boxes, client):
    letter = services.submit(mailbox=boxes["dept"], type="consult", title="咨询补贴",
                             content="请问补贴什么时候发放？", anonymous=True)
    url = f"/api/v1/letters/{letter.query_code}/rating"
    r = client.post(url, json.dumps({"rating": "satisfied"}), content_type="application/json")
    assert r.status_code == 409 and "不能评价" in r.json()["detail"]
    d, h = province.users["czt_dispatcher"], province.users["czt_handler"]
    services.act(letter, "accept", d)
    services.act(letter, "assign", d)
    services.act(letter, "draft", h, reply="补贴于每季度末发放。")
    services.act(letter, "approve", d)
    p = client.get(f"/api/v1/letters/{letter.query_code}").json()
    assert p["can_rate"] and p["reply"]["organisation"] == "安徽省财政厅" and p["reply"]["replied_at"]
    r = client.post(url, json.dumps({"rating": "meh"}), content_type="application/json")
    assert r.status_code == 422 and "rating" in r.json()["errors"]
    r = client.post(url, json.dumps({"rating": "dissatisfied", "comment": "不够具体"}),
                    content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "handling"
    assert r.json()["rating"]["label"] == "不满意"
    letter.refresh_from_db()
    assert letter.status == Status.HANDLING and letter.reopened_count == 1


def test_mailboxes_of_a_site(province, boxes, client):
    r = client.get("/api/v1/letters/mailboxes", {"site": "3400000002"})
    assert r.status_code == 200
    assert [m["name"] for m in r.json()] == ["财政厅信箱"]
    assert r.json()[0]["allow_anonymous"] and r.json()[0]["types"] == ["consult", "suggest"]
    assert client.get("/api/v1/letters/mailboxes", {"site": "9999999999"}).status_code == 404
    assert len(client.get("/api/v1/letters/mailboxes").json()) == 2


def test_floods_are_429_and_a_trusted_client_passes(province, boxes, client, settings):
    settings.JIYUE_RATE_LIMITS = "public_form=3/m"
    for _i in range(3):
        assert post(client, body(boxes["dept"])).status_code == 201
    r = post(client, body(boxes["dept"]))
    assert r.status_code == 429 and int(r["Retry-After"]) >= 1 and "过于频繁" in r.json()["detail"]
    settings.JIYUE_RATE_LIMIT_EXEMPT = ["127.0.0.1"]
    assert post(client, body(boxes["dept"])).status_code == 201
    assert Letter.objects.count() == 4


def test_the_openapi_description_lists_the_letters_api(db, client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    assert "post" in paths["/api/v1/letters"]
    assert "get" in paths["/api/v1/letters/{query_code}"]
    assert "post" in paths["/api/v1/letters/{query_code}/rating"]
    assert "get" in paths["/api/v1/letters/mailboxes"]
    assert paths["/api/v1/letters"]["post"]["summary"] == "写信"
    assert "422" in paths["/api/v1/letters"]["post"]["description"]
