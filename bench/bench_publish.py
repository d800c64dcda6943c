"""Publishing benchmarks (not tests): full rebuild rate and approve → live latency.

    .venv/bin/python bench/bench_publish.py --demo                 # the demo province
    .venv/bin/python bench/bench_publish.py --resources 100000     # a synthetic platform
    DATABASE_URL=postgres://... .venv/bin/python bench/bench_publish.py --resources 100000

Each run uses a fresh temporary JIYUE_HOME (SQLite unless DATABASE_URL is set). The synthetic
platform has a portal and 10 department sites; every resource is an article of about 1.5 KB
placed in one of its department's columns, and one in ten also on the portal. Approve → live
publishes a new article that is placed on 10 sites (its own and 9 others) and measures the time
from the approval (Wagtail's publish) until every page, list, feed and sitemap of the 10 sites
is written: the outbox consumer and the publisher, run as the background job runs them.
Results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta

os.environ.setdefault("JIYUE_HOME", tempfile.mkdtemp(prefix="jiyue-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiyue.settings")
os.environ.setdefault("JIYUE_OUTBOX_LAG_SECONDS", "0")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

settings.JIYUE_PUBLISH_AUTORUN = False
settings.JIYUE_OUTBOX_AUTODISPATCH = False

BODY = "<p>" + "为深入贯彻落实省委省政府决策部署，进一步优化营商环境，提升政务服务效能，" * 12 + "</p>" \
       "<p>" + "各地各部门要加强组织领导，细化工作措施，确保各项任务落地见效。" * 10 + "</p>"


def build_synthetic(n: int, seed: int = 1):
    from tests.conftest import credit_code

    from jiyue.core.models import Platform
    from jiyue.library.models import Article, Placement, Resource
    from jiyue.platform.models import Organisation
    from jiyue.platform.services import column_by_slug, create_site

    rng = random.Random(seed)
    Platform.objects.create(code="ah", name="基准平台", level="province", region_code="340000")
    root = Organisation.add_root(name="安徽省人民政府", short_name="皖政", code=credit_code(1),
                                 kind="government", region_code="340000", key="portal")
    portal = create_site(organisation=root, name="安徽省人民政府", level="province", kind="portal",
                         domain="www.ah.gov.cn", code="3400000001", sponsor="安徽省人民政府",
                         state="running")
    depts = []
    for i in range(10):
        root.refresh_from_db()
        org = root.add_child(name=f"安徽省第{i + 1}厅", short_name=f"皖{i + 1}", code=credit_code(10 + i),
                             kind="department", region_code="340000", key=f"d{i}")
        site = create_site(organisation=org, name=org.name, level="province", kind="department",
                           domain=f"d{i}.ah.gov.cn", code=f"34000001{i:02d}", sponsor=org.name,
                           state="running")
        depts.append((org, site, [column_by_slug(site, s) for s in ("bmdt", "tzgg", "zcwj", "wjxz")]))
    portal_col = column_by_slug(portal, "bmdt")
    start = timezone.now() - timedelta(days=3 * 365)
    made = 0
    t = time.perf_counter()
    while made < n:
        batch = min(5000, n - made)
        resources = []
        for j in range(batch):
            org, site, cols = depts[(made + j) % len(depts)]
            when = start + timedelta(minutes=(made + j) * 15)
            resources.append(Resource(kind="article", organisation=org, title=f"第{made + j}号 工作动态：稳步推进重点任务",
                                      summary="各地各部门扎实推进重点任务。", live=True, published_at=when,
                                      first_published_at=when, last_published_at=when))
        with transaction.atomic():
            Resource.objects.bulk_create(resources)
            with connection.cursor() as c:
                c.executemany(f"INSERT INTO {Article._meta.db_table} (resource_ptr_id, article_type, body) "
                              "VALUES (%s, %s, %s)", [(r.pk, "news", BODY) for r in resources])
            placements = []
            for j, r in enumerate(resources):
                org, site, cols = depts[(made + j) % len(depts)]
                col = cols[rng.randrange(len(cols))]
                placements.append(Placement(resource=r, column_id=col.pk, site=site, state="live",
                                            published_at=r.published_at))
                if rng.random() < 0.1:
                    placements.append(Placement(resource=r, column_id=portal_col.pk, site=portal,
                                                state="live", published_at=r.published_at))
            Placement.objects.bulk_create(placements)
        made += batch
        print(f"\r  created {made}/{n} resources", end="", flush=True)
    print(f"  ({time.perf_counter() - t:.1f} s)")
    return portal, depts


def full_rebuild(jobs: int):
    import shutil

    from jiyue.core import outbox
    from jiyue.publishing import engine, tree
    from jiyue.publishing.models import Dirty, PublishedFile

    outbox.dispatch()  # the site and column events of setting up; rebuild covers them
    Dirty.objects.all().delete()
    # from nothing: no published file, no record; a new, empty directory (deleting the old
    # tree first would leave the disk busy with the deletion while the clock runs)
    old = tree.root()
    settings.JIYUE_PUBLIC_ROOT = old.with_name(f"public-{time.time_ns()}")
    PublishedFile.objects.all().delete()
    os.sync()
    t = time.perf_counter()
    stats = engine.run_full(jobs=jobs)
    seconds = time.perf_counter() - t
    shutil.rmtree(old, ignore_errors=True)
    pages = sum(s.rendered for s in stats)
    files = sum(s.written for s in stats)
    print(f"full rebuild ({jobs} process{'es' if jobs > 1 else ''}): {pages} pages rendered, "
          f"{files} files written, {seconds:.1f} s → {pages / seconds:,.0f} pages/s")
    t = time.perf_counter()
    stats = engine.run_full(jobs=jobs)
    seconds = time.perf_counter() - t
    pages = sum(s.rendered for s in stats)
    print(f"full rebuild again, nothing changed: {pages} pages rendered, "
          f"{sum(s.written for s in stats)} files written, {seconds:.1f} s → {pages / seconds:,.0f} pages/s")


def approve_to_live(depts, portal, rounds: int):
    from jiyue.core import outbox
    from jiyue.library import services
    from jiyue.library.models import Article
    from jiyue.platform.services import column_by_slug
    from jiyue.publishing import engine

    samples, written = [], []
    for k in range(rounds):
        org, site, cols = depts[k % len(depts)]
        art = Article(organisation=org, title=f"基准新闻{k}：省政府召开常务会议", body=BODY, live=False)
        art.save()
        rev = art.save_revision()
        services.attach(art, cols[0])
        others = [d for d in depts if d[0] != org][:8]
        for _, s2, c2 in others:
            services.attach(art, c2[0])
        services.attach(art, column_by_slug(portal, "bmdt"))
        outbox.dispatch()
        engine.run_pending()  # the placements of a draft change nothing public
        t = time.perf_counter()
        rev.publish()  # the last reviewer approves: Wagtail publishes
        outbox.dispatch("publisher")
        stats = engine.run_pending()
        samples.append((time.perf_counter() - t) * 1000)
        written.append(sum(s.written for s in stats))
        assert len(stats) == 10, len(stats)
    samples.sort()
    p50 = statistics.median(samples)
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    print(f"approve → live on 10 sites ({rounds} rounds): p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
          f"max {samples[-1]:.0f} ms; {statistics.median(written):.0f} files written per approval")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--demo", action="store_true")
    parser.add_argument("--resources", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    print(f"database: {connection.vendor}; JIYUE_HOME={os.environ['JIYUE_HOME']}")
    call_command("migrate", verbosity=0)
    if args.demo:
        t = time.perf_counter()
        call_command("demo", verbosity=0)
        print(f"demo loaded and published in {time.perf_counter() - t:.1f} s")
        full_rebuild(args.jobs)
        full_rebuild(1)
        return
    portal, depts = build_synthetic(args.resources or 100000)
    full_rebuild(args.jobs)
    approve_to_live(depts, portal, args.rounds)


if __name__ == "__main__":
    main()
