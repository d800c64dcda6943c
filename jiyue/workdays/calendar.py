"""Working days: the one place that counts statutory deadlines (letters, 找错, 依申请公开 …).

A day is a working day unless it is a holiday; Saturdays and Sundays are holidays unless they
are make-up working days (调休上班). Where a day's status comes from, first match wins:

1. the operator's `SpecialDay` rows (the 工作日历 admin screen): a year the package does not
   know yet, or a local adjustment;
2. the `chinese-calendar` package (the State Council's yearly schedules it ships);
3. the week: Monday to Friday work.

Counting follows the administrative rule that the day a period starts is not counted: a
deadline of N working days after a letter received on day D is the N-th working day after D,
at the end of that day (local time). Pauses (a 补正 notice, consulting a third party) are date
ranges whose days do not count.

Public interface: `is_working_day`, `add_working_days`, `deadline`, `working_days_between`,
`remaining`, `year_known`, `unknown_years`, `year_days`, `package_years`, `invalidate`.
No other app reads the models.
"""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, time as dtime, timedelta
from typing import Iterable

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

CHECK_SECONDS = 5.0  # how often a process looks for the operator's changes made elsewhere
MAX_DAYS = 2000      # no deadline is further than this many calendar days away

# The package's holiday names (English) in Chinese.
NAMES = {
    "New Year's Day": gettext_lazy("元旦"), "Spring Festival": gettext_lazy("春节"),
    "Tomb-sweeping Day": gettext_lazy("清明节"), "Labour Day": gettext_lazy("劳动节"),
    "Dragon Boat Festival": gettext_lazy("端午节"), "National Day": gettext_lazy("国庆节"),
    "Mid-autumn Festival": gettext_lazy("中秋节"),
    "Anti-Fascist 70th Day": gettext_lazy("中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日"),
}

_lock = threading.Lock()
_state: dict | None = None
_checked = 0.0


def _package():
    try:
        from chinese_calendar import constants
    except Exception:  # noqa: BLE001 - without the package: weekends and the operator's days
        return {}, {}
    return constants.holidays, constants.workdays


def package_years() -> tuple[int, int] | None:
    """The first and last year the installed chinese-calendar knows."""
    holidays, _w = _package()
    if not holidays:
        return None
    return min(holidays).year, max(holidays).year


def _version():
    from django.db.models import Count, Max

    from .models import CalendarYear, SpecialDay

    a = SpecialDay.objects.aggregate(n=Count("pk"), m=Max("updated_at"))
    b = CalendarYear.objects.aggregate(n=Count("pk"), m=Max("confirmed_at"))
    return (a["n"], str(a["m"]), b["n"], str(b["m"]))


def _load() -> dict:
    from .models import CalendarYear, SpecialDay

    try:
        version = _version()
        special = {d: (k, n) for d, k, n in SpecialDay.objects.values_list("date", "kind", "name")}
        years = set(CalendarYear.objects.values_list("year", flat=True))
    except Exception:  # noqa: BLE001 - no table yet (before migrate): the package alone
        version, special, years = None, {}, set()
    return {"version": version, "special": special, "years": years}


def _get() -> dict:
    global _state, _checked
    now = time.monotonic()
    st = _state
    if st is not None and now - _checked < CHECK_SECONDS:
        return st
    with _lock:
        if _state is not None and time.monotonic() - _checked < CHECK_SECONDS:
            return _state
        try:
            version = _version()
        except Exception:  # noqa: BLE001
            version = None
        if _state is None or version != _state["version"]:
            _state = _load()
        _checked = time.monotonic()
        return _state


def invalidate() -> None:
    """Forget the cached calendar (called when the operator changes it)."""
    global _state, _checked
    with _lock:
        _state, _checked = None, 0.0


def _as_date(value) -> date:
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.date()
    if isinstance(value, date):
        return value
    raise TypeError("a date or datetime is required")


def day_status(d) -> tuple[bool, str, str]:
    """(working, name, source) of a day; source: "operator", "package" or "week"."""
    d = _as_date(d)
    st = _get()
    hit = st["special"].get(d)
    if hit is not None:
        return hit[0] == "workday", hit[1], "operator"
    holidays, workdays = _package()
    if d in holidays:
        return False, str(NAMES.get(holidays[d], holidays[d])), "package"
    if d in workdays:
        return True, _("%(name)s调休") % {"name": NAMES.get(workdays[d], workdays[d])}, "package"
    return d.weekday() < 5, "", "week"


def is_working_day(d) -> bool:
    return day_status(d)[0]


def _paused(d: date, pauses) -> bool:
    for a, b in pauses:
        if a <= d <= b:
            return True
    return False


def _norm_pauses(pauses) -> list[tuple[date, date]]:
    out = []
    for p in pauses or ():
        a, b = _as_date(p[0]), _as_date(p[1])
        out.append((a, b) if a <= b else (b, a))
    return out


def add_working_days(start, n: int, pauses: Iterable = ()) -> date:
    """The n-th working day after `start` (the start day itself is not counted; days inside
    a pause do not count). n = 0 gives the start day."""
    d = _as_date(start)
    n = int(n)
    if n < 0:
        raise ValueError("n must not be negative")
    pauses = _norm_pauses(pauses)
    counted = 0
    for _i in range(MAX_DAYS):
        if counted >= n:
            return d
        d += timedelta(days=1)
        if is_working_day(d) and not _paused(d, pauses):
            counted += 1
    raise ValueError("deadline too far away")


def end_of_day(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, dtime(23, 59, 59)))


def deadline(start, n: int, pauses: Iterable = ()) -> datetime:
    """The end (23:59:59 local time) of the n-th working day after `start`."""
    return end_of_day(add_working_days(start, n, pauses))


def working_days_between(a, b, pauses: Iterable = ()) -> int:
    """Working days d with a < d <= b (0 when b <= a), pauses not counted."""
    a, b = _as_date(a), _as_date(b)
    if b <= a:
        return 0
    if (b - a).days > MAX_DAYS * 10:
        raise ValueError("range too long")
    pauses = _norm_pauses(pauses)
    n, d = 0, a
    while d < b:
        d += timedelta(days=1)
        if is_working_day(d) and not _paused(d, pauses):
            n += 1
    return n


def remaining(due, now=None) -> int:
    """Working days left until `due`: 0 on the due day itself, negative once overdue
    (-1 on the first working day after it)."""
    now = now or timezone.now()
    today, due_day = _as_date(now), _as_date(due)
    if today <= due_day:
        return working_days_between(today, due_day)
    return -working_days_between(due_day, today)


def year_known(year: int) -> bool:
    """Whether the schedule of this year is known (the package, or confirmed by the operator)."""
    rng = package_years()
    if rng and rng[0] <= year <= rng[1]:
        return True
    return year in _get()["years"]


def unknown_years(start, end) -> list[int]:
    """The years between two dates whose schedule is not known (deadlines there count
    weekends only: the admin warns about them)."""
    a, b = _as_date(start), _as_date(end)
    if b < a:
        a, b = b, a
    return [y for y in range(a.year, b.year + 1) if not year_known(y)]


def year_days(year: int) -> list[dict]:
    """Every holiday and make-up working day of a year, from all sources, by date: what the
    工作日历 screen shows ({date, working, name, source})."""
    out = []
    d = date(year, 1, 1)
    while d.year == year:
        working, name, source = day_status(d)
        if source != "week":
            out.append({"date": d, "working": working, "name": name, "source": source})
        d += timedelta(days=1)
    return out
