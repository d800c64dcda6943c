"""What happens when a review workflow is approved at its last level.

Kept free of module-level model imports: Wagtail imports it while defining its own models."""


def publish_on_approval(workflow_state, user=None):
    """WAGTAIL_FINISH_WORKFLOW_ACTION: when the last level approves, publish.

    Wagtail's default checks the model-level publish permission, which reviewers do not hold
    (so that they get no 发布 button to skip the review); jiyue checks instead that the approver
    may publish this resource (the final level's reviewer, a publisher or the site admin)."""
    from django.core.exceptions import PermissionDenied
    from django.utils.translation import gettext as _
    from wagtail.workflows import publish_workflow_state

    from jiyue.accounts import policy
    from jiyue.library.models import Resource

    obj = workflow_state.content_object
    if not isinstance(obj, Resource):
        return publish_workflow_state(workflow_state, user=user)
    if user is not None and not policy.can_publish_resource(user, obj):
        raise PermissionDenied(_("审核通过后发布须由终审人员、发布员或站点管理员完成。"))
    from wagtail.actions.publish_revision import PublishRevisionAction

    PublishRevisionAction(obj.get_latest_revision(), user=user).execute(skip_permission_checks=True)
