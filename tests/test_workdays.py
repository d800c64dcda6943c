"""The working-day calendar: statutory deadlines counted on holidays and make-up working days."""

from datetime import date, datetime

import pytest
from django.utils import timezone

from jiyue.workdays import calendar
from jiyue.workdays.models import CalendarYear, SpecialDay

pytestmark = pytest.mark.django_db


def at(y, m, d, h=10):
    return timezone.make_aware(datetime(y, m, d, h))


def test_the_day_before_a_seven_day_national_holiday():
    # 2024: 国庆节 1–7 October, make-up working days Sunday 29 September and Saturday 12 October.
    assert not calendar.is_working_day(date(2024, 10, 1))
    assert calendar.is_working_day(date(2024, 10, 12))  # a Saturday worked
    received = at(2024, 9, 30, 16)
    due = calendar.deadline(received, 5)
    # the day of receipt is not counted; 8, 9, 10, 11 and (Saturday) 12 October are
    assert timezone.localtime(due).date() == date(2024, 10, 12)
    assert timezone.localtime(due).hour == 23
    assert calendar.add_working_days(date(2024, 9, 30), 20) == date(2024, 11, 1)


def test_spring_festival_and_weekends():
    # 2026 春节: 15–23 February off, Saturday 14 and Saturday 28 February worked
    assert calendar.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert calendar.add_working_days(date(2026, 2, 14), 1) == date(2026, 2, 24)
    assert calendar.working_days_between(date(2026, 2, 13), date(2026, 2, 28)) == 6
    assert calendar.add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Friday → Monday
    assert calendar.add_working_days(date(2026, 3, 6), 0) == date(2026, 3, 6)


def test_operator_days_override_and_extend_the_package():
    assert not calendar.year_known(2031)
    assert calendar.unknown_years(date(2030, 12, 20), date(2031, 1, 10)) == [2030, 2031]
    # 2031-01-01 is a Wednesday: without the operator's schedule it is a working day
    assert calendar.add_working_days(date(2030, 12, 31), 1) == date(2031, 1, 1)
    SpecialDay.objects.create(date=date(2031, 1, 1), kind=SpecialDay.HOLIDAY, name="元旦")
    SpecialDay.objects.create(date=date(2031, 1, 4), kind=SpecialDay.WORKDAY, name="元旦调休")
    CalendarYear.objects.create(year=2031, note="测试日历")
    assert calendar.year_known(2031)
    assert calendar.add_working_days(date(2030, 12, 31), 1) == date(2031, 1, 2)
    assert calendar.add_working_days(date(2031, 1, 3), 1) == date(2031, 1, 4)  # Saturday worked
    days = {d["date"]: d for d in calendar.year_days(2031)}
    assert days[date(2031, 1, 1)]["source"] == "operator" and not days[date(2031, 1, 1)]["working"]
    # an override inside a year the package knows wins too (a local adjustment)
    SpecialDay.objects.create(date=date(2026, 3, 9), kind=SpecialDay.HOLIDAY, name="测试")
    assert calendar.add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 10)


def test_pauses_do_not_count_and_remaining_goes_negative():
    # a 补正 notice paused the clock 10–16 March 2026 (five working days)
    pause = [(date(2026, 3, 10), date(2026, 3, 16))]
    assert calendar.add_working_days(date(2026, 3, 2), 20) == date(2026, 3, 30)
    assert calendar.add_working_days(date(2026, 3, 2), 20, pause) == date(2026, 4, 7)  # 4–6 April 清明
    due = calendar.deadline(date(2026, 3, 2), 3)  # Thursday 5 March
    assert calendar.remaining(due, now=at(2026, 3, 3)) == 2
    assert calendar.remaining(due, now=at(2026, 3, 5)) == 0
    assert calendar.remaining(due, now=at(2026, 3, 9)) == -2
    with pytest.raises(ValueError):
        calendar.add_working_days(date(2026, 3, 2), -1)
