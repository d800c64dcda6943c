"""CSV export of audit entries (admin download and `jiyue audit export`): UTF-8 with a BOM so
that Excel opens it, one row per entry, streamed."""

from __future__ import annotations

import csv
import json
from typing import Iterable, Iterator

from django.utils import timezone
from django.utils.translation import gettext as _

from .chain import iso_utc
from .models import AuditEntry

BOM = "\ufeff"


def header() -> list[str]:
    return [_("序号"), _("编号"), _("时间"), _("时间（UTC）"), _("用户"), _("用户假名"), _("机构"),
            _("来源地址"), _("事件类型"), _("对象类型"), _("对象标识"), _("对象"), _("结果"), _("详情"),
            _("哈希")]


def safe_cell(value) -> str:
    """Text that Excel would run as a formula (=, +, -, @, tab, CR) is prefixed with '."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def display_actor(e: AuditEntry) -> str:
    if e.actor_erased:
        return _("已注销用户 %(ref)s") % {"ref": e.actor_ref}
    return e.actor_name


def row(e: AuditEntry, org_names: dict) -> list[str]:
    org = org_names.get(e.organisation_id, f"#{e.organisation_id}") if e.organisation_id else ""
    return [safe_cell(v) for v in (
        e.seq if e.seq is not None else "", e.id,
        timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M:%S"), iso_utc(e.at),
        display_actor(e), e.actor_ref, org, e.source_address or "", e.action, e.object_type,
        e.object_id, e.object_repr, e.get_outcome_display(),
        json.dumps(e.detail, ensure_ascii=False, sort_keys=True) if e.detail else "", e.hash)]


class _Echo:
    def write(self, value):
        return value


def lines(queryset: Iterable[AuditEntry]) -> Iterator[str]:
    """The CSV text, line by line, starting with the BOM."""
    from jiyue.platform.models import Organisation

    writer = csv.writer(_Echo())
    org_names = dict(Organisation.objects.values_list("pk", "name"))
    yield BOM + writer.writerow(header())
    for e in queryset.iterator(chunk_size=2000) if hasattr(queryset, "iterator") else queryset:
        yield writer.writerow(row(e, org_names))
