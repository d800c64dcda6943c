"""Intelligent Q&A: the public interface.

    ask(question, site_code=None, user=None)   -> {"answers", "confident", "question_id", ...}
    feedback(question_id, useful, token=..., asked=...)  -> the Question (有用 / 没用, once)
    visible_organisations(site)                -> organisation ids whose FAQ a site answers with

Answers come from the FAQ knowledge base (FaqEntry, per organisation or platform-wide) and from
published resources (articles, policies, service guides …) found by the search engine on the
site; the ranker (jiyue.qa.ranker) orders them with a score in [0, 1]. Every question is logged
(Question) with what was answered, for the operator's 问答记录 and the citizen's feedback.
See docs/search.md "Q&A knowledge base and API".
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiyue.security.crypto import sm3_hex

from . import display, kb
from .models import FaqEntry, Question

logger = logging.getLogger(__name__)

MAX_QUESTION = 500
MAX_ANSWERS = 5
RESOURCE_CANDIDATES = 4       # resources found by the search engine, ranked with the FAQ
EXCLUDED_KINDS = ("link", "image")  # a link or a picture is not an answer
FAQ_TEXT_LIMIT = 2000         # a FAQ answer is returned in full up to this length
RESOURCE_TEXT_LIMIT = 300     # a resource answers with its summary or first paragraph
STORED_TEXT_LIMIT = 1000      # what the question log keeps of each answer


class QaError(Exception):
    """A request the service refuses, with the HTTP status and a Chinese message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def clean_question(text) -> str:
    """The question as asked, without control characters; QaError (422) when it is empty or
    longer than MAX_QUESTION characters."""
    text = display.clean(str(text or ""))
    if not text:
        raise QaError(422, _("请输入您的问题。"))
    if len(text) > MAX_QUESTION:
        raise QaError(422, _("问题太长：请不超过 %(n)s 个字。") % {"n": MAX_QUESTION})
    return text


def site_by_code(code: str):
    from jiyue.platform.models import Site

    site = Site.objects.filter(code=str(code or "").strip()[:10]).select_related("organisation").first()
    if site is None:
        raise QaError(404, _("站点“%(code)s”不存在。") % {"code": str(code)[:20]})
    return site


def visible_organisations(site) -> set[int]:
    """Organisations whose FAQ entries answer on this site: the site's organisation and every
    organisation under it (the portal of a government answers with its departments' entries)."""
    from jiyue.platform.models import Organisation

    return set(Organisation.get_tree(site.organisation).values_list("pk", flat=True))


# --- where answers link to ---------------------------------------------------------------

class _Links:
    """Public URLs of answers: on the site asked on when there is one; otherwise on the site of
    the entry's organisation (or of the nearest organisation above it with a site), or on the
    portal for platform-level entries; a resource on its owner's site when it is placed there,
    else on a site where it is placed."""

    def __init__(self, site):
        from jiyue.platform.models import Site

        self.site = site
        self._sites: dict[str, object] = {}
        self._org_site: dict[int | None, object] = {}
        self._portal = None if site else (Site.objects.filter(kind="portal").order_by("code").first()
                                          or Site.objects.order_by("code").first())

    @staticmethod
    def absolute(site, path: str) -> str:
        return f"https://{site.domain}/{path}" if site else "/" + path

    def site_for_org(self, org_id):
        if self.site is not None:
            return self.site
        if org_id not in self._org_site:
            from jiyue.platform.models import Organisation, Site

            found = None
            org = Organisation.objects.filter(pk=org_id).first() if org_id else None
            if org is not None:
                chain = [org.pk, *reversed(list(org.get_ancestors().values_list("pk", flat=True)))]
                by_org = {s.organisation_id: s for s in Site.objects.filter(organisation_id__in=chain)}
                found = next((by_org[o] for o in chain if o in by_org), None)
            self._org_site[org_id] = found or self._portal
        return self._org_site[org_id]

    def site_by_code(self, code: str):
        if self.site is not None and code == self.site.code:
            return self.site
        if code not in self._sites:
            from jiyue.platform.models import Site

            self._sites[code] = Site.objects.filter(code=code).first()
        return self._sites[code]


# --- candidates from published resources ---------------------------------------------------

@dataclass
class _ResourceHit:
    id: int
    kind: str
    title: str
    summary: str
    sites: list
    home_site: str


def _resource_hits(question: str, site) -> list[_ResourceHit]:
    """The best lexical matches among published resources live on the site (every site when
    none), from this node's search index; nothing when the index is not ready or fails (the
    FAQ still answers)."""
    try:
        from jiyue.search import engine
    except ImportError:
        return []
    try:
        if not engine.search_ready():
            return []
        query = engine.EngineQuery(
            clauses=engine.clauses_for(question), require_all=False,
            filters=engine.Filters(sites=[site.code] if site else (), exclude_kinds=EXCLUDED_KINDS),
            limit=RESOURCE_CANDIDATES, facets=(), highlight=False)
        if not query.clauses:
            return []
        result = engine.execute(query)
    except Exception:  # noqa: BLE001 - an index problem must not stop the FAQ from answering
        logger.exception("Q&A: resource candidates from the search index failed")
        return []
    hits = []
    for h in result.hits:
        f = h.fields
        hits.append(_ResourceHit(int(h.resource_id), f.get("kind") or "", f.get("title") or "",
                                 f.get("summary") or "", list(f.get("sites") or ()),
                                 f.get("home_site") or ""))
    return hits


def _resource_texts(ids) -> dict[int, str]:
    """The answer text of each resource: its summary, else the first paragraph of its body."""
    from jiyue.library.kinds import specific_many
    from jiyue.library.models import Resource

    out = {}
    for r in specific_many(Resource.objects.filter(pk__in=list(ids), live=True)):
        text = (r.summary or "").strip()
        if not text:
            for name in getattr(r, "rich_text_fields", ()):
                body = display.plain_text(getattr(r, name, "") or "")
                if body:
                    text = body.split("\n", 1)[0]
                    break
        out[r.pk] = display.trim(text or r.title, RESOURCE_TEXT_LIMIT)
    return out


# --- asking ---------------------------------------------------------------------------------

def ask(question, site_code: str | None = None, user=None) -> dict:
    """Answer a citizen's question, best first, and log it.

    Returns {"answers": [{"text", "title", "source": {"kind", "id", "url"}, "score",
    "path", "organisation"}], "confident", "question_id", "feedback_token", "site"}: `url` is
    absolute, `path` the page's path within the site asked on (for the ask page's relative
    links), `organisation` the responsible organisation's id (FAQ entries) or None.
    Raises QaError (422 for an empty or too long question, 404 for an unknown site)."""
    text = clean_question(question)
    site = site_by_code(site_code) if site_code else None
    allowed_orgs = visible_organisations(site) if site else None

    def allowed(item) -> bool:
        return item.group is None or allowed_orgs is None or item.group in allowed_orgs

    ranker = kb.ranker()
    hits = {h.id: h for h in _resource_hits(text, site)}
    extra = [kb.resource_item(h.id, h.title, h.summary, h.kind) for h in hits.values()]
    try:
        ranked = ranker.rank(text, k=MAX_ANSWERS, allowed=allowed, extra=extra)
    except Exception:  # noqa: BLE001 - the citizen gets "no answer", the operator a log entry
        logger.exception("Q&A: ranking failed")
        ranked = []

    links = _Links(site)
    faq_ids = [int(it.id.split(":", 1)[1]) for it, _s in ranked if it.id.startswith("faq:")]
    entries = {e.pk: e for e in FaqEntry.objects.filter(pk__in=faq_ids)}
    res_texts = _resource_texts([int(it.id.split(":", 1)[1]) for it, _s in ranked
                                 if it.id.startswith("resource:")])
    answers = []
    for item, score in ranked:
        kind, _sep, raw_id = item.id.partition(":")
        pk = int(raw_id)
        score = round(min(1.0, max(0.0, float(score))), 4)
        if kind == "faq":
            entry = entries.get(pk)
            if entry is None:
                continue  # deleted since the ranker was built
            path = f"_/qa/faq/{pk}"
            answers.append({
                "text": display.trim(entry.answer, FAQ_TEXT_LIMIT), "title": entry.title,
                "source": {"kind": "faq", "id": pk,
                           "url": links.absolute(links.site_for_org(entry.organisation_id), path)},
                "score": score, "path": path, "organisation": entry.organisation_id})
        else:
            hit = hits.get(pk)
            if hit is None or pk not in res_texts:
                continue
            path = f"content/{pk}.html"
            if site is not None:
                where = site
            else:
                code = hit.home_site if hit.home_site in hit.sites else (hit.sites[0] if hit.sites else "")
                where = links.site_by_code(code)
            answers.append({
                "text": res_texts[pk], "title": hit.title,
                "source": {"kind": hit.kind or "resource", "id": pk,
                           "url": links.absolute(where, path)},
                "score": score, "path": path, "organisation": None})
    top = answers[0]["score"] if answers else 0.0
    confident = bool(answers) and bool(ranker.confident(top))

    token = secrets.token_urlsafe(18)
    asked_by = user if getattr(user, "is_authenticated", False) else None
    stored = [{**{k: v for k, v in a.items() if k != "text"},
               "text": display.trim(a["text"], STORED_TEXT_LIMIT)} for a in answers]
    q = Question.objects.create(site_code=site.code if site else "", text=text, answers=stored,
                                confident=confident, top_score=top, user=asked_by,
                                asker_key=sm3_hex(token.encode()))
    return {"answers": answers, "confident": confident, "question_id": q.pk,
            "feedback_token": token, "site": site.code if site else None}


# --- feedback ---------------------------------------------------------------------------------

def may_rate(q: Question, token: str | None = None, asked=()) -> bool:
    """Only the asker rates a question: the ask page's session that asked it, or an API caller
    with the token returned with the answers."""
    if q.pk in set(asked or ()):
        return True
    if token and q.asker_key:
        return hmac.compare_digest(sm3_hex(str(token).encode()), q.asker_key)
    return False


def feedback(question_id, useful: bool, *, token: str | None = None, asked=()) -> tuple[Question, bool]:
    """Record 有用 / 没用 for a question, once. Returns (question, changed): the same answer
    again changes nothing; a different one is refused (409). QaError 404 for an unknown
    question, 403 when the caller did not ask it."""
    try:
        pk = int(question_id)
    except (TypeError, ValueError):
        raise QaError(404, _("没有这个问题。")) from None
    value = Question.USEFUL if useful else Question.USELESS
    with transaction.atomic():
        q = Question.objects.select_for_update().filter(pk=pk).first()
        if q is None:
            raise QaError(404, _("没有这个问题。"))
        if not may_rate(q, token, asked):
            raise QaError(403, _("只有提问人可以评价这个回答。"))
        if q.feedback == value:
            return q, False
        if q.feedback:
            raise QaError(409, _("这个回答已经评价过了。"))
        q.feedback = value
        q.feedback_at = timezone.now()
        q.save(update_fields=["feedback", "feedback_at"])
    return q, True


# --- the citizen's data -----------------------------------------------------------------------

def export_questions(user) -> list[dict]:
    """The questions a person asked while logged in (for the account export)."""
    return [{"asked_at": q.created_at.isoformat(), "site": q.site_code, "question": q.text,
             "answers": [a.get("title", "") for a in q.answers], "feedback": q.feedback}
            for q in Question.objects.filter(user=user).order_by("created_at", "id")]


def anonymise_questions(user) -> int:
    """When an account is deleted its questions stay for the statistics, without the person:
    no link to the account, no token, and e-mail addresses and long numbers masked."""
    n = 0
    for q in Question.objects.filter(user=user).only("pk", "text"):
        Question.objects.filter(pk=q.pk).update(user=None, asker_key="",
                                                text=display.mask_personal(q.text))
        n += 1
    return n
