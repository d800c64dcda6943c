"""Checks on the demo data set (jiyue/demo/content.py); standard library only."""

import collections
import datetime
import re

import pytest

from jiyue.demo import content as c

MINIMUMS = {"ah": {"policy": 120, "interpretation": 25, "guide": 40, "article": 80, "link": 10, "file": 15, "image": 20},
            "hf": {}}
TOTAL = {"ah": 320, "hf": 80}
DOC_RE = re.compile(r"^.+〔\d{4}〕\d+号$")
RULE_RE = re.compile(r"^.+人民政府令第\d+号$")
VARIANT_RE = re.compile(r"^.+(\[\d{4}\]|（\d{4}）)\d+号$")


@pytest.fixture(scope="module", params=["ah", "hf"])
def platform(request):
    return request.param


def _res(platform):
    return c.resources(platform)


def test_counts(platform):
    res = _res(platform)
    assert len(res) >= TOTAL[platform]
    kinds = collections.Counter(r["kind"] for r in res)
    for kind, n in MINIMUMS[platform].items():
        assert kinds[kind] >= n, kind
    per_site = collections.Counter(r["org"] for r in res)
    for org in c.organisations(platform):
        if org["site"]:
            assert per_site[org["key"]] >= 5, org["key"]


def test_orgs_and_interpretations(platform):
    res = _res(platform)
    keys = {o["key"] for o in c.organisations(platform)}
    policies = {r["key"] for r in res if r["kind"] == "policy"}
    assert len({r["key"] for r in res}) == len(res)
    for r in res:
        assert r["org"] in keys
        if r["kind"] == "interpretation":
            assert r["interprets"] in policies


def test_province_has_annex2_departments():
    assert len([o for o in c.ORGANISATIONS if o["parent"] == "portal" and o["site"]]) == 40
    assert {o["key"] for o in c.ORGANISATIONS if o["site"] is None} == {"bgt"}


def test_site_codes_and_credit_codes():
    codes = []
    for orgs in (c.ORGANISATIONS, c.CITY_ORGANISATIONS):
        for o in orgs:
            cc = o["credit_code"]
            assert len(cc) == 18 and cc.startswith("11" + o["region_code"])
            assert c.credit_code_check_char(cc[:17]) == cc[17]
            assert c.org_code_check_char(cc[8:16]) == cc[16]
            if o["site"]:
                assert re.fullmatch(r"\d{10}", o["site"]["code"])
                assert o["site"]["code"].startswith(o["region_code"])
                codes.append(o["site"]["code"])
    assert len(codes) == len(set(codes))
    counties = {o["name"]: o["region_code"] for o in c.CITY_ORGANISATIONS if o["kind"] == "county"}
    assert counties == {"肥东县人民政府": "340122", "肥西县人民政府": "340123", "长丰县人民政府": "340121"}


def test_credit_code_algorithm_known_value():
    # a code whose check characters were computed by hand from the standard's tables
    assert c.org_code_check_char("00000000") == "0"
    assert c.credit_code_check_char("91350100M000100Y4") == "3"


def test_doc_numbers(platform):
    variants = 0
    for r in _res(platform):
        if r["kind"] != "policy" or r["doc_number"] is None:
            continue
        dn = r["doc_number"]
        if VARIANT_RE.match(dn):
            variants += 1
        else:
            assert DOC_RE.match(dn) or RULE_RE.match(dn), dn
    assert variants == (c.VARIANT_DOC_NUMBERS if platform == "ah" else 0)


def test_policy_metadata(platform):
    for r in _res(platform):
        if r["kind"] != "policy":
            continue
        level1, level2 = r["topic"].split("\\")
        assert level2 in c.TOPICS[level1]
        assert r["genre"] in c.GENRES
        assert set(r["audience"]) <= set(c.AUDIENCES)
        assert r["written_on"] < r["published_at"][:10]


def test_dates_within_window(platform):
    lo = datetime.datetime.combine(c.ANCHOR - datetime.timedelta(days=730), datetime.time())
    hi = datetime.datetime.combine(c.ANCHOR, datetime.time())
    for r in _res(platform):
        dt = datetime.datetime.strptime(r["published_at"], "%Y-%m-%d %H:%M")
        assert lo <= dt < hi, r["key"]


def test_columns_exist(platform):
    for r in _res(platform):
        assert r["columns"]
        assert (r["org"], r["columns"][0][1]) == r["columns"][0]
        for site, slug in r["columns"]:
            assert slug in c.site_template_slugs(platform, site), (r["key"], site, slug)
        if r["shared"] == "none":
            assert all(site == r["org"] for site, _ in r["columns"])


def test_guides(platform):
    incomplete = 0
    for r in _res(platform):
        if r["kind"] == "guide":
            missing = [k for k in c.GUIDE_ELEMENTS if not r["guide"].get(k)]
            if r.get("incomplete"):
                incomplete += 1
                assert 2 <= len(missing) <= 3
            else:
                assert not missing, r["key"]
                assert r["guide"]["网上办理入口"].startswith("https://www.ahzwfw.gov.cn/")
    assert incomplete == (2 if platform == "ah" else 0)


def test_deterministic_and_unique_titles(platform):
    a, b = _res(platform), _res(platform)
    assert a == b
    seen = collections.defaultdict(set)
    for r in a:
        assert r["title"] not in seen[r["kind"]], r["title"]
        seen[r["kind"]].add(r["title"])


def test_staff(platform):
    people = c.staff(platform)
    assert len({p["username"] for p in people}) == len(people)
    assert all(p["username"].isascii() for p in people)
    admin_roles = {"system_admin", "security_admin", "audit_admin"}
    for p in people:
        assert len({r["role"] for r in p["roles"]} & admin_roles) <= 1
    sites = [o["key"] for o in c.organisations(platform) if o["site"]]
    for k in sites:
        roles = {(r["role"], r["level"]) for p in people for r in p["roles"] if r["site"] == k}
        assert {("site_admin", None), ("editor", None), ("reviewer", 1), ("reviewer", 2), ("publisher", None)} <= roles


def test_column_template():
    portal = c.column_slugs("province", "portal")
    dept = c.column_slugs("province", "department")
    assert portal - dept == {"zwyw"}
    assert {"ldxx", "zjdc", "zxft", "gkzn", "gkzd", "fdzdgk", "gknb", "ysqgk"} <= dept
    assert c.COLUMN_TEMPLATE[0]["slug"] == "home"
