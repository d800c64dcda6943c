"""The citizen's letter form (`/_/letters/new`) and its attachments.

Field names are a contract (the browser tests fill them): mailbox, type, title, content, name,
phone, email, address, anonymous, consent_publish, attachments. The letter's own rules (type,
lengths, anonymity, phone and e-mail format) are `services.submit`'s; this form adds the
mailbox of this site and the attachments.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from jiyue.library.uploads import validate_upload

from .models import Mailbox

MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ATTACHMENT_TYPES = {"pdf", "doc", "docx", "jpg", "jpeg", "png"}
FIELDS = ("mailbox", "type", "title", "content", "name", "phone", "email", "address")


def site_mailboxes(site):
    """The enabled mailboxes shown on this site, in their order."""
    return list(Mailbox.objects.filter(site=site, enabled=True).order_by("order", "id"))


def mailbox_of(site, value) -> Mailbox | None:
    """The enabled mailbox of this site named by a (string) id, else None."""
    value = str(value or "").strip()
    if not value.isdigit() or len(value) > 18:
        return None
    return Mailbox.objects.filter(pk=int(value), site=site, enabled=True).select_related(
        "organisation").first()


def check_attachments(files) -> list[str]:
    """Error messages for the uploaded files (empty when all are acceptable)."""
    files = [f for f in files if f is not None and getattr(f, "name", "")]
    errors = []
    if len(files) > MAX_ATTACHMENTS:
        errors.append(_("附件最多%(n)d个。") % {"n": MAX_ATTACHMENTS})
        return errors
    for f in files:
        try:
            validate_upload(f, extensions=ATTACHMENT_TYPES, max_bytes=MAX_ATTACHMENT_BYTES)
        except ValidationError as exc:
            errors.append(_("附件“%(name)s”：%(error)s")
                          % {"name": f.name[:100], "error": _("；").join(exc.messages)})
    return errors


def save_attachments(letter, files) -> list:
    """Store the (checked) files with the letter, in the private storage."""
    from django.core.files.base import File

    from jiyue.security.crypto import Sm3

    from .models import LetterAttachment

    saved = []
    for f in files:
        if f is None or not getattr(f, "name", ""):
            continue
        digest = Sm3()
        f.seek(0)
        for chunk in f.chunks() if hasattr(f, "chunks") else [f.read()]:
            digest.update(chunk)
        f.seek(0)
        name = f.name.replace("\\", "/").rsplit("/", 1)[-1][:200]
        att = LetterAttachment(letter=letter, name=name, size=f.size, sm3=digest.hexdigest())
        att.file.save(name, File(f), save=False)
        att.save()
        saved.append(att)
    return saved
