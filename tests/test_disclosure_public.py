"""依申请公开 for applicants: the form on a site host, the receipt and progress page, the API."""

import re

import pytest
from django.test import Client

from jiyue.disclosure import services
from jiyue.disclosure.models import Application, Result, Status

HOST = "czt.ah.gov.cn"
FORM = {"applicant_kind": "person", "id_type": "id_card", "name": "王小明",
        "id_number": "11010519491231002X", "phone": "13900139000", "email": "wxm@example.cn",
        "address": "", "postcode": "", "description": "请公开<b>2025年</b>省级预算绩效评价报告全文。",
        "purpose": "", "delivery": "email", "category": "", "legal_representative": "",
        "contact_name": ""}


@pytest.fixture(autouse=True)
def _fresh_limits():
    from django.core.cache import cache

    cache.clear()  # the rate limit counters of earlier tests


@pytest.fixture
def web(province, settings):
    settings.JIYUE_RATE_LIMITS = "public_form=3/m"
    return Client(enforce_csrf_checks=True)


def _csrf(client, path="/_/disclosure/apply"):
    r = client.get(path, HTTP_HOST=HOST)
    assert r.status_code == 200
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', r.content.decode()).group(1)


def test_apply_receipt_and_progress_without_javascript(web, province):
    page = web.get("/_/disclosure", HTTP_HOST=HOST).content.decode()
    assert "依申请公开" in page and "20个工作日" in page and "<script>" not in page.split("</main>")[0]
    token = _csrf(web)
    r = web.post("/_/disclosure/apply", {**FORM, "csrfmiddlewaretoken": token}, HTTP_HOST=HOST)
    assert r.status_code == 303
    receipt = web.get(r["Location"] if r["Location"].startswith("/") else "/_/disclosure/" + r["Location"],
                      HTTP_HOST=HOST).content.decode()
    code = re.search(r'id="query-code">([A-Z0-9]{12})<', receipt).group(1)
    app = Application.objects.get(query_code=code)
    assert app.organisation == province.orgs["czt"] and app.site == province.sites["czt"]
    assert app.description.startswith("请公开<b>")  # stored as typed …
    assert "&lt;b&gt;2025年" in receipt and "<b>2025年" not in receipt  # … escaped when shown
    assert "王**" in receipt and "11010519491231002X" not in receipt  # no personal data shown
    assert "答复期限" in receipt and "待受理" in receipt
    # the query box finds it; the reply shows once issued
    r = web.get("/_/disclosure/q", {"code": code.lower()}, HTTP_HOST=HOST)
    assert r.status_code == 303 and r["Location"].endswith(code)
    services.act(app, "reply", province.users["czt_dispatcher"], result=Result.OPEN,
                 reply="经查，该报告已主动公开，请见附件。")
    page = web.get(f"/_/disclosure/q/{code}", HTTP_HOST=HOST).content.decode()
    assert "予以公开" in page and "已主动公开" in page and "已答复" in page
    # another site's host does not show it
    assert web.get(f"/_/disclosure/q/{code}", HTTP_HOST="jyt.ah.gov.cn").status_code == 404
    assert web.get("/_/disclosure/q", {"code": "NOPE"}, HTTP_HOST=HOST).status_code == 404


def test_form_errors_are_shown_per_field_and_nothing_is_stored(web, province):
    token = _csrf(web)
    bad = {**FORM, "id_number": "110105194912310021", "phone": "abc", "description": "短",
           "csrfmiddlewaretoken": token}
    r = web.post("/_/disclosure/apply", bad, HTTP_HOST=HOST)
    page = r.content.decode()
    assert r.status_code == 422
    assert "居民身份证号码不正确" in page and "联系电话格式不正确" in page and "至少10个字" in page
    assert 'value="王小明"' in page  # what was typed stays
    assert not Application.objects.exists()
    # without the CSRF token: refused
    assert web.post("/_/disclosure/apply", FORM, HTTP_HOST=HOST).status_code == 403
    # a flood from one address is limited (3/m here)
    for _i in range(3):
        web.post("/_/disclosure/apply", bad, HTTP_HOST=HOST)
    r = web.post("/_/disclosure/apply", bad, HTTP_HOST=HOST)
    assert r.status_code == 429 and r["Retry-After"]


def test_api_apply_and_follow(client, province, settings):
    settings.JIYUE_RATE_LIMITS = "public_form=2/m"
    body = {k: v for k, v in FORM.items() if k not in ("category",)}
    r = client.post("/api/v1/disclosure", {**body, "site": "3400000002"}, content_type="application/json")
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["status"] == "submitted" and data["due_date"] and len(data["query_code"]) == 12
    r = client.get(f"/api/v1/disclosure/{data['query_code']}")
    assert r.status_code == 200 and r.json()["steps"][0]["action"] == "submit"
    assert client.get("/api/v1/disclosure/ZZZZZZZZZZZZ").status_code == 404
    # bad input: 422 problem+json with Chinese details per field; nothing stored
    r = client.post("/api/v1/disclosure", {**body, "site": "3400000002", "applicant_kind": "organisation",
                                           "category": "bank", "id_number": "123"},
                    content_type="application/json")
    assert r.status_code == 422 and r["Content-Type"].startswith("application/problem+json")
    errors = r.json()["errors"]
    assert "category" in errors and "统一社会信用代码" in errors["id_number"][0] + r.json()["detail"]
    r = client.post("/api/v1/disclosure", {**body, "site": "3400000002", "delivery": "fax"},
                    content_type="application/json")
    assert r.status_code == 422 and r["Content-Type"].startswith("application/problem+json")
    assert Application.objects.count() == 1
    r = client.post("/api/v1/disclosure", {**body, "site": "3400000002"}, content_type="application/json")
    assert r.status_code == 429 and r["Retry-After"]
    schema = client.get("/api/v1/openapi.json").json()["paths"]
    assert "post" in schema["/api/v1/disclosure"] and "get" in schema["/api/v1/disclosure/{code}"]
    assert Application.objects.get().status == Status.SUBMITTED
