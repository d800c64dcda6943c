"""工作日历 in the admin: who may see and edit it, the year view, editing days, confirming a year
and the warning when next year's schedule is not known yet."""

from __future__ import annotations

from datetime import date

from freezegun import freeze_time

from jiyue.audit.models import AuditEntry
from jiyue.workdays import calendar
from jiyue.workdays.models import CalendarYear, SpecialDay

URL = "/admin/workdays/"


def _refused(r) -> bool:
    """403 from the view, or Wagtail's redirect to the dashboard for a PermissionDenied."""
    return r.status_code == 403 or (r.status_code == 302 and r["Location"] == "/admin/")


def test_only_the_operator_edits_the_system_admin_reads_others_are_refused(client, province):
    for name in ("czt_site_admin", "czt_dispatcher", "audit_admin"):
        client.force_login(province.users[name])
        assert _refused(client.get(URL)), name
    denied = AuditEntry.objects.filter(action="workdays.admin.view", outcome="denied")
    assert denied.count() >= 2  # the audit admin is stopped before the view, elsewhere
    client.force_login(province.users["system_admin"])
    html = client.get(URL, {"year": 2026}).content.decode()
    assert "工作日历" in html and "添加放假或调休上班日期" not in html
    r = client.post(URL, {"action": "save_day", "date": "2027-01-01", "kind": "holiday", "name": "元旦"})
    assert _refused(r) and not SpecialDay.objects.exists()
    client.force_login(province.users["platform_operator"])
    assert "添加放假或调休上班日期" in client.get(URL).content.decode()


def test_year_view_marks_the_packages_holidays_and_make_up_days(client, province):
    client.force_login(province.users["platform_operator"])
    html = client.get(URL, {"year": 2026}).content.decode()
    assert "2026 年" in html and "10 月" in html and "chinese-calendar" in html
    assert 'class="wd-holiday" title="国庆节">1<' in html       # 1 October
    assert 'class="wd-makeup" title="国庆节调休">10<' in html   # Saturday 10 October works
    assert "系统自带数据" in html


def test_editing_days_changes_the_deadlines_and_is_audited(client, province):
    client.force_login(province.users["platform_operator"])
    start = date(2026, 12, 31)
    assert calendar.add_working_days(start, 1) == date(2027, 1, 1)  # 2027 unknown: weekdays work
    r = client.post(f"{URL}?year=2027", {"action": "save_day", "date": "2027-01-01",
                                         "kind": "holiday", "name": "元旦"})
    assert r.status_code == 302 and r["Location"].endswith("?year=2027")
    calendar.invalidate()
    assert calendar.add_working_days(start, 1) == date(2027, 1, 4)
    html = client.get(URL, {"year": 2027}).content.decode()
    assert 'class="wd-holiday wd-operator" title="元旦">1<' in html and "平台运营者" in html
    # saving the same date again replaces the row (here: a make-up working day instead)
    client.post(URL, {"action": "save_day", "date": "2027-01-01", "kind": "workday", "name": "测试"})
    assert SpecialDay.objects.get().kind == "workday"
    # bad input: a clear message, nothing stored
    r = client.post(URL, {"action": "save_day", "date": "2027-13-45", "kind": "holiday", "name": "x"})
    assert r.status_code == 422 and "有效的日期" in r.content.decode()
    r = client.post(URL, {"action": "save_day", "date": "1999-01-01", "kind": "holiday", "name": "x"})
    assert r.status_code == 422 and "2000年至2100年" in r.content.decode()
    r = client.post(URL, {"action": "save_day", "date": "2027-02-01", "kind": "party", "name": "x"})
    assert r.status_code == 422 and SpecialDay.objects.count() == 1
    day = SpecialDay.objects.get()
    client.post(URL, {"action": "delete_day", "day": day.pk})
    calendar.invalidate()
    assert not SpecialDay.objects.exists() and calendar.is_working_day(date(2027, 1, 1))
    actions = set(AuditEntry.objects.filter(action__startswith="workdays.").values_list("action", flat=True))
    assert {"workdays.day.create", "workdays.day.update", "workdays.day.delete"} <= actions


@freeze_time("2026-11-25 10:00:00+08:00")
def test_next_year_unknown_warns_until_it_is_confirmed(client, province):
    assert calendar.package_years()[1] == 2026  # the installed package knows up to 2026
    client.force_login(province.users["system_admin"])
    html = client.get(URL).content.decode()
    assert "2027 年的节假日安排尚未维护" in html and 'role="alert"' in html
    client.force_login(province.users["platform_operator"])
    r = client.post(URL, {"action": "confirm_year", "year": "2027", "note": " "})
    assert r.status_code == 422 and "请填写依据" in r.content.decode()
    r = client.post(URL, {"action": "confirm_year", "year": "2027",
                          "note": "国务院办公厅关于2027年部分节假日安排的通知"})
    assert r.status_code == 302
    calendar.invalidate()
    assert calendar.year_known(2027)
    html = client.get(URL, {"year": 2027}).content.decode()
    assert "尚未维护" not in html and "国务院办公厅关于2027年部分节假日安排的通知" in html
    assert CalendarYear.objects.get(year=2027).confirmed_by == province.users["platform_operator"]
    assert AuditEntry.objects.filter(action="workdays.year.confirm").exists()
    client.post(URL, {"action": "unconfirm_year", "year": "2027"})
    calendar.invalidate()
    assert "2027 年的节假日安排尚未维护" in client.get(URL).content.decode()
