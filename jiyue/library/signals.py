"""Publishing a resource assigns its 索引号 and publish time and writes outbox events."""

from django.db.models.signals import pre_delete
from django.dispatch import receiver
from wagtail.signals import published, unpublished

from .models import Resource


@receiver(published)
def on_published(sender, instance, revision=None, **kwargs):
    if isinstance(instance, Resource):
        from .services import after_publish

        after_publish(instance, user=getattr(revision, "user", None))


@receiver(unpublished)
def on_unpublished(sender, instance, **kwargs):
    if isinstance(instance, Resource):
        from .services import after_unpublish

        after_unpublish(instance)


@receiver(pre_delete)
def on_delete(sender, instance, **kwargs):
    if isinstance(instance, Resource) and sender is type(instance):
        from .services import before_delete

        before_delete(instance)
