"""Revisions with a readable diff and restore, and the edit lock (Wagtail's, scoped by jiyue)."""

from django.urls import reverse

VS = "wagtailsnippets_library_policydocument"


def test_compare_and_restore_an_earlier_revision(client, province, make_policy):
    doc = make_policy(title="第一稿标题")
    first = doc.latest_revision
    doc.title = "第二稿标题"
    doc.save_revision(user=province.users["czt_editor"])
    client.force_login(province.users["czt_editor"])
    diff = client.get(reverse(f"{VS}:revisions_compare", args=[doc.pk, first.pk, "latest"]))
    text = diff.content.decode()
    assert diff.status_code == 200 and "第一稿标题" in text and "第二稿标题" in text
    # restoring opens the editor with the old content; saving makes it the newest revision
    r = client.get(reverse(f"{VS}:revisions_revert", args=[doc.pk, first.pk]))
    assert r.status_code == 200 and "第一稿标题" in r.content.decode()
    # another department cannot read the history
    client.force_login(province.users["jyt_editor"])
    assert client.get(reverse(f"{VS}:revisions_compare", args=[doc.pk, first.pk, "latest"])).status_code == 404


def test_lock_keeps_other_editors_out(client, province, make_policy):
    from jiyue.accounts.models import User
    from jiyue.accounts.services import grant

    doc = make_policy()
    colleague = User.objects.create_user(username="czt_editor_b", password="Passw0rd!x",
                                         organisation=province.orgs["czt"])
    grant(None, colleague, "editor", site=province.sites["czt"])
    client.force_login(province.users["czt_editor"])
    assert client.post(reverse(f"{VS}:lock", args=[doc.pk])).status_code == 302
    doc.refresh_from_db()
    assert doc.locked and doc.locked_by == province.users["czt_editor"]
    lock = doc.get_lock()
    assert lock.for_user(colleague) and not lock.for_user(province.users["czt_editor"])
