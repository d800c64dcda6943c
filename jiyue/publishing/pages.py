"""What a site's published tree contains, and how each page is rendered.

A site's pages fall into groups, each with a planner that lists the group's pages cheaply
(paths and a structural signature, `sig`) without rendering them:

- `home`                       index.html
- `static`                     theme assets, robots.txt, 404.html, map/, search/
- `feed`                       the site's rss.xml and atom.xml
- `sitemap`                    sitemap.xml: a urlset when the site's detail pages fall in one
                               chunk of resource ids [k*CHUNK, (k+1)*CHUNK), otherwise an index
                               of sitemap-pages.xml and one `sm:<k>` sitemap-<k>.xml per chunk
- `col:<id>`                   a column's list pages and feeds (a section column: one page)
- `r:<id>`                     a resource's detail page content/<id>.html

Every page is a pure function of the database state: the same content gives the same bytes.
Rendering records which resources a page shows (`r:<id>` dependencies), so an edit re-renders
exactly those pages. List pages are numbered from the oldest item (list-1.html holds the
oldest), so a new item changes the column's first page and its newest numbered page only.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from jiyue.library import kinds
from jiyue.library.models import Interpretation, Placement, PolicyDocument, Resource
from jiyue.platform.models import Column, Site
from jiyue.web import theme as themes

PAGE_SIZE = 20
HOME_BLOCK = 6
SECTION_BLOCK = 5
FEED_SIZE = 20
CHUNK = 5000
NO_DETAIL_KINDS = {"link"}


def sig(*parts) -> str:
    return hashlib.md5(repr(parts).encode()).hexdigest()


def fmt_date(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date()
    return value.strftime("%Y-%m-%d")


def fmt_time(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def w3c_time(value) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


def rfc822(value) -> str:
    from email.utils import format_datetime

    return format_datetime(timezone.localtime(value)) if value else ""


@dataclass
class Rendered:
    text: str
    deps: set[str] = field(default_factory=set)
    assets: dict[str, Path] = field(default_factory=dict)  # published path -> source file


@dataclass
class Spec:
    path: str
    group: str
    sig: str
    make: Callable[[], Rendered]
    always: bool = False  # render whenever the group is planned (the bytes decide the write)


@dataclass
class Col:
    id: int
    title: str
    slug: str
    path: str  # "xxgk/fdzdgk/"
    ctype: str
    layout: str
    description: str
    keywords: str
    external_url: str
    in_menu: bool
    parent_id: int | None
    children: list[int] = field(default_factory=list)

    @property
    def is_link(self) -> bool:
        return bool(self.external_url)

    @property
    def is_section(self) -> bool:
        return bool(self.children)


@dataclass
class Item:
    """One public placement in a column (what list planning needs)."""

    rid: int
    pinned: bool
    sort_order: int


def display_order(items: list[Item]) -> list[Item]:
    """Pinned first (by their order), then the newest; `items` come in archive order."""
    pinned = sorted((i for i in items if i.pinned), key=lambda i: (i.sort_order, i.rid))
    return pinned + [i for i in reversed(items) if not i.pinned]


class SiteContext:
    """Everything one publishing run knows about one site, loaded lazily and in bulk."""

    def __init__(self, site: Site):
        self.site = site
        self.theme = site.theme or "default"
        self.base_url = f"https://{site.domain}/"
        self.cols: dict[int, Col] = {}
        self.nav: list[Col] = []
        self._items: dict[int, list[Item]] = {}
        self._res: dict[int, Resource] = {}
        self._pending: list[int] = []
        self._canonical: dict[int, str | None] = {}
        self._crumb: dict[int, int | None] = {}
        self._public: set[int] | None = None
        self._pinned_columns: set[int] | None = None
        self._load_columns()
        self.site_view = self._site_view()

    # --- columns -----------------------------------------------------------------------
    def _load_columns(self):
        home = self.site.home
        if home is None:
            return
        base = home.url_path
        rows = (Column.objects.filter(path__startswith=home.path, depth__gt=home.depth, live=True)
                .order_by("path")
                .values("id", "title", "slug", "url_path", "column_type", "list_layout",
                        "description", "keywords", "external_url", "show_in_menus", "path",
                        "depth"))
        by_path = {}
        for r in rows:
            parent = by_path.get(r["path"][:-4])
            if r["depth"] > home.depth + 1 and parent is None:
                continue  # under an unpublished column
            col = Col(r["id"], r["title"], r["slug"], r["url_path"][len(base):], r["column_type"],
                      r["list_layout"], r["description"], r["keywords"], r["external_url"],
                      r["show_in_menus"], parent.id if parent else None)
            by_path[r["path"]] = col
            self.cols[col.id] = col
            if parent:
                parent.children.append(col.id)
            elif col.in_menu:
                self.nav.append(col)

    def ancestors(self, cid: int) -> list[Col]:
        out = []
        col = self.cols.get(cid)
        while col and col.parent_id:
            col = self.cols.get(col.parent_id)
            if col:
                out.insert(0, col)
        return out

    # --- items -------------------------------------------------------------------------
    def items(self, cid: int) -> list[Item]:
        if cid not in self._items:
            # the database returns them in archive order, from an index
            rows = (Placement.objects.filter(column_id=cid, state=Placement.LIVE, resource__live=True)
                    .order_by("published_at", "resource_id")
                    .values_list("resource_id", "pinned", "sort_order"))
            self._items[cid] = [Item(*row) for row in rows]
        return self._items[cid]

    def top(self, cid: int, n: int) -> list[int]:
        """The first n items of a column in display order (pinned first, then newest)."""
        if cid in self._items:
            return [i.rid for i in display_order(self._items[cid])[:n]]
        if self._pinned_columns is None:
            # `pinned__in` (not `pinned=True`): SQLite uses an index for IN, not for a bare boolean
            self._pinned_columns = set(
                Placement.objects.filter(site=self.site, pinned__in=[True], state=Placement.LIVE)
                .values_list("column_id", flat=True))
        base = Placement.objects.filter(column_id=cid, state=Placement.LIVE, resource__live=True)
        pinned = [] if cid not in self._pinned_columns else list(
            base.filter(pinned__in=[True]).order_by("sort_order", "resource_id")
            .values_list("resource_id", flat=True)[:n])
        rest = list(base.filter(pinned=False)
                    .order_by("-published_at", "-resource_id")
                    .values_list("resource_id", flat=True)[:max(0, n - len(pinned))])
        return pinned + rest

    def _with_pages(self):
        """Placements whose resource has a detail page on this site (public, not a link)."""
        return (Placement.objects.filter(site=self.site, state=Placement.LIVE, resource__live=True)
                .exclude(resource__kind__in=NO_DETAIL_KINDS))

    def detail_ids(self) -> list[int]:
        """Every resource with a detail page on this site (loaded once, for full builds)."""
        if self._public is None:
            self._public = set(self._with_pages().values_list("resource_id", flat=True))
        return sorted(self._public)

    def with_detail_page(self, ids) -> set[int]:
        if self._public is not None:
            return self._public & set(ids)
        return set(self._with_pages().filter(resource_id__in=list(ids))
                   .values_list("resource_id", flat=True))

    def expect(self, ids) -> None:
        """Detail pages of these resources will be rendered: load them in bulk when needed."""
        self._pending.extend(ids)

    def resource(self, rid: int) -> Resource | None:
        if rid not in self._res:
            self.load([rid])
        return self._res.get(rid)

    def detail_resource(self, rid: int) -> Resource | None:
        """A resource whose detail page is rendered (with its canonical URL and breadcrumb);
        the detail pages expected next are loaded with it, in one batch."""
        if rid not in self._crumb:
            batch = [rid] + [i for i in self._pending[:1000] if i not in self._crumb and i != rid]
            done = set(batch)
            self._pending = [i for i in self._pending if i not in done]
            self.load(batch)
            self.load_details(batch)
        return self._res.get(rid)

    def load(self, ids) -> None:
        """Resources shown in lists: their rows, of their kinds, in bulk."""
        ids = [i for i in set(ids) if i not in self._res]
        if not ids:
            return
        base = Resource.objects.filter(pk__in=ids, live=True)
        for r in kinds.specific_many(base):
            self._res[r.pk] = r
        for i in ids:
            self._res.setdefault(i, None)

    def load_details(self, ids) -> None:
        ids = [i for i in set(ids) if i not in self._crumb]
        if not ids:
            return
        self._load_canonical(ids)
        for rid, cid in (Placement.objects.filter(site=self.site, state=Placement.LIVE,
                                                  resource_id__in=ids)
                         .order_by("-id").values_list("resource_id", "column_id")):
            self._crumb[rid] = cid  # ends at the lowest placement id
        for i in ids:
            self._crumb.setdefault(i, None)

    def _load_canonical(self, ids) -> None:
        rows = (Placement.objects.filter(state=Placement.LIVE, resource__live=True,
                                         resource_id__in=list(ids))
                .values_list("resource_id", "site__code", "site__domain", "site__organisation_id",
                             "resource__organisation_id"))
        best: dict[int, tuple] = {}
        for rid, code, domain, site_org, res_org in rows:
            rank = (0 if site_org == res_org else 1, code)
            if rid not in best or rank < best[rid][0]:
                best[rid] = (rank, domain)
        for i in ids:
            self._canonical[i] = (f"https://{best[i][1]}/content/{i}.html" if i in best else None)

    def canonical(self, rid: int) -> str | None:
        if rid not in self._canonical:
            self._load_canonical([rid])
        return self._canonical[rid]

    # --- views handed to templates -----------------------------------------------------
    def _site_view(self) -> dict:
        s = self.site
        return {
            "name": s.name, "code": s.code, "domain": s.domain, "url": self.base_url,
            "sponsor": s.sponsor, "operator": s.operator if s.operator != s.sponsor else "",
            "address": s.address, "phone": s.phone, "email": s.email, "icp": s.icp,
            "police_record": s.police_record or s.police_record_code,
            "police_record_code": s.police_record_code, "conac": s.conac,
            "colour": getattr(s, "colour", "") or "#9f1d20",
            "logo": self._logo(),
        }

    def _logo(self) -> str | None:
        """The site's logo as a file of its tree (`files/<digest>.<ext>`), or None."""
        self.logo_source = None
        if not getattr(self.site, "logo_id", None):
            return None
        rendition = self.site.logo.get_rendition("max-240x96")
        self.logo_source = Path(rendition.file.path)
        return f"files/{_file_digest(self.logo_source)}{self.logo_source.suffix.lower()}"

    def href(self, root: str, rid: int) -> str:
        return f"{root}content/{rid}.html"


# --- rendering helpers ------------------------------------------------------------------

MEDIA_RE = re.compile(r'(src|href)="(/media/[^"]+|/documents/(\d+)/[^"]*)"')


def _file_asset(source: Path, out: Rendered) -> str:
    digest = _file_digest(source)
    ext = source.suffix.lower()
    name = f"files/{digest}{ext}"
    out.assets[name] = source
    return name


_digests: dict[tuple, str] = {}


def _file_digest(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _digests:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _digests[key] = h.hexdigest()[:20]
    return _digests[key]


def rich(html: str, root: str, out: Rendered) -> str:
    """Expand Wagtail rich text and turn its media links into files of the site's tree."""
    from wagtail.documents import get_document_model
    from wagtail.rich_text import expand_db_html

    html = expand_db_html(html or "")

    def local(m):
        attr, url, doc_id = m.group(1), m.group(2), m.group(3)
        if doc_id:
            doc = get_document_model().objects.filter(pk=doc_id).first()
            if doc is None or not doc.file:
                return f'{attr}="#"'
            return f'{attr}="{root}{_file_asset(Path(doc.file.path), out)}"'
        from urllib.parse import unquote

        source = Path(settings.MEDIA_ROOT) / unquote(url[len("/media/"):])
        if not source.is_file():
            return f'{attr}="#"'
        return f'{attr}="{root}{_file_asset(source, out)}"'

    return MEDIA_RE.sub(local, html)


def plain(html: str, limit: int = 120) -> str:
    text = re.sub(r"<[^>]+>", "", html or "")
    text = re.sub(r"\s+", " ", text).strip()
    import html as h

    text = h.unescape(text)
    return text[:limit]


def _root(path: str) -> str:
    return "../" * path.count("/")


class Renderer:
    """Builds the template context of every kind of page and renders it."""

    def __init__(self, ctx: SiteContext):
        self.ctx = ctx

    def _base(self, path: str, out: Rendered, **extra) -> dict:
        root = _root(path)
        ctx = self.ctx
        if ctx.site_view["logo"]:
            out.assets[ctx.site_view["logo"]] = ctx.logo_source
        return {
            "root": root, "home": root or "./", "site": ctx.site_view,
            "nav": [{"title": c.title, "href": c.external_url or root + c.path,
                     "external": c.is_link, "id": c.id} for c in ctx.nav],
            "current": None, "meta": {}, "canonical": None, "crumbs": [],
            "path": path, **extra,
        }

    def render(self, template: str, context: dict, templates: str | None = None) -> str:
        return themes.render(self.ctx.theme, template, context, templates)

    def row(self, root: str, rid: int, out: Rendered) -> dict | None:
        """What a list shows of one resource."""
        r = self.ctx.resource(rid)
        if r is None:
            return None
        out.deps.add(f"r:{rid}")
        link = getattr(r, "url", None) if r.kind in NO_DETAIL_KINDS else None
        row = {"id": rid, "title": r.title, "href": link or self.ctx.href(root, rid),
               "external": bool(link), "date": fmt_date(r.published_at),
               "time": fmt_time(r.published_at), "summary": r.summary, "kind": r.kind,
               "kind_label": str(r.get_kind_label()), "index_number": r.index_number or "",
               "doc_number": getattr(r, "doc_number", ""),
               "written_on": fmt_date(getattr(r, "written_on", None)), "image": None, "alt": ""}
        image = getattr(r, "image", None)
        if image is not None:
            rendition = image.get_rendition("fill-480x300")
            row["image"] = root + _file_asset(Path(rendition.file.path), out)
            row["alt"] = getattr(r, "alt", "") or r.title
        return row

    def rows(self, root, ids, out):
        self.ctx.load(ids)
        return [x for x in (self.row(root, i, out) for i in ids) if x]

    def col_view(self, root: str, col: Col) -> dict:
        return {"id": col.id, "title": col.title, "href": col.external_url or root + col.path,
                "description": col.description, "layout": col.layout, "type": col.ctype}

    @staticmethod
    def column_meta(col: Col) -> dict:
        """The <meta> tags of a column page (STANDARDS.md: ColumnName … ColumnType)."""
        description = col.description or col.title
        keywords = col.keywords or col.title
        return {"ColumnName": col.title, "ColumnDescription": description,
                "ColumnKeywords": keywords, "ColumnType": col.ctype,
                "description": description, "keywords": keywords}

    def crumbs(self, root: str, col: Col | None, out: Rendered) -> list[dict]:
        """The breadcrumb to a column; the page then shows (depends on) every column in it."""
        if col is None:
            return []
        chain = self.ctx.ancestors(col.id) + [col]
        out.deps.update(f"c:{c.id}" for c in chain)
        return [{"title": c.title, "href": root + c.path} for c in chain]

    def nav_id(self, col: Col | None) -> int | None:
        if col is None:
            return None
        chain = self.ctx.ancestors(col.id) + [col]
        return chain[0].id

    # --- pages ---------------------------------------------------------------------------
    def home(self) -> Rendered:
        out, ctx = Rendered(""), self.ctx
        c = self._base("index.html", out)
        blocks = []
        tops = {col.id: ctx.top(col.id, HOME_BLOCK) for col in ctx.nav
                if not col.is_link and not col.is_section}
        ctx.load([i for ids in tops.values() for i in ids])
        for col in ctx.nav:
            if col.is_link:
                continue
            if col.is_section:
                kids = [ctx.cols[k] for k in col.children]
                out.deps.update(f"c:{k}" for k in col.children)
                blocks.append({"col": self.col_view("", col), "section": True,
                               "children": [self.col_view("", k) for k in kids], "items": []})
            elif tops[col.id]:  # an empty column gets no block on the home page
                blocks.append({"col": self.col_view("", col), "section": False, "children": [],
                               "items": self.rows("", tops[col.id], out)})
        s = ctx.site
        c.update(blocks=blocks, title=s.name,
                 meta={"SiteName": s.name, "SiteDomain": s.domain, "SiteIDCode": s.code,
                       "description": f"{s.name}", "keywords": s.name})
        out.text = self.render("home.html", c)
        return out

    def column_page(self, col: Col, n: int | None, items: list[Item], pages: int) -> Rendered:
        """n=None: the column's first page (index.html); otherwise list-<n>.html."""
        out = Rendered("")
        path = col.path + ("index.html" if n is None else f"list-{n}.html")
        c = self._base(path, out)
        root = c["root"]
        if n is None:
            shown = display_order(items)[:PAGE_SIZE]
        else:
            shown = list(reversed(items[(n - 1) * PAGE_SIZE:n * PAGE_SIZE]))
        first = root + col.path
        pager = {"n": n, "pages": pages, "index": first,
                 "newer": None if n is None else (first if n >= pages else f"{first}list-{n + 1}.html"),
                 "older": (f"{first}list-{pages}.html" if n is None and pages > 1 else
                           (f"{first}list-{n - 1}.html" if n and n > 1 else None)),
                 "archive": ([{"n": k, "href": f"{first}list-{k}.html"}
                              for k in range(pages, max(0, pages - 10), -1)] if n is None and pages > 1 else []),
                 "oldest": f"{first}list-1.html" if pages > 11 and n is None else None}
        c.update(col=self.col_view(root, col), title=col.title, rows=self.rows(root, [i.rid for i in shown], out),
                 pager=pager, crumbs=self.crumbs(root, col, out), current=self.nav_id(col),
                 feeds={"rss": first + "rss.xml", "atom": first + "atom.xml"},
                 meta=self.column_meta(col))
        out.text = self.render("column.html", c)
        return out

    def section_page(self, col: Col) -> Rendered:
        out, ctx = Rendered(""), self.ctx
        path = col.path + "index.html"
        c = self._base(path, out)
        root = c["root"]
        blocks = []
        for kid_id in col.children:
            kid = ctx.cols[kid_id]
            out.deps.add(f"c:{kid_id}")
            ids = [] if kid.is_section or kid.is_link else ctx.top(kid.id, SECTION_BLOCK)
            blocks.append({"col": self.col_view(root, kid), "items": self.rows(root, ids, out)})
        c.update(col=self.col_view(root, col), title=col.title, blocks=blocks,
                 crumbs=self.crumbs(root, col, out), current=self.nav_id(col),
                 directory=col.ctype == "信息公开",
                 meta=self.column_meta(col))
        out.text = self.render("section.html", c)
        return out

    def feed(self, kind: str, col: Col | None, ids: list[int]) -> Rendered:
        out, ctx = Rendered(""), self.ctx
        base = ctx.base_url + (col.path if col else "")
        if col is not None:
            out.deps.add(f"c:{col.id}")  # its title and address
        entries = []
        ctx.load(ids)
        for rid in ids:
            r = ctx.resource(rid)
            if r is None:
                continue
            out.deps.add(f"r:{rid}")
            link = getattr(r, "url", None) if r.kind in NO_DETAIL_KINDS else None
            entries.append({"id": rid, "title": r.title,
                            "link": link or f"{ctx.base_url}content/{rid}.html",
                            "guid": f"tag:{ctx.site.domain},2000:{r.global_id or rid}",
                            "summary": r.summary or plain(getattr(r, "body", "") or ""),
                            "author": r.organisation.name if r.organisation_id else "",
                            "rfc822": rfc822(r.published_at), "w3c": w3c_time(r.published_at),
                            "updated": w3c_time(r.last_published_at or r.published_at)})
        newest = max((e["w3c"] for e in entries), default="")
        updated = max((e["updated"] for e in entries), default="")
        title = f"{col.title} - {ctx.site.name}" if col else ctx.site.name
        c = {"title": title, "link": base, "self": base + ("rss.xml" if kind == "rss" else "atom.xml"),
             "description": (col.description if col else "") or title, "entries": entries,
             "last_build": entries[0]["rfc822"] if entries else "",
             "updated": updated or "2000-01-01T00:00:00+08:00", "newest": newest,
             "feed_id": f"tag:{ctx.site.domain},2000:{col.path if col else 'site'}"}
        out.text = self.render(f"feeds/{kind}.xml", c)
        return out

    def detail(self, rid: int) -> Rendered:
        out, ctx = Rendered(""), self.ctx
        r = ctx.detail_resource(rid)
        path = f"content/{rid}.html"
        c = self._base(path, out)
        root = c["root"]
        out.deps.add(f"r:{rid}")
        col = ctx.cols.get(ctx._crumb.get(rid) or 0)
        own = f"{ctx.base_url}{path}"
        canonical = ctx.canonical(rid) or own
        body_fields = {name: rich(getattr(r, name, ""), root, out)
                       for name in getattr(r, "rich_text_fields", ())}
        image = None
        if getattr(r, "image", None) is not None:
            rendition = r.image.get_rendition("max-1200x1200")
            image = {"src": root + _file_asset(Path(rendition.file.path), out),
                     "alt": getattr(r, "alt", "") or r.title, "width": rendition.width,
                     "height": rendition.height}
        attachment = None
        if getattr(r, "document", None) is not None and r.document.file:
            source = Path(r.document.file.path)
            attachment = {"href": root + _file_asset(source, out), "name": r.document.title,
                          "filename": Path(r.document.file.name).name,
                          "ext": source.suffix.lstrip(".").upper(),
                          "size": _size(source.stat().st_size)}
        related = []
        if isinstance(r, Interpretation) and r.interprets_id:
            out.deps.add(f"r:{r.interprets_id}")
            target = self._link_to(root, r.interprets_id)
            if target:
                related.append({**target, "rel": "policy"})
        if isinstance(r, PolicyDocument):
            for i_id in (Interpretation.objects.filter(interprets_id=rid, live=True)
                         .order_by("published_at", "id").values_list("id", flat=True)):
                out.deps.add(f"r:{i_id}")
                target = self._link_to(root, i_id)
                if target:
                    related.append({**target, "rel": "interpretation"})
        description = r.summary or plain(next(iter(body_fields.values()), ""))
        source = r.source or (r.organisation.name if r.organisation_id else ctx.site.sponsor)
        c.update(
            r=r, kind=r.kind, title=r.title, body=body_fields, image=image, attachment=attachment,
            related=related, canonical=canonical if canonical != own else None,
            crumbs=self.crumbs(root, col, out), current=self.nav_id(col),
            published=fmt_time(r.published_at), source=source,
            organisation=r.organisation.name if r.organisation_id else "",
            topic=str(r.topic) if r.topic_id else "",
            directory=self._directory(r),
            guide=self._guide(r, body_fields),
            meta={"ArticleTitle": r.title, "PubDate": fmt_time(r.published_at),
                  "ContentSource": source, "Keywords": ",".join(r.keyword_list),
                  "Author": r.author or source, "Description": description,
                  "Image": (ctx.base_url + image["src"][len(root):]) if image else "",
                  "Url": canonical, "description": description,
                  "keywords": ",".join(r.keyword_list) or r.title})
        out.text = self.render(f"detail/{r.kind}.html" if self._has(f"detail/{r.kind}.html")
                               else "detail/generic.html", c)
        return out

    def _has(self, template: str) -> bool:
        try:
            themes.environment(self.ctx.theme).get_template(template)
            return True
        except Exception:  # noqa: BLE001 - a kind without its own template uses the generic one
            return False

    def _link_to(self, root: str, rid: int) -> dict | None:
        other = self.ctx.resource(rid)
        if other is None:
            return None
        here = rid in self.ctx.with_detail_page([rid])
        url = self.ctx.href(root, rid) if here else self.ctx.canonical(rid)
        if not url:
            return None
        return {"title": other.title, "href": url, "date": fmt_date(other.published_at),
                "doc_number": getattr(other, "doc_number", "")}

    def _directory(self, r) -> list[tuple[str, str]] | None:
        """The 政府信息公开 metadata table (policy documents and directory items)."""
        from django.utils.translation import gettext as _

        if not (r.in_directory or isinstance(r, PolicyDocument)):
            return None
        rows = [(_("索引号"), r.index_number or ""),
                (_("发布机构"), r.organisation.name if r.organisation_id else ""),
                (_("主题分类"), str(r.topic) if r.topic_id else "")]
        if isinstance(r, PolicyDocument):
            rows += [(_("发文机关"), r.issuing_body), (_("文号"), r.doc_number),
                     (_("成文日期"), fmt_date(r.written_on)),
                     (_("发布日期"), fmt_date(r.published_at)),
                     (_("体裁分类"), str(r.genre) if r.genre_id else ""),
                     (_("有效性"), str(r.get_validity_display())),
                     (_("生效日期"), fmt_date(r.effective_on)),
                     (_("失效/废止日期"), fmt_date(r.expired_on))]
        else:
            rows += [(_("发布日期"), fmt_date(r.published_at))]
        rows += [(_("公开方式"), str(r.get_disclosure_display())),
                 (_("关键词"), _("，").join(r.keyword_list))]
        return rows

    def _guide(self, r, body_fields) -> list[tuple[str, str, bool]] | None:
        from jiyue.library.models import ServiceGuide

        if not isinstance(r, ServiceGuide):
            return None
        rows = []
        for name in ["legal_basis", "agency", "applicants", "conditions", "materials", "process",
                     "location", "hours", "promised_limit", "statutory_limit", "fees",
                     "consult_phone", "complaint_phone", "online_url", "forms"]:
            label = str(ServiceGuide._meta.get_field(name).verbose_name)
            if name in body_fields:
                rows.append((label, body_fields[name], True))
            else:
                rows.append((label, getattr(r, name) or "", False))
        return rows

    def simple(self, template: str, path: str, templates: str | None = None, **extra) -> Rendered:
        """A page of the site's frame around `template` (a theme template, or one of an app's
        public templates in the directory `templates`)."""
        out = Rendered("")
        c = self._base(path, out)
        root = c["root"]
        c.update(extra)
        if template == "map.html":
            c["tree"] = self._tree(root)
        out.text = self.render(template, c, templates)
        return out

    def _tree(self, root: str) -> list[dict]:
        ctx = self.ctx

        def node(col):
            return {**self.col_view(root, col), "children": [node(ctx.cols[k]) for k in col.children]}

        tops = [c for c in ctx.cols.values() if c.parent_id is None]
        return [node(c) for c in tops]

    def sitemap_urls(self, rows) -> str:
        """A urlset (built directly: sitemaps hold thousands of rows and no text to translate)."""
        from html import escape

        lines = ['<?xml version="1.0" encoding="UTF-8"?>',
                 '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
        for u in rows:
            mod = f"<lastmod>{u['lastmod']}</lastmod>" if u["lastmod"] else ""
            lines.append(f"<url><loc>{escape(u['loc'])}</loc>{mod}</url>")
        lines.append("</urlset>\n")
        return "\n".join(lines)


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


# --- planners ---------------------------------------------------------------------------

class Planner:
    def __init__(self, ctx: SiteContext):
        self.ctx = ctx
        self.r = Renderer(ctx)
        # Set by an incremental run: the chunks the site's sitemap index lists now (None: ask
        # the database) and the chunks of the resources that changed.
        self.known_chunks: set[int] | None = None
        self.dirty_chunks: set[int] = set()
        self._chunks: list[int] | None = None

    def all_groups(self) -> list[str]:
        ids = self.ctx.detail_ids()
        groups = ["static", "home", "feed", "sitemap"]
        groups += [f"col:{c}" for c in self.ctx.cols]
        chunks = self.chunks()
        groups += [f"sm:{k}" for k in chunks] if len(chunks) > 1 else []
        groups += [f"r:{i}" for i in ids]
        return groups

    def plan_all(self, groups) -> list[Spec]:
        """Plan many groups; detail pages are planned together (a few queries for all)."""
        specs, rids = [], []
        for g in groups:
            if g.startswith("r:"):
                rids.append(int(g[2:]))
            else:
                specs.extend(self.plan(g))
        if rids:
            specs.extend(self.plan_details(rids))
        return specs

    def plan(self, group: str) -> list[Spec]:
        kind, _, arg = group.partition(":")
        if kind == "r":
            return self.plan_details([int(arg)])
        if kind == "col":
            return self.plan_column(int(arg))
        if kind == "sm":
            return self.plan_chunk(int(arg))
        return getattr(self, f"plan_{kind}")()

    def plan_home(self) -> list[Spec]:
        return [Spec("index.html", "home", "", self.r.home, always=True)]

    def plan_static(self) -> list[Spec]:
        ctx, r = self.ctx, self.r
        specs = []
        for name, data in themes.assets(ctx.theme).items():
            specs.append(Spec(f"assets/{name}", "static", "",
                              (lambda d=data: Rendered(d)), always=True))
        # the site's main colour, linked from every page (no inline style: docs/security.md)
        colour_path, colour_css = themes.colour_stylesheet(ctx.site_view["colour"])
        specs.append(Spec(colour_path, "static", "", lambda: Rendered(colour_css), always=True))
        robots = (f"User-agent: *\nAllow: /\nDisallow: /_/\nDisallow: /admin/\n"
                  f"Sitemap: {ctx.base_url}sitemap.xml\n")
        specs.append(Spec("robots.txt", "static", "", lambda: Rendered(robots), always=True))
        specs.append(Spec("404.html", "static", "", lambda: r.simple("404.html", "404.html"),
                          always=True))
        specs.append(Spec("map/index.html", "static", "",
                          lambda: r.simple("map.html", "map/index.html"), always=True))
        specs.append(Spec("search/index.html", "static", "",
                          lambda: r.simple("search.html", "search/index.html", q="", results=None),
                          always=True))
        return specs

    def plan_column(self, cid: int) -> list[Spec]:
        col = self.ctx.cols.get(cid)
        if col is None or col.is_link:
            return []
        g = f"col:{cid}"
        if col.is_section:
            parts = []
            for k in col.children:
                kid = self.ctx.cols[k]
                ids = [] if kid.is_section or kid.is_link else self.ctx.top(k, SECTION_BLOCK)
                parts.append((k, ids))
            return [Spec(col.path + "index.html", g, sig(parts), lambda: self.r.section_page(col))]
        items = self.ctx.items(cid)
        pages = math.ceil(len(items) / PAGE_SIZE) if len(items) > PAGE_SIZE else 1
        numbered = pages if len(items) > PAGE_SIZE else 0
        top = [i.rid for i in display_order(items)[:PAGE_SIZE]]
        specs = [Spec(col.path + "index.html", g, sig(top, numbered),
                      lambda: self.r.column_page(col, None, items, numbered))]
        for n in range(1, numbered + 1):
            ids = [i.rid for i in items[(n - 1) * PAGE_SIZE:n * PAGE_SIZE]]
            specs.append(Spec(f"{col.path}list-{n}.html", g, sig(ids, n, n < numbered),
                              lambda n=n: self.r.column_page(col, n, items, numbered)))
        newest = [i.rid for i in reversed(items[-FEED_SIZE:])]
        for kind in ("rss", "atom"):
            specs.append(Spec(f"{col.path}{kind}.xml", g, sig(newest),
                              lambda kind=kind: self.r.feed(kind, col, newest)))
        return specs

    def plan_feed(self) -> list[Spec]:
        rows = (Placement.objects.filter(site=self.ctx.site, state=Placement.LIVE, resource__live=True)
                .order_by("-published_at", "-resource_id")
                .values_list("resource_id", flat=True)[:FEED_SIZE * 3])
        ids = list(dict.fromkeys(rows))[:FEED_SIZE]
        return [Spec(f"{kind}.xml", "feed", sig(ids), lambda kind=kind: self.r.feed(kind, None, ids))
                for kind in ("rss", "atom")]

    def plan_details(self, rids) -> list[Spec]:
        with_page = self.ctx.with_detail_page(rids)
        self.ctx.expect(sorted(with_page))
        return [Spec(f"content/{rid}.html", f"r:{rid}", "", lambda rid=rid: self.r.detail(rid),
                     always=True) for rid in rids if rid in with_page]

    # sitemaps: small sites get one urlset; large ones an index, the fixed pages and chunks.
    def _detail_rows(self, lo: int | None = None, hi: int | None = None):
        qs = (Placement.objects.filter(site=self.ctx.site, state=Placement.LIVE, resource__live=True)
              .exclude(resource__kind__in=NO_DETAIL_KINDS))
        if lo is not None:
            qs = qs.filter(resource_id__gte=lo, resource_id__lt=hi)
        rows = qs.values_list("resource_id", "resource__last_published_at",
                              "resource__published_at").distinct()
        return sorted(set(rows))

    def _fixed_urls(self) -> list[dict]:
        base = self.ctx.base_url
        urls = [{"loc": base, "lastmod": ""}]
        urls += [{"loc": base + c.path, "lastmod": ""} for c in
                 sorted(self.ctx.cols.values(), key=lambda c: c.path) if not c.is_link]
        return urls

    def _url_rows(self, rows) -> list[dict]:
        base = self.ctx.base_url
        return [{"loc": f"{base}content/{rid}.html", "lastmod": w3c_time(last or pub)}
                for rid, last, pub in rows]

    @staticmethod
    def _rows_sig(rows) -> str:
        h = hashlib.md5()
        for rid, last, pub in rows:
            t = last or pub
            h.update(f"{rid}:{t.timestamp() if t else 0};".encode())
        return h.hexdigest()

    def _details(self):
        return self.ctx._with_pages()

    def chunks(self) -> list[int]:
        """The non-empty sitemap chunks of the site."""
        if self._chunks is None:
            if self.known_chunks is not None:
                found = set(self.known_chunks)
                for k in self.dirty_chunks:
                    if self._details().filter(resource_id__gte=k * CHUNK,
                                              resource_id__lt=(k + 1) * CHUNK).exists():
                        found.add(k)
                    else:
                        found.discard(k)
            else:
                found = set(self._details().annotate(k=F("resource_id") / CHUNK)
                            .values_list("k", flat=True).distinct())
            self._chunks = sorted(found)
        return self._chunks

    def plan_sitemap(self) -> list[Spec]:
        r, base = self.r, self.ctx.base_url
        fixed = self._fixed_urls()
        chunks = self.chunks()
        if len(chunks) <= 1:
            rows = self._detail_rows()
            return [Spec("sitemap.xml", "sitemap", sig(fixed, self._rows_sig(rows)),
                         lambda: Rendered(r.sitemap_urls(fixed + self._url_rows(rows))))]
        index = [f"{base}sitemap-pages.xml"] + [f"{base}sitemap-{k}.xml" for k in chunks]
        return [Spec("sitemap.xml", "sitemap", sig(index),
                     lambda: Rendered(r.render("feeds/sitemapindex.xml", {"maps": index}))),
                Spec("sitemap-pages.xml", "sitemap", sig(fixed),
                     lambda: Rendered(r.sitemap_urls(fixed)))]

    def plan_chunk(self, k: int) -> list[Spec]:
        if len(self.chunks()) <= 1:
            return []
        rows = self._detail_rows(k * CHUNK, (k + 1) * CHUNK)
        if not rows:
            return []
        return [Spec(f"sitemap-{k}.xml", f"sm:{k}", self._rows_sig(rows),
                     lambda: Rendered(self.r.sitemap_urls(self._url_rows(rows))))]


