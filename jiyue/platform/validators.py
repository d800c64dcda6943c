"""Validators for the national identifiers (STANDARDS.md). Pure functions, no database."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SITE_CODE_RE = re.compile(r"^(?:\d{10}|bm\d{8})$")
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
GOV_DOMAIN_RE = re.compile(rf"^(?:{_LABEL}\.)+gov\.cn$")
CN_DOMAIN_RE = re.compile(r"^[\u4e00-\u9fffA-Za-z0-9]{2,40}\.政务$")
CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]
ICP_RE = re.compile(r"^[\u4e00-\u9fff]ICP备\d{6,10}号(?:-\d{1,3})?$")
POLICE_RE = re.compile(r"^\d{14}$")


def validate_site_code(value: str) -> None:
    """网站标识码: 6-digit division code + 4-digit serial, or `bm` + 8 digits."""
    if not SITE_CODE_RE.match(value or ""):
        raise ValidationError(
            _("网站标识码须为 10 位：6 位行政区划代码加 4 位序号（如 3400000001），"
              "国务院部门为 bm 加 8 位数字。"), code="site_code")
    if value[:2] != "bm" and (value[:2] == "00" or value[6:] == "0000"):
        raise ValidationError(_("网站标识码的区划代码或序号无效。"), code="site_code")


def normalise_domain(value: str) -> str:
    return (value or "").strip().lower().rstrip(".")


def validate_gov_domain(value: str) -> None:
    if len(value) > 253 or not GOV_DOMAIN_RE.match(value or ""):
        raise ValidationError(_("域名须以 .gov.cn 结尾，例如 www.ah.gov.cn 或 czt.ah.gov.cn。"),
                              code="domain")


def validate_cn_domain(value: str) -> None:
    if not CN_DOMAIN_RE.match(value or ""):
        raise ValidationError(_("中文域名须为“名称.政务”，例如 安徽省人民政府.政务。"), code="cn_domain")


def org_code_check_char(first8: str) -> str:
    total = 0
    for ch, w in zip(first8, ORG_WEIGHTS):
        if ch.isdigit():
            v = int(ch)
        elif "A" <= ch <= "Z":
            v = ord(ch) - ord("A") + 10
        else:
            raise ValueError(ch)
        total += v * w
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def credit_code_check_char(first17: str) -> str:
    total = sum(CREDIT_CHARS.index(ch) * w for ch, w in zip(first17, CREDIT_WEIGHTS))
    return CREDIT_CHARS[(31 - total % 31) % 31]


def validate_org_code(value: str) -> None:
    """统一社会信用代码 (18, GB 32100) or 组织机构代码 (9, GB 11714), with check characters."""
    value = (value or "").strip().upper()
    if len(value) == 18:
        if any(ch not in CREDIT_CHARS for ch in value) or credit_code_check_char(value[:17]) != value[17]:
            raise ValidationError(_("统一社会信用代码校验失败，请核对。"), code="credit_code")
        return
    if len(value) == 9 and re.match(r"^[0-9A-Z]{8}[0-9X]$", value):
        if org_code_check_char(value[:8]) != value[8]:
            raise ValidationError(_("组织机构代码校验失败，请核对。"), code="org_code")
        return
    raise ValidationError(_("请填写 18 位统一社会信用代码或 9 位组织机构代码。"), code="org_code")


def validate_icp(value: str) -> None:
    if value and not ICP_RE.match(value):
        raise ValidationError(_("ICP 备案号格式应如“皖ICP备05001234号”。"), code="icp")


def validate_police_code(value: str) -> None:
    if value and not POLICE_RE.match(value):
        raise ValidationError(_("公安机关备案号须为 14 位数字。"), code="police")


def contrast_with_white(colour: str) -> float:
    """WCAG 2.1 contrast ratio of white text on this #RRGGBB colour."""
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    lum = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return 1.05 / (lum + 0.05)


def validate_main_colour(value: str) -> None:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value or ""):
        raise ValidationError(_("主色须为 #RRGGBB 格式，例如 #9f1d20。"), code="colour")
    ratio = contrast_with_white(value)
    if ratio < 4.5:
        raise ValidationError(
            _("主色与白色文字的对比度为 %(ratio).1f:1，低于无障碍要求的 4.5:1，请选择更深的颜色。"),
            code="contrast", params={"ratio": ratio})
