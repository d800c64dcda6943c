"""Citizens' attachments live outside the public media tree: they are read only through the
staff views (and by the writer through the query page), never served as /media/ files."""

from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage


@lru_cache(maxsize=1)
def _storage(location: str) -> FileSystemStorage:
    return FileSystemStorage(location=location, base_url=None)


def private_storage() -> FileSystemStorage:
    home = Path(getattr(settings, "JIYUE_HOME", ".") or ".")
    return _storage(str(home / "private"))
