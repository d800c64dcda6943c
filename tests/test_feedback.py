"""Page ratings (好/差) and error reports (我为政府网站找错): the public forms, the API, the
staff side and the deadlines on a fixed calendar."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from jiyue.audit.models import AuditEntry
from jiyue.feedback import services
from jiyue.feedback.models import ErrorReport, Rating
from tests.publishing_util import make_article, make_guide, page, publish

CZT, JYT = "3400000002", "3400000003"


@pytest.fixture
def public(settings, tmp_path):
    settings.JIYUE_PUBLIC_ROOT = tmp_path / "public"
    settings.JIYUE_OUTBOX_LAG_SECONDS = 0
    settings.JIYUE_PUBLISH_AUTORUN = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings.JIYUE_PUBLIC_ROOT


def _form(html: str) -> dict:
    """The hidden fields of the rating form on a published page."""
    form = re.search(r'<form class="rating-form" method="post" action="([^"]+)".*?</form>', html, re.S)
    assert form, "the rating form"
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form.group(0)))
    return {"action": form.group(1), **fields}


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 20), "#c00000").save(buf, "PNG")
    return buf.getvalue()


def _refused(r) -> bool:
    """403 from the view, or Wagtail's redirect to the dashboard for a PermissionDenied."""
    return r.status_code == 403 or (r.status_code == 302 and r["Location"] == "/admin/")


def _at(*args) -> datetime:
    return timezone.make_aware(datetime(*args))


# --- ratings ------------------------------------------------------------------------------------

def test_published_pages_carry_the_rating_form_and_a_vote_is_stored_once_a_day(province, public):
    guide = make_guide(province)
    art = make_article(province)
    publish()
    html = page(public, CZT, f"content/{guide.pk}.html")
    form = _form(html)
    assert form["action"] == "../_/feedback/rate"
    assert form["page"] == f"content/{guide.pk}.html" and form["resource"] == str(guide.pk)
    assert "这个页面对您有帮助吗？" in html and "内容过时" in html and "看不懂" in html
    assert "feedback.js" in html or re.search(r"feedback\.[0-9a-f]+\.js", html)
    # the footer's 找错 link names the page
    assert f"_/feedback/error?url=content/{guide.pk}.html" in html
    column_html = page(public, CZT, "bmdt/index.html")
    col = _form(column_html)
    assert col["page"] == "bmdt/index.html" and col["column"] == str(province.column("czt", "bmdt").pk)
    assert "rating-form" not in page(public, CZT, "404.html")

    browser = Client(HTTP_X_JIYUE_SITE=CZT)
    r = browser.post("/_/feedback/rate", {"page": form["page"], "resource": form["resource"],
                                          "value": "good"})
    assert r.status_code == 200 and "感谢您的评价" in r.content.decode()
    assert f'href="../../content/{guide.pk}.html"' in r.content.decode()  # back to the page
    rating = Rating.objects.get()
    assert (rating.value, rating.resource_id, rating.organisation_id, rating.site_id) == (
        "good", guide.pk, province.orgs["czt"].pk, province.sites["czt"].pk)
    assert rating.column_id == province.column("czt", "bsfw").pk
    assert "jy_voter" in r.cookies and r.cookies["jy_voter"]["httponly"]
    # the same browser again today: politely refused, nothing stored
    r = browser.post("/_/feedback/rate", {"page": form["page"], "resource": form["resource"],
                                          "value": "bad"})
    assert r.status_code == 409 and "今天已经评价过" in r.content.decode()
    assert Rating.objects.count() == 1
    # another page is fine; another browser too
    assert browser.post("/_/feedback/rate", {"resource": art.pk, "value": "good"}).status_code == 200
    assert Client(HTTP_X_JIYUE_SITE=CZT).post(
        "/_/feedback/rate", {"page": form["page"], "resource": guide.pk, "value": "good"}).status_code == 200
    assert Rating.objects.count() == 3


def test_a_bad_vote_asks_for_reasons_and_bad_input_is_refused(province, public):
    guide = make_guide(province)
    publish()
    browser = Client(enforce_csrf_checks=True, HTTP_X_JIYUE_SITE=CZT)
    # with reasons picked on the page itself
    r = browser.post("/_/feedback/rate", {"resource": guide.pk, "value": "bad",
                                          "reason": ["outdated", "broken_link"],
                                          "comment": "办理地点已经搬迁"})
    assert r.status_code == 200  # no CSRF token on a static page, and none needed
    assert Rating.objects.get().reasons == ["outdated", "broken_link"]
    # without: the thank-you page asks for them (a CSRF-protected form)
    other = Client(enforce_csrf_checks=True, HTTP_X_JIYUE_SITE=CZT)
    r = other.post("/_/feedback/rate", {"resource": guide.pk, "value": "bad"})
    html = r.content.decode()
    assert r.status_code == 200 and "能告诉我们哪里不好吗" in html
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    assert other.post("/_/feedback/rate/reasons", {"token": token, "reason": "unclear"}).status_code == 403
    r = other.post("/_/feedback/rate/reasons", {"token": token, "reason": "unclear",
                                                "csrfmiddlewaretoken": csrf})
    assert r.status_code == 200 and "感谢您告诉我们原因" in r.content.decode()
    assert Rating.objects.latest("id").reasons == ["unclear"]
    # someone else's token does nothing
    r = browser.post("/_/feedback/rate/reasons", {"token": token, "reason": "other"})
    assert r.status_code in (403, 404)
    assert Rating.objects.latest("id").reasons == ["unclear"]

    fresh = Client(HTTP_X_JIYUE_SITE=CZT)
    cases = [({"resource": guide.pk, "value": "maybe"}, 422, "请选择"),
             ({"resource": guide.pk, "value": "bad", "reason": "nonsense"}, 422, "原因"),
             ({"resource": "abc", "value": "good"}, 422, "编号无效"),
             ({"resource": 999999, "value": "good"}, 404, "未在本站发布"),
             ({"page": "no/such/page.html", "value": "good"}, 404, "没有这个页面"),
             ({"page": "../../etc/passwd", "value": "good"}, 422, "页面地址无效"),
             ({"resource": guide.pk, "value": "bad", "comment": "长" * 301}, 422, "300")]
    for data, status, text in cases:
        r = fresh.post("/_/feedback/rate", data)
        assert r.status_code == status and text in r.content.decode(), (data, r.status_code)
    # a guide of the finance department is not a page of the education department's site
    r = Client(HTTP_X_JIYUE_SITE=JYT).post("/_/feedback/rate", {"resource": guide.pk, "value": "good"})
    assert r.status_code == 404
    # a vote sent from another site is refused
    r = fresh.post("/_/feedback/rate", {"resource": guide.pk, "value": "good"},
                   HTTP_ORIGIN="https://evil.example.com")
    assert r.status_code == 403
    assert Rating.objects.count() == 2


def test_script_enhancement_gets_json_and_the_rate_limit_answers_429(province, public, settings):
    guide = make_guide(province)
    publish()
    browser = Client(HTTP_X_JIYUE_SITE=CZT)
    r = browser.post("/_/feedback/rate", {"resource": guide.pk, "value": "good"},
                     HTTP_ACCEPT="application/json", HTTP_ORIGIN="http://testserver")
    assert r.status_code == 200 and r.json() == {"ok": True, "message": "感谢您的评价！", "value": "good"}
    r = browser.post("/_/feedback/rate", {"resource": guide.pk, "value": "good"},
                     HTTP_ACCEPT="application/json")
    assert r.status_code == 409 and "今天已经评价过" in r.json()["message"]
    settings.JIYUE_RATE_LIMITS = "public_form=2/m"
    from django.core.cache import cache

    cache.clear()
    statuses = [Client(HTTP_X_JIYUE_SITE=CZT).post(
        "/_/feedback/rate", {"resource": guide.pk, "value": "good"}).status_code for _i in range(3)]
    assert statuses[-1] == 429
    # the script is told why, in words it shows under the buttons
    r = browser.post("/_/feedback/rate", {"resource": guide.pk, "value": "good"},
                     HTTP_ACCEPT="application/json")
    assert r.status_code == 429 and int(r["Retry-After"]) > 0
    assert r.json()["ok"] is False and "秒后再试" in r.json()["message"]


def test_rating_api(client, province, public):
    guide = make_guide(province)
    publish()
    body = {"site": CZT, "resource": guide.pk, "value": "bad", "reasons": ["incomplete"],
            "comment": "缺少收费标准"}
    r = client.post("/api/v1/feedback/ratings", json.dumps(body), content_type="application/json")
    assert r.status_code == 201 and r.json()["page"] == f"content/{guide.pk}.html"
    assert Rating.objects.get().reasons == ["incomplete"]
    r = client.post("/api/v1/feedback/ratings", json.dumps({**body, "value": "so-so"}),
                    content_type="application/json")
    assert r.status_code == 422 and r["Content-Type"].startswith("application/problem+json")
    assert r.json()["detail"]
    r = client.post("/api/v1/feedback/ratings", json.dumps({**body, "site": "9999999999"}),
                    content_type="application/json")
    assert r.status_code == 404 and "站点不存在" in r.json()["detail"]
    r = client.post("/api/v1/feedback/ratings", json.dumps({**body, "resource": 10**9}),
                    content_type="application/json")
    assert r.status_code == 404
    schema = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/feedback/ratings", "/api/v1/feedback/errors",
            "/api/v1/feedback/errors/{code}"} <= set(schema)


def test_ratings_admin_is_scoped_and_counts(client, province, public):
    czt_guide = make_guide(province)
    jyt_art = make_article(province, org="jyt", title="全省教育工作会议召开", place=("bmdt",))
    publish()
    for value, reasons in [("good", []), ("good", []), ("good", []), ("bad", ["outdated"])]:
        services.rate(site=province.sites["czt"], value=value, voter="", new_browser=True,
                      address="10.0.0.1", resource_id=czt_guide.pk, reasons=reasons,
                      comment="过时的收费标准" if reasons else "")
    services.rate(site=province.sites["jyt"], value="bad", voter="", new_browser=True,
                  address="10.0.0.2", resource_id=jyt_art.pk, reasons=["unclear"],
                  comment="教育厅页面看不懂")
    client.force_login(province.users["czt_editor"])
    html = client.get("/admin/feedback/ratings/").content.decode()
    assert "安徽省财政厅" in html and "好评率 75%" in html and "过时的收费标准" in html
    assert "教育厅页面看不懂" not in html and "<svg" in html
    html = client.get("/admin/feedback/ratings/", {"by": "column"}).content.decode()
    assert "办事服务" in html or "bsfw" in html or province.column("czt", "bsfw").title in html
    client.force_login(province.users["platform_operator"])
    html = client.get("/admin/feedback/ratings/", {"by": "organisation"}).content.decode()
    assert "安徽省教育厅" in html and "教育厅页面看不懂" in html and "好评率 60%" in html
    client.force_login(province.users["system_admin"])
    assert _refused(client.get("/admin/feedback/ratings/"))
    assert AuditEntry.objects.filter(action="feedback.ratings.view", outcome="denied").exists()


# --- error reports ------------------------------------------------------------------------------

def test_error_report_flow_with_deadlines_over_national_day(province, public):
    """Received the day before the 2026 National Day holiday (1–7 October): forwarding is due
    on 8 October, the answer on Saturday 10 October (a make-up working day)."""
    art = make_article(province)
    publish()
    site = province.sites["czt"]
    report = services.report_error(site=site, url=f"https://czt.ah.gov.cn/content/{art.pk}.html",
                                   type="typo", description="第二段“资金”写成了“资今”。",
                                   contact="reader@example.cn",
                                   received_at=_at(2026, 9, 30, 10, 0))
    assert report.page == f"content/{art.pk}.html" and report.resource_id == art.pk
    assert timezone.localtime(report.forward_due).date().isoformat() == "2026-10-08"
    assert timezone.localtime(report.answer_due).date().isoformat() == "2026-10-10"
    assert report.organisation_id == province.orgs["czt"].pk and report.status == "new"
    # the overdue check on 9 October: forwarding late, the answer not yet
    assert services.check_overdue(_at(2026, 10, 9, 9, 0)) == 1
    report.refresh_from_db()
    assert report.forward_overdue and not report.answer_overdue

    # the handler may not forward; another department's dispatcher may not see it
    with pytest.raises(Exception):
        services.forward(report, province.users["czt_handler"])
    assert AuditEntry.objects.filter(action="feedback.error.forward", outcome="denied").exists()
    services.forward(report, province.users["czt_dispatcher"], note="请核实")
    report.refresh_from_db()
    assert report.status == "forwarded" and report.forwarded_by == province.users["czt_dispatcher"]
    services.answer(report, province.users["czt_handler"], "fixed", "已更正错别字，感谢指正。")
    report.refresh_from_db()
    assert report.status == "answered" and report.answered_by == province.users["czt_handler"]
    assert AuditEntry.objects.filter(action="feedback.error.answer", outcome="success").exists()
    # the reporter sees the outcome on the query page, and gets an e-mail (outbox consumer)
    r = Client(HTTP_X_JIYUE_SITE=CZT).get(f"/_/feedback/error/q/{report.code}")
    html = r.content.decode()
    assert r.status_code == 200 and "已纠正" in html and "已更正错别字" in html
    assert "reader@example.cn" not in html
    from jiyue.core import outbox

    outbox.dispatch("feedback.mail")
    outbox.dispatch("feedback.mail")  # idempotent
    assert len(mail.outbox) == 1 and report.code in mail.outbox[0].body
    assert mail.outbox[0].to == ["reader@example.cn"]
    # not on another site
    assert Client(HTTP_X_JIYUE_SITE=JYT).get(f"/_/feedback/error/q/{report.code}").status_code == 404


def test_error_form_receipt_and_validation(province, public, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    art = make_article(province)
    publish()
    html = page(public, CZT, f"content/{art.pk}.html")
    link = re.search(r'href="(\.\./_/feedback/error\?url=[^"]+)"', html).group(1)
    browser = Client(enforce_csrf_checks=True, HTTP_X_JIYUE_SITE=CZT)
    r = browser.get("/_/feedback/error", {"url": f"content/{art.pk}.html"})
    form = r.content.decode()
    assert r.status_code == 200 and "错别字" in form and "无法访问" in form and link
    assert f"https://czt.ah.gov.cn/content/{art.pk}.html" in form
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    data = {"url": f"content/{art.pk}.html", "type": "link", "description": "附件链接打不开",
            "contact": "", "csrfmiddlewaretoken": csrf}
    assert browser.post("/_/feedback/error", {**data, "csrfmiddlewaretoken": ""}).status_code == 403
    # bad input: a clear message, nothing stored
    for bad, text in [({"type": "weird"}, "请选择错误类型"), ({"description": " "}, "请描述"),
                      ({"contact": "不是联系方式"}, "有效的电子邮箱"),
                      ({"url": "https://evil.example.com/x.html"}, "本站的网页地址"),
                      ({"screenshot": SimpleUploadedFile("x.exe", b"MZ\x90\x00", "image/png")},
                       "不支持的文件类型")]:
        r = browser.post("/_/feedback/error", {**data, **bad})
        assert r.status_code == 422 and text in r.content.decode(), bad
    assert not ErrorReport.objects.exists()
    png = _png()
    r = browser.post("/_/feedback/error", {**data, "screenshot": SimpleUploadedFile("s.png", png, "image/png")})
    assert r.status_code == 303
    report = ErrorReport.objects.get()
    assert r["Location"] == f"error/q/{report.code}?new=1" and report.screenshot
    receipt = browser.get(f"/_/feedback/error/q/{report.code}", {"new": "1"}).content.decode()
    assert report.code in receipt and "查询码" in receipt and "办理中" not in receipt.split("办理状态")[0]
    # the lookup form
    r = browser.get("/_/feedback/error/q", {"code": report.code.lower()})
    assert r.status_code == 303 and r["Location"] == f"q/{report.code}"
    assert browser.get("/_/feedback/error/q", {"code": "XXXX"}).status_code == 404


def test_error_api(client, province, public):
    art = make_article(province)
    publish()
    body = {"site": CZT, "url": f"content/{art.pk}.html", "type": "content",
            "description": "发布日期有误"}
    r = client.post("/api/v1/feedback/errors", json.dumps(body), content_type="application/json")
    assert r.status_code == 201
    code = r.json()["code"]
    got = client.get(f"/api/v1/feedback/errors/{code}").json()
    assert got["status"] == "new" and got["answer"] is None and got["organisation"] == "安徽省财政厅"
    r = client.post("/api/v1/feedback/errors", json.dumps({**body, "description": ""}),
                    content_type="application/json")
    assert r.status_code == 422 and "请描述" in r.json()["detail"] and "description" in r.json()["errors"]
    r = client.post("/api/v1/feedback/errors", json.dumps({**body, "type": "bug"}),
                    content_type="application/json")
    assert r.status_code == 422 and r["Content-Type"].startswith("application/problem+json")
    assert client.get("/api/v1/feedback/errors/NOPE").status_code == 404


def test_staff_list_scoping_actions_and_screenshot(client, province, public):
    site = province.sites["czt"]
    late = services.report_error(site=site, url="", type="access", description="首页打不开",
                                 received_at=timezone.now() - timezone.timedelta(days=20))
    fresh = services.report_error(site=site, url="", type="typo", description="错别字一处")
    other = services.report_error(site=province.sites["jyt"], url="", type="other",
                                  description="教育厅的留言")
    client.force_login(province.users["czt_dispatcher"])
    html = client.get("/admin/feedback/errors/").content.decode()
    assert late.code in html and fresh.code in html and other.code not in html
    overdue = client.get("/admin/feedback/errors/", {"show": "overdue"}).content.decode()
    assert late.code in overdue and fresh.code not in overdue and "已超期" in overdue
    assert client.get(f"/admin/feedback/errors/{other.pk}/").status_code == 404
    assert AuditEntry.objects.filter(action="feedback.error.view", outcome="denied").exists()
    r = client.post(f"/admin/feedback/errors/{fresh.pk}/", {"action": "forward",
                                                             "to_organisation": province.orgs["czt"].pk})
    assert r.status_code == 302
    fresh.refresh_from_db()
    assert fresh.status == "forwarded"
    # forwarding to an organisation outside the site's tree is refused
    r = client.post(f"/admin/feedback/errors/{late.pk}/", {"action": "forward",
                                                            "to_organisation": province.orgs["jyt"].pk})
    assert r.status_code == 422 and "不能转办" in r.content.decode()
    # the handler answers; an empty answer is refused
    client.force_login(province.users["czt_handler"])
    todo = client.get("/admin/feedback/errors/").content.decode()
    assert fresh.code in todo and late.code not in todo  # its queue: forwarded ones
    r = client.post(f"/admin/feedback/errors/{fresh.pk}/", {"action": "answer", "outcome": "fixed",
                                                             "answer": ""})
    assert r.status_code == 422 and "请填写答复内容" in r.content.decode()
    r = client.post(f"/admin/feedback/errors/{fresh.pk}/", {"action": "answer",
                                                             "outcome": "no_error",
                                                             "answer": "经核实，该处表述无误。"})
    assert r.status_code == 302
    assert ErrorReport.objects.get(pk=fresh.pk).outcome == "no_error"
    # the handler cannot answer a report nobody forwarded yet
    r = client.post(f"/admin/feedback/errors/{late.pk}/", {"action": "answer", "outcome": "fixed",
                                                            "answer": "已处理"})
    assert _refused(r)
    # the three administrators see none of it
    client.force_login(province.users["system_admin"])
    assert _refused(client.get("/admin/feedback/errors/"))


def test_screenshot_is_private_and_citizen_export(client, province, public):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from jiyue.accounts.models import User
    from jiyue.identity.services import export_user_data

    png = _png()
    citizen = User.objects.create_user(username="reader", password="Passw0rd!x", kind="citizen")
    report = services.report_error(site=province.sites["czt"], url="", type="typo",
                                   description="标题错字", citizen=citizen,
                                   screenshot=SimpleUploadedFile("shot.png", png, "image/png"))
    url = f"/admin/feedback/errors/{report.pk}/screenshot"
    client.force_login(province.users["jyt_dispatcher"])
    assert client.get(url).status_code == 404
    client.force_login(province.users["czt_handler"])
    r = client.get(url)
    assert r.status_code == 200 and b"".join(r.streaming_content) == png
    assert AuditEntry.objects.filter(action="feedback.error.screenshot").exists()
    exported = export_user_data(citizen)
    assert exported["error_reports"][0]["code"] == report.code


def test_demo_content_is_idempotent(province, public):
    from types import SimpleNamespace

    from jiyue.feedback import demo

    make_guide(province)
    loader = SimpleNamespace(key="ah", sites=province.sites, orgs=province.orgs)
    demo.load(loader)
    counts = (Rating.objects.count(), ErrorReport.objects.count())
    demo.load(loader)
    assert (Rating.objects.count(), ErrorReport.objects.count()) == counts
    assert counts[0] > 0 and counts[1] == 9
    assert ErrorReport.objects.filter(status="answered").count() == 3
    assert ErrorReport.objects.filter(forward_overdue=True).exists()
