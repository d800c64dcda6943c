"""依申请公开 in the admin: scoping, the actions with their audit entries, the annual table."""

import csv
import io
from datetime import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from jiyue.audit.models import AuditEntry
from jiyue.disclosure import services
from jiyue.disclosure.models import Application, Extension, Result, Status
from tests.test_disclosure import apply


@pytest.fixture
def apps(province):
    czt = apply(province)
    jyt = apply(province, org="jyt", description="请公开2025年全省中小学校舍安全检查结果。")
    return czt, jyt


def test_list_and_detail_are_scoped(client, province, apps):
    czt, jyt = apps
    client.force_login(province.users["czt_handler"])
    page = client.get(reverse("disclosure_applications:index")).content.decode()
    assert czt.serial in page and jyt.serial not in page
    r = client.get(reverse("disclosure_applications:detail", args=[czt.pk]))
    assert r.status_code == 200 and "11010519491231002X" in r.content.decode()  # staff see the applicant
    assert "剩余" in r.content.decode()
    assert AuditEntry.objects.filter(action="disclosure.view", outcome="success").exists()
    assert client.get(reverse("disclosure_applications:detail", args=[jyt.pk])).status_code == 404
    assert AuditEntry.objects.filter(action="disclosure.view", outcome="denied").exists()
    client.force_login(province.users["platform_operator"])
    page = client.get(reverse("disclosure_applications:index")).content.decode()
    assert czt.serial in page and jyt.serial in page
    for admin in ("system_admin", "audit_admin", "czt_editor"):
        client.force_login(province.users[admin])
        assert client.get(reverse("disclosure_applications:index")).status_code in (302, 403)
        assert client.get(reverse("disclosure_annual:index")).status_code in (302, 403)
        assert client.get(reverse("disclosure_applications:detail", args=[czt.pk])).status_code in (302, 403)


def test_actions_through_the_admin(client, province, apps):
    czt, _jyt = apps
    url = reverse("disclosure_applications:detail", args=[czt.pk])
    client.force_login(province.users["czt_handler"])
    client.post(url, {"action": "accept"})  # a handler may not accept
    assert Application.objects.get(pk=czt.pk).status == Status.SUBMITTED
    assert AuditEntry.objects.filter(action="disclosure.accept", outcome="denied").exists()
    client.force_login(province.users["czt_dispatcher"])
    client.post(url, {"action": "accept"})
    client.force_login(province.users["czt_handler"])
    client.post(url, {"action": "extend_request", "days": "30", "reason": "需调档"})  # > 20: refused
    assert not Extension.objects.exists()
    client.post(url, {"action": "extend_request", "days": "10", "reason": "需调取多年档案"})
    before = Application.objects.get(pk=czt.pk).due_at
    client.post(url, {"action": "draft", "result": Result.OPEN, "reply": "予以公开，见附件。"})
    client.force_login(province.users["czt_dispatcher"])
    page = client.get(url).content.decode()
    assert "批准延期" in page and "需调取多年档案" in page
    ext = Extension.objects.get()
    client.post(url, {"action": "extend_approve", "extension": ext.pk, "note": "同意"})
    app = Application.objects.get(pk=czt.pk)
    assert app.extended_days == 10 and app.due_at > before
    assert app.due_at == services.compute_due(app)
    client.post(url, {"action": "reply"})  # issues the handler's draft
    app = Application.objects.get(pk=czt.pk)
    assert app.status == Status.REPLIED and app.result == Result.OPEN and app.reply == "予以公开，见附件。"
    actions = set(AuditEntry.objects.filter(outcome="success").values_list("action", flat=True))
    assert {"disclosure.accept", "disclosure.extend_request", "disclosure.draft",
            "disclosure.extend_approve", "disclosure.reply"} <= actions


def test_register_a_letter_application(client, province):
    client.force_login(province.users["czt_handler"])
    url = reverse("disclosure_applications:register")
    data = {"organisation": province.orgs["czt"].pk, "channel": "letter", "received": "2025-09-30",
            "applicant_kind": "person", "id_type": "id_card", "name": "赵六",
            "id_number": "11010519491231002X", "phone": "13700137000", "address": "合肥市包河区",
            "description": "请公开某路段道路改造工程的立项批复文件。", "delivery": "post"}
    r = client.post(url, {**data, "organisation": province.orgs["jyt"].pk})  # not theirs
    assert r.status_code == 422 and not Application.objects.exists()
    r = client.post(url, data)
    app = Application.objects.get()
    assert r.status_code == 302 and app.channel == "letter"
    assert timezone.localtime(app.due_at).date().isoformat() == "2025-11-04"  # from the letter's day


def test_annual_table_screen_and_csv(client, province):
    d = province.users["czt_dispatcher"]
    at = lambda *a: timezone.make_aware(datetime(*a))  # noqa: E731
    a = apply(province, received=at(2024, 12, 30, 10))
    apply(province, received=at(2025, 2, 3, 10), company=True)
    services.act(a, "reply", d, result=Result.DENY_THIRD_PARTY, reply="涉及第三方商业秘密", at=at(2025, 1, 6, 10))
    client.force_login(d)
    url = reverse("disclosure_annual:index")
    page = client.get(url, {"year": 2025, "organisation": province.orgs["czt"].pk}).content.decode()
    assert "核对一致" in page and "4.保护第三方合法权益" in page and "二、上年结转政府信息公开申请数量" in page
    r = client.get(url, {"year": 2025, "organisation": province.orgs["czt"].pk, "format": "csv"})
    assert r["Content-Type"].startswith("text/csv")
    rows = {row[0]: row[1:] for row in csv.reader(io.StringIO(r.content.decode("utf-8-sig"))) if row}
    assert rows["一、本年新收政府信息公开申请数量"] == ["0", "1", "0", "0", "0", "0", "1"]
    assert rows["二、上年结转政府信息公开申请数量"][0] == "1"
    assert rows["4.保护第三方合法权益"][-1] == "1" and rows["四、结转下年度继续办理"][-1] == "1"
    assert AuditEntry.objects.filter(action="disclosure.annual_export").exists()
    # a department sees only its own organisation; the operator may see the whole platform
    r = client.get(url, {"year": 2025, "organisation": province.orgs["jyt"].pk})
    assert "安徽省财政厅" in r.content.decode() and r.context["org"] == province.orgs["czt"]
    client.force_login(province.users["platform_operator"])
    r = client.get(url, {"year": 2025, "organisation": "all"})
    assert r.context["table"]["organisation"] is None and r.context["table"]["new"]["total"] == 1
