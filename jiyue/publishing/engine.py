"""The publishing run: plan the dirty groups of a site, render what changed, write, record.

A run for one site
1. reads the site's `Dirty` keys (rows are deleted only after the run, by id, so a key marked
   again meanwhile survives for the next run);
2. turns them into planner groups: each `col:<id>` with its ancestor columns, each `r:<id>`,
   the groups of every page that shows a dirty resource (from `PageDep`), and always `home`,
   `feed` and `sitemap`; `site` (or `--full`, or a changed theme) means every group;
3. plans each group and renders the pages whose structure (`sig`) changed, that show a dirty
   resource, or that are new; pages no longer planned in a group are deleted;
4. writes each page only when its bytes changed, by rename, with .gz/.br beside it;
5. records files, dependencies and state in short transactions.

A run killed at any point leaves every file either old or new (never partial); its `Dirty`
rows remain, so the next run redoes the work. Rendering is deterministic, so redoing it is
harmless.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from jiyue.platform.models import Site
from jiyue.web import theme as themes

from . import tree
from .models import Dirty, PageDep, PublishedFile, SiteState
from .pages import CHUNK, Planner, SiteContext

logger = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)
FLUSH_EVERY = 500

Progress = Callable[[int, int], None]


@dataclass
class Stats:
    site: str = ""
    full: bool = False
    planned: int = 0
    rendered: int = 0
    written: int = 0
    deleted: int = 0
    seconds: float = 0.0
    paths_written: list[str] = field(default_factory=list)


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def acquire(code: str, owner: str) -> bool:
    """Take the site's publishing lease (one publisher per site across every worker)."""
    state, _ = SiteState.objects.get_or_create(site_code=code)
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    if state.lease_owner and _dead(state.lease_owner):
        free |= Q(lease_owner=state.lease_owner)  # its holder on this machine was killed
    got = SiteState.objects.filter(free, pk=state.pk).update(lease_until=now + LEASE,
                                                             lease_owner=owner)
    if got and state.lease_owner:
        # the previous run never released its lease: it was killed; clear its temporary files
        tree.sweep_tmp(code)
    return bool(got)


def _dead(owner: str) -> bool:
    """A lease holder on this machine whose process is gone."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def release(code: str, owner: str) -> None:
    SiteState.objects.filter(site_code=code, lease_owner=owner).update(lease_until=None,
                                                                       lease_owner="")


def hostnames(site: Site) -> list[str]:
    names = [site.domain.lower(), site.local_hostname.lower()]
    if site.cn_domain:
        try:
            names.append(site.cn_domain.encode("idna").decode("ascii").lower())
        except UnicodeError:
            pass
    return sorted(set(names))


def publish_site(code: str, keys: set[str] | None = None, *, full: bool = False,
                 progress: Progress | None = None) -> Stats:
    started = time.monotonic()
    keys = set(keys or ())
    stats = Stats(site=code)
    site = Site.objects.select_related("home").filter(code=code).first()
    if site is None:
        return _remove_site(code, stats)
    state, _ = SiteState.objects.get_or_create(site_code=code)
    version = themes.version(site.theme or "default")
    full = full or "site" in keys or state.theme_version != version
    stats.full = full
    ctx = SiteContext(site)
    planner = Planner(ctx)
    rkeys = {k for k in keys if k.startswith("r:")}

    if full:
        groups = planner.all_groups()
        existing = {f.path: f for f in PublishedFile.objects.filter(site_code=code)}
        forced: set[int] = set()
    else:
        groups, forced = _dirty_groups(code, keys, rkeys, ctx, planner)
        existing = {f.path: f for f in PublishedFile.objects.filter(site_code=code, group__in=groups)}

    specs = planner.plan_all(groups)
    stats.planned = total = len(specs)
    planned_paths = {s.path for s in specs}
    batch: list[tuple] = []
    released: set[str] = set()  # attachments some page stopped using: maybe unused now
    # A batch is recorded only once its files are on disk (`writer.wait()`).
    with tree.Writer(code, threads=total > 50) as writer:
        for done, spec in enumerate(specs, 1):
            rec = existing.get(spec.path)
            if full or spec.always or rec is None or rec.sig != spec.sig or rec.pk in forced:
                batch.append(_render(spec, rec, full, code, stats, writer))
            if len(batch) >= FLUSH_EVERY or (done == total and batch):
                writer.wait()
                released |= _record(code, batch, existing)
                batch = []
            if done % 200 == 0 or done == total:
                if progress:
                    progress(done, total)
                if total > 1000:  # the admin shows the progress of long runs
                    SiteState.objects.filter(pk=state.pk).update(progress_done=done,
                                                                 progress_total=total)
    if progress and total == 0:
        progress(0, 0)

    # pages the planners no longer list
    gone = [f for p, f in existing.items() if p not in planned_paths and f.group != "asset"]
    for f in gone:
        tree.remove(code, f.path)
    if gone:
        released |= set(PageDep.objects.filter(file_id__in=[f.pk for f in gone],
                                               key__startswith="a:").values_list("key", flat=True))
    PublishedFile.objects.filter(pk__in=[f.pk for f in gone]).delete()
    stats.deleted += len(gone)
    stats.deleted += _collect_assets(code, None if full else released)
    if full:  # host names change only with site settings, which rebuild the site
        stats.deleted += _remove_strays(code)
        tree.link_hosts(code, hostnames(site))

    stats.seconds = time.monotonic() - started
    now = timezone.now()
    SiteState.objects.filter(pk=state.pk).update(
        last_run_at=now, last_rendered=stats.rendered, last_written=stats.written,
        last_deleted=stats.deleted, last_seconds=stats.seconds, last_error="",
        theme_version=version, **({"last_full_at": now} if full else {}))
    return stats


def _render(spec, rec, full: bool, code: str, stats: Stats, writer) -> tuple:
    """Render one page; write it (and copy its attachments) when its bytes changed."""
    rendered = spec.make()
    stats.rendered += 1
    data = rendered.text if isinstance(rendered.text, bytes) else rendered.text.encode("utf-8")
    dg = tree.digest(data)
    on_disk_ok = rec is not None and rec.digest == dg and (
        not full or tree.intact(code, spec.path, len(data)))
    if not on_disk_ok:
        writer.write(spec.path, data)
        stats.written += 1
        stats.paths_written.append(spec.path)
    for apath, source in rendered.assets.items():
        if tree.copy_file(code, apath, source):
            stats.written += 1
            stats.paths_written.append(apath)
    return (spec, dg, len(data), rendered.deps | {f"a:{a}" for a in rendered.assets},
            rendered.assets)


def _dirty_groups(code, keys, rkeys, ctx: SiteContext, planner: Planner
                  ) -> tuple[list[str], set[int]]:
    """The groups to re-plan for these dirty keys, and the pages that must be re-rendered."""
    groups: set[str] = set()
    for k in keys:
        if k.startswith("col:"):
            groups.add(k)
            for a in ctx.ancestors(int(k[4:])):
                groups.add(f"col:{a.id}")
        elif k.startswith("r:"):
            groups.add(k)
    ckeys = {k for k in keys if k.startswith("c:")}
    for k in ckeys:  # a column below the navigation changed: it and the columns under it
        cid = int(k[2:])
        groups.add(f"col:{cid}")
        groups |= {f"col:{c}" for c in ctx.cols if cid in {a.id for a in ctx.ancestors(c)}}
    if ckeys:
        groups.add("static")  # the site map page
    groups |= {"home", "feed", "sitemap"}
    # pages that show a changed resource or column: re-planned, and re-rendered (`forced`)
    shown = PageDep.objects.filter(site_code=code, key__in=rkeys | ckeys) \
        .values_list("file_id", "file__group") if rkeys | ckeys else []
    forced = set()
    for file_id, group in shown:
        forced.add(file_id)
        groups.add(group)
    chunk_groups = set(PublishedFile.objects.filter(site_code=code, group__startswith="sm:")
                       .values_list("group", flat=True))
    planner.known_chunks = {int(g[3:]) for g in chunk_groups} or None
    planner.dirty_chunks = {int(k[2:]) // CHUNK for k in rkeys}
    if len(planner.chunks()) > 1:
        if not chunk_groups:  # grown past one sitemap: write every chunk
            groups |= {f"sm:{k}" for k in planner.chunks()}
        groups |= {f"sm:{k}" for k in planner.dirty_chunks}
    else:
        groups |= chunk_groups  # back to one sitemap: the chunks plan nothing and go
    order = {"static": 0, "home": 1, "feed": 2, "sitemap": 3}
    return sorted(groups, key=lambda g: (order.get(g, 4 if g.startswith("col:") else 5), g)), forced


@transaction.atomic
def _record(code: str, batch: list[tuple], existing: dict) -> set[str]:
    """Record written pages and their dependencies; returns the attachment keys that these
    pages used before and no longer use."""
    if not batch:
        return set()
    now = timezone.now()
    paths = [spec.path for spec, *_ in batch]
    current = {f.path: f for f in PublishedFile.objects.filter(site_code=code, path__in=paths)}
    new, changed = [], []
    for spec, dg, size, deps, assets in batch:
        f = current.get(spec.path)
        if f is None:
            f = PublishedFile(site_code=code, path=spec.path, group=spec.group, sig=spec.sig,
                              digest=dg, size=size, written_at=now)
            new.append(f)
        else:
            f._state_key = (f.group, f.sig, f.digest, f.size)
            if f.digest != dg:
                f.written_at = now
            f.group, f.sig, f.digest, f.size = spec.group, spec.sig, dg, size
            changed.append(f)
    PublishedFile.objects.bulk_create(new)
    changed = [f for f in changed if f._state_key != (f.group, f.sig, f.digest, f.size)]
    PublishedFile.objects.bulk_update(changed, ["group", "sig", "digest", "size", "written_at"])
    current.update({f.path: f for f in new})
    if not all(f.pk for f in new):  # backends that do not return ids from bulk inserts
        current = {f.path: f for f in PublishedFile.objects.filter(site_code=code, path__in=paths)}
    old: dict[int, set[str]] = {}
    for file_id, key in PageDep.objects.filter(
            file_id__in=[f.pk for f in current.values()]).values_list("file_id", "key"):
        old.setdefault(file_id, set()).add(key)
    redo = {current[spec.path].pk: keys for spec, dg, size, keys, assets in batch
            if old.get(current[spec.path].pk, set()) != keys}
    PageDep.objects.filter(file_id__in=list(redo)).delete()
    PageDep.objects.bulk_create([PageDep(file_id=fid, site_code=code, key=k)
                                 for fid, keys in redo.items() for k in sorted(keys)],
                                batch_size=2000)
    old_assets = {k for fid in redo for k in old.get(fid, ()) if k.startswith("a:")}
    # attachments copied for these pages
    apaths = sorted({a for *_, assets in batch for a in assets})
    have = set(PublishedFile.objects.filter(site_code=code, path__in=apaths)
               .values_list("path", flat=True))
    PublishedFile.objects.bulk_create([
        PublishedFile(site_code=code, path=a, group="asset", sig="", digest="", size=0,
                      written_at=now) for a in apaths if a not in have])
    for spec, *_ in batch:
        existing[spec.path] = current[spec.path]
    return old_assets - {k for *_, keys, assets in batch for k in keys}


def _collect_assets(code: str, candidates: set[str] | None) -> int:
    """Remove attachments no page uses: all of the site's (None) or among the candidates."""
    if candidates is not None and not candidates:
        return 0
    deps = PageDep.objects.filter(site_code=code)
    deps = deps.filter(key__in=sorted(candidates)) if candidates is not None else \
        deps.filter(key__startswith="a:")
    used = {k[2:] for k in deps.values_list("key", flat=True)}
    files = PublishedFile.objects.filter(site_code=code, group="asset")
    if candidates is not None:
        files = files.filter(path__in=[k[2:] for k in candidates])
    unused = [f for f in files if f.path not in used]
    for f in unused:
        tree.remove(code, f.path)
    PublishedFile.objects.filter(pk__in=[f.pk for f in unused]).delete()
    return len(unused)


def _remove_strays(code: str) -> int:
    known = set(PublishedFile.objects.filter(site_code=code).values_list("path", flat=True))
    n = 0
    for path in tree.walk(code) - known:
        tree.remove(code, path)
        n += 1
    return n


def _remove_site(code: str, stats: Stats) -> Stats:
    import shutil

    shutil.rmtree(tree.site_dir(code), ignore_errors=True)
    hosts = tree.root() / "_hosts"
    if hosts.is_dir():
        for link in hosts.iterdir():
            if link.is_symlink() and os.readlink(link) == f"../{code}":
                link.unlink()
    PublishedFile.objects.filter(site_code=code).delete()
    SiteState.objects.filter(site_code=code).delete()
    return stats


# --- the queue ---------------------------------------------------------------------------

def mark(site_code: str, *keys: str) -> None:
    Dirty.objects.bulk_create([Dirty(site_code=site_code, key=k) for k in keys])


def pending_sites() -> list[str]:
    return sorted(set(Dirty.objects.values_list("site_code", flat=True)))


def default_processes() -> int:
    from django.conf import settings

    return max(1, int(getattr(settings, "JIYUE_PUBLISH_PROCESSES", 1)))


def run_pending(site_code: str | None = None, progress: Progress | None = None,
                processes: int | None = None) -> list[Stats]:
    """Publish every site with waiting work (the background job calls this). Sites are
    independent: with several sites waiting, `processes` (default JIYUE_PUBLISH_PROCESSES)
    publish them side by side."""
    codes = [site_code] if site_code else pending_sites()
    if processes is None:
        processes = default_processes()
    if processes > 1 and len(codes) > 1:
        return _parallel(_pending_child, codes, processes, progress)
    out = []
    for code in codes:
        out += _pending_one(code, progress)
    return out


def _pending_one(code: str, progress: Progress | None = None) -> list[Stats]:
    owner = owner_name()
    if not acquire(code, owner):
        return []  # another worker is publishing this site; it will see our rows next
    try:
        rows = list(Dirty.objects.filter(site_code=code).values_list("id", "key"))
        if not rows:
            return []
        keys = {k for _, k in rows}
        stats = publish_site(code, keys, full="site" in keys, progress=progress)
        Dirty.objects.filter(id__in=[i for i, _ in rows]).delete()
        return [stats]
    except Exception as exc:
        logger.exception("publishing site %s failed", code)
        SiteState.objects.filter(site_code=code).update(last_error=repr(exc)[:2000])
        raise
    finally:
        release(code, owner)


def _pending_child(code: str) -> list[Stats]:
    from django.db import connections

    try:
        return _pending_one(code)
    finally:
        connections.close_all()


def _parallel(child, codes: list[str], processes: int, progress: Progress | None) -> list:
    """Run `child(code)` for each site in forked processes; results in site order."""
    import multiprocessing

    from django.db import connections

    connections.close_all()  # no connection may cross the fork
    out = []
    with multiprocessing.get_context("fork").Pool(min(processes, len(codes))) as pool:
        for done, result in enumerate(pool.imap_unordered(child, codes), 1):
            out.extend(result if isinstance(result, list) else [result])
            if progress:
                progress(done, len(codes))
    return sorted(out, key=lambda s: s.site)


def run_full(site_code: str | None = None, progress: Progress | None = None,
             jobs: int = 1) -> list[Stats]:
    """Rebuild sites completely (bytes compared: only changed files are written). With
    `jobs` > 1, sites are rebuilt in that many processes at once."""
    codes = [site_code] if site_code else list(Site.objects.order_by("code")
                                                .values_list("code", flat=True))
    if jobs > 1 and len(codes) > 1:
        return _run_full_parallel(codes, jobs, progress)
    return [_full_one(code, progress) for code in codes]


def _full_one(code: str, progress: Progress | None = None) -> Stats:
    owner = owner_name()
    if not acquire(code, owner):
        raise RuntimeError(f"site {code} is being published by another process")
    try:
        rows = list(Dirty.objects.filter(site_code=code).values_list("id", flat=True))
        stats = publish_site(code, full=True, progress=progress)
        Dirty.objects.filter(id__in=rows).delete()
        return stats
    finally:
        release(code, owner)


def _child(code: str) -> Stats:
    from django.db import connections

    try:
        return _full_one(code)
    finally:
        connections.close_all()


def _run_full_parallel(codes: list[str], jobs: int, progress: Progress | None) -> list[Stats]:
    from django.db.models import Count

    from jiyue.library.models import Placement

    # the largest sites first, so that the processes finish together
    sizes = dict(Placement.objects.filter(state=Placement.LIVE).values("site__code")
                 .annotate(n=Count("id")).values_list("site__code", "n"))
    codes = sorted(codes, key=lambda c: -sizes.get(c, 0))
    return _parallel(_child, codes, jobs, progress)
