"""Keep the knowledge base current and the citizen's data handled.

- A FAQ entry whose text changes loses its stale vectors; every saved or deleted entry makes
  this process rebuild its ranker, and an entry that needs vectors enqueues the embedding job
  when the transaction commits.
- A citizen's questions are part of the account export and are anonymised when the account is
  deleted.
"""

from django.conf import settings
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from jiyue.identity.services import register_export

from . import kb
from .models import FaqEntry


@receiver(pre_save, sender=FaqEntry, dispatch_uid="qa-faq-stale-vectors")
def drop_stale_vectors(sender, instance, **kwargs):
    if instance.embedded and instance.embedded != kb.embed_key(instance.question, instance.answer):
        instance.embedding = None
        instance.embedded = ""


@receiver(post_save, sender=FaqEntry, dispatch_uid="qa-faq-saved")
def faq_saved(sender, instance, **kwargs):
    kb.invalidate()
    if instance.enabled and not instance.embedded:
        from .tasks import request_embedding

        request_embedding()


@receiver(post_delete, sender=FaqEntry, dispatch_uid="qa-faq-deleted")
def faq_deleted(sender, instance, **kwargs):
    kb.invalidate()


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="qa-anonymise-questions")
def account_deleted(sender, instance, **kwargs):
    from .services import anonymise_questions

    anonymise_questions(instance)


def _export(user):
    from .services import export_questions

    return export_questions(user)


register_export("qa_questions", _export)
