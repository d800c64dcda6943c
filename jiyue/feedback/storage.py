"""Screenshots sent with error reports live outside the public media tree: staff read them
through a permission-checked admin view only, never as /media/ files."""

from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage


@lru_cache(maxsize=4)
def _storage(location: str) -> FileSystemStorage:
    return FileSystemStorage(location=location, base_url=None)


def private_storage() -> FileSystemStorage:
    home = Path(getattr(settings, "JIYUE_HOME", ".") or ".")
    return _storage(str(home / "private"))
