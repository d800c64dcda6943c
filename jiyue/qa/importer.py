"""Loading a knowledge base from CSV: `jiyue faq import FILE.csv [--org NAME]`.

The file is UTF-8 (with or without BOM) with the header exactly `问题,答案,处理单位`. 问题 may be
empty (an answer alone is an entry); a row without 答案 is reported by its line number and
skipped; 处理单位 is matched to an organisation by name (see `OrgMatcher`) — unmatched names are
reported with their number of rows and those rows are kept at platform level (or given to
`--org`). Each row's identity is the SM3 of its normalised (问题, 答案, 处理单位), so importing the
same file again adds nothing. Rows are written in batches, one transaction per batch.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from jiyue.security.crypto import sm3_hex

from . import display

HEADER = ["问题", "答案", "处理单位"]
BATCH = 500
MAX_UNIT = 100


class ImportFailed(Exception):
    """The file cannot be imported at all (encoding, header, empty): a Chinese message."""


@dataclass
class ImportReport:
    rows: int = 0
    added: int = 0
    unchanged: int = 0
    platform_level: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    unmatched: Counter = field(default_factory=Counter)
    matched: Counter = field(default_factory=Counter)
    added_ids: list[int] = field(default_factory=list)


# --- matching 处理单位 to organisations -----------------------------------------------------

_BRACKETS = str.maketrans({"（": "(", "）": ")", "【": "(", "】": ")", "[": "(", "]": ")",
                           "〔": "(", "〕": ")", "［": "(", "］": ")", "｛": "(", "｝": ")"})
_SPACES = re.compile(r"\s+")
# An administrative region at the start of a name: 安徽省, 合肥市, 肥东县, 包河区 (at least two
# characters before the level word, so that 城市管理委 or 市场监督管理局 keep their name)
_REGION = re.compile(r"^[\u4e00-\u9fff]{2,7}?(?:自治区|自治州|自治县|特别行政区|省|市|县|区|盟|旗)")
# …or only the level word: 市应急局, 省财政厅, 区教育局
_LEVEL = re.compile(r"^(?:省|市|县|区)")
_ORG_END = "局厅委办室院会部处心站所队馆"


def normalise_name(name: str) -> str:
    """Spaces removed, full-width folded (NFKC), every kind of bracket made round."""
    text = unicodedata.normalize("NFKC", display.clean(name)).translate(_BRACKETS)
    return _SPACES.sub("", text)


def _core(name: str) -> str:
    """The name without the region it starts with: 合肥市应急管理局 → 应急管理局."""
    n = normalise_name(name)
    m = _REGION.match(n)
    return n[m.end():] if m and len(n) - m.end() >= 2 else n


def _cores(name: str) -> list[str]:
    """What a 处理单位 may stand for, most literal first: 合肥市应急局 → 应急局; 市应急局 →
    市应急局, 应急局 (市场监管局 also stays itself)."""
    core = _core(name)
    out = [core]
    m = _LEVEL.match(core)
    if m and len(core) - m.end() >= 2:
        out.append(core[m.end():])
    return out


def _abbreviates(short: str, full: str) -> bool:
    """`short` is an abbreviation of `full`: same first and last character, the rest in order
    (应急局 ↔ 应急管理局, 医保局 ↔ 医疗保障局, 人力资源社会保障局 ↔ 人力资源和社会保障局)."""
    if len(short) < 3 or len(short) > len(full) or short[0] != full[0] or short[-1] != full[-1]:
        return False
    it = iter(full)
    return all(c in it for c in short)


class OrgMatcher:
    """处理单位 → organisation: the full name or the short name (发文简称), exactly after
    normalising spaces and brackets; else the name without its region (市应急局, 应急局 for
    合肥市应急管理局) equal to, or else abbreviating, exactly one organisation's name without its
    region — when two or more organisations fit, the name is ambiguous and stays unmatched."""

    def __init__(self, organisations):
        self.exact: dict[str, set] = {}
        self.cores: list[tuple[str, object]] = []
        self.by_id = {}
        for org in organisations:
            self.by_id[org.pk] = org
            for name in (org.name, org.short_name):
                if name:
                    self.exact.setdefault(normalise_name(name), set()).add(org.pk)
            self.cores.append((_core(org.name), org))
        self._cache: dict[str, object] = {}

    def match(self, name: str):
        key = normalise_name(name)
        if not key:
            return None
        if key not in self._cache:
            self._cache[key] = self._match(key)
        return self._cache[key]

    def _match(self, key: str):
        ids = self.exact.get(key, set())
        if ids:
            return self.by_id[next(iter(ids))] if len(ids) == 1 else None
        for core in _cores(key):
            same = [o for c, o in self.cores if c == core]
            if same:
                return same[0] if len(same) == 1 else None
        for core in _cores(key):
            if core[-1] not in _ORG_END:
                continue  # only names of organisations (…局, …厅, …委, …中心) are abbreviated
            fits = [o for c, o in self.cores if _abbreviates(core, c)]
            if fits:
                return fits[0] if len(fits) == 1 else None
        return None


# --- reading ------------------------------------------------------------------------------

def fingerprint(question: str, answer: str, unit: str) -> str:
    norm = [_SPACES.sub(" ", unicodedata.normalize("NFKC", display.clean(x))).strip()
            for x in (question, answer, unit)]
    return sm3_hex("\x1f".join(norm).encode())


def decode(data: bytes) -> str:
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise ImportFailed(_("文件为空：第一行应为表头“问题,答案,处理单位”，其后每行一条问答。"))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        hint = ""
        try:
            data.decode("gb18030")
            hint = _("（看起来是 GBK/GB18030 编码）")
        except UnicodeDecodeError:
            pass
        raise ImportFailed(
            _("文件不是 UTF-8 编码%(hint)s：第 %(line)s 行有无法识别的字节。请用 UTF-8 另存后重新导入。")
            % {"hint": hint, "line": line}) from None


def read_rows(text: str, report: ImportReport):
    """Yield (line, question, answer, unit) for every data row; errors go to the report."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise ImportFailed(_("文件为空：第一行应为表头“问题,答案,处理单位”。")) from None
    got = [h.strip().lstrip("\ufeff") for h in header]
    if got != HEADER:
        raise ImportFailed(_("表头不正确：第一行应为“问题,答案,处理单位”，实际为“%(got)s”。")
                           % {"got": ",".join(got)[:200]})
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            report.errors.append((line, _("无法解析：%(error)s") % {"error": exc}))
            return
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        report.rows += 1
        if len(row) != 3:
            report.errors.append((start, _("应有 3 列（问题,答案,处理单位），实际 %(n)s 列，已跳过。")
                                  % {"n": len(row)}))
            continue
        question, answer, unit = (display.clean(c) for c in row)
        if not answer:
            report.errors.append((start, _("答案为空，已跳过。")))
            continue
        if len(unit) > MAX_UNIT:
            report.errors.append((start, _("处理单位超过 %(n)s 个字，已跳过。") % {"n": MAX_UNIT}))
            continue
        yield start, question, answer, unit


# --- importing ----------------------------------------------------------------------------

def import_csv(data: bytes, *, default_org=None, user=None, progress=None,
               batch: int = BATCH) -> ImportReport:
    """Import a knowledge base. `default_org`: the organisation for rows whose 处理单位 is empty
    or matches none (else they are platform-level). `progress(done, total)` per batch."""
    from jiyue import audit
    from jiyue.platform.models import Organisation

    from . import kb
    from .models import FaqEntry

    report = ImportReport()
    rows = list(read_rows(decode(data), report))
    matcher = OrgMatcher(Organisation.objects.all())
    total = len(rows)
    if progress is not None and total:
        progress(0, total)
    for start in range(0, total, batch):
        chunk = rows[start:start + batch]
        new, seen = [], set()
        for _line, question, answer, unit in chunk:
            fp = fingerprint(question, answer, unit)
            if fp in seen:
                report.unchanged += 1  # the same row twice in the file
                continue
            seen.add(fp)
            org = matcher.match(unit) if unit else None
            if org is not None:
                report.matched[org.name] += 1
            elif unit:
                report.unmatched[unit] += 1
            new.append(FaqEntry(question=question, answer=answer, unit_name=unit,
                                organisation=org or default_org, fingerprint=fp, created_by=user))
        with transaction.atomic():
            existing = set(FaqEntry.objects.filter(fingerprint__in=[e.fingerprint for e in new])
                           .values_list("fingerprint", flat=True))
            fresh = [e for e in new if e.fingerprint not in existing]
            report.unchanged += len(new) - len(fresh)
            report.platform_level += sum(1 for e in fresh if e.organisation is None)
            FaqEntry.objects.bulk_create(fresh, batch_size=batch, ignore_conflicts=True)
            report.added += len(fresh)
        if progress is not None:
            progress(min(start + batch, total), total)
    if report.added:
        fps = [fingerprint(q, a, u) for _l, q, a, u in rows]
        report.added_ids = list(FaqEntry.objects.filter(fingerprint__in=fps, embedded="")
                                .values_list("id", flat=True))
        kb.invalidate()
    audit.record(user, getattr(default_org, "pk", None), None, "qa.faq.import",
                 object_type="qa.faqentry", object_id="", obj=_("问答知识导入"),
                 rows=report.rows, added=report.added, unchanged=report.unchanged,
                 platform_level=report.platform_level, errors=len(report.errors),
                 unmatched=sorted(report.unmatched))
    return report
