"""The letters' state machine and clock (jiyue.letters.services): what every screen builds on."""

from datetime import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from jiyue.core.models import Event
from jiyue.letters import services
from jiyue.letters.models import Letter, Mailbox, Status


@pytest.fixture
def mailbox(province):
    return Mailbox.objects.create(organisation=province.orgs["czt"], site=province.sites["czt"],
                                  kind=Mailbox.DEPARTMENT, name="财政厅信箱", allow_anonymous=True)


def write(mailbox, **kw):
    args = dict(mailbox=mailbox, type="consult", title="关于惠民补贴发放时间的咨询",
                content="请问2026年度惠民补贴什么时候发放？", anonymous=True, name="张三",
                phone="13800138000")
    args.update(kw)
    return services.submit(**args)


def test_a_letter_goes_through_every_step(province, mailbox):
    received = timezone.make_aware(datetime(2024, 9, 30, 16))
    letter = write(mailbox, received_at=received)
    assert letter.status == Status.SUBMITTED and len(letter.query_code) == 12
    assert timezone.localtime(letter.due_at).date().isoformat() == "2024-10-12"  # 国庆 not counted
    assert services.find(letter.query_code.lower()).pk == letter.pk
    assert Letter.objects.get(pk=letter.pk).phone == "13800138000"  # decrypted on load
    d, h = province.users["czt_dispatcher"], province.users["czt_handler"]
    services.act(letter, "accept", d)
    services.act(letter, "assign", d, note="请办理")
    with pytest.raises(ValidationError):
        services.act(letter, "draft", h, reply="")
    services.act(letter, "draft", h, reply="补贴将于每季度末发放。")
    letter = services.act(letter, "approve", d)
    assert letter.status == Status.REPLIED and letter.reply == "补贴将于每季度末发放。"
    assert letter.reply_organisation == province.orgs["czt"]
    letter = services.rate(letter, "dissatisfied", "没有说明具体日期")
    assert letter.status == Status.HANDLING and letter.reopened_count == 1
    services.act(letter, "draft", h, reply="第一季度补贴于3月31日前发放。")
    services.act(letter, "approve", d)
    letter = services.rate(letter, "satisfied")
    assert letter.status == Status.CLOSED
    actions = list(letter.steps.values_list("action", flat=True))
    assert actions == ["submit", "accept", "assign", "draft", "approve", "rate", "reopen", "draft",
                       "approve", "rate"]
    assert Event.objects.filter(topic="letter.changed", aggregate_id=str(letter.pk)).count() == 8  # one per change (a rating that reopens is one)


def test_only_the_responsible_organisation_acts(province, mailbox):
    letter = write(mailbox)
    with pytest.raises(PermissionDenied):
        services.act(letter, "accept", province.users["jyt_dispatcher"])
    with pytest.raises(PermissionDenied):  # a handler cannot accept
        services.act(letter, "accept", province.users["czt_handler"])
    services.act(letter, "transfer", province.users["czt_dispatcher"], to_organisation=province.orgs["jyt"],
                 note="属教育厅职责")
    letter.refresh_from_db()
    assert letter.organisation == province.orgs["jyt"] and letter.status == Status.ACCEPTED
    with pytest.raises(PermissionDenied):
        services.act(letter, "assign", province.users["czt_dispatcher"])
    services.act(letter, "assign", province.users["jyt_dispatcher"])
    with pytest.raises(ValidationError):  # wrong state
        services.act(letter, "approve", province.users["jyt_dispatcher"])


def test_bad_input_is_refused_with_clear_messages(province, mailbox):
    with pytest.raises(ValidationError) as e:
        write(mailbox, title="", content="短", type="rumour", phone="abc")
    assert set(e.value.message_dict) == {"title", "content", "type", "phone"}
    mailbox.allow_anonymous = False
    mailbox.save()
    with pytest.raises(ValidationError) as e:
        write(mailbox)
    assert "anonymous" in e.value.message_dict
    assert Letter.objects.count() == 0


def test_extension_needs_approval_and_the_work_order_is_idempotent(province, mailbox):
    letter = write(mailbox, external_ref="GD2026112500001", received_at=timezone.make_aware(datetime(2026, 3, 2, 9)))
    again = write(mailbox, external_ref="GD2026112500001")
    assert again.pk == letter.pk and Letter.objects.count() == 1
    due = letter.due_at
    ext = services.request_extension(letter, 5, "需要现场核实", province.users["czt_handler"])
    letter.refresh_from_db()
    assert letter.due_at == due
    services.decide_extension(ext, True, province.users["czt_dispatcher"], "同意")
    letter.refresh_from_db()
    assert timezone.localtime(letter.due_at).date().isoformat() == "2026-03-16" and letter.extended_days == 5
