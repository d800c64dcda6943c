"""Validation of uploaded files: size, and that the content really is what the name claims.

The one check for every upload path of the platform (docs/security.md, "Uploads"):

- Wagtail documents (`jiyue.library.forms.DocumentForm`) and images (`ImageForm`, through
  WAGTAILIMAGES_IMAGE_FORM_BASE), in the library, the choosers and the multiple upload;
- the admin's profile picture and Wagtail's redirect import (`install()`, from the library
  app's ready());
- anything later (citizens' attachments to letters and forms): call

      from jiyue.library.uploads import validate_upload
      validate_upload(f, extensions={"pdf", "jpg", "png"}, max_bytes=10 * 1024 * 1024)

  in the form's clean method. It raises django.core.exceptions.ValidationError with a Chinese
  message that names the problem.

Rules: the size limit (JIYUE_MAX_UPLOAD_BYTES unless given); the extension on the allowed
list; for every allowed extension the leading bytes must carry that format's signature (a
renamed executable, HTML page or script as .pdf/.jpg is refused); text files (.txt, .csv)
must be UTF-8 or GB18030 and contain no HTML or script markup; executables and SVG (which
can carry scripts) are refused whatever their name. An extension whose content cannot be
verified is refused.
"""

from __future__ import annotations

import os
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
# extension -> accepted leading bytes
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",), "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "webp": (b"RIFF",),  # and "WEBP" at offset 8, checked below
    "bmp": (b"BM",),
    "zip": _ZIP, "docx": _ZIP, "xlsx": _ZIP, "pptx": _ZIP, "ofd": _ZIP,
    "doc": _OLE, "xls": _OLE, "ppt": _OLE, "wps": _OLE, "et": _OLE, "dps": _OLE,
    "rar": (b"Rar!\x1a\x07",),
    "7z": (b"7z\xbc\xaf\x27\x1c",),
    "mp4": (),  # "ftyp" at offset 4, checked below
}
TEXT = {"txt", "csv", "tsv"}
IMAGES = {"png", "jpg", "jpeg", "gif", "webp", "bmp"}
SCRIPT_CARRIERS = {"svg", "svgz", "html", "htm", "xhtml", "xht", "shtml", "xml", "js", "mjs",
                   "swf", "hta", "exe", "dll", "com", "bat", "cmd", "sh", "ps1", "vbs", "jar",
                   "php", "jsp", "asp", "aspx", "msi", "apk", "elf", "bin", "scr"}
_EXECUTABLE = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
               b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!")
_MARKUP = re.compile(rb"<\s*(?:!doctype\s+html|html|head|body|script|svg|iframe|object|embed|"
                     rb"meta|link|style|img|a\s|form|\?xml)|javascript:", re.IGNORECASE)
HEAD = 8192


def _allowed(kind: str) -> set[str]:
    if kind == "image":
        return {e.lower() for e in getattr(settings, "WAGTAILIMAGES_EXTENSIONS",
                                           ["gif", "jpg", "jpeg", "png", "webp"])}
    return {e.lower() for e in settings.WAGTAILDOCS_EXTENSIONS}


def _limit(kind: str) -> int:
    limit = settings.JIYUE_MAX_UPLOAD_BYTES
    if kind == "image":
        limit = min(limit, getattr(settings, "WAGTAILIMAGES_MAX_UPLOAD_SIZE", None) or limit)
    return limit


def _mb(n: int) -> str:
    return f"{n / 1048576:.1f}".removesuffix(".0")


def _read_head(f) -> bytes:
    if hasattr(f, "seek"):
        f.seek(0)
    head = f.read(HEAD)
    if hasattr(f, "seek"):
        f.seek(0)
    return head if isinstance(head, bytes) else head.encode("utf-8", "replace")


def _size(f) -> int | None:
    size = getattr(f, "size", None)
    if size is None and hasattr(f, "seek") and hasattr(f, "tell"):
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(0)
    return size


def _decode(head: bytes, encoding: str, size: int | None) -> str | None:
    """The head as text, allowing a character cut off at its end when the file is longer."""
    try:
        return head.decode(encoding)
    except UnicodeDecodeError as e:
        if len(head) == HEAD and (size is None or size > HEAD) and e.start >= HEAD - 4:
            try:
                return head[:e.start].decode(encoding)
            except UnicodeDecodeError:
                return None
        return None


def _signature_ok(ext: str, head: bytes) -> bool:
    if ext == "webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if ext == "mp4":
        return head[4:8] == b"ftyp"
    return any(head.startswith(sig) for sig in SIGNATURES[ext])


def validate_upload(f, *, kind: str = "document", extensions=None, max_bytes: int | None = None
                    ) -> None:
    """Refuse an uploaded file that is too large, of a type not allowed here, or whose
    content is not what its extension claims. `kind` is "document" (WAGTAILDOCS_EXTENSIONS)
    or "image" (WAGTAILIMAGES_EXTENSIONS, and the image size limit); `extensions` and
    `max_bytes` narrow it for a particular form (citizens' attachments)."""
    size = _size(f)
    limit = max_bytes if max_bytes is not None else _limit(kind)
    if size is not None and size > limit:
        raise ValidationError(_("文件过大：%(size)s MB，上限为 %(limit)s MB。")
                              % {"size": _mb(size), "limit": _mb(limit)}, code="file_too_large")
    name = os.path.basename(getattr(f, "name", "") or "")
    ext = os.path.splitext(name)[1].lower().lstrip(".")
    if ext in ("svg", "svgz"):
        raise ValidationError(_("不接受 SVG 文件：SVG 可以携带脚本，请转换为 PNG 后上传。"),
                              code="file_type")
    allowed = {e.lower().lstrip(".") for e in extensions} if extensions is not None else _allowed(kind)
    if ext not in allowed or ext in SCRIPT_CARRIERS:
        raise ValidationError(_("不支持的文件类型“.%(ext)s”，允许：%(allowed)s。")
                              % {"ext": ext, "allowed": _("、").join(sorted(allowed - SCRIPT_CARRIERS))},
                              code="file_type")
    head = _read_head(f)
    if size == 0 or not head:
        raise ValidationError(_("文件为空，请重新选择。"), code="file_empty")
    if head.startswith(_EXECUTABLE):
        raise ValidationError(_("文件内容为可执行程序或脚本，不允许上传。"), code="file_type")
    if ext in TEXT:
        text = _decode(head, "utf-8", size) or _decode(head, "gb18030", size)
        if text is None:
            raise ValidationError(_("文本文件须为 UTF-8 或 GB18030 编码。"), code="file_encoding")
        if _MARKUP.search(text.encode("utf-8")):
            raise ValidationError(_("文本文件中含有网页或脚本代码，不允许上传。"), code="file_mismatch")
        return
    if ext not in SIGNATURES:
        raise ValidationError(_("无法核验“.%(ext)s”文件的内容，不允许上传。") % {"ext": ext},
                              code="file_type")
    if not _signature_ok(ext, head):
        lead = head.lstrip()[:256]
        if _MARKUP.search(lead) or lead.startswith(b"<"):
            raise ValidationError(_("文件内容为网页或脚本，与扩展名“.%(ext)s”不符，不允许上传。")
                                  % {"ext": ext}, code="file_mismatch")
        raise ValidationError(_("文件内容与扩展名“.%(ext)s”不符，请检查文件。") % {"ext": ext},
                              code="file_mismatch")
    if ext in IMAGES:
        _check_image(f, ext)


_PIL_FORMATS = {"png": {"PNG"}, "jpg": {"JPEG", "MPO"}, "jpeg": {"JPEG", "MPO"}, "gif": {"GIF"},
                "webp": {"WEBP"}, "bmp": {"BMP"}}


def _check_image(f, ext: str) -> None:
    """An image must open as an image of its own format (not only start like one)."""
    from PIL import Image, UnidentifiedImageError

    try:
        if hasattr(f, "seek"):
            f.seek(0)
        with Image.open(f) as image:
            fmt = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(_("图片文件已损坏或不是有效的图片。"), code="file_mismatch")
    finally:
        if hasattr(f, "seek"):
            f.seek(0)
    if fmt not in _PIL_FORMATS[ext]:
        raise ValidationError(_("文件内容与扩展名“.%(ext)s”不符，请检查文件。") % {"ext": ext},
                              code="file_mismatch")


def install() -> None:
    """Put the check on Wagtail's upload forms outside the library: the admin's profile
    picture and the redirect import. (Documents and images use jiyue.library.forms.)"""
    from django import forms
    from wagtail.admin.forms.account import AvatarPreferencesForm

    if getattr(AvatarPreferencesForm, "_jiyue_checked", False):
        return
    original = AvatarPreferencesForm.clean_avatar

    def clean_avatar(self):
        f = self.cleaned_data.get("avatar")
        if f and hasattr(f, "content_type"):  # a new upload
            try:
                validate_upload(f, kind="image")
            except ValidationError as e:
                raise forms.ValidationError(e.messages, code=getattr(e, "code", None))
        return original(self)

    AvatarPreferencesForm.clean_avatar = clean_avatar
    AvatarPreferencesForm._jiyue_checked = True

    try:
        from wagtail.contrib.redirects.forms import ImportForm
    except ImportError:  # pragma: no cover - redirects not installed
        return

    def clean_import_file(self):
        f = self.cleaned_data.get("import_file")
        if f:
            validate_upload(f, extensions={"csv", "tsv", "xls", "xlsx"},
                            max_bytes=10 * 1024 * 1024)
        return f

    ImportForm.clean_import_file = clean_import_file
