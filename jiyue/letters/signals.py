"""Connections of the letters app made at start-up: a citizen's data export includes the
letters they wrote (identity.services.register_export)."""

from __future__ import annotations

from django.utils import timezone

from jiyue.identity.services import register_export


def export_letters(user) -> list[dict]:
    """Every letter this citizen wrote (not anonymous ones: those are not linked to them)."""
    from .models import Letter

    out = []
    for letter in Letter.objects.filter(citizen=user).select_related("mailbox", "reply_organisation") \
            .order_by("received_at", "id"):
        out.append({
            "serial": letter.serial, "query_code": letter.query_code, "mailbox": letter.mailbox.name,
            "type": letter.type, "title": letter.title, "content": letter.content,
            "name": letter.name, "phone": letter.phone, "email": letter.email,
            "address": letter.address, "consent_publish": letter.consent_publish,
            "status": letter.status,
            "received_at": timezone.localtime(letter.received_at).isoformat(),
            "reply": letter.reply,
            "reply_organisation": letter.reply_unit,
            "replied_at": timezone.localtime(letter.replied_at).isoformat() if letter.replied_at else None,
            "rating": letter.rating, "rating_comment": letter.rating_comment,
        })
    return out


register_export("letters", export_letters)


def _rules_changed(sender, **kwargs):
    from . import services

    services.forget_cached()


def connect() -> None:
    from django.db.models.signals import post_delete, post_save

    from .models import DeadlineRule, Mailbox

    for model in (DeadlineRule, Mailbox):
        post_save.connect(_rules_changed, sender=model, dispatch_uid=f"letters.rules.{model.__name__}")
        post_delete.connect(_rules_changed, sender=model, dispatch_uid=f"letters.rules.{model.__name__}")
