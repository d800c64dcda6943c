"""Dictionary changes reach every node through the outbox (`search.dictionary`), emitted in the
transaction that changes the word: each node reloads its segmenter and re-indexes the
documents that contain the word."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from jiyue.core import outbox

from . import segment
from .models import DictionaryTerm


@receiver(pre_save, sender=DictionaryTerm)
def _remember_old_word(sender, instance, **kwargs):
    instance._old_word = None
    if instance.pk:
        instance._old_word = (DictionaryTerm.objects.filter(pk=instance.pk)
                              .values_list("word", flat=True).first())


@receiver(post_save, sender=DictionaryTerm)
def _saved(sender, instance, created, **kwargs):
    old = getattr(instance, "_old_word", None)
    outbox.emit("search.dictionary", "dictionary", instance.pk,
                {"word": instance.word, "old": old if old and old != instance.word else "",
                 "action": "added" if created else "changed"})
    _invalidate()


@receiver(post_delete, sender=DictionaryTerm)
def _deleted(sender, instance, **kwargs):
    outbox.emit("search.dictionary", "dictionary", instance.pk,
                {"word": instance.word, "old": "", "action": "deleted"})
    _invalidate()


def _invalidate():
    # now (this connection sees the change already) and after the commit (for other threads)
    segment.invalidate()
    transaction.on_commit(segment.invalidate)
