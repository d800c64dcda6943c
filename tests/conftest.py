"""Shared fixtures: a small province (portal + two departments) with staff for every role."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest

from jiyue.platform.validators import credit_code_check_char, org_code_check_char

SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")


def credit_code(seed: int, region: str = "340000") -> str:
    body = f"{seed:08d}"[-8:]
    org = body + org_code_check_char(body)
    first17 = "11" + region + org
    return first17 + credit_code_check_char(first17)


def store(resource, *columns, publish=True, clean=False):
    """Save a resource as the editor does (a draft with its revision), place it in these
    columns (as the platform places: no permission check), and publish it."""
    from jiyue.library import services

    if clean:
        resource.full_clean()
    resource.save()
    revision = resource.save_revision()
    for column in columns:
        services.attach(resource, column)
    if publish:
        revision.publish()
        resource.refresh_from_db()
    return resource


@dataclass
class Province:
    platform: object
    orgs: dict = field(default_factory=dict)
    sites: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)

    def column(self, site_key: str, slug: str):
        from jiyue.platform.services import column_by_slug

        return column_by_slug(self.sites[site_key], slug)


def ensure_wagtail_roots() -> None:
    """The page and collection roots that Wagtail's migrations create. A transactional test's
    flush removes them (post_migrate brings back content types and permissions, not these), so
    fixtures that build sites after such a test put them back."""
    from django.conf import settings
    from wagtail.models import Collection, Locale, Page

    if not Locale.objects.exists():
        Locale.objects.create(language_code=settings.LANGUAGE_CODE)
    if not Page.objects.filter(depth=1).exists():
        Page.add_root(instance=Page(title="Root", slug="root", live=True))
    if not Collection.objects.filter(depth=1).exists():
        Collection.add_root(name="Root")


def _make_province() -> Province:
    from jiyue.accounts.models import User
    from jiyue.accounts.services import grant
    from jiyue.core.models import Platform
    from jiyue.platform.models import Organisation
    from jiyue.platform.services import create_site
    from jiyue.review.services import set_policy

    ensure_wagtail_roots()
    platform = Platform.objects.create(code="ah", name="安徽省政府网站集约化平台",
                                       level="province", region_code="340000")
    p = Province(platform)
    root = Organisation.add_root(name="安徽省人民政府", short_name="皖政", code=credit_code(1),
                                 kind="government", region_code="340000", key="portal")
    p.orgs["portal"] = root
    p.orgs["czt"] = root.add_child(name="安徽省财政厅", short_name="皖财", code=credit_code(2),
                                   kind="department", region_code="340000", key="czt")
    root.refresh_from_db()
    p.orgs["jyt"] = root.add_child(name="安徽省教育厅", short_name="皖教", code=credit_code(3),
                                   kind="department", region_code="340000", key="jyt")
    for i, (key, name, domain) in enumerate([("portal", "安徽省人民政府", "www.ah.gov.cn"),
                                             ("czt", "安徽省财政厅", "czt.ah.gov.cn"),
                                             ("jyt", "安徽省教育厅", "jyt.ah.gov.cn")], 1):
        p.sites[key] = create_site(
            organisation=p.orgs[key], name=name, level="province",
            kind="portal" if key == "portal" else "department", domain=domain,
            code=f"34000000{i:02d}", sponsor=name, operator="安徽省数据资源管理局",
            state="running", icp="皖ICP备05001234号", police_record_code="34010402700001")
        set_policy(p.orgs[key], levels=2, secrecy_check=True)
    for key in ("portal", "czt", "jyt"):
        site = p.sites[key]
        for role, level in [("editor", None), ("reviewer", 1), ("reviewer", 2),
                            ("publisher", None), ("site_admin", None)]:
            name = f"{key}_{role}{level or ''}"
            u = User.objects.create_user(username=name, password="Passw0rd!x",
                                         organisation=p.orgs[key], real_name=name)
            grant(None, u, role, site=site, level=level)
            p.users[name] = u
        for role in ("dispatcher", "handler"):  # interaction: letters, 找错, 依申请公开 …
            name = f"{key}_{role}"
            u = User.objects.create_user(username=name, password="Passw0rd!x",
                                         organisation=p.orgs[key], real_name=name)
            grant(None, u, role, site=site)
            p.users[name] = u
    for role in ("security_admin", "system_admin", "audit_admin", "platform_operator"):
        u = User.objects.create_user(username=role, password="Passw0rd!x", real_name=role)
        grant(None, u, role)
        p.users[role] = u
    return p


@pytest.fixture(autouse=True)
def _staff_second_factor(request, settings):
    """Admin tests log staff in with force_login: the TOTP step (JIYUE_STAFF_2FA) is on only for
    tests marked `second_factor`."""
    settings.JIYUE_STAFF_2FA = request.node.get_closest_marker("second_factor") is not None


@pytest.fixture(autouse=True)
def _search_dir(settings, tmp_path):
    """Each test gets its own search index replica directory (the index is on disk, not rolled
    back with the database)."""
    settings.JIYUE_SEARCH_DIR = tmp_path / "search-index"
    # A background thread refreshing the search vocabulary would hold its own connection to
    # the in-memory SQLite test database and lock out the next transactional test.
    settings.JIYUE_SEARCH_BACKGROUND_REFRESH = False


@pytest.fixture(autouse=True)
def _fresh_calendar():
    """The working-day calendar and the letters' 办理时限 are cached per process; a test's
    rolled-back rows must not reach the next test. Nor may the outbox's last dispatch job."""
    from jiyue.core import outbox
    from jiyue.letters import services as letters
    from jiyue.workdays import calendar

    calendar.invalidate()
    letters.forget_cached()
    outbox.forget_kicks()
    yield
    calendar.invalidate()
    letters.forget_cached()


@pytest.fixture
def province(db):
    return _make_province()


@pytest.fixture
def make_policy(province):
    """Create a policy document owned by an organisation (a draft unless published)."""
    from datetime import date

    from jiyue.library.models import PolicyDocument

    def make(org="czt", title="关于做好2026年度预算编制工作的通知", publish=False, sharing="all",
             doc_number="皖财〔2026〕12号", place=("zcwj",), **extra):

        doc = PolicyDocument(organisation=province.orgs[org], title=title,
                             doc_number=doc_number, issuing_body=province.orgs[org].name,
                             written_on=date(2026, 1, 5), body="<p>各市财政局：</p><p>现就有关事项通知如下。</p>",
                             sharing=sharing, live=False, **extra)
        return store(doc, *(province.column(org, slug) for slug in place), publish=publish,
                     clean=True)

    return make


@pytest.fixture
def api_client(client):
    return client


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (scripts/test installs it as root)")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"])
        yield b
        b.close()
