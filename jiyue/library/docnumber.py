"""文号 (document numbers): normalisation and validation (STANDARDS.md).

Forms in the wild: 皖政办〔2018〕49号, 皖政办[2018]49号, 皖政办（2018）49号, 皖政办 (2018) 49 号,
and for rules 安徽省人民政府令第288号. We normalise brackets to 〔〕, digits to ASCII and drop
spaces; `validate` refuses anything else with a clear message; importers call `normalise`
and keep a warning instead of refusing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_OPEN = "[［【〔（(〖{"
_CLOSE = "]］】〕）)〗}"
_STD = re.compile(r"^(?P<prefix>[\u4e00-\u9fff]{1,20})〔(?P<year>\d{4})〕(?P<serial>\d{1,5})号$")
_DECREE = re.compile(r"^(?P<prefix>[\u4e00-\u9fff]{2,30}令)第(?P<serial>\d{1,5})号$")
_VARIANT = re.compile(
    rf"^(?P<prefix>[\u4e00-\u9fff]{{1,20}})[{re.escape(_OPEN)}](?P<year>\d{{4}})[{re.escape(_CLOSE)}]"
    r"(?:第)?(?P<serial>\d{1,5})号$")


@dataclass(frozen=True)
class DocNumber:
    prefix: str
    year: int | None
    serial: int

    def __str__(self):
        if self.year is None:
            return f"{self.prefix}第{self.serial}号"
        return f"{self.prefix}〔{self.year}〕{self.serial}号"


def normalise(value: str) -> str:
    """Best-effort canonical form; returns the cleaned input unchanged when it is unrecognisable."""
    s = re.sub(r"\s+", "", (value or "").translate(_FULLWIDTH_DIGITS))
    m = _VARIANT.match(s)
    if m:
        return f"{m['prefix']}〔{m['year']}〕{int(m['serial'])}号"
    m = _DECREE.match(s)
    if m:
        return f"{m['prefix']}第{int(m['serial'])}号"
    return s


def parse(value: str) -> DocNumber | None:
    s = normalise(value)
    m = _STD.match(s)
    if m:
        return DocNumber(m["prefix"], int(m["year"]), int(m["serial"]))
    m = _DECREE.match(s)
    if m:
        return DocNumber(m["prefix"], None, int(m["serial"]))
    return None


def validate(value: str, max_year: int | None = None) -> str:
    """Return the normalised 文号 or raise ValueError with a Chinese message."""
    parsed = parse(value)
    if parsed is None:
        raise ValueError(_("文号“%(value)s”格式不正确，应如“皖政办〔2018〕49号”或“安徽省人民政府令第288号”。")
                         % {"value": value})
    if parsed.year is not None:
        if parsed.year < 1949 or (max_year is not None and parsed.year > max_year):
            raise ValueError(_("文号中的年份 %(year)s 不合理。") % {"year": parsed.year})
    if parsed.serial == 0:
        raise ValueError(_("文号序号不能为 0。"))
    return str(parsed)
