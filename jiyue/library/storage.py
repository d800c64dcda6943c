"""Uploads are stored under their content hash, so one file is kept once however often it is
uploaded (attachments of many resources, images used on many sites)."""

from __future__ import annotations

import hashlib
import os

from django.core.files.storage import FileSystemStorage


class ContentHashStorage(FileSystemStorage):
    def _save(self, name, content):
        digest = hashlib.sha256()
        if hasattr(content, "seek"):
            content.seek(0)
        for chunk in content.chunks():
            digest.update(chunk)
        if hasattr(content, "seek"):
            content.seek(0)
        h = digest.hexdigest()
        folder = os.path.dirname(name)
        ext = os.path.splitext(name)[1].lower()[:10]
        hashed = os.path.join(folder, h[:2], h[2:4], h + ext)
        if self.exists(hashed):
            return hashed
        return super()._save(hashed, content)
