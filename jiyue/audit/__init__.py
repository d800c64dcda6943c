"""The audit log. Public interface: `record()`.

Entries are inserted unsealed; `jiyue.audit.chain.seal()` links them into the SM3 hash chain
(see docs/security.md, "Audit log")."""


def record(actor, organisation, source_address, action, obj=None, outcome="success", *,
           object_type: str | None = None, object_id: str | None = None, **detail):
    """Append one entry to the audit log.

    actor: a user (or None for the system); organisation: the organisation acted for
    (defaults to the actor's); source_address: client IP (None takes it from the current
    request); action: a dotted event type such as ``resource.publish``; obj: the object acted
    on (a model instance or a string); outcome: success / failure / denied. Keep personal data
    out of `detail`: it is hashed as it is and cannot be pseudonymised later.

    A refusal or failure recorded inside a transaction that is then rolled back (a service
    that records "denied" and raises) is written again after the request (see middleware).
    """
    import json

    from django.core.serializers.json import DjangoJSONEncoder
    from django.db import transaction

    from .chain import actor_ref_for
    from .context import client_address, current_request, pending_failures
    from .models import AuditEntry

    if source_address is None:
        source_address = client_address(current_request.get())
    is_user = actor is not None and getattr(actor, "is_authenticated", False) and actor.pk is not None
    if organisation is None and is_user:
        organisation = getattr(actor, "organisation", None)
    object_repr = str(obj)[:255] if obj is not None else ""
    if object_type is None:
        object_type = "" if obj is None else (
            obj._meta.label_lower if hasattr(obj, "_meta") else type(obj).__name__)
    if object_id is None:
        object_id = str(getattr(obj, "global_id", None) or obj.pk or "") if hasattr(obj, "_meta") else ""
    values = dict(
        actor_id=actor.pk if is_user else None,
        actor_ref=actor_ref_for(actor.pk) if is_user else "",
        actor_name=(actor.get_username() if is_user else "system")[:150],
        organisation_id=getattr(organisation, "pk", organisation),
        source_address=source_address or None,
        action=action[:100],
        object_type=object_type[:100],
        object_id=str(object_id)[:100],
        object_repr=object_repr,
        outcome=outcome,
        # stored as it will be read back, so that what is sealed is what was recorded
        detail=json.loads(json.dumps(detail, cls=DjangoJSONEncoder)),
    )
    entry = AuditEntry.objects.create(**values)
    pending = pending_failures.get()
    if outcome != AuditEntry.OUTCOME_SUCCESS and pending is not None \
            and transaction.get_connection().in_atomic_block:
        pending.append((entry.pk, values))
    return entry
