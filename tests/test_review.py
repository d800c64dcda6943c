import pytest
from django.core.exceptions import PermissionDenied
from wagtail.models import TaskState, WorkflowState

from jiyue.library.models import Resource
from jiyue.review.models import ReviewTask
from jiyue.review.services import set_policy, workflow_for


def _act(doc, user, action, **kwargs):
    state = doc.current_workflow_state
    task_state = state.current_task_state
    task = task_state.task.specific
    assert action in [a[0] for a in task.get_actions(doc, user)]
    task.on_action(task_state, user, action, **kwargs)
    doc.refresh_from_db()


def test_two_level_review_publishes_with_index_number(province, make_policy):
    doc = make_policy()
    wf = workflow_for(doc)
    assert [t.specific.level for t in wf.tasks] == [1, 2]
    assert list(wf.tasks)[-1].specific.secrecy_check
    wf.start(doc, province.users["czt_editor"])
    # the second-level reviewer cannot act on the first level; another department cannot either
    task1 = doc.current_workflow_state.current_task_state.task.specific
    assert task1.get_actions(doc, province.users["czt_reviewer2"]) == []
    assert task1.get_actions(doc, province.users["jyt_reviewer1"]) == []
    with pytest.raises(PermissionDenied):
        task1.on_action(doc.current_workflow_state.current_task_state, province.users["jyt_reviewer1"], "approve")
    # while in review the editor cannot change it; the reviewer of the current level can
    assert task1.locked_for_user(doc, province.users["czt_editor"])
    assert not task1.locked_for_user(doc, province.users["czt_reviewer1"])
    _act(doc, province.users["czt_reviewer1"], "approve")
    assert not doc.live
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="保密审查"):
        _act(doc, province.users["czt_reviewer2"], "approve")
    doc.refresh_from_db()
    assert not doc.live
    _act(doc, province.users["czt_reviewer2"], "approve", secrecy_confirmed=True)
    assert doc.live and doc.index_number and doc.published_at
    from jiyue.audit.models import AuditEntry

    actions = list(AuditEntry.objects.filter(object_id=doc.global_id, outcome="success").values_list("action", flat=True))
    assert AuditEntry.objects.filter(object_id=doc.global_id, outcome="denied", actor=province.users["jyt_reviewer1"]).exists()
    assert actions.count("review.approve") == 2 and "resource.publish" in actions


def test_rejection_returns_to_editor_with_comment(province, make_policy):
    doc = make_policy()
    workflow_for(doc).start(doc, province.users["czt_editor"])
    _act(doc, province.users["czt_reviewer1"], "reject", comment="请补充政策依据")
    state = WorkflowState.objects.for_instance(doc).first()
    assert state.status == WorkflowState.STATUS_NEEDS_CHANGES
    ts = TaskState.objects.filter(workflow_state=state).first()
    assert ts.status == TaskState.STATUS_REJECTED and ts.get_comment() == "请补充政策依据"
    assert not doc.live


def test_final_level_requires_secrecy_confirmation(province, make_policy):
    from jiyue.review.forms import SecrecyConfirmForm

    task = ReviewTask.objects.filter(level=2, secrecy_check=True).first()
    form_class = task.get_form_for_action("approve")
    assert form_class is SecrecyConfirmForm
    assert not form_class(data={"comment": ""}).is_valid()
    assert form_class(data={"comment": "", "secrecy_confirmed": "on"}).is_valid()


def test_policy_override_per_column(province, make_policy):
    col = province.column("czt", "tzgg")
    set_policy(province.orgs["czt"], site=province.sites["czt"], column=col, levels=3, secrecy_check=False)
    notice = make_policy(title="通知", place=("tzgg",))
    policy_doc = make_policy(title="文件", doc_number="皖财〔2026〕30号")
    assert len(workflow_for(notice).tasks) == 3
    assert len(workflow_for(policy_doc).tasks) == 2


def test_site_admin_sets_review_levels_in_the_admin(client, province, make_policy):
    from jiyue.review.models import ReviewPolicy

    client.force_login(province.users["czt_site_admin"])
    listing = client.get("/admin/review_policies/").content.decode()
    assert "安徽省财政厅" in listing and "安徽省教育厅" not in listing
    col = province.column("czt", "tzgg")
    r = client.post("/admin/review_policies/new/", {
        "organisation": province.orgs["czt"].pk, "column": col.pk, "levels": 3, "secrecy_check": ""})
    assert r.status_code == 302, r.content.decode()[:500]
    pol = ReviewPolicy.objects.get(column=col)
    assert pol.site == province.sites["czt"] and len(pol.workflow.tasks) == 3
    notice = make_policy(title="通知", place=("tzgg",))
    assert len(workflow_for(notice).tasks) == 3
    # another department's policy is not reachable
    other = ReviewPolicy.objects.get(organisation=province.orgs["jyt"], site=None)
    assert client.get(f"/admin/review_policies/edit/{other.pk}/").status_code == 404
    client.force_login(province.users["czt_editor"])
    assert client.get("/admin/review_policies/").status_code in (302, 403)


def test_site_admin_cannot_set_policies_for_another_organisation(client, province):
    from jiyue.review.models import ReviewPolicy

    client.force_login(province.users["czt_site_admin"])
    before = ReviewPolicy.objects.count()
    r = client.post("/admin/review_policies/new/", {
        "organisation": province.orgs["jyt"].pk, "site": province.sites["jyt"].pk, "levels": 1})
    assert r.status_code == 200 and ReviewPolicy.objects.count() == before
