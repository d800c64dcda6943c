"""索引号 generation: `<organisation code>/<year>[<month>]-<serial>` by a per-platform pattern.

The serial counts per organisation and per year (or per month when the pattern has {month}).
`next_serial` increments a counter row with a single UPDATE, which takes a row lock on
PostgreSQL and the database write lock on SQLite, so concurrent publishers never share a number;
the unique constraint on Resource.index_number is the backstop.
"""

from __future__ import annotations

import string
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

ALLOWED = {"org", "year", "month", "serial"}


def validate_pattern(pattern: str) -> None:
    try:
        fields = {f for _text, f, _spec, _conv in string.Formatter().parse(pattern) if f is not None}
    except ValueError as exc:
        raise ValueError(_("索引号格式无法解析：%(error)s") % {"error": exc}) from exc
    unknown = fields - ALLOWED
    if unknown:
        raise ValueError(_("索引号格式含未知字段：%(fields)s") % {"fields": ", ".join(sorted(unknown))})
    if not {"org", "serial"} <= fields:
        raise ValueError(_("索引号格式必须包含 {org} 和 {serial}。"))
    render(pattern, "000014349", datetime(2020, 1, 1), 1)


def period_of(pattern: str, when: datetime) -> str:
    return f"{when:%Y%m}" if "{month" in pattern else f"{when:%Y}"


def render(pattern: str, org_code: str, when: datetime, serial: int) -> str:
    return pattern.format(org=org_code, year=f"{when:%Y}", month=f"{when:%m}", serial=serial)


def next_serial(org_code: str, period: str) -> int:
    from .models import IndexNumberSequence

    with transaction.atomic():
        updated = IndexNumberSequence.objects.filter(org_code=org_code, period=period) \
            .update(last_serial=F("last_serial") + 1)
        if not updated:
            try:
                with transaction.atomic():
                    IndexNumberSequence.objects.create(org_code=org_code, period=period, last_serial=1)
                    return 1
            except IntegrityError:
                IndexNumberSequence.objects.filter(org_code=org_code, period=period) \
                    .update(last_serial=F("last_serial") + 1)
        return IndexNumberSequence.objects.filter(org_code=org_code, period=period) \
            .values_list("last_serial", flat=True).get()


def generate(org_code: str, when: datetime, pattern: str | None = None) -> str:
    if pattern is None:
        from jiyue.core.models import Platform

        pattern = Platform.current().index_number_pattern
    return render(pattern, org_code, when, next_serial(org_code, period_of(pattern, when)))
