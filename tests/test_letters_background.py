"""What happens to letters in the background: screening (sensitive words, duplicates, routing
suggestion) after submission, and the clock (warnings, escalation, inspection alerts, e-mails)."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from jiyue.core import outbox
from jiyue.core.models import Event
from jiyue.letters import clock, routing, services
from jiyue.letters.models import Letter, LetterStep, Mailbox, Status
from jiyue.letters.screening import CONSUMER as SCREENING, screen_letters
from jiyue.screening import matcher
from jiyue.screening.models import SensitiveWord


@pytest.fixture(autouse=True)
def _fresh_caches(settings):
    settings.JIYUE_OUTBOX_LAG_SECONDS = 0  # PostgreSQL waits 5 s for late commits by default
    matcher.invalidate()
    routing.invalidate()
    yield
    matcher.invalidate()
    routing.invalidate()


@pytest.fixture
def mailbox(province):
    return Mailbox.objects.create(organisation=province.orgs["czt"], site=province.sites["czt"],
                                  kind=Mailbox.DEPARTMENT, name="财政厅信箱", allow_anonymous=True)


@pytest.fixture
def governor(province):
    return Mailbox.objects.create(organisation=province.orgs["portal"], site=province.sites["portal"],
                                  kind=Mailbox.LEADER, name="省长信箱", allow_anonymous=True)


def at(*args) -> datetime:
    return timezone.make_aware(datetime(*args))


def write(mailbox, **kw):
    args = dict(mailbox=mailbox, type="consult", title="关于惠民补贴发放时间的咨询",
                content="请问2026年度惠民补贴什么时候发放？", anonymous=True, name="张三",
                phone="13800138000")
    args.update(kw)
    return services.submit(**args)


def screened(letter) -> Letter:
    outbox.dispatch(SCREENING)
    return Letter.objects.get(pk=letter.pk)


# --- screening ----------------------------------------------------------------------------------

def test_screening_flags_words_sets_the_step_and_never_the_status(province, mailbox):
    SensitiveWord.objects.create(word="代开发票", category="illegal", level="block")
    letter = screened(write(mailbox, title="举报有人代开 发票", content="小区门口有人代开发票，请查处。",
                            type="report"))
    assert letter.status == Status.SUBMITTED and letter.screened_at is not None
    assert [(h["word"], h["field"]) for h in letter.sensitive_words] == [("代开发票", "title"),
                                                                        ("代开发票", "content")]
    assert letter.title[slice(*letter.sensitive_words[0]["span"])] == "代开 发票"
    assert letter.data["screening"]["level"] == "block"
    step = LetterStep.objects.get(letter=letter, action="screen")
    assert not step.public and "代开发票" in step.note
    # idempotent: running again (a retried event, the catch-up) changes nothing
    Event.objects.filter(topic="letter.submitted").update()
    assert screen_letters([letter.pk]) == 0
    outbox.dispatch(SCREENING)
    assert LetterStep.objects.filter(letter=letter, action="screen").count() == 1
    clean = screened(write(mailbox, phone="13900000000", content="请问公积金如何提取？"))
    assert clean.sensitive_words == [] and clean.data["screening"]["level"] == ""


def test_screening_works_in_batches(province, mailbox, django_assert_max_num_queries):
    ids = [write(mailbox, phone=f"1380000{i:04d}", content=f"第{i}号来信：请问惠民补贴第{i}批次何时发放到账？").pk
           for i in range(150)]
    with django_assert_max_num_queries(40):  # a batch costs a few queries, not a few per letter
        assert screen_letters(ids[:120]) == 120
    outbox.dispatch(SCREENING)  # the rest through the consumer
    assert not Letter.objects.filter(screened_at__isnull=True).exists()
    assert LetterStep.objects.filter(action="screen").count() == 150


def test_duplicates_same_writer_same_text_and_not_after_30_days(province, mailbox):
    text = "我是幸福小区的住户，小区门口的路灯已经坏了两个月，晚上出行很不安全，请尽快维修。"
    first = write(mailbox, content=text, received_at=timezone.now() - timedelta(days=3))
    again = write(mailbox, content=text.replace("两个月", "两个多月") + "谢谢！")  # same phone
    other_writer = write(mailbox, content=text + "！", phone="13911112222", name="李四")
    unrelated = write(mailbox, content="请问今年的高考报名时间是什么时候？需要准备哪些材料？",
                      phone="13911113333")
    old = write(mailbox, content="关于幸福小区化粪池满溢问题的反映，已经持续很久，希望尽快处理。",
                phone="13700000000", received_at=timezone.now() - timedelta(days=40))
    late = write(mailbox, content="关于幸福小区化粪池满溢问题的反映，已经持续很久，希望尽快处理。",
                 phone="13700000000")
    outbox.dispatch(SCREENING)
    dup = dict(Letter.objects.values_list("pk", "duplicate_of_id"))
    assert dup[first.pk] is None
    assert dup[again.pk] == first.pk          # the same writer (phone), similar text
    assert dup[other_writer.pk] == first.pk   # someone else, near-identical text
    assert dup[unrelated.pk] is None
    assert dup[late.pk] is None               # the earlier one is older than 30 days
    reason = Letter.objects.get(pk=again.pk).data["screening"]["duplicate"]["reason"]
    assert reason == "writer"


def test_routing_suggests_the_department_named_or_whose_duties_match(province, governor):
    finance = screened(write(governor, title="关于财政厅专项资金拨付的咨询",
                             content="请问省财政厅今年的专项资金什么时候拨付到县里？"))
    assert finance.suggested_organisation == province.orgs["czt"]
    assert any("财政" in r for r in finance.data["routing"]["reasons"])
    school = screened(write(governor, title="孩子入学问题", phone="13900000001",
                            content="孩子今年上小学，学区划分和招生入学政策在哪里查询？学校说要等通知。"))
    assert school.suggested_organisation == province.orgs["jyt"]
    vague = screened(write(governor, title="你好", content="有个事情想反映一下，请回电。",
                           phone="13900000002"))
    assert vague.suggested_organisation is None
    assert vague.status == Status.SUBMITTED and vague.organisation == province.orgs["portal"]


def test_routing_learns_from_letters_dispatchers_routed(province, governor):
    d = province.users["portal_dispatcher"]
    for i in range(6):  # past letters about 彩礼 routed to the education department (say)
        past = write(governor, title=f"彩礼问题{i}", content=f"村里彩礼越来越高，婚嫁负担重，第{i}次反映。",
                     phone=f"1391234{i:04d}")
        services.act(past, "transfer", d, to_organisation=province.orgs["jyt"])
    for i in range(6):
        past = write(governor, title=f"桥梁问题{i}", content=f"村口石桥年久失修，车辆通行危险，第{i}次反映。",
                     phone=f"1381234{i:04d}")
        services.act(past, "transfer", d, to_organisation=province.orgs["czt"])
    routing.invalidate()
    new = screened(write(governor, title="彩礼太高", content="我们这里彩礼越来越高，婚嫁负担很重，希望治理。",
                         phone="13500000000"))
    assert new.suggested_organisation == province.orgs["jyt"]
    assert "相似" in new.data["routing"]["reasons"][0]


def test_department_mailbox_only_routes_within_its_organisation(province, mailbox):
    letter = screened(write(mailbox, title="学校招生咨询", content="请问教育厅今年的学校招生入学政策？"))
    assert letter.suggested_organisation_id in (None, province.orgs["czt"].pk)


# --- the clock ----------------------------------------------------------------------------------

def alerts(kind=None):
    qs = Event.objects.filter(topic="letter.alert").order_by("id")
    return [e.payload for e in qs if kind is None or e.payload["kind"] == kind]


def test_national_day_letter_is_warned_then_escalated_once(province, mailbox):
    letter = write(mailbox, received_at=at(2024, 9, 30, 16))  # the day before the 7-day holiday
    assert timezone.localtime(letter.due_at).date().isoformat() == "2024-10-12"  # a make-up Saturday
    clock.check(at(2024, 10, 5, 10))       # holiday: 5 working days left
    clock.check(at(2024, 10, 10, 10))      # Thursday: 2 left
    assert alerts() == []
    summary = clock.check(at(2024, 10, 11, 9))  # Friday: 1 working day left
    assert summary.warned == 1 and summary.escalated == 0
    assert clock.check(at(2024, 10, 11, 15)).warned == 0  # once
    letter.refresh_from_db()
    assert letter.warned_at == at(2024, 10, 11, 9) and letter.status == Status.SUBMITTED
    assert clock.check(at(2024, 10, 12, 23)).escalated == 0  # still the due day
    summary = clock.check(at(2024, 10, 14, 8))  # Monday
    assert summary.escalated == 1
    assert clock.check(at(2024, 10, 14, 12)).escalated == 0
    assert [a["kind"] for a in alerts()] == ["warn", "escalate"]
    assert alerts("warn")[0]["remaining"] == 1 and alerts("escalate")[0]["overdue"] == 1
    assert alerts("escalate")[0]["notify"] == [province.orgs["czt"].pk, province.orgs["portal"].pk]
    steps = list(letter.steps.filter(action__in=["warn", "escalate"]).values_list("action", "public"))
    assert steps == [("warn", False), ("escalate", False)]


def test_an_approved_extension_moves_the_clock(province, mailbox):
    letter = write(mailbox, received_at=at(2024, 9, 30, 16))
    d, h = province.users["czt_dispatcher"], province.users["czt_handler"]
    services.act(letter, "accept", d)
    services.act(letter, "assign", d)
    clock.check(at(2024, 10, 11, 9))
    ext = services.request_extension(letter, 5, "需要会同其他部门核实", h)
    services.decide_extension(ext, True, d)
    assert clock.check(at(2024, 10, 14, 8)).escalated == 0  # new deadline 2024-10-19
    assert clock.check(at(2024, 10, 18, 9)).warned == 1


def test_unanswered_consultation_alerts_at_30_60_and_80_days_once_each(province, mailbox):
    now = timezone.now()
    letter = write(mailbox, received_at=now - timedelta(days=31))
    answered = write(mailbox, phone="13900000000", received_at=now - timedelta(days=31))
    d, h = province.users["czt_dispatcher"], province.users["czt_handler"]
    services.act(answered, "accept", d)
    services.act(answered, "assign", d)
    services.act(answered, "draft", h, reply="已答复。")
    services.act(answered, "approve", d)
    write(mailbox, type="suggest", phone="13900000001", received_at=now - timedelta(days=31))
    rejected = write(mailbox, phone="13900000002", received_at=now - timedelta(days=31))
    services.act(rejected, "reject", d, note="重复来信")
    assert clock.check(now).inspection == {30: 1, 60: 0, 80: 0}
    assert clock.check(now).inspection == {30: 0, 60: 0, 80: 0}
    assert clock.check(now + timedelta(days=30)).inspection == {30: 0, 60: 1, 80: 0}
    assert clock.check(now + timedelta(days=50)).inspection == {30: 0, 60: 0, 80: 1}
    assert clock.check(now + timedelta(days=58)).inspection == {30: 0, 60: 0, 80: 0}
    got = [(a["days"], a["level"]) for a in alerts("inspection")]
    assert got == [(30, "warning"), (60, "serious"), (80, "critical")]
    assert all(a["serial"] == Letter.objects.get(pk=letter.pk).serial for a in alerts("inspection"))
    assert set(Letter.objects.get(pk=letter.pk).data["inspection"]) == {"30", "60", "80"}


def test_a_consultation_first_seen_late_gets_one_alert_at_the_highest_level(province, mailbox):
    write(mailbox, received_at=timezone.now() - timedelta(days=85))
    clock.check()
    assert [(a["days"], a["level"]) for a in alerts("inspection")] == [(80, "critical")]
    assert clock.check().inspection == {30: 0, 60: 0, 80: 0}


def test_alerts_are_mailed_to_the_organisations_dispatchers(province, mailbox, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    users = province.users
    for name in ("czt_dispatcher", "czt_handler", "jyt_dispatcher", "portal_dispatcher", "platform_operator"):
        users[name].email = f"{name}@example.gov.cn"
        users[name].save()
    write(mailbox, received_at=at(2024, 9, 30, 16), title="私人的标题")
    clock.check(at(2024, 10, 11, 9))
    outbox.dispatch(clock.CONSUMER)
    assert [m.to for m in mail.outbox] == [["czt_dispatcher@example.gov.cn"]]
    assert "到期提醒" in mail.outbox[0].subject and "私人的标题" not in mail.outbox[0].body
    mail.outbox.clear()
    clock.check(at(2024, 10, 14, 8))
    outbox.dispatch(clock.CONSUMER)
    assert sorted(m.to[0] for m in mail.outbox) == ["czt_dispatcher@example.gov.cn",
                                                    "portal_dispatcher@example.gov.cn"]
    mail.outbox.clear()
    write(mailbox, phone="13900000000", received_at=timezone.now() - timedelta(days=81))
    clock.check(screen=False)
    outbox.dispatch(clock.CONSUMER)
    to = sorted(m.to[0] for m in mail.outbox)
    assert "platform_operator@example.gov.cn" in to and "czt_dispatcher@example.gov.cn" in to
    assert "jyt_dispatcher@example.gov.cn" not in to
    assert any("3个月" in m.body for m in mail.outbox)


def test_letters_check_command_prints_a_summary(province, mailbox):
    write(mailbox, received_at=at(2024, 9, 30, 16))
    out = StringIO()
    call_command("letters", "check", "--now", "2024-10-14T08:00", stdout=out)
    text = out.getvalue()
    assert "超期督办 1 封" in text and "其中已超期 1 封" in text
    out = StringIO()
    call_command("letters", "check", "--now", "2024-10-14T09:00", stdout=out)
    assert "超期督办 0 封" in out.getvalue()
