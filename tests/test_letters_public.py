"""Letters, the citizen's side (issue 6): writing to a mailbox on a site's dynamic pages, the
receipt, the query page (masked), rating, and publication as a library resource with personal
data masked."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from jiyue.core.models import Event
from jiyue.letters import forms, publishing, services
from jiyue.letters.models import Letter, LetterAttachment, LetterRecord, Mailbox, Status

CZT = {"HTTP_HOST": "czt.ah.gov.cn"}
PORTAL = {"HTTP_HOST": "www.ah.gov.cn"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def boxes(province):
    leader = Mailbox.objects.create(organisation=province.orgs["portal"], site=province.sites["portal"],
                                    kind=Mailbox.LEADER, name="省长信箱", leader_name="王省长",
                                    allow_anonymous=False)
    dept = Mailbox.objects.create(organisation=province.orgs["czt"], site=province.sites["czt"],
                                  kind=Mailbox.DEPARTMENT, name="财政厅信箱", allow_anonymous=True)
    return {"leader": leader, "dept": dept}


def citizen(real_name="张三", mobile="13900139000"):
    from jiyue.identity.services import create_citizen

    user = create_citizen(email="zhang.san@example.cn", mobile="", password="Zs@2026-long-pass")
    user.real_name, user.mobile = real_name, mobile
    user.save()
    return user


def letter_form(box, **extra):
    data = {"mailbox": str(box.pk), "type": "consult", "title": "关于惠民补贴发放时间的咨询",
            "content": "请问2026年度惠民补贴什么时候发放？<script>alert(1)</script>",
            "name": "张三", "phone": "13800138000", "email": "zs@example.cn",
            "address": "合肥市幸福路128号", "anonymous": "on", "consent_publish": "on"}
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def test_a_citizen_writes_anonymously_and_gets_a_receipt(province, boxes, client):
    page = client.get(f"/_/letters/new?mailbox={boxes['dept'].pk}&content=公积金怎么提取&from=qa", **CZT)
    html = page.content.decode()
    assert page.status_code == 200 and "财政厅信箱" in html
    for name in ("mailbox", "type", "title", "content", "name", "phone", "email", "address",
                 "anonymous", "consent_publish", "attachments"):
        assert f'name="{name}"' in html
    assert "公积金怎么提取</textarea>" in html and '<option value="consult"' in html and "咨询" in html
    assert ">提交</button>" in html and "<script" not in html.split("<main")[1].split("</main>")[0]
    before = Event.objects.filter(topic="letter.submitted").count()
    r = client.post("/_/letters/new", {**letter_form(boxes["dept"]), "from": "qa",
                                       "attachments": [SimpleUploadedFile("证明.pdf", PDF)]}, **CZT)
    assert r.status_code == 303 and r["Location"] == "receipt"
    letter = Letter.objects.get()
    assert letter.anonymous and letter.citizen is None and letter.site == province.sites["czt"]
    assert letter.content.endswith("<script>alert(1)</script>")  # stored as typed
    assert letter.data == {"from": "qa"} and letter.consent_publish
    att = LetterAttachment.objects.get()
    assert att.name == "证明.pdf" and att.size == len(PDF) and len(att.sm3) == 64
    assert Event.objects.filter(topic="letter.submitted").count() == before + 1
    receipt = client.get("/_/letters/receipt", **CZT).content.decode()
    code = re.search(r'id="query-code">([A-Z0-9]+)<', receipt).group(1)
    assert code == letter.query_code and letter.serial in receipt
    assert letter.due_at.astimezone().date().isoformat() in receipt and "答复期限" in receipt
    progress = client.get(f"/_/letters/q/{code}", **CZT).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in progress and "<script>alert(1)" not in progress


def test_every_error_is_shown_per_field_and_nothing_is_stored(province, boxes, client):
    r = client.post("/_/letters/new", letter_form(boxes["dept"], type="lawsuit", title="", content="短",
                                                  phone="abc", email="not-an-email",
                                                  address="址" * 201), **CZT)
    html = r.content.decode()
    assert r.status_code == 200
    for message in ("请选择来信类型", "请填写标题。", "请填写来信内容（至少5个字）。",
                    "联系电话格式不正确。", "电子邮箱格式不正确。", "联系地址不能超过200个字。"):
        assert message in html
    assert html.count('aria-invalid="true"') == 6
    assert 'value="abc"' in html  # what was typed is kept
    r = client.post("/_/letters/new", letter_form(boxes["dept"], mailbox="99999"), **CZT)
    assert "请选择要写信的信箱。" in r.content.decode()
    # a mailbox of another site is not this site's
    r = client.post("/_/letters/new", letter_form(boxes["leader"]), **CZT)
    assert "请选择要写信的信箱。" in r.content.decode()
    assert not Letter.objects.exists() and not Event.objects.filter(topic="letter.submitted").exists()


def test_anonymous_only_where_the_mailbox_allows_it(province, boxes, client):
    page = client.get(f"/_/letters/new?mailbox={boxes['leader'].pk}", **PORTAL).content.decode()
    assert "该信箱不接受匿名来信" in page
    assert "account/login?next=" in page and 'name="title"' not in page  # a link to log in, no form
    r = client.post("/_/letters/new", letter_form(boxes["leader"]), **PORTAL)
    assert "该信箱不接受匿名来信，请登录后写信。" in r.content.decode()
    r = client.post("/_/letters/new", letter_form(boxes["dept"], anonymous=None), **CZT)
    assert "请先登录再写信。" in r.content.decode()
    assert not Letter.objects.exists()
    # a logged-in citizen writes under their name, the form pre-filled
    user = citizen()
    client.force_login(user)
    page = client.get(f"/_/letters/new?mailbox={boxes['leader'].pk}", **PORTAL).content.decode()
    assert 'value="张三"' in page and 'value="13900139000"' in page and 'name="anonymous"' not in page
    r = client.post("/_/letters/new", letter_form(boxes["leader"], anonymous=None, name="张三",
                                                  phone="13900139000"), **PORTAL)
    assert r.status_code == 303
    letter = Letter.objects.get()
    assert letter.citizen == user and not letter.anonymous and letter.mailbox == boxes["leader"]
    from jiyue.identity.services import export_user_data

    assert export_user_data(user)["letters"][0]["query_code"] == letter.query_code


def test_attachments_too_large_or_of_the_wrong_type_are_refused(province, boxes, client, monkeypatch):
    monkeypatch.setattr(forms, "MAX_ATTACHMENT_BYTES", 1024)
    cases = [
        (SimpleUploadedFile("大文件.pdf", PDF + b"0" * 2000), "文件过大"),
        (SimpleUploadedFile("程序.exe", b"MZ\x90\x00"), "不支持的文件类型“.exe”"),
        (SimpleUploadedFile("网页.pdf", b"<html><script>alert(1)</script></html>"), "与扩展名“.pdf”不符"),
    ]
    for upload, message in cases:
        r = client.post("/_/letters/new", {**letter_form(boxes["dept"]), "attachments": [upload]}, **CZT)
        html = r.content.decode()
        assert r.status_code == 200 and message in html and "附件“" in html
    six = [SimpleUploadedFile(f"{i}.pdf", PDF) for i in range(6)]
    r = client.post("/_/letters/new", {**letter_form(boxes["dept"]), "attachments": six}, **CZT)
    assert "附件最多5个。" in r.content.decode()
    assert not Letter.objects.exists() and not LetterAttachment.objects.exists()


def test_floods_from_one_address_are_refused_with_a_message(province, boxes, client, settings):
    settings.JIYUE_RATE_LIMITS = "public_form=2/m"
    for _i in range(2):
        assert client.post("/_/letters/new", letter_form(boxes["dept"]), **CZT).status_code == 303
    r = client.post("/_/letters/new", letter_form(boxes["dept"]), **CZT)
    assert r.status_code == 429 and "您提交得过于频繁" in r.content.decode() and r["Retry-After"]
    assert Letter.objects.count() == 2
    settings.JIYUE_RATE_LIMIT_EXEMPT = ["127.0.0.1"]  # a trusted client is let through
    assert client.post("/_/letters/new", letter_form(boxes["dept"]), **CZT).status_code == 303


def _replied(province, mailbox, **kw):
    args = dict(mailbox=mailbox, site=mailbox.site, type="consult", title="张三关于惠民补贴的咨询",
                content="我是张三，电话13800138000，邮箱zhangsan@163.com，家住幸福路128号3栋501室，"
                        "身份证340104199001011234，请问补贴什么时候发放？",
                anonymous=True, name="张三", phone="13800138000", email="zhangsan@163.com",
                address="合肥市幸福路128号", consent_publish=True)
    args.update(kw)
    letter = services.submit(**args)
    key = mailbox.organisation.key
    d, h = province.users[f"{key}_dispatcher"], province.users[f"{key}_handler"]
    services.act(letter, "accept", d)
    services.act(letter, "assign", d, note="内部意见：请尽快办理")
    services.act(letter, "draft", h, reply="张三您好：补贴将于每季度末发放，咨询电话0551-62998000。")
    return services.act(letter, "approve", d)


def test_the_query_page_shows_progress_without_personal_data(province, boxes, client):
    letter = services.submit(mailbox=boxes["dept"], site=boxes["dept"].site, type="consult",
                             title="关于补贴的咨询", content="请问补贴什么时候发放？", anonymous=True,
                             name="张三", phone="13800138000", email="zs@example.cn",
                             address="合肥市幸福路128号")
    r = client.get(f"/_/letters/q/{letter.query_code}", **CZT)
    html = r.content.decode()
    assert r.status_code == 200 and "待受理" in html and "张*" in html
    for secret in ("13800138000", "zs@example.cn", "幸福路128号", "张三"):
        assert secret not in html
    assert "提交评价" not in html
    # the query form goes there too, whatever the case of the code
    r = client.get("/_/letters/query", {"code": letter.query_code.lower()}, **CZT)
    assert r.status_code == 303 and r["Location"] == f"q/{letter.query_code}"
    r = client.get("/_/letters/query", {"code": "AAAABBBBCCCC"}, **CZT)
    assert "查询码不正确" in r.content.decode()
    assert client.get("/_/letters/q/AAAABBBBCCCC", **CZT).status_code == 404
    d, h = province.users["czt_dispatcher"], province.users["czt_handler"]
    services.act(letter, "accept", d)
    services.act(letter, "assign", d, note="内部意见：请尽快办理")
    services.act(letter, "draft", h, reply="补贴于每季度末发放。")
    html = client.get(f"/_/letters/q/{letter.query_code}", **CZT).content.decode()
    assert "办理中" in html and "补贴于每季度末发放" not in html  # not released yet
    assert "内部意见" not in html and "czt_dispatcher" not in html and "czt_handler" not in html
    services.act(letter, "approve", d)
    html = client.get(f"/_/letters/q/{letter.query_code}", **CZT).content.decode()
    assert "已答复" in html and "补贴于每季度末发放。" in html
    assert "回复单位：安徽省财政厅" in html and "回复时间：" in html and "受理 · 安徽省财政厅" in html
    assert "提交评价" in html and "基本满意" in html


def test_a_dissatisfied_rating_reopens_the_letter(province, boxes, client):
    letter = _replied(province, boxes["dept"])
    url = f"/_/letters/q/{letter.query_code}"
    r = client.post(url, {"rating": "great"}, **CZT)
    assert "请选择评价：满意、基本满意或不满意。" in r.content.decode()
    r = client.post(url, {"rating": "dissatisfied", "comment": "没有说明具体日期"}, **CZT)
    assert r.status_code == 303 and r["Location"] == f"{letter.query_code}?rated=1"
    letter.refresh_from_db()
    assert letter.status == Status.HANDLING and letter.reopened_count == 1
    assert letter.rating == "dissatisfied" and letter.rating_comment == "没有说明具体日期"
    html = client.get(url + "?rated=1", **CZT).content.decode()
    assert "感谢您的评价" in html and "您的评价：不满意" in html and "重新办理" in html
    assert "提交评价" not in html
    r = client.post(url, {"rating": "satisfied"}, **CZT)  # not replied again yet
    assert "该信件当前不能评价。" in r.content.decode()


def test_mask_hides_personal_data():
    text = ("我叫张三，身份证340104199001011234，手机13800138000，座机0551-62998000，"
            "邮箱zhangsan@163.com，住幸福路128号3栋501室，依据皖财〔2026〕12号文件。")
    masked = publishing.mask(text, names=["张三"])
    assert masked == ("我叫张*，身份证3****************4，手机138****8000，座机0551-********，"
                      "邮箱z***@163.com，住幸福路**号**栋**室，依据皖财〔2026〕12号文件。")
    assert publishing.mask_name("欧阳娜娜") == "欧***" and publishing.mask_name("") == ""
    # an office's reply keeps its own telephone
    assert publishing.mask("张三您好，请致电0551-62998000。", ["张三"], contacts=False) == \
        "张*您好，请致电0551-62998000。"


def test_publishing_a_replied_letter_masks_personal_data(province, boxes, client):
    from jiyue.core.models import Event
    from jiyue.publishing.pages import Renderer, SiteContext

    letter = _replied(province, boxes["dept"])
    with pytest.raises(PermissionDenied):
        publishing.publish_letter(letter, province.users["jyt_dispatcher"])
    with pytest.raises(PermissionDenied):
        publishing.publish_letter(letter, province.users["czt_handler"])
    record = publishing.publish_letter(letter, province.users["czt_dispatcher"])
    assert publishing.publish_letter(letter, province.users["czt_dispatcher"]).pk == record.pk
    letter.refresh_from_db()
    assert letter.published and letter.published_resource_id == record.pk and letter.published_at
    assert letter.steps.filter(action="publish").exists()
    assert Event.objects.filter(topic="letter.changed", payload__action="publish").exists()
    assert Event.objects.filter(topic="resource.published", aggregate_id=record.global_id).exists()
    assert record.live and record.kind == "letter" and record.organisation == province.orgs["czt"]
    assert record.placements.get().column.slug == "ldxx"
    page = Renderer(SiteContext(province.sites["czt"])).detail(record.pk).text
    assert "张*关于惠民补贴的咨询" in page and "138****8000" in page and "z***@163.com" in page
    assert "幸福路**号**栋**室" in page and "0551-62998000" in page  # the office's phone stays
    for secret in ("张三", "13800138000", "zhangsan@163.com", "340104199001011234", "128号"):
        assert secret not in page
    assert "答复单位" in page and "安徽省财政厅" in page and "来信内容" in page
    # the letters page lists it, and the query page shows the step
    html = client.get("/_/letters", **CZT).content.decode()
    assert f"content/{record.pk}.html" in html and "张*关于惠民补贴的咨询" in html
    assert "财政厅信箱" in html
    # every mailbox has its own 我要写信 button leading to its form
    assert f'class="letters-write" href="letters/new?mailbox={boxes["dept"].pk}"' in html
    assert 'aria-label="给财政厅信箱写信"' in html


def test_only_replied_consenting_letters_are_published(province, boxes):
    d = province.users["czt_dispatcher"]
    no_consent = _replied(province, boxes["dept"], consent_publish=False)
    with pytest.raises(ValidationError, match="未同意公开"):
        publishing.publish_letter(no_consent, d)
    waiting = services.submit(mailbox=boxes["dept"], type="consult", title="咨询", content="请问如何办理？",
                              anonymous=True, consent_publish=True)
    with pytest.raises(ValidationError, match="尚未答复"):
        publishing.publish_letter(waiting, d)
    assert not LetterRecord.objects.exists()


def test_the_demo_letters_load_once(province):
    from types import SimpleNamespace

    from jiyue.letters import demo
    from jiyue.letters.models import DeadlineRule

    loader = SimpleNamespace(key="ah", orgs=province.orgs, sites=province.sites, progress=lambda *a: None)
    demo.load(loader)
    count = Letter.objects.count()
    assert count >= 6 and DeadlineRule.objects.filter(reply_days=5).count() == 5
    assert Mailbox.objects.get(kind=Mailbox.LEADER).name == "省长信箱"
    assert LetterRecord.objects.filter(live=True).exists()  # some replied letters are published
    overdue = Letter.objects.filter(status=Status.HANDLING, due_at__lt=timezone.now())
    assert overdue.exists()
    demo.load(loader)
    assert Letter.objects.count() == count
