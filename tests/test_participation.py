"""公众参与: 意见征集 (moderation, dates, summary), 问卷调查 (one response, results, charts, CSV),
在线访谈 (questions, answers, live page, transcript), staff scoping and the API."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from jiyue.audit.models import AuditEntry
from jiyue.participation import services
from jiyue.participation.models import (Comment, Consultation, Interview, InterviewQuestion,
                                        Survey, SurveyQuestion, SurveyResponse)

HOST = {"HTTP_HOST": "czt.ah.gov.cn"}
JYT = {"HTTP_HOST": "jyt.ah.gov.cn"}
ADMIN = "/admin/participation"


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()  # the public_form rate limit counts per address across tests


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _citizen(name="citizen1"):
    from jiyue.accounts.models import User

    return User.objects.create_user(username=name, password="Passw0rd!x", kind=User.KIND_CITIZEN,
                                    real_name="张三")


def _consultation(province, org="czt", state=Consultation.OPEN, days_open=10, **extra):
    now = timezone.now()
    return Consultation.objects.create(
        organisation=province.orgs[org], site=province.sites[org], state=state,
        title="关于《安徽省政府采购管理办法（征求意见稿）》公开征求意见",
        draft_text="第一条 为规范政府采购行为，制定本办法。\n第二条 本办法适用于全省。",
        opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=days_open), **extra)


def _survey(province, **extra):
    now = timezone.now()
    s = Survey.objects.create(organisation=province.orgs["czt"], site=province.sites["czt"],
                              state=Survey.OPEN, title="政府网站满意度调查",
                              opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=10),
                              results_public=True, **extra)
    q1 = SurveyQuestion.objects.create(survey=s, order=1, kind="single", text="您多久访问一次本网站？",
                                       options=["每天", "每周", "很少"])
    q2 = SurveyQuestion.objects.create(survey=s, order=2, kind="multiple", text="您常用哪些栏目？",
                                       options=["政策文件", "办事服务", "互动交流"])
    q3 = SurveyQuestion.objects.create(survey=s, order=3, kind="rating", text="总体满意度")
    q4 = SurveyQuestion.objects.create(survey=s, order=4, kind="text", text="其他建议", required=False)
    return s, (q1, q2, q3, q4)


def _interview(province, starts_in=timedelta(hours=1), length=timedelta(hours=2), **extra):
    now = timezone.now()
    return Interview.objects.create(
        organisation=province.orgs["czt"], site=province.sites["czt"], state=Interview.PUBLISHED,
        title="解读2026年省级预算", guests=[{"name": "李明", "title": "省财政厅副厅长"}],
        starts_at=now + starts_in, ends_at=now + starts_in + length, **extra)


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (60, 40), (30, 90, 160)).save(buf, "PNG")
    return buf.getvalue()


def refused(r) -> bool:
    """Wagtail turns PermissionDenied in the admin into a redirect to the dashboard."""
    return r.status_code == 403 or (r.status_code == 302 and r["Location"] == "/admin/")


def _actions(prefix):
    return list(AuditEntry.objects.filter(action__startswith=prefix).values_list("action", "outcome"))


# --- 意见征集 -------------------------------------------------------------------------------

def test_consultation_from_draft_to_moderated_comment(client, province):
    handler, dispatcher = province.users["czt_handler"], province.users["czt_dispatcher"]
    client.force_login(handler)
    now = timezone.localtime()
    r = client.post(f"{ADMIN}/consultations/new/", {
        "organisation": province.orgs["czt"].pk, "title": "关于《财政票据管理办法（征求意见稿）》征求意见",
        "intro": "欢迎社会各界提出意见。", "draft_text": "第一条 为加强财政票据管理……",
        "opens_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(days=15)).strftime("%Y-%m-%dT%H:%M")})
    assert r.status_code == 302, r.content.decode()[:2000]
    c = Consultation.objects.get()
    assert c.state == Consultation.DRAFT and c.site == province.sites["czt"]
    # a draft is not public; the handler may not publish it (refusal audited)
    assert client.get(f"/_/participation/consultations/{c.pk}", **HOST).status_code == 404
    assert refused(client.post(f"{ADMIN}/consultations/{c.pk}/", {"action": "publish"}))
    assert ("participation.consultation.publish", "denied") in _actions("participation.consultation")
    client.force_login(dispatcher)
    client.post(f"{ADMIN}/consultations/{c.pk}/", {"action": "publish"})
    c.refresh_from_db()
    assert c.state == Consultation.OPEN

    client.logout()
    page = client.get("/_/participation", **HOST)
    assert page.status_code == 200 and "财政票据管理办法" in page.content.decode()
    url = f"/_/participation/consultations/{c.pk}"
    r = client.post(url, {"name": "王五", "phone": "13905510001",
                          "content": "建议明确电子票据<script>alert(1)</script>的法律效力。"}, **HOST)
    assert r.status_code == 303
    body = client.get(r["Location"] if r["Location"].startswith("/") else url + "?sent=1", **HOST).content.decode()
    assert "审核通过后公开" in body and "电子票据" not in body  # not public before approval
    comment = Comment.objects.get()
    assert comment.status == "pending" and comment.phone == "13905510001"
    with connection.cursor() as cur:  # personal data encrypted at rest
        cur.execute("SELECT phone, name FROM participation_comment")
        raw = cur.fetchone()
    assert "13905510001" not in raw[0] and "王五" not in raw[1]

    client.force_login(dispatcher)
    client.post(f"{ADMIN}/consultations/{c.pk}/", {"action": "approve", "comment": comment.pk})
    client.logout()
    body = client.get(url, **HOST).content.decode()
    assert "电子票据&lt;script&gt;" in body and "<script>alert(1)" not in body
    assert "王五" not in body and "13905510001" not in body
    assert ("participation.comment.approve", "success") in _actions("participation.comment")


def test_comment_bad_input_stores_nothing(client, province):
    c = _consultation(province)
    url = f"/_/participation/consultations/{c.pk}"
    for data, message in [({"phone": "13905510001", "content": "意见内容足够长了"}, "请填写姓名"),
                          ({"name": "王五", "phone": "abc", "content": "意见内容足够长了"}, "联系电话格式不正确"),
                          ({"name": "王五", "phone": "13905510001", "content": "短"}, "至少 5 个字"),
                          ({"name": "王五", "phone": "13905510001", "content": "长" * 2001}, "不能超过"),
                          ({"name": "王五\x00", "phone": "13905510001", "content": "\x00"}, "至少 5 个字")]:
        r = client.post(url, data, **HOST)
        assert r.status_code == 400 and message in r.content.decode(), message
    assert not Comment.objects.exists()
    # login-only consultations: a link to log in, a POST refused; a citizen may comment
    c.require_login = True
    c.save()
    body = client.get(url, **HOST).content.decode()
    assert "登录后发表意见" in body and 'name="content"' not in body
    assert client.post(url, {"name": "王五", "phone": "13905510001", "content": "意见内容足够长了"},
                       **HOST).status_code == 403
    client.force_login(_citizen())
    assert client.post(url, {"content": "意见内容足够长了"}, **HOST).status_code == 303
    assert Comment.objects.get().citizen.username == "citizen1"


def test_no_comment_after_close_and_closing_is_automatic(client, province):
    c = _consultation(province)
    Consultation.objects.filter(pk=c.pk).update(closes_at=timezone.now() - timedelta(minutes=1))
    url = f"/_/participation/consultations/{c.pk}"
    body = client.get(url, **HOST).content.decode()  # closed on read
    assert "意见征集已经结束" in body and 'name="content"' not in body
    c.refresh_from_db()
    assert c.state == Consultation.CLOSED and c.closed_at
    r = client.post(url, {"name": "王五", "phone": "13905510001", "content": "迟到的意见内容"}, **HOST)
    assert r.status_code == 409 and "已经结束" in r.content.decode()
    assert not Comment.objects.exists()
    # the periodic job closes the others without anyone reading them
    other = _consultation(province)
    Consultation.objects.filter(pk=other.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    from jiyue.participation.tasks import close_due

    close_due.call()
    other.refresh_from_db()
    assert other.state == Consultation.CLOSED
    # not yet open: refused too
    future = _consultation(province)
    Consultation.objects.filter(pk=future.pk).update(opens_at=timezone.now() + timedelta(days=1))
    r = client.post(f"/_/participation/consultations/{future.pk}",
                    {"name": "王五", "phone": "13905510001", "content": "提前提交的意见"}, **HOST)
    assert r.status_code == 409 and "尚未开始" in r.content.decode()


def test_summary_with_adoption_reasons_and_totals(client, province):
    c = _consultation(province)
    a = services.submit_comment(c, name="甲", phone="13900000001", content="建议增加电子票据条款。")
    b = services.submit_comment(c, name="乙", phone="13900000002", content="建议取消纸质票据。")
    spam = services.submit_comment(c, name="丙", phone="13900000003", content="无关的广告内容……")
    dispatcher, handler = province.users["czt_dispatcher"], province.users["czt_handler"]
    services.moderate(dispatcher, a, True)
    services.moderate(dispatcher, b, True)
    services.moderate(dispatcher, spam, False)
    services.close(dispatcher, c)
    c.refresh_from_db()
    with pytest.raises(services.ParticipationError, match="采纳情况"):
        services.publish_summary(dispatcher, c, "总体情况")
    client.force_login(handler)
    admin = f"{ADMIN}/consultations/{c.pk}/"
    client.post(admin, {"action": "adopt", "comment": a.pk, "adoption": "adopted", "reason": ""})
    r = client.post(admin, {"action": "adopt", "comment": b.pk, "adoption": "not_adopted", "reason": ""},
                    follow=True)
    assert "须说明理由" in r.content.decode()
    client.post(admin, {"action": "adopt", "comment": b.pk, "adoption": "not_adopted",
                        "reason": "纸质票据仍有保留必要。"})
    # a handler cannot publish the summary
    assert refused(client.post(admin, {"action": "summarise", "summary": "共收到意见3条。"}))
    client.force_login(dispatcher)
    assert "结果公布期限" in client.get(admin).content.decode()
    client.post(admin, {"action": "summarise", "summary": "共收到意见3条，采纳1条。"})
    c.refresh_from_db()
    assert c.state == Consultation.SUMMARISED
    client.logout()
    body = client.get(f"/_/participation/consultations/{c.pk}", **HOST).content.decode()
    assert "意见采纳情况" in body and "共收到意见3条，采纳1条。" in body
    assert "收到意见 3 条" in body and "采纳 1 条" in body and "未采纳 1 条" in body
    assert "纸质票据仍有保留必要。" in body and "无关的广告内容" not in body
    assert ("participation.consultation.summarise", "success") in _actions("participation.consultation")


# --- 问卷调查 --------------------------------------------------------------------------------

def test_survey_built_in_admin_answered_once_per_browser_with_results(client, province):
    handler, dispatcher = province.users["czt_handler"], province.users["czt_dispatcher"]
    client.force_login(handler)
    now = timezone.localtime()
    r = client.post(f"{ADMIN}/surveys/new/", {
        "organisation": province.orgs["czt"].pk, "title": "预算公开满意度调查",
        "opens_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"), "results_public": "on"})
    s = Survey.objects.get()
    admin = f"{ADMIN}/surveys/{s.pk}/"
    assert r.status_code == 302 and r["Location"] == admin
    bad = client.post(admin, {"action": "add_question", "kind": "single", "text": "只有一个选项",
                              "option_lines": "是"})
    assert "2 至 20 个选项" in bad.content.decode()
    client.post(admin, {"action": "add_question", "kind": "single", "text": "预算信息好找吗？",
                        "option_lines": "好找\n一般\n不好找", "required": "on"})
    client.post(admin, {"action": "add_question", "kind": "rating", "text": "请为预算公开打分",
                        "required": "on"})
    q1, q2 = s.questions.all()
    client.force_login(dispatcher)
    client.post(admin, {"action": "publish"})
    s.refresh_from_db()
    assert s.state == Survey.OPEN

    client.logout()
    url = f"/_/participation/surveys/{s.pk}"
    form = client.get(url, **HOST)
    assert form.status_code == 200 and "预算信息好找吗？" in form.content.decode()
    assert client.post(url, {f"q{q1.pk}": "0", f"q{q2.pk}": "5"}, **HOST).status_code == 303
    again = client.post(url, {f"q{q1.pk}": "2", f"q{q2.pk}": "1"}, **HOST)
    assert again.status_code == 409 and "每人限答一次" in again.content.decode()
    assert "您已经参与过" in client.get(url, **HOST).content.decode()
    other = client_class_new()
    other.get(url, **HOST)  # a second browser gets its own cookie
    assert other.post(url, {f"q{q1.pk}": "0", f"q{q2.pk}": "3"}, **HOST).status_code == 303
    assert SurveyResponse.objects.count() == 2

    results = client.get(f"{url}/results", **HOST).content.decode()
    assert "共收到答卷 2 份" in results and "<svg" in results and "平均 4.0 分" in results
    assert "好找" in results and "100%" in results  # both chose 好找
    client.force_login(dispatcher)
    admin_page = client.get(admin).content.decode()
    assert "<svg" in admin_page and "共 2 份" in admin_page
    csv_body = client.get(f"{admin}export/").content.decode("utf-8-sig")
    assert "预算信息好找吗？" in csv_body.splitlines()[0] and csv_body.count("好找") == 3
    assert ("participation.survey.export", "success") in _actions("participation.survey")


def client_class_new():
    from django.test import Client

    return Client()


def test_survey_bad_answers_and_one_response_per_citizen(client, province):
    s, (q1, q2, q3, q4) = _survey(province, require_login=True)
    url = f"/_/participation/surveys/{s.pk}"
    assert "登录后填写" in client.get(url, **HOST).content.decode()
    assert client.post(url, {f"q{q1.pk}": "0", f"q{q2.pk}": "1", f"q{q3.pk}": "4"},
                       **HOST).status_code == 403
    citizen = _citizen()
    client.force_login(citizen)
    for data, message in [({f"q{q1.pk}": "7", f"q{q2.pk}": "1", f"q{q3.pk}": "4"}, "请从给出的选项中选择"),
                          ({f"q{q1.pk}": "0", f"q{q2.pk}": "1", f"q{q3.pk}": "9"}, "1 至 5 分"),
                          ({f"q{q1.pk}": "0", f"q{q3.pk}": "4"}, "请回答：您常用哪些栏目？"),
                          ({f"q{q1.pk}": "<b>", f"q{q2.pk}": "1", f"q{q3.pk}": "4"}, "请从给出的选项中选择")]:
        r = client.post(url, data, **HOST)
        assert r.status_code == 400 and message in r.content.decode(), message
    assert not SurveyResponse.objects.exists()
    r = client.post(url, {f"q{q1.pk}": "1", f"q{q2.pk}": ["0", "2"], f"q{q3.pk}": "5",
                          f"q{q4.pk}": "多公开一些项目支出。"}, **HOST)
    assert r.status_code == 303
    # a new browser session of the same citizen is still one citizen
    client.cookies.clear()
    client.force_login(citizen)
    assert client.post(url, {f"q{q1.pk}": "1", f"q{q2.pk}": "0", f"q{q3.pk}": "3"},
                       **HOST).status_code == 409
    data = services.results(s)
    multi = data["questions"][1]
    assert data["total"] == 1 and [b.count for b in multi["bars"]] == [1, 0, 1]
    assert services.export_for(citizen)["survey_responses"][0]["survey"] == "政府网站满意度调查"
    # results not public: 404
    s.results_public = False
    s.save()
    assert client.get(f"{url}/results", **HOST).status_code == 404


# --- 在线访谈 --------------------------------------------------------------------------------

def test_interview_questions_answers_live_page_and_transcript(client, province, media):
    i = _interview(province)
    url = f"/_/participation/interviews/{i.pk}"
    assert client.post(url, {"nickname": "合肥网友", "content": "今年民生支出增加多少？"},
                       **HOST).status_code == 303
    assert client.post(url, {"content": "短"}, **HOST).status_code == 400
    q = InterviewQuestion.objects.get()
    assert not q.live and q.status == "pending"
    assert "民生支出" not in client.get(url, **HOST).content.decode()  # not moderated yet
    dispatcher, handler = province.users["czt_dispatcher"], province.users["czt_handler"]
    client.force_login(handler)
    admin = f"{ADMIN}/interviews/{i.pk}/"
    assert refused(client.post(admin, {"action": "approve", "question": q.pk}))
    client.force_login(dispatcher)
    client.post(admin, {"action": "approve", "question": q.pk})
    # the interview starts: the page refreshes itself, live questions are marked as such
    Interview.objects.filter(pk=i.pk).update(starts_at=timezone.now() - timedelta(minutes=5))
    client.logout()
    live = client.get(url, **HOST).content.decode()
    assert 'http-equiv="refresh"' in live and "民生支出" in live and "正在直播" in live
    client.post(url, {"content": "教育投入有哪些新变化？"}, **HOST)
    assert InterviewQuestion.objects.filter(live=True).count() == 1
    client.force_login(handler)
    client.post(admin, {"action": "answer", "question": q.pk, "guest": "李明",
                        "answer": "民生支出增长8%。"})
    poll = client.get(f"{url}/live.json", **HOST).json()
    assert poll["phase"] == "live" and poll["questions"][0]["answer"] == "民生支出增长8%。"
    assert len(poll["questions"]) == 1  # the unmoderated live question is not in it
    # after the end: transcript with an image, published by the dispatcher
    Interview.objects.filter(pk=i.pk).update(ends_at=timezone.now() - timedelta(minutes=1))
    client.post(admin, {"action": "transcript", "transcript": "主持人：欢迎收看。\n李明：谢谢大家。"})
    r = client.post(admin, {"action": "add_image", "caption": "访谈现场",
                            "file": SimpleUploadedFile("a.png", b"<html>not an image</html>")}, follow=True)
    assert i.images.count() == 0
    client.post(admin, {"action": "add_image", "caption": "访谈现场",
                        "file": SimpleUploadedFile("scene.png", _png(), content_type="image/png")})
    assert i.images.count() == 1
    assert refused(client.post(admin, {"action": "publish_transcript"}))
    client.force_login(dispatcher)
    client.post(admin, {"action": "publish_transcript"})
    client.logout()
    page = client.get(url, **HOST).content.decode()
    assert "李明：谢谢大家。" in page and 'alt="访谈现场"' in page and "http-equiv" not in page
    assert 'name="content"' not in page  # no questions after the end
    img = client.get(f"/_/participation/files/image/{i.images.get().pk}", **HOST)
    assert img.status_code == 200 and img["Content-Type"] == "image/png"
    assert client.post(url, {"content": "结束后的提问内容"}, **HOST).status_code == 409


# --- staff scoping ---------------------------------------------------------------------------

def test_staff_see_only_their_organisation(client, province):
    c = _consultation(province)
    jc = _consultation(province, org="jyt")
    jc.title = "教育厅的征集"
    jc.save()
    client.force_login(province.users["jyt_dispatcher"])
    listing = client.get(f"{ADMIN}/consultations/").content.decode()
    assert "教育厅的征集" in listing and "政府采购管理办法" not in listing
    assert client.get(f"{ADMIN}/consultations/{c.pk}/").status_code == 404
    assert client.post(f"{ADMIN}/consultations/{c.pk}/", {"action": "close"}).status_code == 404
    # cannot create an item for another organisation
    now = timezone.localtime()
    r = client.post(f"{ADMIN}/surveys/new/", {
        "organisation": province.orgs["czt"].pk, "title": "越权问卷",
        "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")})
    assert r.status_code == 200 and not Survey.objects.exists()
    for name in ("system_admin", "security_admin", "audit_admin", "czt_editor"):
        client.force_login(province.users[name])
        assert refused(client.get(f"{ADMIN}/consultations/")), name
        assert refused(client.get(f"{ADMIN}/surveys/new/")), name
    assert ("participation.consultation.view", "denied") in _actions("participation.consultation")
    client.force_login(province.users["platform_operator"])
    listing = client.get(f"{ADMIN}/consultations/").content.decode()
    assert "教育厅的征集" in listing and "政府采购管理办法" in listing
    # public pages: each site shows its own
    assert client.get(f"/_/participation/consultations/{jc.pk}", **HOST).status_code == 404
    assert client.get(f"/_/participation/consultations/{jc.pk}", **JYT).status_code == 200


# --- API --------------------------------------------------------------------------------------

def _post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_api_consultations_surveys_interviews(client, province):
    c = _consultation(province)
    _consultation(province, state=Consultation.DRAFT)
    base = "/api/v1/participation"
    listing = client.get(f"{base}/consultations", {"site": "3400000002"}).json()
    assert listing["count"] == 1 and listing["results"][0]["accepting"] is True
    assert client.get(f"{base}/consultations", {"site": "9999999999"}).status_code == 404
    r = _post(client, f"{base}/consultations/{c.pk}/comments",
              {"content": "建议细化采购程序。", "name": "王五", "phone": "13905510001"})
    assert r.status_code == 201 and r.json()["status"] == "pending"
    r = _post(client, f"{base}/consultations/{c.pk}/comments", {"content": "建议细化采购程序。"})
    assert r.status_code == 422 and r["Content-Type"].startswith("application/problem+json")
    assert "姓名" in r.json()["detail"]
    assert _post(client, f"{base}/consultations/{c.pk}/comments",
                 {"content": "x" * 3000, "name": "王五", "phone": "13905510001"}).status_code == 422
    assert _post(client, f"{base}/consultations/{c.pk}/comments", {"name": 5}).status_code == 422
    detail = client.get(f"{base}/consultations/{c.pk}").json()
    assert detail["comments"] == [] and "王五" not in json.dumps(detail, ensure_ascii=False)
    services.moderate(province.users["czt_dispatcher"], Comment.objects.get(), True)
    assert client.get(f"{base}/consultations/{c.pk}").json()["comments"][0]["content"] == "建议细化采购程序。"
    Consultation.objects.filter(pk=c.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    r = _post(client, f"{base}/consultations/{c.pk}/comments",
              {"content": "截止后的意见内容", "name": "王五", "phone": "13905510001"})
    assert r.status_code == 409 and "已经结束" in r.json()["detail"]
    assert client.get(f"{base}/consultations/999999").status_code == 404

    s, (q1, q2, q3, q4) = _survey(province)
    got = client.get(f"{base}/surveys/{s.pk}").json()
    assert [q["kind"] for q in got["questions"]] == ["single", "multiple", "rating", "text"]
    answers = {str(q1.pk): 1, str(q2.pk): [0, 1], str(q3.pk): 4, str(q4.pk): "很好"}
    token = "a" * 32
    r = _post(client, f"{base}/surveys/{s.pk}/responses", {"answers": answers, "client_token": token})
    assert r.status_code == 201
    r = _post(client, f"{base}/surveys/{s.pk}/responses", {"answers": answers, "client_token": token})
    assert r.status_code == 409
    assert _post(client, f"{base}/surveys/{s.pk}/responses", {"answers": answers}).status_code == 422
    bad = dict(answers, **{str(q1.pk): 9})
    r = _post(client, f"{base}/surveys/{s.pk}/responses", {"answers": bad, "client_token": "b" * 32})
    assert r.status_code == 422 and "选项" in r.json()["detail"]
    assert SurveyResponse.objects.count() == 1

    i = _interview(province)
    assert client.get(f"{base}/interviews").json()["results"][0]["guests"][0]["name"] == "李明"
    r = _post(client, f"{base}/interviews/{i.pk}/questions", {"content": "今年民生支出增加多少？"})
    assert r.status_code == 201 and InterviewQuestion.objects.get().status == "pending"
    assert _post(client, f"{base}/interviews/{i.pk}/questions", {"content": ""}).status_code == 422
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for p in ("/api/v1/participation/consultations", "/api/v1/participation/surveys/{survey_id}/responses",
              "/api/v1/participation/interviews/{interview_id}/questions"):
        assert p in paths


def test_public_forms_are_rate_limited(client, province, settings):
    settings.JIYUE_RATE_LIMITS = "public_form=2/m"
    i = _interview(province)
    url = f"/_/participation/interviews/{i.pk}"
    codes = [client.post(url, {"content": f"第{n}个问题的内容"}, **HOST).status_code for n in range(3)]
    assert codes == [303, 303, 429]
    assert InterviewQuestion.objects.count() == 2


def test_demo_content_is_idempotent_and_shows(client, province):
    from types import SimpleNamespace

    from jiyue.participation import demo

    loader = SimpleNamespace(sites=province.sites, orgs=province.orgs, key="ah")
    demo.load(loader)
    demo.load(loader)
    assert Consultation.objects.count() == 2 and Survey.objects.count() == 1
    assert Interview.objects.count() == 1 and SurveyResponse.objects.count() == 5
    index = client.get("/_/participation", **HOST).content.decode()
    assert "财政票据管理办法" in index and "在线访谈：解读2026年省级预算" in index
    closed = Consultation.objects.get(state=Consultation.SUMMARISED)
    body = client.get(f"/_/participation/consultations/{closed.pk}", **HOST).content.decode()
    assert "部分采纳" in body and "暂不全面取消" in body
    s = Survey.objects.get()
    assert "共收到答卷 5 份" in client.get(f"/_/participation/surveys/{s.pk}/results", **HOST).content.decode()
    i = Interview.objects.get()
    assert "本期访谈到此结束" in client.get(f"/_/participation/interviews/{i.pk}", **HOST).content.decode()


def test_every_admin_screen_renders_for_the_dispatcher(client, province):
    c = _consultation(province)
    services.submit_comment(c, name="甲", phone="13900000001", content="一条待审核的意见。")
    s, _questions = _survey(province)
    i = _interview(province)
    client.force_login(province.users["czt_dispatcher"])
    for kind, obj in (("consultations", c), ("surveys", s), ("interviews", i)):
        for url in (f"{ADMIN}/{kind}/", f"{ADMIN}/{kind}/new/", f"{ADMIN}/{kind}/{obj.pk}/",
                    f"{ADMIN}/{kind}/{obj.pk}/edit/"):
            r = client.get(url)
            assert r.status_code == 200, url
    assert "待审核意见 1 条" in client.get(f"{ADMIN}/consultations/").content.decode()
    assert "李明｜省财政厅副厅长" in client.get(f"{ADMIN}/interviews/{i.pk}/edit/").content.decode()
