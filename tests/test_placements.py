import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from jiyue.library import services
from jiyue.library.models import Placement


def test_own_resource_placed_directly_and_in_several_columns(province, make_policy):
    doc = make_policy(publish=True, place=())
    u = province.users["czt_editor"]
    p1 = services.place(u, doc, province.column("czt", "zcwj"))
    p2 = services.place(u, doc, province.column("czt", "xxgk"))
    assert p1.state == p2.state == Placement.LIVE
    assert {p.column.slug for p in services.where_used(doc)} == {"zcwj", "xxgk"}


def test_same_column_twice_refused(province, make_policy):
    doc = make_policy(publish=True)
    with pytest.raises(ValidationError, match="已在此栏目"):
        services.place(province.users["czt_editor"], doc, province.column("czt", "zcwj"))


def test_offer_to_another_site_then_accept(province, make_policy):
    doc = make_policy(publish=True)
    offer = services.place(province.users["czt_editor"], doc, province.column("portal", "zcwj"))
    assert offer.state == Placement.OFFERED and not offer.is_public
    with pytest.raises(PermissionDenied):
        services.accept_offer(province.users["jyt_editor"], offer)
    accepted = services.accept_offer(province.users["portal_editor"], offer)
    assert accepted.state == Placement.LIVE and accepted.is_public
    with pytest.raises(ValidationError):
        services.accept_offer(province.users["portal_editor"], offer)


def test_offer_can_be_refused(province, make_policy):
    doc = make_policy(publish=True)
    offer = services.place(province.users["czt_editor"], doc, province.column("portal", "zcwj"))
    assert services.refuse_offer(province.users["portal_editor"], offer).state == Placement.REFUSED


@pytest.mark.parametrize("sharing,expected", [("all", Placement.LIVE), ("request", Placement.REQUESTED)])
def test_taking_another_organisations_resource(province, make_policy, sharing, expected):
    doc = make_policy(publish=True, sharing=sharing)
    p = services.place(province.users["portal_editor"], doc, province.column("portal", "zcwj"))
    assert p.state == expected
    if expected == Placement.REQUESTED:
        with pytest.raises(PermissionDenied):
            services.approve_request(province.users["portal_editor"], p)
        assert services.approve_request(province.users["czt_editor"], p).state == Placement.LIVE


def test_unshared_resource_cannot_be_taken(province, make_policy):
    doc = make_policy(publish=True, sharing="none")
    with pytest.raises(PermissionDenied, match="不予共享|无权查看"):
        services.place(province.users["portal_editor"], doc, province.column("portal", "zcwj"))
    assert not Placement.objects.filter(resource=doc, site=province.sites["portal"]).exists()


def test_editor_cannot_place_into_columns_they_do_not_reach(province, make_policy):
    doc = make_policy(org="jyt", doc_number="皖教〔2026〕3号", publish=True, sharing="all")
    # an editor restricted to one column of the czt site
    from jiyue.accounts.models import User
    from jiyue.accounts.services import grant

    u = User.objects.create_user(username="czt_zcwj_only", password="x")
    grant(None, u, "editor", site=province.sites["czt"], column=province.column("czt", "zcwj"))
    services.place(u, doc, province.column("czt", "zcwj"))
    with pytest.raises(PermissionDenied):
        services.place(u, doc, province.column("czt", "tzgg"))


def test_withdrawing_a_resource_removes_it_from_every_site(province, make_policy):
    doc = make_policy(publish=True)
    services.place(province.users["portal_editor"], doc, province.column("portal", "zcwj"))
    public = services.public_placements().filter(resource=doc)
    assert public.count() == 2
    services.withdraw_resource(province.users["czt_publisher"], doc)
    assert services.public_placements().filter(resource=doc).count() == 0
    assert {p.effective_state for p in Placement.objects.filter(resource=doc)} == {"unpublished"}


def test_editing_changes_what_every_placement_shows(province, make_policy, client):
    doc = make_policy(publish=True)
    services.place(province.users["portal_editor"], doc, province.column("portal", "zcwj"))
    doc.title = "修订后的标题"
    doc.save_revision().publish()
    for code in ("3400000001", "3400000002"):
        r = client.get("/api/v1/resources", {"site": code})
        assert [x["title"] for x in r.json()["results"]] == ["修订后的标题"]


def test_deleting_a_resource_in_use_needs_confirmation(province, make_policy):
    doc = make_policy(publish=True)
    with pytest.raises(PermissionDenied, match="发布员"):
        services.delete_resource(province.users["czt_editor"], doc)
    editor = province.users["czt_site_admin"]
    with pytest.raises(services.NeedsConfirmation, match="1 个栏目"):
        services.delete_resource(editor, doc)
    services.delete_resource(editor, doc, confirm=True)
    from jiyue.core.models import Event

    assert Event.objects.filter(topic="resource.withdrawn", aggregate_id=doc.global_id).exists()
    assert Event.objects.filter(topic="resource.deleted", aggregate_id=doc.global_id).exists()


def test_pin_and_reorder(province, make_policy):
    a = make_policy(publish=True, title="甲")
    b = make_policy(publish=True, title="乙", doc_number="皖财〔2026〕20号")
    col = province.column("czt", "zcwj")
    pb = Placement.objects.get(resource=b, column=col)
    services.update_placement(province.users["czt_editor"], pb, pinned=True)
    assert Placement.objects.filter(column=col).first().resource_id == b.pk
    with pytest.raises(PermissionDenied):
        services.update_placement(province.users["jyt_editor"], pb, pinned=False)


def test_admin_delete_confirmation_shows_where_a_resource_is_used(client, province, make_policy):
    import re

    from wagtail.models import ReferenceIndex

    doc = make_policy(publish=True)
    services.place(province.users["portal_editor"], doc, province.column("portal", "zcwj"))
    # what Wagtail's queued reference-index job does after each save
    for p in doc.placements.all():
        ReferenceIndex.create_or_update_for_object(p)
    client.force_login(province.users["czt_site_admin"])
    page = client.get(f"/admin/snippets/library/policydocument/delete/{doc.pk}/").content.decode()
    assert re.search(r"被引用了\s*2\s*次", page)
    # the usage page lists both (as 私有引用: placements are managed in 引用管理, not as pages)
    usage = client.get(f"/admin/snippets/library/policydocument/usage/{doc.pk}/").content.decode()
    assert usage.count("私有引用") == 2
