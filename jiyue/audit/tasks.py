"""Audit background jobs: the sealer (every few seconds) and the archiver (daily)."""

from django_tasks import task

from jiyue.core.periodic import every


@every(5, name="audit.seal")
@task(queue_name="default")
def seal_audit_log():
    from .chain import seal

    return seal()


@every(24 * 3600, name="audit.archive")
@task(queue_name="default")
def archive_audit_log():
    from .archive import archive

    result = archive()
    return result.name if result else None
