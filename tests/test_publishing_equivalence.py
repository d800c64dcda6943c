"""Incremental publishing equals a fresh full build, byte for byte, after a long random
sequence of edits, placements, withdrawals, moves and deletions; and a publisher killed
part-way leaves only whole files, which the next run completes."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from tests.publishing_util import check_siblings, make_article, publish, snapshot, store

SITES = ("portal", "czt", "jyt")
LEAF_SLUGS = ("bmdt", "tzgg", "zcwj", "zcjd", "wjxz", "gkzn", "fdzdgk", "ldxx")


@pytest.fixture
def small_pages(monkeypatch, settings, tmp_path):
    from jiyue.publishing import engine, pages

    for name, value in {"PAGE_SIZE": 3, "HOME_BLOCK": 2, "SECTION_BLOCK": 2, "FEED_SIZE": 4,
                        "CHUNK": 4}.items():
        monkeypatch.setattr(pages, name, value)
        if hasattr(engine, name):
            monkeypatch.setattr(engine, name, value)
    settings.JIYUE_PUBLIC_ROOT = tmp_path / "incremental"
    settings.JIYUE_OUTBOX_LAG_SECONDS = 0
    settings.JIYUE_PUBLISH_AUTORUN = False
    return tmp_path


def _full_build_elsewhere(settings, root):
    from jiyue.publishing import engine

    settings.JIYUE_PUBLIC_ROOT = root
    engine.run_full()
    return snapshot(root)


class Actions:
    def __init__(self, province, rng):
        self.p, self.rng = province, rng
        self.n = 0

    def live_resources(self):
        from jiyue.library.models import Resource

        return list(Resource.objects.filter(live=True).order_by("pk"))

    def any_resources(self):
        from jiyue.library.models import Resource

        return list(Resource.objects.order_by("pk"))

    def column(self, site=None):
        site = site or self.rng.choice(SITES)
        return self.p.column(site, self.rng.choice(LEAF_SLUGS)), site

    def create(self):
        site = self.rng.choice(SITES)
        self.n += 1
        make_article(self.p, org=site, title=f"动态{self.n}号", place=(self.rng.choice(LEAF_SLUGS),),
                     summary=self.rng.choice(["", f"摘要{self.n}"]))

    def create_policy_with_interpretation(self):
        from datetime import date

        from jiyue.library import services
        from jiyue.library.models import Interpretation, PolicyDocument

        site = self.rng.choice(SITES)
        self.n += 1
        doc = PolicyDocument(organisation=self.p.orgs[site], title=f"政策{self.n}号",
                             doc_number=f"皖财〔2026〕{self.n}号", issuing_body="x",
                             written_on=date(2026, 1, 5), body="<p>正文</p>", live=False)
        doc.save()
        doc.save_revision().publish()
        services.attach(doc, self.p.column(site, "zcwj"))
        if self.rng.random() < 0.7:
            store(Interpretation(organisation=self.p.orgs[site], title=f"解读{self.n}号",
                                 interprets=doc, body="<p>解读</p>", live=False),
                  self.p.column(self.rng.choice(SITES), "zcjd"))

    def edit(self):
        res = self.live_resources()
        if res:
            r = self.rng.choice(res).specific
            r.title = f"{r.title.split('（')[0]}（修订{self.rng.randint(1, 99)}）"
            r.save_revision().publish()

    def create_image(self):
        """An image resource: its picture is copied into the site's files/ and removed with it."""
        import io

        from django.core.files.images import ImageFile
        from PIL import Image as PILImage
        from wagtail.images.models import Image

        from jiyue.library.models import ImageResource

        site = self.rng.choice(SITES)
        self.n += 1
        buf = io.BytesIO()
        PILImage.new("RGB", (40, 30), (self.rng.randrange(256), 80, 120)).save(buf, "PNG")
        img = Image.objects.create(title=f"图{self.n}", file=ImageFile(buf, name=f"p{self.n}.png"))
        store(ImageResource(organisation=self.p.orgs[site], title=f"图片{self.n}号", image=img,
                            alt="现场照片", live=False),
              self.p.column(site, self.rng.choice(["tpxw", "bmdt"])))

    def edit_linked(self):
        """Edit a policy or an interpretation: pages of the other one (on any site) follow."""
        from jiyue.library.models import Resource

        res = list(Resource.objects.filter(live=True, kind__in=["policy", "interpretation"])
                   .order_by("pk"))
        if res:
            r = self.rng.choice(res).specific
            r.title = f"{r.title.split('（')[0]}（修订{self.rng.randint(1, 99)}）"
            r.save_revision().publish()

    def place(self):
        from jiyue.library import services

        res = self.any_resources()
        if res:
            col, _ = self.column()
            services.attach(self.rng.choice(res), col)

    def withdraw_placement(self):
        from jiyue.library import services
        from jiyue.library.models import Placement

        ps = list(Placement.objects.filter(state="live").select_related("site__organisation").order_by("pk"))
        if ps:
            p = self.rng.choice(ps)
            key = p.site.organisation.key
            services.withdraw_placement(self.p.users[f"{key}_site_admin"], p)

    def withdraw(self):
        from jiyue.library import services

        res = self.live_resources()
        if res:
            r = self.rng.choice(res).specific
            services.withdraw_resource(self.p.users[f"{r.organisation.key}_site_admin"], r)

    def republish(self):
        from jiyue.library.models import Resource

        res = list(Resource.objects.filter(live=False).order_by("pk"))
        if res:
            r = self.rng.choice(res).specific
            r.save_revision().publish()

    def pin(self):
        from jiyue.library import services
        from jiyue.library.models import Placement

        ps = list(Placement.objects.filter(state="live").select_related("site__organisation").order_by("pk"))
        if ps:
            p = self.rng.choice(ps)
            services.update_placement(self.p.users[f"{p.site.organisation.key}_site_admin"], p,
                                      pinned=not p.pinned)

    def delete(self):
        from jiyue.library import services
        from jiyue.library.models import Interpretation, Resource

        protected = set(Interpretation.objects.values_list("interprets_id", flat=True))
        res = [r for r in Resource.objects.order_by("pk") if r.pk not in protected]
        if res:
            r = self.rng.choice(res).specific
            services.delete_resource(self.p.users[f"{r.organisation.key}_site_admin"], r, confirm=True)

    def rename_column(self):
        col, _ = self.column()
        col = col.specific
        col.title = f"{col.title.split('·')[0]}·{self.rng.randint(1, 9)}"
        col.save_revision().publish()

    def create_column(self):
        """A new column under a section (below the navigation), with something placed in it."""
        from jiyue.library import services
        from jiyue.platform.models import Column

        site = self.rng.choice(SITES)
        self.n += 1
        parent = self.p.column(site, self.rng.choice(["xxgk", "hdjl"]))
        col = parent.add_child(instance=Column(title=f"新栏目{self.n}", slug=f"new{self.n}",
                                               column_type="信息发布", live=False))
        col.save_revision().publish()
        res = self.live_resources()
        if res:
            services.attach(self.rng.choice(res), col)

    def move_column(self):
        site = self.rng.choice(SITES)
        col, _ = self.column(site)
        target = self.p.column(site, self.rng.choice(["xxgk", "hdjl"]))
        if col.get_parent().pk != target.pk:
            col.specific.move(target, pos="last-child")

    def site_setting(self):
        site = self.p.sites[self.rng.choice(SITES)]
        site.phone = f"0551-6{self.rng.randint(1000000, 9999999)}"
        site.save()

    WEIGHTS = {"create": 10, "create_policy_with_interpretation": 3, "edit": 6, "place": 5,
               "edit_linked": 3, "create_image": 2,
               "withdraw_placement": 3, "withdraw": 2, "republish": 2, "pin": 2, "delete": 1,
               "rename_column": 2, "move_column": 2, "create_column": 1,
               "site_setting": 1}

    def random_step(self):
        names = list(self.WEIGHTS)
        name = self.rng.choices(names, weights=[self.WEIGHTS[n] for n in names])[0]
        getattr(self, name)()
        return name


@pytest.mark.parametrize("seed", [7, 2026])
def test_incremental_publishing_equals_a_full_build(province, small_pages, settings, seed):
    rng = random.Random(seed)
    acts = Actions(province, rng)
    for _ in range(12):
        acts.create()
    publish()
    done = []
    for step in range(120):
        done.append(acts.random_step())
        if rng.random() < 0.5:  # sometimes several changes wait for one run
            publish()
    publish()
    incremental = snapshot(small_pages / "incremental")
    check_siblings(small_pages / "incremental")
    full = _full_build_elsewhere(settings, small_pages / "full")
    assert len(incremental) > 300
    missing = sorted(set(full) - set(incremental))
    extra = sorted(set(incremental) - set(full))
    differ = sorted(k for k in set(full) & set(incremental) if full[k] != incremental[k])
    assert not (missing or extra or differ), {"missing": missing[:10], "extra": extra[:10],
                                              "differ": differ[:10], "steps": done}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_killed_publisher_leaves_whole_files_and_the_next_run_completes(
        province, small_pages, settings, monkeypatch):
    """The publishing process is killed (SIGKILL) part-way through a run; every file is then
    either the previous version or the new one, and the next run finishes the work."""
    from django.db import connection

    from jiyue.publishing import tree

    if connection.vendor != "sqlite":
        pytest.skip("the forked publisher shares the test database only on SQLite")
    acts = Actions(province, random.Random(1))
    for _ in range(30):
        acts.create()
    publish()
    before = snapshot(small_pages / "incremental")
    for _ in range(40):
        acts.edit()
    acts.site_setting()  # a site-wide change: many pages to rewrite
    from jiyue.core import outbox

    outbox.dispatch("publisher")

    real_write = tree.write

    def slow_write(code, path, data):
        real_write(code, path, data)
        time.sleep(0.01)

    monkeypatch.setattr(tree, "write", slow_write)
    pid = os.fork()
    if pid == 0:  # the publisher
        try:
            from jiyue.publishing import engine

            engine.run_pending()
        finally:
            os._exit(0)
    time.sleep(0.4)
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status), "the publisher finished before it was killed"
    monkeypatch.setattr(tree, "write", real_write)

    # every file is whole: either as before or as it will be after the rerun
    mid = snapshot(small_pages / "incremental")
    publish()  # the next run (its lease from the killed run is taken over after expiry)
    after = snapshot(small_pages / "incremental")
    for path, data in mid.items():
        if tree.TMP_PREFIX in path:
            continue
        assert data in (before.get(path), after.get(path)), path
    assert [p for p in after if tree.TMP_PREFIX in p] == []
    check_siblings(small_pages / "incremental")
    full = _full_build_elsewhere(settings, small_pages / "full")
    assert after == full
