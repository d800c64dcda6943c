"""依申请公开: the statutory clock on fixed dates, the handling rules, the annual table."""

from datetime import date, datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from jiyue.audit.models import AuditEntry
from jiyue.core.models import Event
from jiyue.disclosure import services
from jiyue.disclosure.models import Application, Extension, Result, Status

PERSON = dict(applicant_kind="person", id_type="id_card", name="张三", id_number="11010519491231002X",
              phone="13800138000", email="zhangsan@example.cn", address="合肥市蜀山区长江西路1号",
              description="请公开2024年度省级财政专项资金分配结果的文件。", purpose="研究使用",
              delivery="email")
COMPANY = dict(applicant_kind="organisation", category="business", name="安徽某某科技有限公司",
               id_number="91340100MA2N0X0X4R", legal_representative="李四", phone="0551-62345678",
               description="请公开本公司所在园区2024年度的环境影响评价批复。", delivery="online")


def at(y, m, d, h=10):
    return timezone.make_aware(datetime(y, m, d, h))


def due(app):
    return timezone.localtime(app.due_at).date() if app.due_at else None


def apply(province, org="czt", received=None, **kw):
    from jiyue.platform.validators import credit_code_check_char

    fields = dict(PERSON)
    if kw.pop("company", False):
        fields = dict(COMPANY)
        fields["id_number"] = fields["id_number"][:17] + credit_code_check_char(fields["id_number"][:17])
    fields.update(kw)
    return services.submit(organisation=province.orgs[org], site=province.sites[org],
                           received_at=received, **fields)


@pytest.fixture
def staff(province):
    return province.users["czt_dispatcher"], province.users["czt_handler"]


def test_twenty_working_days_and_across_a_holiday(province):
    assert due(apply(province, received=at(2025, 3, 3))) == date(2025, 3, 31)
    # received the day before the National Day week: 10-01 … 10-08 off, 10-11 (Sat) works
    app = apply(province, received=at(2025, 9, 30, 16))
    assert due(app) == date(2025, 11, 4)
    assert app.status == Status.SUBMITTED and len(app.query_code) == 12
    assert Application.objects.get(pk=app.pk).id_number == "11010519491231002X"  # decrypted
    assert services.find(app.query_code.lower()).pk == app.pk
    assert Event.objects.filter(topic="disclosure.submitted", aggregate_id=str(app.pk)).exists()


def test_extension_once_at_most_twenty_days_and_only_approved(province, staff, settings):
    settings.JIYUE_OUTBOX_LAG_SECONDS = 0
    dispatcher, handler = staff
    app = apply(province, received=at(2025, 3, 3))
    services.act(app, "accept", dispatcher, at=at(2025, 3, 4))
    with pytest.raises(ValidationError):
        services.request_extension(app, 21, "涉及多个处室，需要调取档案", handler)
    ext = services.request_extension(app, 20, "涉及多个处室，需要调取档案", handler)
    app.refresh_from_db()
    assert due(app) == date(2025, 3, 31)  # not moved before approval
    with pytest.raises(PermissionDenied):  # a handler cannot approve
        services.decide_extension(ext, True, handler)
    with pytest.raises(PermissionDenied):  # nor another organisation's dispatcher
        services.decide_extension(ext, True, province.users["jyt_dispatcher"])
    services.decide_extension(ext, False, dispatcher, "理由不充分")
    app.refresh_from_db()
    assert due(app) == date(2025, 3, 31) and app.extended_days == 0
    ext = services.request_extension(app, 15, "需要调取档案", handler)
    services.decide_extension(ext, True, dispatcher)
    app.refresh_from_db()
    assert app.extended_days == 15 and due(app) == date(2025, 4, 22)  # 清明 (04-04) not counted
    assert Extension.objects.get(pk=ext.pk).state == Extension.APPROVED
    with pytest.raises(ValidationError):  # only once
        services.request_extension(app, 5, "还需要时间", handler)
    told = app.steps.get(action="extend_approve")
    assert told.public and "15" in told.note  # the applicant is told: on the page and by email
    from django.core import mail

    from jiyue.core import outbox

    outbox.dispatch("disclosure.notify")
    assert [m.to for m in mail.outbox] == [["zhangsan@example.cn"]] * 2  # 受理, 延长答复期限
    assert "2025-04-22" in mail.outbox[-1].body and "延长" in mail.outbox[-1].body
    assert AuditEntry.objects.filter(action="disclosure.extend_approve").exists()
    assert AuditEntry.objects.filter(action="disclosure.extend_decide", outcome="denied").exists()


def test_correction_within_seven_days_restarts_the_clock(province, staff):
    dispatcher, handler = staff
    late = apply(province, received=at(2025, 3, 3))
    with pytest.raises(ValidationError) as e:  # the 8th working day after receipt
        services.act(late, "correction_notice", dispatcher, note="请补充文件名称", at=at(2025, 3, 13))
    assert "7个工作日" in str(e.value)
    app = apply(province, received=at(2025, 3, 3))
    app = services.act(app, "correction_notice", dispatcher, note="请补充文件名称或文号", at=at(2025, 3, 12))
    assert app.status == Status.CORRECTION and app.due_at is None  # the clock stands still
    assert services.remaining(app) is None
    with pytest.raises(ValidationError):  # an unanswered correction is only 逾期不补正
        services.act(app, "reply", dispatcher, result=Result.OPEN, reply="见附件")
    app = services.act(app, "correction_received", handler, at=at(2025, 3, 20))
    assert app.clock_start == date(2025, 3, 20) and due(app) == date(2025, 4, 18)  # 20 again
    with pytest.raises(ValidationError):  # once only
        services.act(app, "correction_notice", dispatcher, note="再补充", at=at(2025, 3, 21))


def test_third_party_consultation_is_not_counted(province, staff):
    dispatcher, handler = staff
    app = apply(province, received=at(2025, 3, 3))
    services.act(app, "accept", dispatcher, at=at(2025, 3, 4))
    app = services.act(app, "consult_start", handler, note="征求某公司意见", at=at(2025, 3, 5))
    assert app.status == Status.CONSULTING
    assert due(app) == date(2025, 4, 23)  # while under way: as if the full 15 working days
    with pytest.raises(ValidationError):  # answer only after the consultation
        services.act(app, "reply", dispatcher, result=Result.OPEN, reply="予以公开")
    app = services.act(app, "consult_end", handler, at=at(2025, 3, 11))
    assert due(app) == date(2025, 4, 8)  # 03-05 … 03-11 (5 working days) and 清明 not counted
    app = services.act(app, "reply", dispatcher, result=Result.PARTIAL, reply="部分公开，涉及商业秘密部分不予公开。")
    assert app.status == Status.REPLIED and app.result == Result.PARTIAL
    services.act(app, "close", dispatcher)
    public = list(app.steps.filter(public=True).values_list("action", flat=True))
    assert public == ["submit", "accept", "consult_start", "consult_end", "reply", "close"]


def test_roles_and_scoping(province, staff):
    dispatcher, handler = staff
    app = apply(province)
    with pytest.raises(PermissionDenied):
        services.act(app, "accept", handler)  # a handler drafts, the dispatcher acts
    with pytest.raises(PermissionDenied):
        services.act(app, "accept", province.users["jyt_dispatcher"])
    services.act(app, "draft", handler, result=Result.NONE_NOT_HELD, reply="本机关不掌握该信息。")
    app = services.act(app, "reply", dispatcher)  # issues the draft
    assert app.result == Result.NONE_NOT_HELD and app.reply == "本机关不掌握该信息。"
    other = apply(province, org="jyt")
    assert set(services.visible_applications(dispatcher)) == {app}
    assert set(services.visible_applications(province.users["platform_operator"])) == {app, other}
    for admin in ("system_admin", "security_admin", "audit_admin"):
        assert not services.visible_applications(province.users[admin]).exists()


def test_bad_input_is_refused_and_nothing_stored(province):
    with pytest.raises(ValidationError) as e:
        apply(province, name="", id_number="110105194912310021", phone="abc", delivery="fax",
              description="短")
    assert set(e.value.message_dict) == {"name", "id_number", "phone", "delivery", "description"}
    with pytest.raises(ValidationError) as e:
        apply(province, company=True, category="nonsense", id_number="91340100MA2N0X0X40",
              legal_representative="")
    assert {"category", "id_number", "legal_representative"} <= set(e.value.message_dict)
    assert not Application.objects.exists()
    assert apply(province, company=True).category == "business"


def test_annual_table_identity_with_carry_over(province, staff):
    dispatcher, _h = staff
    # 2024: two received; one answered in 2024, one carried over into 2025
    a = apply(province, received=at(2024, 12, 2))
    services.act(a, "reply", dispatcher, result=Result.OPEN, reply="予以公开", at=at(2024, 12, 10))
    b = apply(province, received=at(2024, 12, 20), company=True)
    # 2025: b answered (不予公开: 过程性信息); c answered; d received and still open at the end
    services.act(b, "reply", dispatcher, result=Result.DENY_PROCESS, reply="属于过程性信息", at=at(2025, 1, 10))
    c = apply(province, received=at(2025, 3, 3))
    services.act(c, "correction_notice", dispatcher, note="请补充", at=at(2025, 3, 5))
    services.act(c, "reply", dispatcher, result=Result.OTHER_NO_CORRECTION, reply="逾期未补正", at=at(2025, 5, 6))
    d = apply(province, received=at(2025, 12, 29), company=True, category="legal")
    apply(province, org="jyt", received=at(2025, 6, 2))  # another organisation's

    t24 = services.annual_table(province.orgs["czt"], 2024)
    assert t24["new"]["total"] == 2 and t24["results_total"]["total"] == 1
    assert t24["carried_out"]["total"] == 1 and t24["carried_out"]["business"] == 1
    t25 = services.annual_table(province.orgs["czt"], 2025)
    assert t25["carried_in"] == t24["carried_out"]
    assert t25["new"]["person"] == 1 and t25["new"]["legal"] == 1 and t25["new"]["total"] == 2
    assert t25["results"][Result.DENY_PROCESS]["business"] == 1
    assert t25["results"][Result.OTHER_NO_CORRECTION]["person"] == 1
    assert t25["groups"]["deny"]["total"] == 1 and t25["groups"]["other"]["total"] == 1
    assert t25["carried_out"]["legal"] == 1 and t25["carried_out"]["total"] == 1
    for t in (t24, t25, services.annual_table(None, 2025), services.annual_table(province.orgs["czt"], 2026)):
        assert t["balanced"]
        for col in t["columns"]:
            assert t["new"][col] + t["carried_in"][col] == t["results_total"][col] + t["carried_out"][col]
    assert services.annual_table(None, 2025)["new"]["total"] == 3
    services.act(d, "reply", dispatcher, result=Result.OPEN, reply="予以公开", at=at(2026, 1, 5))
    t26 = services.annual_table(province.orgs["czt"], 2026)
    assert t26["carried_in"]["legal"] == 1 and t26["results"][Result.OPEN]["legal"] == 1
    assert t26["carried_out"]["total"] == 0 and t26["balanced"]
    labels = [r["label"] for r in t25["rows"]]
    assert labels[0].startswith("一、本年新收") and labels[-1] == "四、结转下年度继续办理"
    assert "8.属于行政查询事项" in labels and "3.补正后申请内容仍不明确" in labels
    assert "5.要求行政机关确认或重新出具已获取信息" in labels and "（七）总计" in labels


def test_demo_is_idempotent_and_balanced(province):
    from types import SimpleNamespace

    from jiyue.disclosure import demo

    loader = SimpleNamespace(key="ah", sites={"czt": province.sites["czt"], "jyt": province.sites["jyt"]},
                             orgs=province.orgs)
    demo.load(loader)
    n = Application.objects.count()
    demo.load(loader)
    assert n == Application.objects.count() >= 8
    assert set(Application.objects.values_list("status", flat=True)) >= {
        Status.CLOSED, Status.REPLIED, Status.HANDLING, Status.SUBMITTED}
    t25, t26 = services.annual_table(None, 2025), services.annual_table(None, 2026)
    assert t25["balanced"] and t26["balanced"] and t25["carried_out"]["total"] >= 2
    assert t26["carried_in"] == t25["carried_out"]
