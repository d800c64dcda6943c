"""审计日志 in the admin: filters, CSV export, who may read it, and what gets recorded."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from jiyue import audit
from jiyue.audit.models import AuditEntry

LIST = "/admin/audit/"
EXPORT = "/admin/audit/export/"
TABLE = AuditEntry._meta.db_table


@pytest.fixture(autouse=True)
def _audit_settings(settings, tmp_path):
    settings.JIYUE_AUDIT_SEAL_LAG_SECONDS = 0
    settings.JIYUE_AUDIT_ARCHIVE_DIR = str(tmp_path / "audit-archive")


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def _menu(client) -> str:
    """The labels of the admin menu (Wagtail renders it from JSON in the page)."""
    import json
    import re

    page = client.get("/admin/").content.decode()
    props = re.search(r'<script id="wagtail-sidebar-props" type="application/json">(.*?)</script>', page, re.S)
    return json.dumps(json.loads(props.group(1)), ensure_ascii=False)


def _backdate(entry, days):
    with connection.cursor() as c:
        c.execute(f"UPDATE {TABLE} SET at = %s WHERE id = %s",
                  [timezone.now() - timedelta(days=days), entry.id])


def test_urls_keep_their_names():
    assert reverse("jiyue_audit") == LIST and reverse("jiyue_audit_export") == EXPORT


def test_audit_admin_filters_by_every_field(client, province):
    u = province.users
    czt, jyt = province.orgs["czt"], province.orgs["jyt"]
    audit.record(u["czt_editor"], czt, "192.0.2.1", "test.alpha", "预算通知")
    audit.record(u["jyt_editor"], jyt, "2001:db8::5", "test.beta", "招生简章", outcome="denied")
    old = audit.record(u["czt_publisher"], czt, "192.0.2.9", "test.gamma", "旧通知", outcome="failure")
    _backdate(old, 40)
    client.force_login(u["audit_admin"])

    def titles(**params):
        page = client.get(LIST, {"action": "test.", **params}).content.decode()
        return {t for t in ("预算通知", "招生简章", "旧通知") if f"<td>{t}</td>" in page}

    assert titles() == {"预算通知", "招生简章", "旧通知"}
    assert titles(user="jyt_") == {"招生简章"}
    assert titles(organisation=czt.pk) == {"预算通知", "旧通知"}
    assert titles(action="test.al") == {"预算通知"}
    assert titles(outcome="denied") == {"招生简章"}
    assert titles(outcome="failure") == {"旧通知"}
    assert titles(object="简章") == {"招生简章"}
    assert titles(source="2001:DB8:0::5") == {"招生简章"}
    assert titles(source="192.0.2.") == {"预算通知", "旧通知"}
    today = timezone.localdate()
    assert titles(since=str(today - timedelta(days=1))) == {"预算通知", "招生简章"}
    assert titles(until=str(today - timedelta(days=30))) == {"旧通知"}
    # the pseudonymous reference finds a person's entries too
    ref = AuditEntry.objects.get(action="test.beta").actor_ref
    assert titles(user=ref) == {"招生简章"}


def test_bad_filter_input_is_explained_not_a_crash(client, province):
    client.force_login(province.users["audit_admin"])
    r = client.get(LIST, {"since": "2026-03-01", "until": "2026-02-01"})
    assert r.status_code == 200 and "起始日期不能晚于截止日期" in r.content.decode()
    r = client.get(LIST, {"source": "1.2.3.4'; DROP TABLE x"})
    assert r.status_code == 200 and "来源地址只能包含" in r.content.decode()
    r = client.get(LIST, {"since": "昨天"})
    assert r.status_code == 200 and "没有记录" in r.content.decode()
    r = client.get(EXPORT, {"since": "2026-03-01", "until": "2026-02-01"})
    assert r.status_code == 302 and r["Location"].startswith(LIST)


def test_list_pages_keep_the_filter_and_show_the_seal_state(client, province):
    from jiyue.audit.chain import seal

    for i in range(120):
        audit.record(None, None, "127.0.0.1", "test.event", f"对象{i}")
    seal()
    audit.record(None, None, "127.0.0.1", "test.event", "未封存的对象")
    client.force_login(province.users["audit_admin"])
    page = client.get(LIST, {"action": "test."}).content.decode()
    assert "第 1 / 2 页" in page and "p=2&amp;" in page and "action=test." in page
    assert "待封存" in page  # the newest entry is not yet in the chain
    page2 = client.get(LIST, {"action": "test.", "p": 2}).content.decode()
    assert "<td>对象0</td>" in page2 and "grant.create" not in page2


def test_export_streams_the_current_filter_as_excel_friendly_csv_and_is_audited(client, province):
    u = province.users
    audit.record(u["czt_editor"], province.orgs["czt"], "192.0.2.1", "test.alpha", "预算通知")
    audit.record(u["czt_editor"], province.orgs["czt"], "192.0.2.1", "test.alpha", "=HYPERLINK(\"http://x\")")
    audit.record(u["jyt_editor"], province.orgs["jyt"], "192.0.2.2", "test.beta", "招生简章")
    client.force_login(u["audit_admin"])
    r = client.get(EXPORT, {"action": "test.alpha"}, REMOTE_ADDR="198.51.100.20")
    assert r.status_code == 200 and r.streaming
    assert r["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment;" in r["Content-Disposition"]
    rows = _csv(r)
    header = rows[0]
    assert header[:3] == ["序号", "编号", "时间"]
    objects = [row[header.index("对象")] for row in rows[1:]]
    assert objects == ["预算通知", "'=HYPERLINK(\"http://x\")"]  # formulas are not run by Excel
    assert {row[header.index("用户")] for row in rows[1:]} == {"czt_editor"}
    assert {row[header.index("机构")] for row in rows[1:]} == {"安徽省财政厅"}
    entry = AuditEntry.objects.get(action="audit.export")
    assert entry.actor == u["audit_admin"] and entry.outcome == "success"
    assert entry.source_address == "198.51.100.20"
    assert entry.detail["filters"] == {"action": "test.alpha"} and entry.detail["count"] == 2


@pytest.mark.parametrize("role", ["system_admin", "security_admin", "platform_operator", "czt_site_admin",
                                  "czt_editor", "czt_publisher", "czt_reviewer1"])
def test_only_the_audit_administrator_reads_and_exports(client, province, role):
    user = province.users[role]
    client.force_login(user)
    r = client.get(LIST)
    assert r.status_code == 403 and "只有审计管理员" in r.content.decode()
    assert client.get(EXPORT).status_code == 403
    assert client.get(EXPORT, {"action": "auth."}).status_code == 403
    denied = AuditEntry.objects.filter(actor=user, outcome="denied")
    assert {"audit.view", "audit.export"} <= set(denied.values_list("action", flat=True))
    assert not AuditEntry.objects.filter(action="audit.export", outcome="success").exists()
    assert "审计日志" not in _menu(client)


def test_audit_administrator_and_demo_superuser_may_read(client, province):
    from jiyue.accounts.models import User

    client.force_login(province.users["audit_admin"])
    assert client.get(LIST).status_code == 200
    assert "审计日志" in _menu(client)
    client.force_login(User.objects.create_superuser("demo_root", password="Passw0rd!x"))
    assert client.get(LIST).status_code == 200 and client.get(EXPORT).status_code == 200


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    for url in (LIST, EXPORT):
        r = client.get(url)
        assert r.status_code == 302 and "login/" in r["Location"]


def test_a_deleted_account_is_shown_by_its_pseudonym(client, province):
    from jiyue.accounts.models import User

    person = User.objects.create_user(username="li.si", password="Passw0rd!x", organisation=province.orgs["czt"])
    audit.record(person, None, "192.0.2.3", "test.event", "操作")
    ref = AuditEntry.objects.get(action="test.event").actor_ref
    person.delete()
    client.force_login(province.users["audit_admin"])
    page = client.get(LIST, {"action": "test."}).content.decode()
    assert f"已注销用户 {ref}" in page and "li.si" not in page
    rows = _csv(client.get(EXPORT, {"action": "test."}))
    assert rows[1][rows[0].index("用户")] == f"已注销用户 {ref}"


BODY = ('{"blocks": [{"key": "a", "text": "正文", "type": "unstyled", "depth": 0, '
        '"inlineStyleRanges": [], "entityRanges": []}], "entityMap": {}}')


def test_staff_actions_through_the_admin_are_all_in_the_log(client, province):
    """Logins (and a failure), resource create/update/submit/reject/approve/publish/withdraw/
    delete, page create/publish/unpublish/delete, a grant and its revocation, site and platform
    settings, an export and a logout: each with user, organisation, source address, outcome."""
    from jiyue.audit.chain import verify
    from jiyue.library.models import Article
    from jiyue.platform.models import Column

    u, czt = province.users, province.orgs["czt"]
    start = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    Client = client.__class__

    def as_user(name):
        c = Client(REMOTE_ADDR="192.0.2.50")
        c.force_login(u[name])
        return c

    editor = Client(REMOTE_ADDR="192.0.2.50")
    assert editor.post("/admin/login/", {"username": "czt_editor", "password": "wrong"}).status_code == 200
    assert editor.post("/admin/login/", {"username": "czt_editor", "password": "Passw0rd!x"}).status_code == 302
    # an article: create, edit and submit, rejected, resubmitted, approved twice (published)
    data = {"organisation": czt.pk, "title": "审计覆盖测试", "article_type": "news", "body": BODY,
            "sharing": "all", "disclosure": "active"}
    assert editor.post("/admin/snippets/library/article/add/",
                       {**data, "place_in": [province.column("czt", "zcwj").pk]}).status_code == 302
    article = Article.objects.get(title="审计覆盖测试")
    edit_url = reverse("wagtailsnippets_library_article:edit", args=[article.pk])
    data["title"] = "审计覆盖测试（修改）"
    assert editor.post(edit_url, {**data, "action-submit": "1"}).status_code == 302

    def act(reviewer, action, **form):
        article.refresh_from_db()
        task_state = article.current_workflow_state.current_task_state
        url = reverse("wagtailsnippets_library_article:workflow_action",
                      args=[article.pk, action, task_state.pk])
        assert as_user(reviewer).post(url, form).status_code == 302

    act("czt_reviewer1", "reject", comment="请补充依据")
    assert editor.post(edit_url, {**data, "action-submit": "1"}).status_code == 302
    act("czt_reviewer1", "approve", comment="")
    act("czt_reviewer2", "approve", comment="", secrecy_confirmed="on")
    article.refresh_from_db()
    assert article.live
    site_admin = as_user("czt_site_admin")
    assert site_admin.post(reverse("wagtailsnippets_library_article:unpublish", args=[article.pk])).status_code == 302
    assert site_admin.post(reverse("wagtailsnippets_library_article:delete", args=[article.pk])).status_code == 302
    # a column page: create and publish, unpublish, delete
    home = province.sites["czt"].home
    assert site_admin.post(f"/admin/pages/add/platform/column/{home.pk}/", {
        "title": "审计专栏", "slug": "sjzl", "column_type": "专题", "update_interval": "none",
        "list_layout": "list", "action-publish": "1"}).status_code == 302
    column = Column.objects.get(slug="sjzl")
    assert site_admin.post(f"/admin/pages/{column.pk}/unpublish/").status_code == 302
    assert site_admin.post(f"/admin/pages/{column.pk}/delete/").status_code == 302
    # permissions: a grant and its revocation
    security = as_user("security_admin")
    assert security.post("/admin/grants/", {"user": u["jyt_editor"].pk, "role": "editor",
                                            "site": province.sites["czt"].pk}).status_code == 302
    from jiyue.accounts.models import RoleGrant

    grant = RoleGrant.objects.get(user=u["jyt_editor"], site=province.sites["czt"])
    assert security.post("/admin/grants/", {"revoke": grant.pk}).status_code == 302
    # configuration: site settings, platform settings
    system = as_user("system_admin")
    site = province.sites["czt"]
    form = {f: getattr(site, f) or "" for f in ("name", "level", "kind", "domain", "sponsor", "operator",
                                               "address", "phone", "email", "icp", "police_record",
                                               "police_record_code", "conac", "state", "theme", "colour")}
    form.update(organisation=site.organisation_id, code=site.code, phone="0551-62998888")
    assert system.post(f"/admin/site/edit/{site.pk}/", form).status_code == 302
    p = province.platform
    assert system.post(f"/admin/platform/edit/{p.pk}/", {
        "code": p.code, "name": p.name, "level": p.level, "region_code": p.region_code,
        "index_number_pattern": "{org}/{year}-{serial:05d}"}).status_code == 302
    # an export, and the editor logs out
    assert as_user("audit_admin").get(EXPORT, {"action": "auth."}).status_code == 200
    assert editor.post("/admin/logout/").status_code == 302

    entries = AuditEntry.objects.filter(id__gt=start or 0, source_address="192.0.2.50")
    got = {(e.actor_name, e.action, e.object_type, e.outcome): e for e in entries}
    expected = [
        ("system", "auth.login", "str", "failure", None),
        ("czt_editor", "auth.login", "accounts.user", "success", czt),
        ("czt_editor", "wagtail.create", "library.article", "success", czt),
        ("czt_editor", "wagtail.edit", "library.article", "success", czt),
        ("czt_editor", "wagtail.workflow.start", "library.article", "success", czt),
        ("czt_reviewer1", "review.reject", "library.resource", "success", czt),
        ("czt_reviewer1", "wagtail.workflow.reject", "library.article", "success", czt),
        ("czt_reviewer1", "review.approve", "library.resource", "success", czt),
        ("czt_reviewer2", "review.approve", "library.resource", "success", czt),
        ("czt_reviewer2", "wagtail.publish", "library.article", "success", czt),
        ("czt_site_admin", "wagtail.unpublish", "library.article", "success", czt),
        ("czt_site_admin", "wagtail.delete", "library.article", "success", czt),
        ("czt_site_admin", "wagtail.create", "platform.column", "success", czt),
        ("czt_site_admin", "wagtail.publish", "platform.column", "success", czt),
        ("czt_site_admin", "wagtail.unpublish", "platform.column", "success", czt),
        ("czt_site_admin", "wagtail.delete", "platform.column", "success", czt),
        ("security_admin", "grant.create", "accounts.rolegrant", "success", czt),
        ("security_admin", "grant.delete", "accounts.rolegrant", "success", czt),
        ("system_admin", "wagtail.edit", "platform.site", "success", czt),
        ("system_admin", "wagtail.edit", "core.platform", "success", None),
        ("audit_admin", "audit.export", "audit.auditentry", "success", None),
        ("czt_editor", "auth.logout", "accounts.user", "success", czt),
    ]
    missing = [key[:4] for key in expected if key[:4] not in got]
    assert not missing, f"not in the audit log: {missing}"
    for actor, action, object_type, outcome, org in expected:
        entry = got[(actor, action, object_type, outcome)]
        assert entry.organisation_id == (org.pk if org else None), (action, object_type)
        if actor != "system":
            assert entry.actor == u[actor] and entry.actor_ref
    assert got[("system", "auth.login", "str", "failure", )[:4]].detail["username"] == "czt_editor"
    assert verify().ok


def test_a_refusal_inside_a_rolled_back_transaction_stays_in_the_log(client, province, make_policy):
    """library.delete_resource records "denied" and raises inside transaction.atomic, which rolls
    the entry back with everything else; the audit middleware writes it again."""
    from jiyue.api.models import issue_token

    doc = make_policy(publish=True)
    r = client.delete(f"/api/v1/resources/{doc.global_id}", REMOTE_ADDR="192.0.2.77",
                      HTTP_AUTHORIZATION=f"Bearer {issue_token(province.users['czt_editor'], 'test')}")
    assert r.status_code == 403
    entry = AuditEntry.objects.get(action="resource.delete")
    assert entry.outcome == "denied" and entry.actor == province.users["czt_editor"]
    assert entry.source_address == "192.0.2.77" and entry.object_id == doc.global_id
