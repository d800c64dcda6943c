"""The letters' staff side (信件办理, the letter page and its actions, bulk assignment, 举报
confidentiality, attachments, 答复模板 / 信箱管理 / 办理时限, and the operator's 督查督办)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

pytestmark = pytest.mark.django_db

WORKSPACE = "/admin/letters/"
SUPERVISION = "/admin/letters/supervision/"


@pytest.fixture
def boxes(province):
    from jiyue.letters.models import Mailbox

    portal = Mailbox.objects.create(organisation=province.orgs["portal"], site=province.sites["portal"],
                                    kind=Mailbox.LEADER, name="省长信箱", leader_name="王省长",
                                    allow_anonymous=True)
    czt = Mailbox.objects.create(organisation=province.orgs["czt"], site=province.sites["czt"],
                                 kind=Mailbox.DEPARTMENT, name="财政厅厅长信箱")
    jyt = Mailbox.objects.create(organisation=province.orgs["jyt"], site=province.sites["jyt"],
                                 kind=Mailbox.DEPARTMENT, name="教育厅厅长信箱")
    return {"portal": portal, "czt": czt, "jyt": jyt}


def write(mailbox, type="consult", title="关于社保补贴发放时间的咨询", received_at=None, **extra):
    from jiyue.letters import services
    from jiyue.letters.models import Channel

    fields = {"name": "李明", "phone": "13905511234", "email": "liming@example.cn",
              "address": "合肥市蜀山区长江西路100号"}
    fields.update(extra)
    return services.submit(mailbox=mailbox, type=type, title=title, channel=Channel.API,
                           content="请问今年的社保补贴什么时候发放？需要准备哪些材料？",
                           received_at=received_at, **fields)


def login(client, province, name):
    client.force_login(province.users[name])
    return client


def denied(action):
    from jiyue.audit.models import AuditEntry

    return AuditEntry.objects.filter(action=action, outcome="denied")


def post(client, letter, action, **data):
    payload = {"action": action}
    payload.update({f"{action}-{k}" if k not in ("action",) else k: v for k, v in data.items()})
    return client.post(f"{WORKSPACE}{letter.pk}/", payload)


# --- scoping ---------------------------------------------------------------------------------

def test_staff_see_only_their_organisations_letters(client, province, boxes):
    czt_letter = write(boxes["czt"], title="财政厅的来信")
    jyt_letter = write(boxes["jyt"], title="教育厅的来信")

    login(client, province, "jyt_dispatcher")
    page = client.get(WORKSPACE + "?tab=all").content.decode()
    assert "教育厅的来信" in page and "财政厅的来信" not in page
    assert client.get(f"{WORKSPACE}{czt_letter.pk}/").status_code == 404
    assert denied("letter.view").filter(object_id=str(czt_letter.pk)).exists()
    # a forged action on the other department's letter changes nothing
    assert post(client, czt_letter, "accept").status_code == 404
    czt_letter.refresh_from_db()
    assert czt_letter.status == "submitted"
    assert client.get(f"{WORKSPACE}{jyt_letter.pk}/").status_code == 200

    # the three administrators and editors see no letters at all
    for name in ("system_admin", "audit_admin", "czt_editor"):
        login(client, province, name)
        assert client.get(WORKSPACE).status_code in (302, 403), name
        assert client.get(f"{WORKSPACE}{czt_letter.pk}/").status_code in (403, 404), name
    assert denied("letter.admin.view").exists()

    # the operator sees every organisation's letters
    login(client, province, "platform_operator")
    page = client.get(WORKSPACE + "?tab=all").content.decode()
    assert "教育厅的来信" in page and "财政厅的来信" in page

    # the menu: 督查督办 for the operator only (labels are JSON in the sidebar's data)
    def menu(name):
        return login(client, province, name).get("/admin/").content.decode()

    label = lambda text: json.dumps(text)[1:-1]  # noqa: E731
    assert label("信件办理") in menu("platform_operator") and label("督查督办") in menu("platform_operator")
    handler = menu("czt_handler")
    assert label("信件办理") in handler and label("督查督办") not in handler
    assert label("信件办理") not in menu("czt_editor")


def test_my_queue_follows_the_role(client, province, boxes):
    from jiyue.letters import services

    new = write(boxes["czt"], title="待受理的来信")
    handling = write(boxes["czt"], title="办理中的来信")
    services.act(handling, "accept", province.users["czt_dispatcher"])
    services.act(handling, "assign", province.users["czt_dispatcher"])

    login(client, province, "czt_dispatcher")
    page = client.get(WORKSPACE).content.decode()
    assert "待受理的来信" in page and "办理中的来信" not in page
    # the admin's own styles (the filter bar's alignment) are on the page
    assert 'href="/static/jiyue/admin.css"' in page
    login(client, province, "czt_handler")
    page = client.get(WORKSPACE).content.decode()
    assert "办理中的来信" in page and "待受理的来信" not in page
    assert new.pk  # both exist; only the queue differs


def test_due_soon_overdue_tabs_and_filters(client, province, boxes):
    from jiyue.letters.models import Letter
    from jiyue.workdays import calendar

    now = timezone.now()
    late = write(boxes["czt"], title="已超期的来信", received_at=now - timedelta(days=30))
    soon = write(boxes["czt"], title="明天到期的来信")
    Letter.objects.filter(pk=soon.pk).update(due_at=calendar.deadline(now, 1))
    write(boxes["czt"], title="还早的来信")

    login(client, province, "czt_dispatcher")
    overdue_page = client.get(WORKSPACE + "?tab=overdue").content.decode()
    assert "已超期的来信" in overdue_page and "明天到期的来信" not in overdue_page
    late_by = -calendar.remaining(late.due_at)
    assert f"已超期 {late_by} 个工作日" in overdue_page and "letters-overdue" in overdue_page
    soon_page = client.get(WORKSPACE + "?tab=soon").content.decode()
    assert "明天到期的来信" in soon_page
    assert "还早的来信" not in soon_page and "已超期的来信" not in soon_page
    assert "剩余 1 个工作日" in soon_page or "今日到期" in soon_page

    # filters
    write(boxes["czt"], type="suggest", title="一条建议")
    write(boxes["czt"], type="complain", title="一件投诉")
    login(client, province, "czt_dispatcher")
    page = client.get(WORKSPACE + "?tab=all&type=suggest").content.decode()
    assert "一条建议" in page and "一件投诉" not in page
    page = client.get(WORKSPACE + "?tab=all&status=closed").content.decode()
    assert "一条建议" not in page
    # bad filter values are ignored, not errors
    assert client.get(WORKSPACE + "?tab=x&type=%3Cb%3E&mailbox=abc&organisation=-1").status_code == 200


# --- the actions through the views ----------------------------------------------------------

def test_route_reply_review_and_close_through_the_views(client, province, boxes):
    from jiyue.audit.models import AuditEntry
    from jiyue.letters.models import ReplyTemplate

    letter = write(boxes["portal"], title="关于预算公开的咨询")
    ReplyTemplate.objects.create(organisation=province.orgs["czt"], title="预算咨询答复",
                                 body="您好！您反映的预算公开问题，答复如下：")

    login(client, province, "portal_dispatcher")
    assert post(client, letter, "accept").status_code == 302
    letter.refresh_from_db()
    assert letter.status == "accepted"
    page = client.get(f"{WORKSPACE}{letter.pk}/").content.decode()
    assert "转办" in page and "李明" in page
    # 转办 only to the organisation itself or one below it
    r = post(client, letter, "assign", to_organisation=province.orgs["czt"].pk)
    assert r.status_code == 302
    letter.refresh_from_db()
    assert letter.status == "handling" and letter.organisation == province.orgs["czt"]
    # the portal's dispatcher still follows the letter from its mailbox, without actions
    page = client.get(f"{WORKSPACE}{letter.pk}/").content.decode()
    assert "当前没有您可以进行的办理操作" in page

    login(client, province, "czt_handler")
    page = client.get(f"{WORKSPACE}{letter.pk}/?template="
                      f"{ReplyTemplate.objects.get().pk}").content.decode()
    assert "您好！您反映的预算公开问题，答复如下：" in page  # the template fills the reply
    r = post(client, letter, "draft", reply="  ")
    assert "请填写答复内容" in r.content.decode()
    letter.refresh_from_db()
    assert letter.status == "handling"
    post(client, letter, "draft", reply="您好！2026年省级预算已于2月10日在省财政厅网站公开。")
    letter.refresh_from_db()
    assert letter.status == "reviewing"
    # a handler cannot approve their own reply
    assert post(client, letter, "approve").status_code in (302, 403)
    letter.refresh_from_db()
    assert letter.status == "reviewing"
    assert denied("letter.approve").exists()

    login(client, province, "czt_dispatcher")
    r = post(client, letter, "return", note="")
    assert "请填写退回意见" in r.content.decode()
    post(client, letter, "return", note="请补充公开网址。")
    letter.refresh_from_db()
    assert letter.status == "handling"

    login(client, province, "czt_handler")
    post(client, letter, "draft", reply="您好！2026年省级预算已在省财政厅网站“预决算公开”栏目公开。")
    login(client, province, "czt_dispatcher")
    post(client, letter, "approve", reply="")
    letter.refresh_from_db()
    assert letter.status == "replied" and "预决算公开" in letter.reply
    assert letter.reply_organisation == province.orgs["czt"]
    post(client, letter, "close")
    letter.refresh_from_db()
    assert letter.status == "closed"
    post(client, letter, "reopen", note="来信人补充了新情况。")
    letter.refresh_from_db()
    assert letter.status == "handling" and letter.reopened_count == 1

    page = client.get(f"{WORKSPACE}{letter.pk}/").content.decode()
    for label in ("受理", "转办", "审核退回", "审核通过，答复", "办结", "重新办理"):
        assert label in page
    done = set(AuditEntry.objects.filter(outcome="success", action__startswith="letter.")
               .values_list("action", flat=True))
    assert {"letter.accept", "letter.assign", "letter.draft", "letter.return", "letter.approve",
            "letter.close", "letter.reopen"} <= done


def test_transfer_across_levels_and_reject_with_reason(client, province, boxes):
    # 转办 stays inside the subtree: another department is refused
    other = write(boxes["czt"])
    login(client, province, "czt_dispatcher")
    post(client, other, "accept")
    r = post(client, other, "assign", to_organisation=province.orgs["jyt"].pk)
    assert "不能转至该单位" in r.content.decode()
    other.refresh_from_db()
    assert other.status == "accepted" and other.organisation == province.orgs["czt"]

    letter = write(boxes["czt"], title="应由教育厅办理的来信")
    letter.suggested_organisation = province.orgs["jyt"]
    letter.screened_at = timezone.now()
    letter.sensitive_words = ["投诉"]
    letter.save()
    login(client, province, "czt_dispatcher")
    page = client.get(f"{WORKSPACE}{letter.pk}/").content.decode()
    # the screening results, and the suggested organisation preselected for 转交
    assert "建议承办单位：安徽省教育厅" in page
    assert f'<option value="{province.orgs["jyt"].pk}" selected>' in page
    post(client, letter, "transfer", to_organisation=province.orgs["jyt"].pk, note="属教育厅职责。")
    letter.refresh_from_db()
    assert letter.organisation == province.orgs["jyt"] and letter.status == "accepted"
    # czt (the mailbox's organisation) follows it without actions; jyt's dispatcher may
    # refuse it, with a reason; czt's handler no longer sees it
    assert "当前没有您可以进行的办理操作" in client.get(f"{WORKSPACE}{letter.pk}/").content.decode()
    assert login(client, province, "czt_handler").get(f"{WORKSPACE}{letter.pk}/").status_code == 404
    login(client, province, "jyt_dispatcher")
    r = post(client, letter, "reject", note="")
    assert "请填写不予受理的理由" in r.content.decode()
    post(client, letter, "reject", note="重复来信。")
    letter.refresh_from_db()
    assert letter.status == "rejected" and not letter.valid and letter.reject_reason == "重复来信。"


def test_extension_requested_by_the_handler_approved_by_the_dispatcher(client, province, boxes):
    from jiyue.letters import services

    letter = write(boxes["czt"])
    services.act(letter, "accept", province.users["czt_dispatcher"])
    services.act(letter, "assign", province.users["czt_dispatcher"])
    letter.refresh_from_db()
    due = letter.due_at

    login(client, province, "czt_handler")
    r = post(client, letter, "extend_request", days="30", reason="需要调查")
    assert "延期须为1至20个工作日" in r.content.decode()
    post(client, letter, "extend_request", days="5", reason="涉及多个部门，需要会商。")
    ext = letter.extensions.get()
    assert ext.state == "pending"

    login(client, province, "czt_dispatcher")
    assert letter.title[:10] in client.get(WORKSPACE).content.decode()  # in the dispatcher's queue
    assert "审批延期：申请延期 5 个工作日" in client.get(f"{WORKSPACE}{letter.pk}/").content.decode()
    post(client, letter, "extend_decide", extension=ext.pk, decision="approve", note="同意。")
    letter.refresh_from_db()
    ext.refresh_from_db()
    assert ext.state == "approved" and letter.extended_days == 5 and letter.due_at > due


def test_publish_calls_the_publishing_service_or_says_it_is_missing(client, province, boxes, monkeypatch):
    from jiyue.letters import admin_views, services

    letter = write(boxes["czt"], consent_publish=True)
    d = province.users["czt_dispatcher"]
    services.act(letter, "accept", d)
    services.act(letter, "assign", d)
    services.act(letter, "draft", province.users["czt_handler"], reply="您好，答复如下。")
    services.act(letter, "approve", d)
    login(client, province, "czt_dispatcher")

    monkeypatch.setattr(admin_views, "_publish_function", lambda: None)
    r = post(client, letter, "publish")
    assert "信件公开功能尚未启用" in r.content.decode()

    calls = []
    monkeypatch.setattr(admin_views, "_publish_function", lambda: lambda l, u: calls.append((l.pk, u)))
    r = post(client, letter, "publish")
    assert r.status_code == 302 and calls == [(letter.pk, d)]
    # a handler may not publish
    login(client, province, "czt_handler")
    assert post(client, letter, "publish").status_code in (302, 403)
    assert denied("letter.publish").exists()


# --- bulk assignment ---------------------------------------------------------------------------

def test_bulk_assignment(client, province, boxes):
    from jiyue.letters.models import Letter

    a = write(boxes["portal"], title="第一封")
    b = write(boxes["portal"], title="第二封")
    other = write(boxes["jyt"], title="教育厅的信")
    login(client, province, "portal_dispatcher")
    r = client.post(WORKSPACE + "?tab=mine", {"letters": [a.pk, b.pk, other.pk],
                                              "to_organisation": province.orgs["czt"].pk})
    assert r.status_code == 302
    for letter in (a, b):
        letter.refresh_from_db()
        assert letter.status == "handling" and letter.organisation == province.orgs["czt"]
    other.refresh_from_db()
    assert other.status == "submitted" and other.organisation == province.orgs["jyt"]
    msgs = [str(m) for m in client.get(WORKSPACE).context["messages"]]
    assert any("已转办 2 件至安徽省财政厅" in m for m in msgs)

    # a department's dispatcher cannot bulk-assign upwards or sideways
    c = write(boxes["czt"], title="第三封")
    login(client, province, "czt_dispatcher")
    client.post(WORKSPACE, {"letters": [c.pk], "to_organisation": province.orgs["jyt"].pk})
    assert Letter.objects.get(pk=c.pk).status == "submitted"
    # nothing selected: a message, nothing changed
    r = client.post(WORKSPACE, {"to_organisation": province.orgs["czt"].pk}, follow=True)
    assert "请勾选要转办的信件" in r.content.decode()


# --- 举报 confidentiality -----------------------------------------------------------------------

def test_report_hides_the_writer_from_the_reported_organisation_and_handlers(client, province, boxes):
    from jiyue.letters import policy, services

    letter = write(boxes["portal"], type="report", title="举报某单位违规收费", name="赵举报",
                   phone="13800001111", reported_organisation=province.orgs["czt"])
    url = f"{WORKSPACE}{letter.pk}/"

    for name in ("portal_dispatcher", "platform_operator"):
        page = login(client, province, name).get(url).content.decode()
        assert "赵举报" in page and "13800001111" in page, name
    page = login(client, province, "portal_handler").get(url).content.decode()
    assert "赵举报" not in page and "13800001111" not in page and "举报人信息已保密" in page

    services.act(letter, "accept", province.users["portal_dispatcher"])
    services.act(letter, "assign", province.users["portal_dispatcher"], to_organisation=province.orgs["czt"])
    for name in ("czt_dispatcher", "czt_handler", "czt_site_admin"):
        r = login(client, province, name).get(url)
        page = r.content.decode()
        assert r.status_code == 200 and "举报某单位违规收费" in page, name
        for secret in ("赵举报", "13800001111", "liming@example.cn", "长江西路"):
            assert secret not in page, (name, secret)
    # other types show the writer to whoever handles the letter
    plain = write(boxes["czt"], type="complain", name="钱投诉")
    assert "钱投诉" in login(client, province, "czt_handler").get(f"{WORKSPACE}{plain.pk}/").content.decode()

    # the mailbox's own organisation is the reported one: only the operator sees the writer
    own = write(boxes["czt"], type="report", reported_organisation=province.orgs["czt"])
    u = province.users
    assert not policy.shows_identity(u["czt_dispatcher"], own)
    assert policy.shows_identity(u["platform_operator"], own)
    assert not policy.shows_identity(u["jyt_dispatcher"], own)


# --- attachments --------------------------------------------------------------------------------

def test_attachments_are_downloaded_through_a_checked_view(client, province, boxes, settings, tmp_path):
    from jiyue.audit.models import AuditEntry
    from jiyue.letters.models import LetterAttachment

    settings.JIYUE_HOME = tmp_path
    letter = write(boxes["czt"])
    att = LetterAttachment(letter=letter, name="现场照片.pdf", size=9)
    att.file.save("photo.pdf", ContentFile(b"%PDF-1.4\n"), save=True)
    assert "/media/" not in (att.file.path or "")
    url = f"{WORKSPACE}{letter.pk}/attachments/{att.pk}/"

    r = login(client, province, "czt_handler").get(url)
    assert r.status_code == 200 and b"".join(r.streaming_content) == b"%PDF-1.4\n"
    assert "attachment" in r["Content-Disposition"]
    assert AuditEntry.objects.filter(action="letter.attachment.download").exists()
    assert url in client.get(f"{WORKSPACE}{letter.pk}/").content.decode()
    assert login(client, province, "jyt_handler").get(url).status_code == 404
    assert login(client, province, "czt_handler").get(
        f"{WORKSPACE}{letter.pk}/attachments/{att.pk + 99}/").status_code == 404


# --- 督查督办 --------------------------------------------------------------------------------------

def test_supervision_lists_unanswered_valid_consultations_oldest_first(client, province, boxes):
    from jiyue.letters import services

    now = timezone.now()
    old = write(boxes["czt"], title="一百天前的咨询", received_at=now - timedelta(days=100))
    mid = write(boxes["jyt"], title="五十天前的咨询", received_at=now - timedelta(days=50))
    new = write(boxes["czt"], title="昨天的咨询", received_at=now - timedelta(days=1))
    write(boxes["czt"], type="suggest", title="一条建议不算", received_at=now - timedelta(days=120))
    invalid = write(boxes["czt"], title="无效的咨询", received_at=now - timedelta(days=110))
    services.act(invalid, "reject", province.users["czt_dispatcher"], note="无实质内容。")

    login(client, province, "platform_operator")
    r = client.get(SUPERVISION)
    assert r.status_code == 200
    rows = [letter.pk for letter in r.context["page"]]
    assert rows == [old.pk, mid.pk, new.pk]
    bands = r.context["figures"]["bands"]
    assert bands == {"lt1": 1, "m1": 1, "m2": 0, "gt3": 1}
    page = r.content.decode()
    assert "已超过3个月" in page and "<svg" in page and "有 1 件有效咨询已超过3个月未答复" in page
    first = r.context["page"][0]
    assert first.age_days == 100 and 0 < first.age_workdays < 100
    per_org = {row["organisation__name"]: row for row in r.context["figures"]["per_org"]}
    assert per_org["安徽省财政厅"]["overdue"] >= 2
    assert [l.pk for l in client.get(SUPERVISION + "?band=gt3").context["page"]] == [old.pk]
    assert [l.pk for l in client.get(SUPERVISION + "?band=m1").context["page"]] == [mid.pk]

    for name in ("czt_dispatcher", "czt_site_admin", "system_admin"):
        assert login(client, province, name).get(SUPERVISION).status_code in (302, 403), name
    assert denied("letter.supervision.view").count() == 3


# --- 答复模板, 信箱管理, 办理时限 ------------------------------------------------------------------

def test_reply_templates_per_organisation(client, province):
    from jiyue.letters.models import ReplyTemplate

    login(client, province, "czt_dispatcher")
    r = client.post("/admin/letters/templates/new/", {"organisation": province.orgs["czt"].pk,
                                                       "title": "通用答复", "body": "您好，您的来信已收悉。"},
                    follow=True)
    assert r.status_code == 200 and "通用答复" in r.content.decode()
    tpl = ReplyTemplate.objects.get()
    assert tpl.organisation == province.orgs["czt"]
    # another department neither lists nor opens it, nor creates one for czt
    login(client, province, "jyt_dispatcher")
    assert "通用答复" not in client.get("/admin/letters/templates/").content.decode()
    assert client.get(f"/admin/letters/templates/edit/{tpl.pk}/").status_code == 404
    client.post("/admin/letters/templates/new/", {"organisation": province.orgs["czt"].pk,
                                                   "title": "冒充", "body": "冒充"})
    assert not ReplyTemplate.objects.filter(title="冒充").exists()
    # platform-wide templates are the operator's
    login(client, province, "platform_operator")
    r = client.post("/admin/letters/templates/new/", {"organisation": "", "title": "平台模板",
                                                       "body": "感谢您的来信。"})
    assert r.status_code == 302 and ReplyTemplate.objects.get(title="平台模板").organisation is None


def test_mailboxes_by_site_admins_deadlines_by_the_operator(client, province, boxes):
    from jiyue.letters.models import DeadlineRule, Mailbox

    login(client, province, "czt_site_admin")
    page = client.get("/admin/letters/mailboxes/").content.decode()
    assert "财政厅厅长信箱" in page and "省长信箱" not in page
    assert client.get(f"/admin/letters/mailboxes/edit/{boxes['portal'].pk}/").status_code == 404
    r = client.post("/admin/letters/mailboxes/new/", {
        "site": province.sites["czt"].pk, "organisation": province.orgs["czt"].pk, "kind": "department",
        "name": "预算处信箱", "types": ["consult", "suggest"], "enabled": "on", "order": "1",
        "leader_name": "", "description": ""})
    assert r.status_code == 302, r.content.decode()[:3000]
    box = Mailbox.objects.get(name="预算处信箱")
    assert box.types == ["consult", "suggest"] and box.site == province.sites["czt"]
    # a mailbox on the czt site cannot send letters to another department
    r = client.post("/admin/letters/mailboxes/new/", {
        "site": province.sites["czt"].pk, "organisation": province.orgs["jyt"].pk, "kind": "department",
        "name": "越权信箱", "order": "1"})
    assert not Mailbox.objects.filter(name="越权信箱").exists()
    assert client.get("/admin/letters/deadlines/").status_code in (302, 403)
    assert login(client, province, "czt_handler").get("/admin/letters/mailboxes/").status_code in (302, 403)

    login(client, province, "platform_operator")
    r = client.post("/admin/letters/deadlines/new/", {"type": "consult", "reply_days": "3", "warn_days": "5"})
    assert "提醒须早于答复期限" in r.content.decode()
    r = client.post("/admin/letters/deadlines/new/", {"type": "consult", "reply_days": "3", "warn_days": "1"})
    assert r.status_code == 302
    assert DeadlineRule.objects.get(type="consult").reply_days == 3
    assert write(boxes["czt"]).due_at  # new letters take the operator's rule
