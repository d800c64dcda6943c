import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, strategies as st

from jiyue.library import docnumber
from jiyue.library.indexno import render, validate_pattern
from jiyue.platform import validators as v
from tests.conftest import credit_code


@pytest.mark.parametrize("code", ["3400000001", "3401000012", "bm12345678"])
def test_site_codes_accepted(code):
    v.validate_site_code(code)


@pytest.mark.parametrize("code", ["340000001", "34000000011", "3400000000", "BM12345678",
                                  "34000A0001", "", "bm1234567"])
def test_site_codes_refused_with_chinese_message(code):
    with pytest.raises(ValidationError) as exc:
        v.validate_site_code(code)
    assert "网站标识码" in str(exc.value)


@pytest.mark.parametrize("domain", ["www.ah.gov.cn", "czt.ah.gov.cn", "a-b.hefei.gov.cn"])
def test_gov_domains(domain):
    v.validate_gov_domain(domain)


@pytest.mark.parametrize("domain", ["www.ah.com", "gov.cn", "-x.ah.gov.cn", "www.ah.gov.cn.evil.com",
                                    "WWW.AH.GOV.CN", "ah..gov.cn"])
def test_bad_domains(domain):
    with pytest.raises(ValidationError):
        v.validate_gov_domain(domain)


def test_cn_domain():
    v.validate_cn_domain("安徽省人民政府.政务")
    with pytest.raises(ValidationError):
        v.validate_cn_domain("安徽省人民政府.中国")


def test_credit_code_check_character():
    good = credit_code(12345)
    v.validate_org_code(good)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(ValidationError, match="校验失败"):
        v.validate_org_code(bad)


@pytest.mark.parametrize("raw,expected", [
    ("皖政办〔2018〕49号", "皖政办〔2018〕49号"),
    ("皖政办[2018]49号", "皖政办〔2018〕49号"),
    ("皖政办（2018）49号", "皖政办〔2018〕49号"),
    ("皖政办 (2018) 049 号", "皖政办〔2018〕49号"),
    ("皖政办【２０１８】49号", "皖政办〔2018〕49号"),
    ("安徽省人民政府令第288号", "安徽省人民政府令第288号"),
])
def test_doc_number_normalised(raw, expected):
    assert docnumber.validate(raw) == expected


@pytest.mark.parametrize("raw", ["皖政办2018-49", "〔2018〕49号", "皖政办〔18〕49号", "皖政办〔2018〕0号",
                                 "皖政办〔1900〕3号"])
def test_doc_number_refused(raw):
    with pytest.raises(ValueError):
        docnumber.validate(raw)


@given(prefix=st.text(alphabet="皖政办财教卫发改", min_size=1, max_size=6),
       year=st.integers(1949, 2030), serial=st.integers(1, 99999),
       brackets=st.sampled_from([("〔", "〕"), ("[", "]"), ("（", "）"), ("(", ")"), ("【", "】")]))
def test_doc_number_roundtrip(prefix, year, serial, brackets):
    raw = f"{prefix}{brackets[0]}{year}{brackets[1]}{serial}号"
    out = docnumber.validate(raw)
    assert out == f"{prefix}〔{year}〕{serial}号"
    assert docnumber.validate(out) == out


def test_index_number_pattern():
    from datetime import datetime

    validate_pattern("{org}/{year}-{serial:05d}")
    assert render("{org}/{year}{month}-{serial:05d}", "000014349", datetime(2021, 10, 3), 13) == \
        "000014349/202110-00013"
    with pytest.raises(ValueError):
        validate_pattern("{org}/{year}")
    with pytest.raises(ValueError):
        validate_pattern("{org}/{day}-{serial}")
