import json

import pytest

from jiyue.api.models import issue_token
from jiyue.library.models import Resource


def _bearer(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user, 'test')}"}


def test_openapi_published(client, db):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/v1/resources" in paths and "/api/v1/placements" in paths


def test_sites_list_uses_envelope(client, province):
    r = client.get("/api/v1/sites", {"page_size": 2})
    body = r.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"] and body["previous"] is None
    s = client.get("/api/v1/sites/3400000002").json()
    assert s["code"] == "3400000002" and s["domains"] == ["czt.ah.gov.cn"]
    assert s["local_hostname"] == "3400000002.localhost" and s["organisation"]["name"] == "安徽省财政厅"
    assert "安徽省财政厅".encode() in client.get("/api/v1/sites/3400000002").content  # not \u escaped


def test_errors_are_problem_json_in_chinese(client, province):
    r = client.get("/api/v1/sites/9999999999")
    assert r.status_code == 404 and r["Content-Type"].startswith("application/problem+json")
    assert "不存在" in r.json()["detail"]
    r = client.get("/api/v1/resources", {"published_from": "昨天"})
    assert r.status_code == 400 and "YYYY-MM-DD" in r.json()["detail"]
    r = client.post("/api/v1/resources", data='{"kind": "policy", "fields": {}}', content_type="application/json")
    assert r.status_code == 401 and r.json()["detail"]
    r = client.post("/api/v1/resources", data="{not json", content_type="application/json",
                    **_bearer(province.users["czt_editor"]))
    assert r.status_code in (400, 422) and r["Content-Type"].startswith("application/problem+json")


def test_anonymous_sees_only_published(client, province, make_policy):
    make_policy(title="草稿文件")
    make_policy(title="已发布文件", doc_number="皖财〔2026〕40号", publish=True)
    titles = [x["title"] for x in client.get("/api/v1/resources").json()["results"]]
    assert titles == ["已发布文件"]
    staff = client.get("/api/v1/resources", **_bearer(province.users["czt_editor"])).json()
    assert {x["title"] for x in staff["results"]} == {"草稿文件", "已发布文件"}


def test_create_submit_review_via_api(client, province):
    editor = _bearer(province.users["czt_editor"])
    col = province.column("czt", "zcwj").pk
    payload = {"kind": "policy", "place_in": [col], "fields": {
        "title": "关于印发财政专项资金管理办法的通知", "doc_number": "皖财[2026]8号",
        "issuing_body": "安徽省财政厅", "written_on": "2026-01-10", "body": "<p>正文<script>x</script></p>",
        "validity": "valid", "sharing": "all", "disclosure": "active"}}
    r = client.post("/api/v1/resources", data=json.dumps(payload), content_type="application/json", **editor)
    assert r.status_code == 201, r.content
    rid = r.json()["id"]
    assert rid.startswith("ah:") and r.json()["fields"]["doc_number"] == "皖财〔2026〕8号"
    assert "script" not in r.json()["fields"]["body"]
    assert client.post(f"/api/v1/resources/{rid}/submit", **editor).status_code == 200
    review = f"/api/v1/resources/{rid}/review"
    approve = json.dumps({"action": "approve"})
    r = client.post(review, data=approve, content_type="application/json",
                    **_bearer(province.users["czt_reviewer2"]))
    assert r.status_code == 403  # not the current level
    r = client.post(review, data=approve, content_type="application/json",
                    **_bearer(province.users["czt_reviewer1"]))
    assert r.status_code == 200 and not r.json()["live"]
    r = client.post(review, data=approve, content_type="application/json",
                    **_bearer(province.users["czt_reviewer2"]))
    assert r.status_code == 400 and "保密审查" in r.json()["detail"]
    r = client.post(review, data=json.dumps({"action": "approve", "secrecy_confirmed": True}),
                    content_type="application/json", **_bearer(province.users["czt_reviewer2"]))
    assert r.status_code == 200 and r.json()["live"]
    published = client.get(f"/api/v1/resources/{rid}").json()
    assert published["live"] and published["index_number"]
    assert [p["site"] for p in published["placements"]] == ["3400000002"]


def test_bad_payloads_leave_nothing_behind(client, province):
    editor = _bearer(province.users["czt_editor"])
    before = Resource.objects.count()
    bad = {"kind": "policy", "fields": {"title": "x", "doc_number": "乱写的文号", "issuing_body": "安徽省财政厅",
                                         "written_on": "2026-01-10", "body": "<p>x</p>"}}
    r = client.post("/api/v1/resources", data=json.dumps(bad), content_type="application/json", **editor)
    assert r.status_code == 400 and "文号" in r.json()["detail"]
    r = client.post("/api/v1/resources", data=json.dumps({"kind": "novel", "fields": {}}),
                    content_type="application/json", **editor)
    assert r.status_code == 400 and "未知的资源类型" in r.json()["detail"]
    # placement into a column of a site the editor cannot reach makes the whole request fail
    other_col = province.column("jyt", "zcwj").pk
    ok_fields = dict(bad["fields"], doc_number="皖财〔2026〕9号")
    r = client.post("/api/v1/resources", data=json.dumps({"kind": "policy", "fields": ok_fields,
                                                          "place_in": [other_col]}),
                    content_type="application/json", **editor)
    assert r.status_code in (201, 403)
    if r.status_code == 201:  # an offer to another site is allowed, never a live placement
        assert r.json()["id"]
        from jiyue.library.models import Placement

        assert Placement.objects.get(column_id=other_col).state == Placement.OFFERED
    r = client.post("/api/v1/resources", data=json.dumps({"kind": "policy", "organisation": province.orgs["jyt"].pk,
                                                          "fields": ok_fields}),
                    content_type="application/json", **editor)
    assert r.status_code == 403
    assert Resource.objects.count() <= before + 1


def test_placement_take_and_refuse_via_api(client, province, make_policy):
    doc = make_policy(publish=True, sharing="request")
    portal = _bearer(province.users["portal_editor"])
    r = client.post("/api/v1/placements", data=json.dumps({"resource": doc.global_id,
                                                           "column": province.column("portal", "zcwj").pk}),
                    content_type="application/json", **portal)
    assert r.status_code == 201 and r.json()["state"] == "requested"
    pid = r.json()["id"]
    assert client.post(f"/api/v1/placements/{pid}/approve", **portal).status_code == 403
    r = client.post(f"/api/v1/placements/{pid}/approve", **_bearer(province.users["czt_editor"]))
    assert r.json()["state"] == "live"
    assert client.get("/api/v1/resources", {"site": "3400000001"}).json()["count"] == 1


def test_api_scope_for_a_department_editor(client, province, make_policy):
    secret = make_policy(title="财政厅内部草稿")
    unshared = make_policy(title="财政厅不共享文件", sharing="none", doc_number="皖财〔2026〕50号", publish=True)
    jyt = _bearer(province.users["jyt_editor"])
    listing = json.dumps(client.get("/api/v1/resources", {"page_size": 100}, **jyt).json(), ensure_ascii=False)
    assert "财政厅内部草稿" not in listing and "财政厅不共享文件" not in listing
    assert client.get(f"/api/v1/resources/{secret.global_id}", **jyt).status_code == 404
    assert client.get(f"/api/v1/resources/{unshared.global_id}", **jyt).status_code == 404
    assert client.patch(f"/api/v1/resources/{secret.global_id}", data='{"fields": {"title": "x"}}',
                        content_type="application/json", **jyt).status_code == 404
    sites = [s["code"] for s in client.get("/api/v1/sites", **jyt).json()["results"]]
    assert sites == ["3400000003"]
    cols = client.get("/api/v1/columns", {"page_size": 100}, **jyt).json()["results"]
    assert {c["site"] for c in cols} == {"3400000003"}
    places = client.get("/api/v1/placements", {"page_size": 100}, **jyt).json()["results"]
    assert all(p["site"] == "3400000003" for p in places)
