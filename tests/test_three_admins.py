"""三员分立: the system, security and audit administrators, tried in every forbidden combination.

系统管理员: accounts (create, edit, disable) and configuration; no roles, no audit log.
安全管理员: roles and permissions, unlocking accounts; no accounts, no audit log.
审计管理员: reads and exports the audit log, nothing else.
No account holds two of the three, nor one of them beside any other role."""

from __future__ import annotations

import itertools

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import NoReverseMatch, reverse

from jiyue.accounts import services
from jiyue.accounts.models import THREE_ADMINS, RoleGrant, User
from jiyue.audit.models import AuditEntry

PASSWORD = "Passw0rd!x"
ADMINS = ["system_admin", "security_admin", "audit_admin"]


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()


def new_staff(province, name, org="czt"):
    return User.objects.create_user(username=name, password=PASSWORD, organisation=province.orgs[org],
                                    real_name=name)


def denied_entries(user, since_id):
    return list(AuditEntry.objects.filter(actor=user, outcome="denied", id__gt=since_id))


def last_id():
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


# --- no account holds two of the three -----------------------------------------------------

@pytest.mark.parametrize("first,second", list(itertools.permutations(sorted(THREE_ADMINS), 2)))
def test_no_account_holds_two_of_the_three_through_services(province, first, second):
    user = new_staff(province, "two_hats")
    services.grant(province.users["security_admin"], user, first)
    mark = last_id()
    with pytest.raises(ValidationError, match="三员分立"):
        services.grant(province.users["security_admin"], user, second)
    assert {g.role for g in RoleGrant.objects.filter(user=user)} == {first}
    [entry] = AuditEntry.objects.filter(id__gt=mark, action="grant.create", outcome="denied")
    assert entry.detail["role"] == second and "三员分立" in entry.detail["reason"]


@pytest.mark.parametrize("first,second", list(itertools.permutations(sorted(THREE_ADMINS), 2)))
def test_no_account_holds_two_of_the_three_through_the_grant_form(client, province, first, second):
    user = new_staff(province, "two_hats")
    services.grant(province.users["security_admin"], user, first)
    client.force_login(province.users["security_admin"])
    r = client.post("/admin/grants/", {"user": user.pk, "role": second})
    assert r.status_code == 200 and "三员分立" in r.content.decode()
    assert {g.role for g in RoleGrant.objects.filter(user=user)} == {first}
    assert AuditEntry.objects.filter(action="grant.create", outcome="denied",
                                     actor=province.users["security_admin"]).exists()


@pytest.mark.parametrize("admin_role", sorted(THREE_ADMINS))
@pytest.mark.parametrize("other", ["platform_operator", "site_admin", "editor", "publisher"])
def test_an_administrator_of_the_three_holds_no_other_role(province, admin_role, other):
    sec = province.users["security_admin"]
    site = None if other == "platform_operator" else province.sites["czt"]
    one = new_staff(province, "admin_first")
    services.grant(sec, one, admin_role)
    with pytest.raises(ValidationError, match="三员账号专用"):
        services.grant(sec, one, other, site=site)
    two = new_staff(province, "other_first")
    services.grant(sec, two, other, site=site)
    with pytest.raises(ValidationError, match="三员账号专用"):
        services.grant(sec, two, admin_role)
    assert RoleGrant.objects.filter(user__in=[one, two]).count() == 2


def test_superusers_cannot_be_one_of_the_three_and_citizens_hold_no_role(province):
    sec = province.users["security_admin"]
    root = User.objects.create_superuser(username="root", password=PASSWORD)
    with pytest.raises(ValidationError):
        services.grant(sec, root, "audit_admin")
    person = User.objects.create_user(username="c1", password=PASSWORD, kind=User.KIND_CITIZEN)
    for role, site in (("system_admin", None), ("editor", province.sites["czt"])):
        with pytest.raises(ValidationError, match="公众用户"):
            services.grant(sec, person, role, site=site)
    assert not person.grants.exists()


@pytest.mark.parametrize("actor", ["system_admin", "audit_admin"])
@pytest.mark.parametrize("role", ["system_admin", "security_admin", "audit_admin", "editor"])
def test_only_the_security_administrator_grants_roles(province, actor, role):
    user = new_staff(province, "candidate")
    site = province.sites["czt"] if role == "editor" else None
    mark = last_id()
    with pytest.raises(PermissionDenied):
        services.grant(province.users[actor], user, role, site=site)
    assert not RoleGrant.objects.filter(user=user).exists()
    [entry] = denied_entries(province.users[actor], mark)
    assert entry.action == "grant.create" and entry.detail["role"] == role


def test_only_the_security_administrator_revokes_roles(province):
    g = RoleGrant.objects.get(user=province.users["czt_editor"], role="editor")
    for actor in ("system_admin", "audit_admin"):
        with pytest.raises(PermissionDenied):
            services.revoke(province.users[actor], g)
    assert RoleGrant.objects.filter(pk=g.pk).exists()
    assert AuditEntry.objects.filter(action="grant.delete", outcome="denied").count() == 2
    services.revoke(province.users["security_admin"], g)
    assert not RoleGrant.objects.filter(pk=g.pk).exists()


# --- every action outside each administrator's remit -----------------------------------------

def _actions(province):
    czt = province.sites["czt"]
    target = province.users["czt_editor"]
    return {
        # name: (method, url, data, the administrator it belongs to)
        "user_list": ("get", "/admin/users/", None, "system_admin"),
        "user_add": ("post", "/admin/users/new/", {
            "username": "new_staff", "real_name": "新同事", "organisation": province.orgs["czt"].pk,
            "email": "", "password1": "Xin-Mima2026", "password2": "Xin-Mima2026"}, "system_admin"),
        "user_edit": ("get", f"/admin/users/edit/{target.pk}/", None, "system_admin"),
        "grants": ("get", "/admin/grants/", None, "security_admin"),
        "grant_role": ("post", "/admin/grants/", {"user": target.pk, "role": "publisher",
                                                  "site": czt.pk}, "security_admin"),
        "unlock": ("post", "/admin/security/", {"unlock": "czt_editor"}, "security_admin"),
        "account_security": ("get", "/admin/security/", None, "security_admin"),
        "audit_log": ("get", "jiyue_audit", None, "audit_admin"),
        "audit_export": ("get", "jiyue_audit_export", None, "audit_admin"),
        "site_settings": ("get", f"/admin/site/edit/{czt.pk}/", None, "system_admin"),
        "platform_settings": ("get", f"/admin/platform/edit/{province.platform.pk}/", None, "system_admin"),
        "content_list": ("get", "/admin/snippets/library/policydocument/", None, None),
        "content_add": ("get", "/admin/snippets/library/policydocument/add/", None, None),
        "pages": ("get", f"/admin/pages/{czt.home.pk}/", None, None),
    }


ACTION_NAMES = ["user_list", "user_add", "user_edit", "grants", "grant_role", "unlock",
                "account_security", "audit_log", "audit_export", "site_settings",
                "platform_settings", "content_list", "content_add", "pages"]


def _url(name_or_path):
    if name_or_path.startswith("/"):
        return name_or_path
    try:
        return reverse(name_or_path)
    except NoReverseMatch:
        pytest.skip(f"{name_or_path} is not there yet")


@pytest.mark.parametrize("admin", ADMINS)
@pytest.mark.parametrize("action", ACTION_NAMES)
def test_each_administrator_stays_in_their_remit(client, province, admin, action):
    method, url, data, owner = _actions(province)[action]
    url = _url(url)
    actor = province.users[admin]
    client.force_login(actor)
    mark = last_id()
    r = getattr(client, method)(url, data or {})
    if owner == admin:
        assert r.status_code in (200, 302), (action, r.status_code)
        if r.status_code == 302:
            assert "/login" not in r["Location"] and r["Location"] != "/admin/"
        assert not denied_entries(actor, mark)
    else:
        assert r.status_code in (302, 403, 404), (action, r.status_code)
        assert denied_entries(actor, mark), f"{admin} {action}: refusal not in the audit log"
        if action == "user_add":
            assert not User.objects.filter(username="new_staff").exists()
        if action == "grant_role":
            assert not RoleGrant.objects.filter(user=province.users["czt_editor"], role="publisher").exists()


def test_the_audit_administrator_sees_only_the_audit_log(client, province):
    client.force_login(province.users["audit_admin"])
    home = client.get("/admin/").content.decode()
    assert reverse("jiyue_audit") in home
    for hidden in ("/admin/users/", "/admin/grants/", "/admin/security/", "/admin/site/",
                   "/admin/snippets/library/"):
        assert f'href="{hidden}' not in home, hidden
    assert client.get(reverse("jiyue_audit")).status_code == 200
    for url in ("/admin/tokens/", "/admin/organisation/", "/admin/classifications/", "/admin/reports/"):
        assert client.get(url).status_code == 403, url


# --- what each may do -------------------------------------------------------------------------

def test_the_system_administrator_creates_edits_and_disables_accounts_but_sets_no_role(client, province):
    sysadmin = province.users["system_admin"]
    client.force_login(sysadmin)
    page = client.get("/admin/users/new/").content.decode()
    assert 'name="is_superuser"' not in page and 'name="groups"' not in page
    group = RoleGrant.objects.get(user=province.users["czt_site_admin"]).group
    r = client.post("/admin/users/new/", {
        "username": "wang_wu", "real_name": "王五", "organisation": province.orgs["czt"].pk,
        "email": "", "password1": "Xin-Mima2026", "password2": "Xin-Mima2026",
        "is_superuser": "on", "groups": [group.pk]})
    assert r.status_code == 302
    user = User.objects.get(username="wang_wu")
    assert not user.is_superuser and not user.groups.exists() and not user.grants.exists()
    assert user.kind == User.KIND_STAFF and user.password_changed_at is not None
    assert AuditEntry.objects.filter(action="user.create", actor=sysadmin, object_id=str(user.pk)).exists()
    # a weak password is refused by the policy
    r = client.post(f"/admin/users/edit/{user.pk}/", {
        "username": "wang_wu", "real_name": "王五", "organisation": province.orgs["czt"].pk,
        "email": "", "is_active": "on", "password1": "password", "password2": "password"})
    assert r.status_code == 200 and User.objects.get(pk=user.pk).check_password("Xin-Mima2026")
    # disabling: the account can no longer log in
    r = client.post(f"/admin/users/edit/{user.pk}/", {
        "username": "wang_wu", "real_name": "王五", "organisation": province.orgs["czt"].pk,
        "email": ""})
    assert r.status_code == 302
    assert not User.objects.get(pk=user.pk).is_active
    assert AuditEntry.objects.filter(action="user.disable", actor=sysadmin).exists()


@pytest.mark.parametrize("other", ["security_admin", "audit_admin"])
def test_the_system_administrator_cannot_take_over_the_other_administrators(client, province, other):
    sysadmin = province.users["system_admin"]
    target = province.users[other]
    client.force_login(sysadmin)
    mark = last_id()
    r = client.post(f"/admin/users/edit/{target.pk}/", {
        "username": other, "real_name": other, "email": "", "is_active": "on",
        "password1": "Takeover-2026", "password2": "Takeover-2026"})
    assert r.status_code in (302, 403) and r.get("Location", "/admin/") == "/admin/"
    assert User.objects.get(pk=target.pk).check_password(PASSWORD)
    assert denied_entries(sysadmin, mark)
    r = client.post("/admin/bulk/accounts/user/set_active_state/?id=%d" % target.pk,
                    {"mark_as_active": "False"})
    assert r.status_code in (302, 403) and User.objects.get(pk=target.pk).is_active
    assert len(denied_entries(sysadmin, mark)) == 2


def test_roles_cannot_be_set_through_the_user_bulk_actions(client, province):
    client.force_login(province.users["system_admin"])
    group = RoleGrant.objects.get(user=province.users["czt_site_admin"]).group
    target = province.users["czt_editor"]
    r = client.post(f"/admin/bulk/accounts/user/assign_role/?id={target.pk}", {"role": group.pk})
    assert r.status_code in (302, 403)
    assert not target.groups.filter(pk=group.pk).exists()
    assert AuditEntry.objects.filter(actor=province.users["system_admin"], outcome="denied").exists()


def test_the_security_administrator_grants_every_role_including_the_three(client, province):
    sec = province.users["security_admin"]
    client.force_login(sec)
    for role in ("system_admin", "audit_admin", "platform_operator"):
        user = new_staff(province, f"new_{role}")
        r = client.post("/admin/grants/", {"user": user.pk, "role": role})
        assert r.status_code == 302, role
        assert RoleGrant.objects.filter(user=user, role=role).exists()
    user = new_staff(province, "new_sec")
    services.grant(sec, user, "security_admin")
    assert AuditEntry.objects.filter(action="grant.create", actor=sec, outcome="success").count() == 4


def test_the_three_administrators_see_no_content(province, make_policy):
    from jiyue.accounts import policy
    from jiyue.library.models import PolicyDocument

    make_policy(publish=True)
    make_policy(title="草稿", doc_number="皖财〔2026〕13号")
    qs = PolicyDocument.objects.all()
    for admin in ADMINS:
        assert not policy.resources_visible(province.users[admin], qs).exists(), admin
        assert not policy.visible_columns(province.users[admin]).exists(), admin
    assert not policy.visible_sites(province.users["audit_admin"]).exists()
    assert policy.resources_visible(province.users["platform_operator"], qs).count() == 2
