"""The search service: the public interface of search (the page `/_/search`, the API, Q&A).

    result = services.search("社保 缴费", site=site, scope="placed", links=Links.for_request(request))
    services.suggest("shb", site=site)         # completion
    services.record_query("社保", site.code, total)

`search()` turns the query into engine clauses (the engine's own segmentation, plus synonyms and
pinyin/initials conversions from `smart.py` as extra alternatives), runs it on this node's
replica (`engine.execute`), falls back from AND to OR when nothing has every word, offers a
"did you mean" when little is found and a correction finds more, jumps straight to a document
for an exact 文号 or 索引号, and labels the facets. Until the node's replica is built it answers
from the database (titles, summaries, keywords, 索引号), like the page did before the engine.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import smart
from .forms import MAX_PAGE, MAX_PAGE_SIZE, SearchParams

log = logging.getLogger(__name__)

FACETS = ("site", "organisation", "kind", "topic", "year")
FEW = 3                 # at most this many results: look for a correction that finds more
EXPANSION_BOOST = 0.6   # weight of a synonym or pinyin alternative (Clause.alt_boosts)
NUMBER_HINT = re.compile(r"\d")


# --- links -------------------------------------------------------------------------------

@dataclass
class Links:
    """How result URLs are written, following the published pages: a resource with a page on
    the current site links relatively (`{root}content/<id>.html`); another site's resource
    links to that site — its canonical address (`https://<domain>/…`), or, when the platform is
    browsed locally, `/sites/<code>/…` or `http://<code>.localhost:<port>/…`."""

    here: str | None = None       # the site whose pages are linked relatively
    root: str = "../"             # from the page to the site's root
    mode: str = "canonical"       # canonical | local (/sites/<code>/) | localhost
    scheme: str = "http"
    port: str = ""

    @classmethod
    def for_request(cls, request, site) -> "Links":
        host = request.get_host()
        name, _sep, port = host.rpartition(":") if ":" in host and not host.endswith("]") else (host, "", "")
        if request.headers.get("X-Jiyue-Site"):
            mode = "local"
        elif name.lower().endswith(".localhost"):
            mode = "localhost"
        else:
            mode = "canonical"
        return cls(here=site.code if site else None, root="../", mode=mode,
                   scheme=request.scheme, port=port)

    @classmethod
    def absolute(cls) -> "Links":
        """For the API: every URL absolute, on the site's canonical domain."""
        return cls(here=None, mode="canonical")

    def site_root(self, code: str, domain: str) -> str:
        if self.mode == "local":
            return f"/sites/{code}/"
        if self.mode == "localhost":
            return f"{self.scheme}://{code}.localhost{':' + self.port if self.port else ''}/"
        return f"https://{domain}/"

    def resource(self, rid: int, code: str, domain: str) -> str:
        if code == self.here:
            return f"{self.root}content/{rid}.html"
        return f"{self.site_root(code, domain)}content/{rid}.html"


def link_site(sites: list[str], home_site: str, here: str | None) -> str | None:
    """The site a hit links to: the current site when it is live there, else its canonical
    site — the owner's own site if placed there, else the lowest 网站标识码 (the rule of
    publishing.pages.SiteContext._load_canonical)."""
    if not sites:
        return None
    if here and here in sites:
        return here
    if home_site and home_site in sites:
        return home_site
    return min(sites)


# --- results -----------------------------------------------------------------------------

@dataclass
class Hit:
    resource_id: int
    title: str
    title_html: str
    url: str
    snippet_html: str
    site_code: str
    site_name: str
    kind: str
    kind_label: str
    organisation: str
    organisation_id: int | None
    published_at: datetime | None
    date: str
    doc_number: str = ""
    index_number: str = ""
    global_id: str = ""
    topic: str = ""


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    active: bool = False


@dataclass
class SearchResult:
    query: str
    total: int = 0
    hits: list[Hit] = field(default_factory=list)
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    page: int = 1
    pages: int = 0
    page_size: int = 10
    sort: str = "relevance"
    scope: str = "all"
    jump: str | None = None
    suggestion: str | None = None
    expanded: list[str] = field(default_factory=list)
    relaxed: bool = False         # nothing had every word: results have some of them
    degraded: bool = False        # the index is not built yet: a simple database match
    params: SearchParams | None = None


def kind_labels() -> dict[str, str]:
    from jiyue.library.kinds import kinds

    return {code: str(model._meta.verbose_name) for code, model in kinds().items()}


# --- building the engine query -------------------------------------------------------------

def _tokens(word: str) -> list[str]:
    """A word as one engine alternative: its precise-mode tokens — one token (a dictionary
    word, found wherever it occurs), or a phrase of the tokens the index holds in order."""
    from . import segment

    return segment.segmenter().tokens(word)


def _piece_clauses(piece: smart.Piece) -> list:
    from . import engine

    if not piece.alternatives:
        return engine.clauses_for(piece.text)
    alts = []
    for w in [piece.text, *piece.alternatives]:
        toks = _tokens(w)
        if toks and toks not in alts:
            alts.append(toks)
    if not alts:
        return []
    # the word typed counts fully, its expansions (synonyms, pinyin conversions) less
    return [engine.Clause(alts, alt_boosts=[1.0] + [EXPANSION_BOOST] * (len(alts) - 1))]


@dataclass
class Plan:
    clauses: list
    expanded: list[str]


def plan(query: str) -> Plan:
    """The engine clauses of a normalised query with its expansions, and the words added (for
    "已同时搜索：…")."""
    clauses, expanded = [], []
    try:
        pieces = smart.expand(query)
    except Exception:  # noqa: BLE001 - without synonyms and pinyin, the words themselves
        log.exception("search: query expansion failed for %r", query)
        pieces = [smart.Piece(query)]
    for piece in pieces:
        for c in _piece_clauses(piece):
            if c.alternatives and c not in clauses:
                clauses.append(c)
        for w in piece.alternatives:
            if w not in expanded:
                expanded.append(w)
    return Plan(clauses, expanded)


def _filters(site_code: str | None, scope: str, p: SearchParams):
    """The engine filters of a scope and the facet parameters; None when they contradict
    (e.g. scope 本站 with the facet of another site)."""
    from . import engine

    sites: list[str] = []
    home: list[str] = []
    if site_code and scope in ("site", "placed"):
        sites = [site_code]
        if scope == "site":
            home = [site_code]
    if p.site:
        if sites and p.site not in sites:
            return None
        sites = [p.site]
    return engine.Filters(sites=sites, home_sites=home,
                          organisations=[p.org] if p.org else (),
                          kinds=[p.kind] if p.kind else (), exclude_kinds=["link"],
                          topics=[p.topic] if p.topic else (), years=[p.year] if p.year else ())


# --- search ------------------------------------------------------------------------------

def search(q: str = "", *, site=None, scope: str | None = None, params: SearchParams | None = None,
           links: Links | None = None, record: bool = True, **kwargs) -> SearchResult:
    """Search what the public sees. `site`: the site asked on (a Site or its code), or None for
    the whole platform; `scope`: site (this site's own resources placed on it), placed
    (everything live on it; the default with a site) or all (every site; the default without).
    Filters, sort and paging come in `params` (or as keyword arguments: org, kind, topic, year,
    site_filter, sort, page, page_size)."""
    if params is None:
        params = SearchParams(q=q, **{("site" if k == "site_filter" else k): v
                                      for k, v in kwargs.items()})
    elif q:
        params.q = q
    params.page = max(1, min(int(params.page or 1), MAX_PAGE))
    params.page_size = max(1, min(int(params.page_size or 10), MAX_PAGE_SIZE))
    site_code = getattr(site, "code", site) or None
    scope = scope or params.scope or ("placed" if site_code else "all")
    if not site_code and scope != "all":
        scope = "all"
    links = links or (Links.absolute() if site_code is None else Links(here=site_code))
    query = smart.normalise(params.q)
    result = SearchResult(query=query, page=params.page, page_size=params.page_size,
                          sort=params.sort, scope=scope, params=params)
    if not query:
        return result
    from . import engine

    if not engine.search_ready():
        result.degraded = True
        _database_search(result, site_code, scope, params, links)
        if record:
            record_query(query, site_code or "", result.total, first_page=params.page == 1)
        return result

    filters = _filters(site_code, scope, params)
    unfiltered = not (params.site or params.org or params.kind or params.topic or params.year)
    if params.page == 1 and unfiltered and NUMBER_HINT.search(query) and len(query) <= 60:
        result.jump = _jump(params.q, site_code, links)
        if result.jump:
            if record:
                record_query(query, site_code or "", 1, first_page=True)
            return result
    if filters is None:
        return result
    pl = plan(query)
    result.expanded = [w for w in pl.expanded if w != query]
    size = params.page_size
    # the site facet only where results come from several sites (scope all)
    facets = FACETS if scope == "all" else tuple(f for f in FACETS if f != "site")
    eq = engine.EngineQuery(clauses=pl.clauses, require_all=True, filters=filters,
                            sort=params.sort, offset=(params.page - 1) * size, limit=size,
                            facets=facets)
    res = engine.execute(eq)
    if res.total == 0 and len(pl.clauses) > 1:
        eq.require_all = False
        res = engine.execute(eq)
        result.relaxed = res.total > 0
    result.total = res.total
    result.pages = min(MAX_PAGE, math.ceil(res.total / size)) if res.total else 0
    if result.total <= FEW and params.page == 1:
        # results with only some of the words count as none: a correction may have them all
        result.suggestion = _suggestion(query, filters, 0 if result.relaxed else result.total)
    _fill(result, res, site_code, links, params)
    if record:  # only some of the words found: for the operator, nothing was found
        record_query(query, site_code or "", 0 if result.relaxed else result.total,
                     first_page=params.page == 1)
    return result


def count(query: str, filters=None) -> int:
    """How many documents a (normalised) query finds, with its expansions, AND of its words."""
    from . import engine

    pl = plan(query)
    if not pl.clauses:
        return 0
    return engine.execute(engine.EngineQuery(
        clauses=pl.clauses, filters=filters or engine.Filters(exclude_kinds=["link"]),
        limit=0, facets=(), highlight=False)).total


def _suggestion(query: str, filters, total: int) -> str | None:
    try:
        for candidate in smart.corrections(query):
            if count(candidate, filters) > total:
                return candidate
    except Exception:  # noqa: BLE001 - "did you mean" is a nicety, never a failure
        log.exception("search: corrections failed for %r", query)
    return None


def _jump(raw: str, site_code: str | None, links: Links) -> str | None:
    """The URL of the document whose 文号 or 索引号 is exactly the query (any bracket or space
    variant); the one on the current site when several."""
    from . import engine

    hits = [h for h in engine.lookup_number(raw) if h.fields.get("sites")]
    if not hits:
        return None
    hit = next((h for h in hits if site_code in h.fields["sites"]), hits[0])
    code = link_site(hit.fields["sites"], hit.fields.get("home_site", ""), links.here or site_code)
    domains = _sites([code])
    return links.resource(hit.resource_id, code, domains.get(code, ("", ""))[1])


def _sites(codes) -> dict[str, tuple[str, str]]:
    from jiyue.platform.models import Site

    codes = {c for c in codes if c}
    if not codes:
        return {}
    return {c: (n, d) for c, n, d in Site.objects.filter(code__in=codes)
            .values_list("code", "name", "domain")}


def _fill(result: SearchResult, res, site_code, links: Links, p: SearchParams) -> None:
    from jiyue.library.models import Classification
    from jiyue.platform.models import Organisation
    from jiyue.publishing.pages import fmt_date

    labels = kind_labels()
    link_codes = {}
    for h in res.hits:
        f = h.fields
        link_codes[h.resource_id] = link_site(list(f.get("sites") or []), f.get("home_site", ""),
                                              links.here or site_code)
    site_codes = set(link_codes.values()) | set((res.facets.get("site") or {}).keys())
    if p.site:
        site_codes.add(p.site)
    sites = _sites(site_codes)
    for h in res.hits:
        f = h.fields
        code = link_codes[h.resource_id]
        if code is None:
            continue
        name, domain = sites.get(code, (code, ""))
        published = f.get("published_at")
        result.hits.append(Hit(
            resource_id=h.resource_id, title=f.get("title", ""), title_html=h.title_html,
            url=links.resource(h.resource_id, code, domain), snippet_html=h.snippet_html,
            site_code=code, site_name=name, kind=f.get("kind", ""),
            kind_label=labels.get(f.get("kind", ""), f.get("kind", "")),
            organisation=f.get("organisation_name", ""), organisation_id=f.get("organisation_id"),
            published_at=published, date=fmt_date(published) if published else "",
            doc_number=f.get("doc_number") or "", index_number=f.get("index_number") or "",
            global_id=f.get("global_id") or "", topic=f.get("topic_name") or ""))
    # facets, labelled; the active value stays listed (to be removed) even when not counted
    facets = {name: dict(res.facets.get(name) or {}) for name in FACETS}
    if result.scope != "all" and not p.site:
        facets["site"] = {}
    active = {"site": p.site, "organisation": p.org, "kind": p.kind, "topic": p.topic,
              "year": p.year}
    for name, value in active.items():
        if value is not None and str(value) not in facets[name]:
            facets[name][str(value)] = 0
    org_ids = [int(k) for k in facets["organisation"] if k.isdigit() and int(k) > 0]
    orgs = dict(Organisation.objects.filter(pk__in=org_ids).values_list("pk", "name")) if org_ids else {}
    topic_ids = [int(k) for k in facets["topic"] if k.isdigit()]
    # "综合政务 › 政务公开": the classification's path as a reader sees it (its __str__ is the
    # admin's backslash form)
    topics = ({c.pk: f"{c.parent.name} › {c.name}" if c.parent_id else c.name
               for c in Classification.objects.filter(pk__in=topic_ids).select_related("parent")}
              if topic_ids else {})
    label_of = {
        "site": lambda v: sites.get(v, (v, ""))[0],
        "organisation": lambda v: orgs.get(int(v)) if v.isdigit() else None,
        "kind": lambda v: labels.get(v),
        "topic": lambda v: topics.get(int(v)) if v.isdigit() else None,
        "year": lambda v: _("%(y)s年") % {"y": v},
    }
    for name in FACETS:
        values = []
        for value, n in facets[name].items():
            label = label_of[name](value)
            if not label or (name == "organisation" and value == "0"):
                continue
            values.append(FacetValue(value, label, n, str(active[name]) == value
                                     if active[name] is not None else False))
        if name == "year":
            values.sort(key=lambda v: v.value, reverse=True)
        else:
            values.sort(key=lambda v: (-v.count, v.label))
        result.facets[name] = values


def _database_search(result: SearchResult, site_code, scope, p: SearchParams, links: Links) -> None:
    """While this node's replica is being built: match titles, summaries, keywords and 索引号
    in the database (what the page did before the engine), newest first, no facets."""
    from django.db.models import Q

    from jiyue.library.services import public_placements
    from jiyue.publishing.pages import fmt_date

    q = result.query
    qs = public_placements().exclude(resource__kind="link")
    if site_code and scope in ("site", "placed"):
        qs = qs.filter(site__code=site_code)
        if scope == "site":
            qs = qs.filter(resource__organisation_id=_site_org(site_code))
    if p.site:
        qs = qs.filter(site__code=p.site)
    if p.org:
        qs = qs.filter(resource__organisation_id=p.org)
    if p.kind:
        qs = qs.filter(resource__kind=p.kind)
    if p.topic:
        qs = qs.filter(resource__topic_id=p.topic)
    if p.year:
        qs = qs.filter(resource__published_at__year=p.year)
    qs = qs.filter(Q(resource__title__icontains=q) | Q(resource__summary__icontains=q)
                   | Q(resource__keywords__icontains=q) | Q(resource__index_number=q))
    ids = list(qs.order_by("-resource__published_at", "-resource_id")
               .values_list("resource_id", flat=True).distinct()[:MAX_PAGE * p.page_size])
    ids = list(dict.fromkeys(ids))
    result.total = len(ids)
    result.pages = math.ceil(len(ids) / p.page_size) if ids else 0
    page_ids = ids[(p.page - 1) * p.page_size:p.page * p.page_size]
    if not page_ids:
        return
    rows = {}
    for rid, title, summary, published, kind, org, org_name, code, domain, name, home in (
            public_placements().filter(resource_id__in=page_ids)
            .values_list("resource_id", "resource__title", "resource__summary",
                         "resource__published_at", "resource__kind", "resource__organisation_id",
                         "resource__organisation__name", "site__code", "site__domain", "site__name",
                         "site__organisation_id")):
        entry = rows.setdefault(rid, {"title": title, "summary": summary, "published": published,
                                      "kind": kind, "org": org, "org_name": org_name, "sites": {}})
        entry["sites"][code] = (name, domain, home == org)
    labels = kind_labels()
    import html as h

    for rid in page_ids:
        e = rows.get(rid)
        if not e:
            continue
        home = next((c for c, (_n, _d, own) in e["sites"].items() if own), "")
        code = link_site(list(e["sites"]), home, links.here or site_code)
        name, domain, _own = e["sites"][code]
        result.hits.append(Hit(
            resource_id=rid, title=e["title"], title_html=h.escape(e["title"]),
            url=links.resource(rid, code, domain), snippet_html=h.escape((e["summary"] or "")[:120]),
            site_code=code, site_name=name, kind=e["kind"], kind_label=labels.get(e["kind"], e["kind"]),
            organisation=e["org_name"] or "", organisation_id=e["org"], published_at=e["published"],
            date=fmt_date(e["published"]) if e["published"] else ""))


def _site_org(code: str) -> int | None:
    from jiyue.platform.models import Site

    return Site.objects.filter(code=code).values_list("organisation_id", flat=True).first()


# --- completion --------------------------------------------------------------------------

def suggest(prefix: str, *, site=None, limit: int = 8) -> list[dict]:
    """Completions of what is being typed: popular queries and words (by Chinese prefix, pinyin
    or initials: `she`, `shb`, `sb` → 社保…), then titles that start with it (on the site when
    one is given). Each: {"text", "type": "query"|"title"}."""
    query = smart.normalise(prefix)
    limit = max(1, min(int(limit or 8), 20))
    if not query:
        return []
    out: list[dict] = []
    seen = set()
    try:
        for w in smart.complete(query, limit=limit):
            if w not in seen:
                seen.add(w)
                out.append({"text": w, "type": "query"})
    except Exception:  # noqa: BLE001 - completion must never fail
        log.exception("search: completion failed")
    if len(out) < limit and smart.has_cjk(query):
        code = getattr(site, "code", site) or None
        for title in title_prefix(prefix.strip()[:50], code, limit - len(out)):
            if title not in seen:
                seen.add(title)
                out.append({"text": title, "type": "title"})
    return out[:limit]


def title_prefix(prefix: str, site_code: str | None, limit: int) -> list[str]:
    """Titles of indexed documents that start with `prefix` (a prefix query on the engine's
    raw title field), newest first."""
    import tantivy

    from . import engine

    prefix = smart.normalise(prefix).replace(" ", "")
    if not prefix or limit <= 0:
        return []
    try:
        r = engine._reader()
        if r is None:
            return []
        pattern = "".join("\\" + c if not c.isalnum() and c.isascii() else c for c in prefix) + ".*"
        subs = [(tantivy.Occur.Must, tantivy.Query.regex_query(r.schema, "title_raw", pattern)),
                (tantivy.Occur.MustNot, tantivy.Query.term_query(r.schema, "kind", "link"))]
        if site_code:
            subs.append((tantivy.Occur.Must, tantivy.Query.term_query(r.schema, "sites", site_code)))
        searcher = r.index.searcher()
        res = searcher.search(tantivy.Query.boolean_query(subs), limit * 2, count=False,
                              order_by_field="published_at", order=tantivy.Order.Desc)
        titles = []
        for _s, addr in res.hits:
            t = searcher.doc(addr).get_first("title_raw")
            if t and t not in titles:
                titles.append(t)
        return titles[:limit]
    except Exception:  # noqa: BLE001 - completion must never fail
        log.exception("search: title completion failed")
        return []


# --- statistics --------------------------------------------------------------------------

_UPSERT = """
INSERT INTO search_querystat (day, site_code, query, count, zero_count, last_total, last_at, handled)
VALUES (%s, %s, %s, 1, %s, %s, %s, %s)
ON CONFLICT (day, site_code, query) DO UPDATE SET
  count = search_querystat.count + 1,
  zero_count = search_querystat.zero_count + excluded.zero_count,
  last_total = excluded.last_total,
  last_at = excluded.last_at
"""


def record_query(query: str, site_code: str, total: int, *, first_page: bool = True) -> bool:
    """Count one search of a (normalised) query on a site today, and whether it found nothing:
    one statement (an upsert), in its own savepoint; a failure is logged, never raised. Only
    first pages count (paging through results is not another search)."""
    query = smart.normalise(query)
    if not first_page or not query or not any(c.isalnum() for c in query):
        return False
    try:
        now = timezone.now()
        ops = connection.ops
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute(_UPSERT, [ops.adapt_datefield_value(timezone.localdate(now)),
                                      (site_code or "")[:32], query[:100], 1 if total == 0 else 0,
                                      max(0, min(int(total), 2**31 - 1)),
                                      ops.adapt_datetimefield_value(now), False])
        return True
    except Exception:  # noqa: BLE001 - statistics must never fail a search
        log.warning("search: could not record query statistics", exc_info=True)
        return False
