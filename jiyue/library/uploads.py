"""Validation of uploaded files: size and that the content is what the name claims."""

from __future__ import annotations

import os

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Extensions whose content we can recognise by magic bytes, and what they must look like.
MAGIC = {
    "pdf": {"application/pdf"}, "png": {"image/png"}, "jpg": {"image/jpeg"},
    "jpeg": {"image/jpeg"}, "gif": {"image/gif"}, "webp": {"image/webp"},
    "zip": {"application/zip"}, "docx": {"application/zip",
                                         "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    "xlsx": {"application/zip", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    "pptx": {"application/zip",
             "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    "doc": {"application/msword", "application/x-ole-storage"},
    "xls": {"application/vnd.ms-excel", "application/x-ole-storage"},
}
TEXT = {"txt", "csv"}
DANGEROUS = {"application/x-executable", "application/x-msdownload", "application/x-sh",
             "application/x-elf", "application/x-mach-binary"}


def validate_upload(f) -> None:
    size = getattr(f, "size", None)
    limit = settings.JIYUE_MAX_UPLOAD_BYTES
    if size is not None and size > limit:
        raise ValidationError(_("文件过大：%(size).1f MB，上限为 %(limit).0f MB。")
                              % {"size": size / 1048576, "limit": limit / 1048576},
                              code="file_too_large")
    ext = os.path.splitext(getattr(f, "name", "") or "")[1].lower().lstrip(".")
    allowed = set(settings.WAGTAILDOCS_EXTENSIONS)
    if ext not in allowed:
        raise ValidationError(_("不支持的文件类型“.%(ext)s”，允许：%(allowed)s。")
                              % {"ext": ext, "allowed": _("、").join(sorted(allowed))},
                              code="file_type")
    if hasattr(f, "seek"):
        f.seek(0)
    head = f.read(8192)
    if hasattr(f, "seek"):
        f.seek(0)
    kind = filetype.guess(head)
    mime = kind.mime if kind else None
    if mime in DANGEROUS:
        raise ValidationError(_("文件内容为可执行程序，不允许上传。"), code="file_type")
    if ext in MAGIC and mime not in MAGIC[ext]:
        raise ValidationError(_("文件内容与扩展名“.%(ext)s”不符，请检查文件。") % {"ext": ext},
                              code="file_mismatch")
    if ext in TEXT:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError:
            try:
                head.decode("gb18030")
            except UnicodeDecodeError:
                raise ValidationError(_("文本文件须为 UTF-8 或 GB18030 编码。"), code="file_encoding")
