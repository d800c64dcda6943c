"""The working-day calendar's own data: what the platform operator entered.

The official schedules come from the `chinese-calendar` package (the State Council's yearly
notices, as far as the installed version knows them); `SpecialDay` rows override and extend
it (a year the package does not know yet, a local adjustment), and `CalendarYear` records that
the operator has entered (confirmed) a whole year's schedule. See `jiyue.workdays.calendar`.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class SpecialDay(models.Model):
    HOLIDAY, WORKDAY = "holiday", "workday"
    KINDS = [(HOLIDAY, _("放假")), (WORKDAY, _("调休上班"))]

    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=KINDS)
    name = models.CharField(_("名称"), max_length=40, blank=True,
                            help_text=_("如：春节、国庆节、春节调休。"))
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("维护人"), null=True,
                                   blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(_("维护时间"), auto_now=True)

    class Meta:
        verbose_name = _("节假日调整")
        verbose_name_plural = _("节假日调整")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.get_kind_display()} {self.name}".strip()

    def clean(self):
        if self.date and not 2000 <= self.date.year <= 2100:
            raise ValidationError({"date": _("日期须在2000年至2100年之间。")})


class CalendarYear(models.Model):
    """A year whose schedule the operator has entered and confirmed (needed for the years the
    package does not know: without it, deadlines in that year count weekends only and the
    admin warns)."""

    year = models.PositiveSmallIntegerField(_("年份"), primary_key=True)
    note = models.CharField(_("依据"), max_length=200, blank=True,
                            help_text=_("如：国务院办公厅关于2027年部分节假日安排的通知。"))
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("确认人"), null=True,
                                     blank=True, on_delete=models.SET_NULL, related_name="+")
    confirmed_at = models.DateTimeField(_("确认时间"), auto_now=True)

    class Meta:
        verbose_name = _("已维护年度")
        verbose_name_plural = _("已维护年度")
        ordering = ["-year"]

    def __str__(self):
        return str(self.year)
