"""`jiyue demo --city` builds the city platform, and running it again changes nothing."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def test_city_demo_builds_and_is_safe_to_run_again(db):
    from jiyue.accounts.models import RoleGrant, User
    from jiyue.core.models import Platform
    from jiyue.library.models import Placement, PolicyDocument, Resource
    from jiyue.platform.models import Site

    call_command("demo", city=True, verbosity=0)
    assert Platform.objects.get().code == "hf"
    assert Site.objects.count() == 12  # city portal, 8 departments, 3 county portals
    assert Site.objects.filter(level="county", kind="portal").count() == 3
    n = Resource.objects.count()
    assert n >= 80 and Resource.objects.filter(live=True).count() == n
    assert set(Resource.objects.values_list("kind", flat=True)) >= {
        "article", "policy", "interpretation", "guide", "file", "image", "link"}
    assert not PolicyDocument.objects.filter(index_number=None).exists()
    # department policies shown on the city portal as well, without copies
    portal = Site.objects.get(code="3401000001")
    assert Placement.objects.filter(site=portal).exclude(resource__organisation=portal.organisation).exists()
    assert User.objects.filter(is_demo=True, is_superuser=False).count() == User.objects.count()
    grants = RoleGrant.objects.count()

    call_command("demo", city=True, verbosity=0)
    assert Resource.objects.count() == n and Site.objects.count() == 12
    assert RoleGrant.objects.count() == grants


def test_demo_refuses_a_production_platform(db):
    from jiyue.core.models import Platform

    Platform.objects.create(code="hf", name="合肥市平台", level="city", region_code="340100")
    with pytest.raises(CommandError, match="生产平台"):
        call_command("demo", city=True, verbosity=0)
