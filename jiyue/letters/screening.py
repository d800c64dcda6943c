"""Screening of new letters in the background: the outbox consumer of `letter.submitted`.

For each letter not screened yet: the operator's sensitive words in the title and content
(`letter.sensitive_words`: word, category, level, field, span), a suspected duplicate
(`letter.duplicate_of`, the earliest letter of the chain), the routing suggestion
(`letter.suggested_organisation`, reasons in `letter.data["routing"]`), `screened_at`, and an
internal step "screen" (not shown to the writer). The status never changes: the dispatcher
decides.

Duplicates, within `DUPLICATE_DAYS` before the letter:
- the same writer (citizen account, or the same phone number through `phone_index`) and
  similar text (3-gram Jaccard ≥ `SAME_WRITER_SIMILARITY`);
- anyone, near-identical text (a MinHash-LSH candidate, confirmed by Jaccard ≥
  `SAME_TEXT_SIMILARITY`): copied campaigns, a letter sent twice from two accounts.

Batch work: the handler of one event screens the letters of up to `BATCH` following
`letter.submitted` events at once (a handful of queries per batch); the other events find their
letter screened and cost one query. Idempotent: only letters with `screened_at` empty are
screened, under a row lock, with their step in the same transaction. `screen_pending()` (called
by the periodic clock job) catches up with any letter left behind.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from jiyue.core import outbox

from .models import Letter, LetterStep

logger = logging.getLogger(__name__)

BATCH = 200
DUPLICATE_DAYS = 30
SAME_WRITER_SIMILARITY = 0.6
SAME_TEXT_SIMILARITY = 0.85
MAX_HITS = 50
SCOPE = "letter"
CONSUMER = "letters.screening"


def _text(letter) -> str:
    return f"{letter.title}\n{letter.content}"


def _hits(letter) -> list[dict]:
    from jiyue.screening import services

    out = []
    for fld in ("title", "content"):
        for h in services.find(getattr(letter, fld)):
            out.append({**h.as_dict(), "field": fld})
    return out[:MAX_HITS]


def _writer_keys(letter) -> list[tuple[str, object]]:
    keys = []
    if letter.citizen_id:
        keys.append(("citizen_id", letter.citizen_id))
    if letter.phone_index:
        keys.append(("phone_index", letter.phone_index))
    return keys


def _find_duplicates(letters: list[Letter], grams: dict, keys: dict) -> dict[int, tuple[int, float, str]]:
    """{letter pk: (original pk, similarity, reason)} for the letters that repeat an earlier one."""
    from jiyue.screening import services

    if not letters:
        return {}
    earliest = min(lt.received_at for lt in letters) - timedelta(days=DUPLICATE_DAYS)
    citizens = {lt.citizen_id for lt in letters if lt.citizen_id}
    phones = {lt.phone_index for lt in letters if lt.phone_index}
    pool: dict[int, Letter] = {}
    by_writer: dict[tuple, list[Letter]] = {}
    for lt in letters:
        for key in _writer_keys(lt):
            by_writer.setdefault(key, []).append(lt)
    if citizens or phones:
        cond = Q(pk__in=[])
        if citizens:
            cond |= Q(citizen_id__in=citizens)
        if phones:
            cond |= Q(phone_index__in=phones)
        for other in (Letter.objects.filter(cond, received_at__gte=earliest)
                      .exclude(pk__in=[lt.pk for lt in letters]).only("id", "title", "content", "citizen_id", "phone_index", "received_at",
                            "duplicate_of_id")):
            pool[other.pk] = other
            for key in _writer_keys(other):
                by_writer.setdefault(key, []).append(other)
    out: dict[int, tuple[int, float, str]] = {}
    by_pk = {lt.pk: lt for lt in letters}
    by_band: dict[tuple[int, int], list[int]] = {}
    for lt in letters:
        for i, key in enumerate(keys[lt.pk]):
            by_band.setdefault((i, key), []).append(lt.pk)
    # texts that may be near-identical: stored fingerprints (one query) and this batch's bands
    stored = services.near_many(SCOPE, keys, since=earliest, until=max(lt.received_at for lt in letters))
    candidates: dict[int, set[int]] = {}
    for lt in letters:
        refs = set(stored.get(lt.pk, ()))
        refs.update(pk for i, key in enumerate(keys[lt.pk]) for pk in by_band.get((i, key), ()))
        refs.discard(lt.pk)
        candidates[lt.pk] = refs
    wanted = set().union(*candidates.values()) - set(by_pk) - set(pool)
    texts: dict[int, Letter] = {**pool, **by_pk}
    if wanted:
        for other in Letter.objects.filter(pk__in=wanted).only(
                "id", "title", "content", "received_at", "duplicate_of_id"):
            texts[other.pk] = other

    def grams_of(pk):
        if pk not in grams:
            grams[pk] = services.shingles(_text(texts[pk]))
        return grams[pk]

    for letter in sorted(letters, key=lambda x: (x.received_at, x.pk)):
        since = letter.received_at - timedelta(days=DUPLICATE_DAYS)
        mine = (letter.received_at, letter.pk)
        best = None
        # (1) the same writer, similar text
        same_writer = {o.pk: o for key in _writer_keys(letter) for o in by_writer.get(key, ())}
        for other in same_writer.values():
            if other.pk == letter.pk or other.received_at < since or (other.received_at, other.pk) > mine:
                continue
            s = services.jaccard(grams[letter.pk], grams_of(other.pk))
            if s >= SAME_WRITER_SIMILARITY and (best is None or (s, -other.pk) > (best[1], -best[0])):
                best = (other.pk, s, "writer")
        # (2) anyone, near-identical text: the earliest such letter
        if best is None:
            for pk in sorted(candidates[letter.pk]):
                other = texts.get(pk)
                if other is None or other.received_at < since or (other.received_at, pk) > mine:
                    continue
                s = services.jaccard(grams[letter.pk], grams_of(pk))
                if s >= SAME_TEXT_SIMILARITY:
                    best = (pk, s, "text")
                    break
        if best is not None:
            if best[0] in out:  # a duplicate earlier in this batch: point to its original
                root = out[best[0]][0]
            else:
                root = getattr(texts.get(best[0]), "duplicate_of_id", None)
            out[letter.pk] = (root or best[0], best[1], best[2])
    return out


def screen_letters(ids, now=None) -> int:
    """Screen the letters with these ids that are not screened yet. Returns how many."""
    from jiyue.screening import services

    from . import routing

    now = now or timezone.now()
    ids = sorted({int(i) for i in ids})
    if not ids:
        return 0
    with transaction.atomic():
        # only the letters' rows, and only against changes (FOR NO KEY UPDATE OF letters): new
        # letters of the same mailbox and steps of these letters go on being written meanwhile
        letters = list(Letter.objects.select_for_update(of=("self",), no_key=True)
                       .filter(pk__in=ids, screened_at__isnull=True)
                       .select_related("mailbox", "mailbox__organisation").order_by("pk"))
        if not letters:
            return 0
        grams = {lt.pk: services.shingles(_text(lt)) for lt in letters}
        hits = {lt.pk: _hits(lt) for lt in letters}
        prints = {lt.pk: services.fingerprint(grams[lt.pk]) for lt in letters}
        keys = {pk: p[1] for pk, p in prints.items()}
        duplicates = _find_duplicates(letters, grams, keys)
        try:
            suggestions = routing.suggest_many(letters)
        except Exception:  # noqa: BLE001 - a routing failure must not stop screening
            logger.exception("routing suggestion failed")
            suggestions = {}
        have_step = set(LetterStep.objects.filter(letter_id__in=[lt.pk for lt in letters],
                                                  action="screen").values_list("letter_id", flat=True))
        names = _names(duplicates, suggestions)
        steps = []
        for letter in letters:
            found = hits[letter.pk]
            level = _level(found)
            dup = duplicates.get(letter.pk)
            sug = suggestions.get(letter.pk)
            letter.sensitive_words = found
            letter.duplicate_of_id = dup[0] if dup else None
            letter.suggested_organisation_id = sug.organisation_id if sug else None
            letter.screened_at = now
            data = dict(letter.data or {})
            data["screening"] = {"level": level, "words": sorted({h["word"] for h in found}),
                                 "duplicate": {"of": dup[0], "similarity": round(dup[1], 2),
                                               "reason": dup[2]} if dup else None}
            data["routing"] = sug.as_dict() if sug else None
            letter.data = data
            if letter.pk not in have_step:
                steps.append(LetterStep(letter=letter, action="screen", public=False, at=now,
                                        organisation_id=letter.organisation_id,
                                        to_organisation_id=sug.organisation_id if sug else None,
                                        note=_note(found, level, dup, sug, names),
                                        data={"level": level, "duplicate_of": dup[0] if dup else None,
                                              "suggested": sug.organisation_id if sug else None}))
        _update(letters, ["sensitive_words", "duplicate_of", "suggested_organisation", "screened_at",
                          "data"])
        LetterStep.objects.bulk_create(steps)
        services.remember(SCOPE, [(lt.pk, grams[lt.pk], lt.received_at, prints[lt.pk]) for lt in letters])
    return len(letters)


def _update(letters, names) -> None:
    """Write these fields of many letters with one prepared UPDATE run for each (executemany):
    Django's bulk_update builds a CASE expression per field and letter, which costs more than
    the whole screening at 500 letters/s. The rows are locked (select_for_update) already."""
    fields = [Letter._meta.get_field(n) for n in names]
    qn = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        qn(Letter._meta.db_table), ", ".join(f"{qn(f.column)} = %s" for f in fields), qn("id"))
    params = [[f.get_db_prep_save(getattr(lt, f.attname), connection) for f in fields] + [lt.pk]
              for lt in letters]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _level(found) -> str:
    levels = {h["level"] for h in found}
    return "block" if "block" in levels else "review" if "review" in levels else ""


def _note(found, level, dup, sug, names: dict) -> str:
    parts = []
    if found:
        words = _("、").join(dict.fromkeys(h["word"] for h in found))
        parts.append((_("含禁止类敏感词：%(w)s") if level == "block" else _("含敏感词：%(w)s")) % {"w": words})
    else:
        parts.append(_("未发现敏感词"))
    if dup:
        parts.append(_("疑似重复来信：%(s)s（相似度%(p)d%%）") % {
            "s": names.get(("letter", dup[0]), dup[0]), "p": round(100 * dup[1])})
    if sug:
        parts.append(_("建议承办单位：%(o)s") % {
            "o": names.get(("org", sug.organisation_id), sug.organisation_id)})
    return _("；").join(parts)


def _names(duplicates, suggestions) -> dict:
    from jiyue.platform.models import Organisation

    names = {}
    dup_ids = {d[0] for d in duplicates.values()}
    for pk, received in Letter.objects.filter(pk__in=dup_ids).values_list("pk", "received_at"):
        names[("letter", pk)] = Letter(pk=pk, received_at=received).serial
    org_ids = {s.organisation_id for s in suggestions.values() if s}
    for pk, name in Organisation.objects.filter(pk__in=org_ids).values_list("pk", "name"):
        names[("org", pk)] = name
    return names


def screen_pending(limit: int = 2000, older_than_seconds: int = 60) -> int:
    """Screen letters the consumer has not reached (catch-up; the periodic clock job)."""
    horizon = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(Letter.objects.filter(screened_at__isnull=True, received_at__lte=horizon)
               .order_by("pk").values_list("pk", flat=True)[:limit])
    done = 0
    for start in range(0, len(ids), BATCH):
        done += screen_letters(ids[start:start + BATCH])
    return done


def on_submitted(event) -> None:
    """The outbox handler: this event's letter and those of the next events, in one batch."""
    first = int(event.aggregate_id)
    if not Letter.objects.filter(pk=first, screened_at__isnull=True).exists():
        return
    ids = [first] + [int(e.aggregate_id) for e in outbox.read(event.pk, BATCH)
                     if e.topic == "letter.submitted"]
    screen_letters(ids[:BATCH])


outbox.register(CONSUMER, on_submitted, ["letter.submitted"])
