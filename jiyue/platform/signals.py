"""Site and column changes become outbox events (the publisher rebuilds the site's pages)."""

from django.db import transaction
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver
from wagtail.signals import page_published, page_unpublished, post_page_move

from jiyue.core import outbox

from .models import Column, Site, SiteHome


def _column_event(page, verb: str, extra_sites=(), top=None, parent=None):
    """`top`: the column is (or was) directly under the site's home page, i.e. in the main
    navigation of every page; `parent`: the column above it now."""
    from .services import site_of_page

    site = site_of_page(page)
    sites = sorted({s for s in [site.code if site else None, *extra_sites] if s})
    if top is None:
        parent_page = page.get_parent()
        top = parent_page is None or isinstance(parent_page.specific_deferred, SiteHome) \
            or not isinstance(page.specific_deferred, Column)
        parent = None if top else parent_page.pk
    if sites:
        outbox.emit(f"column.{verb}", "column", page.pk,
                    {"column": page.pk, "sites": sites, "top": bool(top), "parent": parent})


@receiver(post_save, sender=Site)
def site_saved(sender, instance, created, **kwargs):
    outbox.emit("site.changed", "site", instance.code, {"site": instance.code})


@receiver(page_published)
def page_published_(sender, instance, **kwargs):
    if isinstance(instance, (Column, SiteHome)):
        _column_event(instance, "published")


@receiver(page_unpublished)
def page_unpublished_(sender, instance, **kwargs):
    if isinstance(instance, (Column, SiteHome)):
        _column_event(instance, "unpublished")


@receiver(post_page_move)
def page_moved(sender, instance, parent_page_before=None, **kwargs):
    if isinstance(instance.specific_deferred, Column):
        from .services import site_of_page

        before = site_of_page(parent_page_before) if parent_page_before else None
        parent = instance.get_parent()
        top = (parent_page_before is None or isinstance(parent_page_before.specific_deferred, SiteHome)
               or isinstance(parent.specific_deferred, SiteHome))
        _column_event(instance, "moved", [before.code] if before else [], top=top,
                      parent=None if top else parent.pk)


@receiver(pre_delete, sender=Column)
def column_deleted(sender, instance, **kwargs):
    with transaction.atomic():
        _column_event(instance, "deleted")
