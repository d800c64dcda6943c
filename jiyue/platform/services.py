"""The public interface of the platform app: creating sites and finding what a user may see."""

from __future__ import annotations

from django.db import transaction
from wagtail.models import Collection, Page
from wagtail.models import Site as WagtailSite

from jiyue.core import outbox

from .column_templates import column_template
from .models import Column, Organisation, Site, SiteHome


def site_root_page() -> Page:
    return Page.get_first_root_node()


def org_collection(org: Organisation) -> Collection:
    """Each organisation's images and documents live in its own collection."""
    root = Collection.get_first_root_node()
    existing = root.get_children().filter(name=org.name).first()
    return existing or root.add_child(name=org.name)


def _add_columns(parent: Page, template: list[dict]) -> None:
    for spec in template:
        col = Column(title=spec["title"], slug=spec["slug"], column_type=spec["type"],
                     update_interval=spec["update_interval"], list_layout=spec["list_layout"],
                     description=spec["description"], keywords=spec["title"],
                     show_in_menus=True, live=True)
        parent.add_child(instance=col)
        _add_columns(col, spec.get("children", []))


@transaction.atomic
def create_site(*, organisation: Organisation, apply_template: bool = True, **fields) -> Site:
    """Create a site with its home page, standard column tree and local hostname."""
    site = Site(organisation=organisation, **fields)
    site.full_clean()
    site.save()
    return provision_site(site, apply_template=apply_template)


@transaction.atomic
def provision_site(site: Site, apply_template: bool = True) -> Site:
    """Give a newly saved site its home page, local hostname, standard column tree (by its
    level and kind) and its organisation's media collection."""
    home = SiteHome(title=site.name, slug=f"site-{site.code}", live=True)
    site_root_page().add_child(instance=home)
    wsite = WagtailSite.objects.create(hostname=site.local_hostname, port=80, root_page=home,
                                       site_name=site.name, is_default_site=False)
    site.home = home
    site.wagtail_site = wsite
    site.save(update_fields=["home", "wagtail_site"])
    if apply_template:
        _add_columns(home, column_template(site.level, site.kind))
    org_collection(site.organisation)
    outbox.emit("site.created", "site", site.code, {"site": site.code, "name": site.name})
    return site


def columns_of(site: Site):
    return Column.objects.descendant_of(site.home).specific() if site.home else Column.objects.none()


def column_by_slug(site: Site, slug: str) -> Column | None:
    return Column.objects.descendant_of(site.home).filter(slug=slug).first()


def site_of_page(page: Page) -> Site | None:
    home = page if isinstance(page.specific, SiteHome) else page.get_ancestors().type(SiteHome).first()
    return Site.objects.filter(home_id=home.pk).first() if home else None


def empty_columns(site: Site) -> list[Column]:
    """Columns that should carry content but have no live placement."""
    from jiyue.library.services import live_placement_counts

    cols = [c for c in columns_of(site) if c.holds_content()]
    counts = live_placement_counts([c.pk for c in cols])
    return [c for c in cols if not counts.get(c.pk)]
