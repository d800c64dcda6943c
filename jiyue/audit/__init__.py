"""The audit log. Public interface: `record()`."""


def record(actor, organisation, source_address, action, obj=None, outcome="success", *,
           object_type: str | None = None, object_id: str | None = None, **detail):
    """Append one entry to the audit log.

    actor: a user (or None for the system); organisation: the organisation acted for
    (defaults to the actor's); source_address: client IP (None takes it from the current
    request); action: a dotted event type such as ``resource.publish``; obj: the object acted
    on (a model instance or a string); outcome: success / failure / denied.
    """
    from .context import client_address, current_request
    from .models import AuditEntry

    if source_address is None:
        source_address = client_address(current_request.get())
    if organisation is None and actor is not None:
        organisation = getattr(actor, "organisation", None)
    object_repr = str(obj)[:255] if obj is not None else ""
    if object_type is None:
        object_type = "" if obj is None else (
            obj._meta.label_lower if hasattr(obj, "_meta") else type(obj).__name__)
    if object_id is None:
        object_id = str(getattr(obj, "global_id", None) or obj.pk or "") if hasattr(obj, "_meta") else ""
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEntry.objects.create(
        actor=actor if is_user else None,
        actor_name=(actor.get_username() if is_user else "system")[:150],
        organisation=organisation,
        source_address=source_address,
        action=action[:100],
        object_type=object_type,
        object_id=object_id[:100],
        object_repr=object_repr,
        outcome=outcome,
        detail=detail,
    )
