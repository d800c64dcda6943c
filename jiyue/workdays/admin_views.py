"""工作日历 in the admin: the year's holidays and make-up working days, as the deadlines count them.

The platform operator adds, edits and deletes days (`SpecialDay`) and confirms a year
(`CalendarYear`) with its basis (the State Council's notice); the system administrator reads;
anyone else gets 403, audited. Every change is audited. A banner warns when next year's
schedule is not known yet (neither the chinese-calendar package nor the operator has it):
deadlines reaching into that year count weekends only until it is entered.
Reads through `jiyue.workdays.calendar`; writes the workdays models.
"""

from __future__ import annotations

import calendar as cal
from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiyue import audit
from jiyue.accounts import policy
from jiyue.accounts.models import Role
from jiyue.core.admin_views import AdminPage

from . import calendar
from .models import CalendarYear, SpecialDay

MIN_YEAR, MAX_YEAR = 2000, 2100


def can_read(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or policy.has_role(
        user, Role.PLATFORM_OPERATOR) or policy.has_role(user, Role.SYSTEM_ADMIN)


def can_manage(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or policy.has_role(user, Role.PLATFORM_OPERATOR)


class SpecialDayForm(forms.ModelForm):
    class Meta:
        model = SpecialDay
        fields = ["date", "kind", "name"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date"].error_messages["invalid"] = _("请输入有效的日期，格式为 YYYY-MM-DD。")

    def clean_name(self):
        return (self.cleaned_data.get("name") or "").replace("\x00", "").strip()

    def validate_unique(self):
        pass  # saving a date that has a row already replaces that row (see WorkdaysView.post)


class ConfirmYearForm(forms.Form):
    year = forms.IntegerField(label=gettext_lazy("年份"), min_value=MIN_YEAR, max_value=MAX_YEAR)
    note = forms.CharField(label=gettext_lazy("依据"), max_length=200,
                           error_messages={"required": gettext_lazy("请填写依据（国务院办公厅的通知）。")},
                           help_text=gettext_lazy("如：国务院办公厅关于2027年部分节假日安排的通知。"))

    def clean_note(self):
        note = (self.cleaned_data.get("note") or "").replace("\x00", "").strip()
        if not note:
            raise forms.ValidationError(_("请填写依据（国务院办公厅的通知）。"))
        return note


def _year(value) -> int:
    try:
        y = int(value)
    except (TypeError, ValueError):
        return timezone.localdate().year
    return y if MIN_YEAR <= y <= MAX_YEAR else timezone.localdate().year


def months(year: int) -> list[dict]:
    """Twelve month grids (weeks from Monday) with each day's status and source."""
    special = {d["date"]: d for d in calendar.year_days(year)}
    today = timezone.localdate()
    out = []
    for m in range(1, 13):
        weeks = []
        for week in cal.Calendar(firstweekday=0).monthdatescalendar(year, m):
            row = []
            for d in week:
                if d.month != m:
                    row.append(None)
                    continue
                s = special.get(d)
                if s is not None:
                    kind = "makeup" if s["working"] else "holiday"
                    title = s["name"] or (_("调休上班") if s["working"] else _("放假"))
                    source = s["source"]
                else:
                    kind = "weekend" if d.weekday() >= 5 else "workday"
                    title, source = "", ""
                row.append({"day": d.day, "date": d, "kind": kind, "title": title,
                            "source": source, "today": d == today})
            weeks.append(row)
        out.append({"month": m, "weeks": weeks})
    return out


class WorkdaysView(AdminPage):
    template_name = "workdays/admin/calendar.html"
    page_title = gettext_lazy("工作日历")
    header_icon = "date"

    def dispatch(self, request, *args, **kwargs):
        allowed = can_read(request.user) and (request.method in ("GET", "HEAD")
                                              or can_manage(request.user))
        if not allowed:
            audit.record(request.user, None, None, "workdays.admin.view", None, outcome="denied",
                         path=request.path[:200], method=request.method)
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, day_form=None, year_form=None, **kwargs):
        year = _year(self.request.GET.get("year", kwargs.get("year")))
        today = timezone.localdate()
        edit = None
        if day_form is None:
            try:
                edit_date = date.fromisoformat(self.request.GET.get("edit", ""))
                edit = SpecialDay.objects.filter(date=edit_date).first()
            except ValueError:
                edit = None
            day_form = SpecialDayForm(instance=edit) if edit else SpecialDayForm(
                initial={"date": date(year, 1, 1) if year != today.year else today})
        confirmed = CalendarYear.objects.filter(year=year).select_related("confirmed_by").first()
        if year_form is None:
            year_form = ConfirmYearForm(initial={"year": year, "note": confirmed.note if confirmed else ""})
        rng = calendar.package_years()
        unknown = calendar.unknown_years(today, today + timedelta(days=366))
        days = calendar.year_days(year)
        operator_days = SpecialDay.objects.filter(date__year=year).select_related("updated_by")
        return {**super().get_context_data(**kwargs), "year": year, "prev": year - 1,
                "next": year + 1, "months": months(year), "days": days,
                "operator_days": operator_days, "day_form": day_form, "year_form": year_form,
                "editing": edit or (day_form.instance if day_form.instance.pk else None),
                "confirmed": confirmed, "known": calendar.year_known(year),
                "package_range": rng, "in_package": bool(rng and rng[0] <= year <= rng[1]),
                "unknown": unknown, "next_year": today.year + 1,
                "can_manage": can_manage(self.request.user),
                "holidays": sum(1 for d in days if not d["working"]),
                "makeups": sum(1 for d in days if d["working"]),
                "weekdays": [_("一"), _("二"), _("三"), _("四"), _("五"), _("六"), _("日")]}

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action", "")
        year = _year(request.GET.get("year"))
        if action == "save_day":
            form = SpecialDayForm(request.POST)
            if not form.is_valid():
                return self.render_to_response(self.get_context_data(day_form=form), status=422)
            data = form.cleaned_data
            with transaction.atomic():
                day, created = SpecialDay.objects.update_or_create(
                    date=data["date"], defaults={"kind": data["kind"], "name": data["name"],
                                                 "updated_by": request.user})
                audit.record(request.user, None, None,
                             "workdays.day.create" if created else "workdays.day.update", day,
                             object_type="workdays.specialday", object_id=data["date"].isoformat(),
                             kind=data["kind"])
            messages.success(request, _("已保存：%(day)s") % {"day": str(day)})
            return redirect(f"{reverse('jiyue_workdays')}?year={data['date'].year}")
        if action == "delete_day":
            day = SpecialDay.objects.filter(pk=_int(request.POST.get("day"))).first()
            if day is not None:
                with transaction.atomic():
                    audit.record(request.user, None, None, "workdays.day.delete", day,
                                 object_type="workdays.specialday", object_id=day.date.isoformat())
                    day.delete()
                messages.success(request, _("已删除：%(day)s") % {"day": str(day)})
                year = day.date.year
            return redirect(f"{reverse('jiyue_workdays')}?year={year}")
        if action == "confirm_year":
            form = ConfirmYearForm(request.POST)
            if not form.is_valid():
                return self.render_to_response(self.get_context_data(year_form=form), status=422)
            y, note = form.cleaned_data["year"], form.cleaned_data["note"]
            with transaction.atomic():
                CalendarYear.objects.update_or_create(year=y, defaults={"note": note,
                                                                       "confirmed_by": request.user})
                audit.record(request.user, None, None, "workdays.year.confirm", str(y),
                             object_type="workdays.calendaryear", object_id=str(y), note=note)
            messages.success(request, _("已确认 %(y)s 年的节假日安排。") % {"y": y})
            return redirect(f"{reverse('jiyue_workdays')}?year={y}")
        if action == "unconfirm_year":
            y = _year(request.POST.get("year"))
            with transaction.atomic():
                if CalendarYear.objects.filter(year=y).delete()[0]:
                    audit.record(request.user, None, None, "workdays.year.unconfirm", str(y),
                                 object_type="workdays.calendaryear", object_id=str(y))
            messages.success(request, _("已撤销 %(y)s 年的确认。") % {"y": y})
            return redirect(f"{reverse('jiyue_workdays')}?year={y}")
        messages.error(request, _("未知的操作。"))
        return redirect(f"{reverse('jiyue_workdays')}?year={year}")


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
