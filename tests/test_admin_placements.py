from jiyue.library import services
from jiyue.library.models import Placement


def test_offer_accepted_in_the_admin(client, province, make_policy):
    doc = make_policy(publish=True)
    offer = services.place(province.users["czt_editor"], doc, province.column("portal", "zcwj"))
    client.force_login(province.users["portal_editor"])
    page = client.get("/admin/placements/").content.decode()
    assert "待接收的推送（1）" in page and doc.title in page
    r = client.post("/admin/placements/", {"placement": offer.pk, "action": "accept"})
    assert r.status_code == 302
    offer.refresh_from_db()
    assert offer.state == Placement.LIVE


def test_request_approved_only_by_the_owner(client, province, make_policy):
    doc = make_policy(publish=True, sharing="request")
    req = services.place(province.users["portal_editor"], doc, province.column("portal", "zcwj"))
    client.force_login(province.users["portal_editor"])
    client.post("/admin/placements/", {"placement": req.pk, "action": "approve"})
    req.refresh_from_db()
    assert req.state == Placement.REQUESTED  # the requester cannot approve their own request
    client.force_login(province.users["czt_editor"])
    assert "待批准的引用申请（1）" in client.get("/admin/placements/").content.decode()
    client.post("/admin/placements/", {"placement": req.pk, "action": "approve"})
    req.refresh_from_db()
    assert req.state == Placement.LIVE


def test_other_departments_placements_are_not_reachable(client, province, make_policy):
    doc = make_policy(publish=True)
    p = doc.placements.get()
    client.force_login(province.users["jyt_editor"])
    assert doc.title not in client.get("/admin/placements/").content.decode()
    assert client.post("/admin/placements/", {"placement": p.pk, "action": "withdraw"}).status_code == 404
    p.refresh_from_db()
    assert p.state == Placement.LIVE


def test_empty_columns_are_flagged_in_the_explorer(client, province, make_policy):
    from jiyue.platform.services import empty_columns

    site = province.sites["czt"]
    client.force_login(province.users["czt_editor"])
    page = client.get(f"/admin/pages/{site.home.pk}/").content.decode()
    assert "政策文件（空栏目）" in page
    make_policy(publish=True)
    page = client.get(f"/admin/pages/{site.home.pk}/").content.decode()
    assert "政策文件（空栏目）" not in page and "通知公告（空栏目）" in page
    assert "zcwj" not in {c.slug for c in empty_columns(site)}


def test_take_offer_and_refusal_from_the_admin_form(client, province, make_policy):
    shared = make_policy(publish=True, title="共享文件")
    unshared = make_policy(publish=True, title="不共享文件", sharing="none", doc_number="皖财〔2026〕70号")
    portal_zcwj = province.column("portal", "zcwj")
    client.force_login(province.users["portal_editor"])
    r = client.post("/admin/placements/", {"action": "place", "resource": shared.global_id,
                                           "column": portal_zcwj.pk})
    assert r.status_code == 302
    assert Placement.objects.get(resource=shared, column=portal_zcwj).state == Placement.LIVE
    r = client.post("/admin/placements/", {"action": "place", "resource": unshared.global_id,
                                           "column": portal_zcwj.pk})
    assert r.status_code == 200 and "没有找到该信息资源" in r.content.decode()
    # the owner pushes to another department's site: an offer
    client.force_login(province.users["czt_editor"])
    jyt_col = province.column("jyt", "tzgg")
    client.post("/admin/placements/", {"action": "place", "resource": shared.global_id, "column": jyt_col.pk})
    assert Placement.objects.get(resource=shared, column=jyt_col).state == Placement.OFFERED
