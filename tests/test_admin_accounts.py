from jiyue.accounts.models import RoleGrant, User


def _new_user(province, name, org="czt"):
    return User.objects.create_user(username=name, password="Passw0rd!x", organisation=province.orgs[org])


def test_site_admin_grants_editorial_roles_in_their_site_only(client, province):
    u = _new_user(province, "czt_new_editor")
    client.force_login(province.users["czt_site_admin"])
    page = client.get("/admin/grants/").content.decode()
    assert "jyt_editor" not in page  # grants of other sites are not listed
    r = client.post("/admin/grants/", {"user": u.pk, "role": "editor", "site": province.sites["czt"].pk})
    assert r.status_code == 302
    assert RoleGrant.objects.filter(user=u, role="editor", site=province.sites["czt"]).exists()
    # another site is not offered, and an administrative role is not theirs to grant
    r = client.post("/admin/grants/", {"user": u.pk, "role": "editor", "site": province.sites["jyt"].pk})
    assert r.status_code == 200 and not RoleGrant.objects.filter(user=u, site=province.sites["jyt"]).exists()
    r = client.post("/admin/grants/", {"user": u.pk, "role": "site_admin", "site": province.sites["czt"].pk})
    assert not RoleGrant.objects.filter(user=u, role="site_admin").exists()


def test_three_administrators_stay_separate(client, province):
    client.force_login(province.users["security_admin"])
    r = client.post("/admin/grants/", {"user": province.users["audit_admin"].pk, "role": "system_admin"})
    assert r.status_code == 200 and "三员分立" in r.content.decode()
    assert not RoleGrant.objects.filter(user=province.users["audit_admin"], role="system_admin").exists()


def test_editors_cannot_open_grants_or_audit(client, province):
    client.force_login(province.users["czt_editor"])
    assert client.get("/admin/grants/").status_code in (302, 403)
    assert client.get("/admin/audit/").status_code in (302, 403)


def test_audit_admin_reads_the_log(client, province):
    client.force_login(province.users["audit_admin"])
    page = client.get("/admin/audit/", {"action": "grant."}).content.decode()
    assert "grant.create" in page and "czt_editor" in page


def test_audit_log_pages_keep_the_filter(client, province):
    from jiyue import audit

    for i in range(120):
        audit.record(None, None, "127.0.0.1", "test.event", f"对象{i}")
    client.force_login(province.users["audit_admin"])
    page = client.get("/admin/audit/", {"action": "test."}).content.decode()
    assert "第 1 / 2 页" in page and "?p=2&amp;action=test." in page
    page2 = client.get("/admin/audit/", {"action": "test.", "p": 2}).content.decode()
    assert "对象0<" in page2 and "grant.create" not in page2


def test_personal_token_made_in_the_admin_works_once_shown_and_can_be_revoked(client, province):
    import re

    client.force_login(province.users["czt_editor"])
    page = client.post("/admin/tokens/", {"name": "政务服务平台对接"}).content.decode()
    token = re.search(r'<code id="new-token">([^<]+)</code>', page).group(1)
    api = client.__class__()
    r = api.get("/api/v1/sites", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert [s["code"] for s in r.json()["results"]] == ["3400000002"]
    assert token not in client.get("/admin/tokens/").content.decode()  # shown once only
    from wagtail.models import APIToken

    client.post("/admin/tokens/", {"revoke": APIToken.objects.get(user=province.users["czt_editor"]).pk})
    assert api.get("/api/v1/sites", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_platform_settings_and_vocabularies_belong_to_platform_staff(client, province):
    from jiyue.core.models import Platform

    client.force_login(province.users["czt_editor"])
    assert client.get("/admin/platform/").status_code in (302, 403)
    assert client.get("/admin/classifications/").status_code in (302, 403)
    client.force_login(province.users["system_admin"])
    p = province.platform
    r = client.post(f"/admin/platform/edit/{p.pk}/", {
        "code": "zz", "name": p.name, "level": p.level, "region_code": p.region_code,
        "index_number_pattern": "{org}/{year}-{serial:05d}"})
    assert r.status_code == 302
    p.refresh_from_db()
    assert p.code == "ah" and p.index_number_pattern == "{org}/{year}-{serial:05d}"
    r = client.post(f"/admin/platform/edit/{p.pk}/", {
        "name": p.name, "level": p.level, "region_code": p.region_code, "index_number_pattern": "{org}/{year}"})
    assert r.status_code == 200 and "{serial}" in r.content.decode()
    assert client.get("/admin/classifications/").status_code == 200
