"""The admin's 发布状态 screen: each site's state and queue, scoped; rebuild on request."""

import pytest

from tests.publishing_util import make_article, publish


@pytest.fixture
def public(settings, tmp_path):
    settings.JIYUE_PUBLIC_ROOT = tmp_path / "public"
    settings.JIYUE_OUTBOX_LAG_SECONDS = 0
    settings.JIYUE_PUBLISH_AUTORUN = False


def test_site_admin_sees_own_site_state_and_queues_a_rebuild(province, client, public):
    from jiyue.audit.models import AuditEntry
    from jiyue.publishing.models import Dirty

    make_article(province)
    publish()
    client.force_login(province.users["czt_site_admin"])
    html = client.get("/admin/publishing/").content.decode()
    assert "安徽省财政厅" in html and "已是最新" in html and "安徽省教育厅" not in html
    r = client.post("/admin/publishing/", {"site": "3400000002"})
    assert r.status_code == 302
    assert Dirty.objects.filter(site_code="3400000002", key="site").exists()
    assert "排队中" in client.get("/admin/publishing/").content.decode()
    assert AuditEntry.objects.filter(action="publishing.rebuild", outcome="success").exists()
    # another site's rebuild is refused and audited
    r = client.post("/admin/publishing/", {"site": "3400000003"})
    assert r.status_code in (302, 403) and r.get("Location", "/admin/") == "/admin/"
    assert not Dirty.objects.filter(site_code="3400000003").exists()
    assert AuditEntry.objects.filter(action="publishing.rebuild", outcome="denied").exists()
    publish()
    assert "已是最新" in client.get("/admin/publishing/").content.decode()


def test_editor_sees_state_without_rebuild_button_and_audit_admin_sees_nothing(province, client, public):
    client.force_login(province.users["czt_editor"])
    html = client.get("/admin/publishing/").content.decode()
    assert "安徽省财政厅" in html and "全量重建</button>" not in html
    r = client.post("/admin/publishing/", {"site": "3400000002"})
    assert r.status_code in (302, 403) and r.get("Location", "/admin/") == "/admin/"
    from jiyue.publishing.models import Dirty

    assert not Dirty.objects.exists()
    client.force_login(province.users["audit_admin"])
    r = client.get("/admin/publishing/")
    assert r.status_code in (302, 403) and r.get("Location", "/admin/") == "/admin/"
    client.force_login(province.users["platform_operator"])
    html = client.get("/admin/publishing/").content.decode()
    assert "安徽省教育厅" in html and "尚未发布" in html
