"""Publishing a replied letter (公开): a library resource of kind "letter" (`LetterRecord`) with the
letter and its reply, personal data masked, placed in the site's 领导信箱 column and published
through the library (so the static pages, search and feeds follow).

    mask(text, names=()) -> str         phone numbers, ID card and bank card numbers, e-mail
                                        addresses, the given names, house numbers
    mask_name(name) -> str              张三 → 张*
    publish_letter(letter, actor) -> LetterRecord

`publish_letter` raises ValidationError (not replied, no consent, no column) and
PermissionDenied (the actor does not dispatch for the letter's organisation or its mailbox's).
"""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiyue import audit
from jiyue.accounts import policy

from . import services
from .models import Letter, LetterRecord, LetterStep, Status

COLUMN_SLUGS = ("ldxx", "hdjl")  # 领导信箱, else its parent 互动交流

_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_BANK_CARD = re.compile(r"(?<!\d)\d{16,19}(?!\d)|(?<!\d)\d{4}(?:[ -]\d{4}){3,4}(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[ -]?(\d{7,8})(?!\d)")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-]+)@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# a number before a house part: 幸福路128号、3栋、2单元、501室
# (not a document number: 皖财〔2026〕12号, 第3号)
_HOUSE = re.compile(r"(?<![〕\]第0-9０-９一二三四五六七八九十百零〇])[0-9０-９一二三四五六七八九十百零〇]+"
                    r"(?=(?:号楼|号院|号|栋|幢|单元|室|户|弄|楼))")


def mask_name(name: str) -> str:
    """The surname and a star for each other character: 张三 → 张*, 欧阳娜娜 → 欧***."""
    name = (name or "").strip()
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1) if len(name) > 1 else "*"


def mask(text: str, names=(), contacts: bool = True) -> str:
    """The text with personal data masked: ID card numbers (all but the first and last digit
    hidden), bank card numbers, mobile numbers (138****8000), each of `names` wherever it
    occurs (张三 → 张*); with `contacts` (a citizen's text, not an office's reply, which gives
    the office's own telephone and address) also landlines (0551-********), e-mail addresses
    (z***@example.com) and the numbers of house numbers (幸福路**号**栋**室)."""
    text = text or ""
    text = _ID_CARD.sub(lambda m: m.group(0)[0] + "*" * (len(m.group(0)) - 2) + m.group(0)[-1], text)
    text = _BANK_CARD.sub(lambda m: "*" * len(m.group(0)), text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    if contacts:
        text = _LANDLINE.sub(lambda m: f"{m.group(1)}-{'*' * len(m.group(2))}", text)
        text = _EMAIL.sub(lambda m: f"{m.group(1)[0]}***@{m.group(2)}", text)
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        text = text.replace(name, mask_name(name))
    if contacts:
        text = _HOUSE.sub("**", text)
    return text


def _names(letter: Letter) -> list[str]:
    names = [letter.name]
    if letter.citizen_id and letter.citizen is not None:
        names.append(letter.citizen.real_name)
    return [n for n in names if n]


def may_publish(actor, letter: Letter) -> bool:
    """Dispatchers of the organisation that answered, or of the mailbox's organisation (whose
    site shows the letter)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return False
    return (policy.can_dispatch_interaction(actor, letter.organisation_id)
            or policy.can_dispatch_interaction(actor, letter.mailbox.organisation_id))


def column_for(letter: Letter):
    from jiyue.platform.services import column_by_slug

    site = letter.site or letter.mailbox.site
    if site is None:
        return None
    for slug in COLUMN_SLUGS:
        column = column_by_slug(site, slug)
        if column is not None:
            return column
    return None


def publish_letter(letter, actor) -> LetterRecord:
    """Publish a replied letter whose writer consented, personal data masked. Publishing an
    already published letter returns its resource."""
    from jiyue.library import services as library

    letter = Letter.objects.select_related("mailbox", "citizen", "reply_organisation").get(
        pk=letter.pk if isinstance(letter, Letter) else int(letter))
    if not may_publish(actor, letter):
        audit.record(actor, letter.organisation, None, "letter.publish", letter, outcome="denied")
        raise PermissionDenied(_("您无权公开该信件。"))
    if letter.status not in (Status.REPLIED, Status.CLOSED) or not letter.reply or not letter.replied_at:
        raise ValidationError(_("该信件尚未答复，不能公开。"))
    if not letter.valid:
        raise ValidationError(_("不予受理的信件不能公开。"))
    if not letter.consent_publish:
        raise ValidationError(_("来信人未同意公开，不能公开。"))
    column = column_for(letter)
    if column is None:
        raise ValidationError(_("来信网站没有“领导信箱”或“互动交流”栏目，无法公开。"))
    names = _names(letter)
    with transaction.atomic():
        letter = services._lock(letter)
        if letter.published and letter.published_resource_id:
            existing = LetterRecord.objects.filter(pk=letter.published_resource_id).first()
            if existing is not None:
                return existing
        org = letter.reply_organisation or letter.organisation
        record = LetterRecord(
            organisation=org, title=mask(letter.title, names)[:255],
            summary=mask(letter.content, names)[:120], source=org.name,
            letter_type=letter.type, received_on=letter.received_at,
            letter_content=mask(letter.content, names), reply_content=mask(letter.reply, names, contacts=False),
            reply_organisation_name=letter.reply_unit or org.name, replied_on=letter.replied_at, letter_id=letter.pk,
            sharing="all", live=False, created_by=actor)
        record.save()
        revision = record.save_revision(user=actor)
        library.attach(record, column)
        revision.publish(user=actor, skip_permission_checks=True)  # checked above (may_publish)
        now = timezone.now()
        Letter.objects.filter(pk=letter.pk).update(published=True, published_resource_id=record.pk,
                                                   published_at=now)
        letter.published, letter.published_resource_id, letter.published_at = True, record.pk, now
        LetterStep.objects.create(letter=letter, action="publish", actor=actor, organisation=org,
                                  public=True, at=now, data={"resource": record.pk})
        services._changed(letter, "publish", actor, org, resource=record.pk)
    record.refresh_from_db()
    return record
