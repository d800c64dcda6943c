import pytest
from django.core.exceptions import ValidationError

from jiyue.platform.models import Site


def test_each_site_answers_on_its_local_hostname(client, province, make_policy):
    make_policy(title="预算编制通知", publish=True)
    r = client.get("/", HTTP_HOST="3400000002.localhost")
    text = r.content.decode()
    assert r.status_code == 200 and "安徽省财政厅" in text and "预算编制通知" in text
    assert "网站标识码：3400000002" in text
    r = client.get("/zcwj/", HTTP_HOST="3400000002.localhost")
    assert r.status_code == 200 and "预算编制通知" in r.content.decode()
    # another site does not show it
    assert "预算编制通知" not in client.get("/", HTTP_HOST="3400000003.localhost").content.decode()


def test_new_site_gets_the_standard_column_tree(province):
    from jiyue.platform.services import columns_of

    slugs = {c.slug for c in columns_of(province.sites["portal"])}
    assert {"zwyw", "bmdt", "tzgg", "zcwj", "zcjd", "bsfw", "hdjl", "ldxx", "xxgk", "gkzn",
            "fdzdgk", "gknb", "ysqgk"} <= slugs
    dept = {c.slug for c in columns_of(province.sites["czt"])}
    assert "zwyw" not in dept and "xxgk" in dept


@pytest.mark.parametrize("field,value,message", [
    ("code", "34000001", "网站标识码"),
    ("domain", "czt.ah.com", ".gov.cn"),
    ("cn_domain", "财政厅.com", "政务"),
    ("icp", "ICP12345", "ICP"),
])
def test_site_validation_messages(province, field, value, message):
    site = Site.objects.get(code="3400000002")
    setattr(site, field, value)
    with pytest.raises(ValidationError) as exc:
        site.full_clean()
    assert message in str(exc.value)


def test_one_site_per_organisation_and_unique_codes(province):
    site = Site(organisation=province.orgs["czt"], name="重复", level="province", kind="department",
                domain="czt2.ah.gov.cn", code="3400000002", sponsor="x")
    with pytest.raises(ValidationError) as exc:
        site.full_clean()
    assert "organisation" in exc.value.message_dict and "code" in exc.value.message_dict


def test_site_admin_edits_footer_facts_but_not_identity(client, province):
    site = province.sites["czt"]
    client.force_login(province.users["czt_site_admin"])
    data = {f: getattr(site, f) or "" for f in ("name", "level", "kind", "domain", "sponsor", "operator",
                                               "address", "phone", "email", "icp", "police_record",
                                               "police_record_code", "conac", "state", "theme", "colour")}
    data.update(organisation=province.orgs["jyt"].pk, code="3400009999", phone="0551-62998888")
    r = client.post(f"/admin/site/edit/{site.pk}/", data)
    assert r.status_code == 302, r.content.decode()[:300]
    site.refresh_from_db()
    assert site.phone == "0551-62998888"
    assert site.code == "3400000002" and site.organisation == province.orgs["czt"]
    assert client.get(f"/admin/site/edit/{province.sites['jyt'].pk}/").status_code == 404


def test_system_admin_adds_an_organisation_under_its_parent(client, province):
    from jiyue.platform.models import Organisation
    from tests.conftest import credit_code

    client.force_login(province.users["system_admin"])
    r = client.post("/admin/organisation/new/", {
        "parent": province.orgs["portal"].pk, "name": "安徽省审计厅", "short_name": "皖审",
        "code": credit_code(9), "kind": "department", "region_code": "340000", "key": "sjt"})
    assert r.status_code == 302, r.content.decode()[:400]
    org = Organisation.objects.get(key="sjt")
    assert org.get_parent() == province.orgs["portal"]
    client.force_login(province.users["czt_site_admin"])
    assert client.get("/admin/organisation/new/").status_code in (302, 403)


def test_system_admin_creates_a_site_in_the_admin_with_its_columns(client, province):
    from jiyue.platform.models import Organisation
    from jiyue.platform.services import columns_of
    from tests.conftest import credit_code

    org = province.orgs["portal"].add_child(name="安徽省审计厅", short_name="皖审", code=credit_code(11),
                                            kind="department", region_code="340000", key="sjt")
    client.force_login(province.users["system_admin"])
    r = client.post("/admin/site/new/", {
        "name": "安徽省审计厅", "organisation": org.pk, "level": "province", "kind": "department",
        "domain": "sjt.ah.gov.cn", "code": "3400000042", "sponsor": "安徽省审计厅", "conac": "red",
        "state": "building", "theme": "default", "colour": "#9f1d20"})
    assert r.status_code == 302, r.content.decode()[:400]
    site = Site.objects.get(code="3400000042")
    assert {"tzgg", "zcwj", "xxgk", "bsfw"} <= {c.slug for c in columns_of(site)}
    assert client.get("/", HTTP_HOST="3400000042.localhost").status_code == 200
    # a site administrator cannot create sites
    client.force_login(province.users["czt_site_admin"])
    assert client.get("/admin/site/new/").status_code in (302, 403)
