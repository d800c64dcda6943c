"""The published file tree: atomic, deterministic writes with precompressed siblings."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from pathlib import Path

import brotli
from django.conf import settings

TEXT_TYPES = {".html", ".xml", ".txt", ".css", ".js", ".svg", ".json"}
TMP_PREFIX = ".jiyue-tmp-"
# Brotli quality 5 compresses pages about as well as gzip -9 at a fraction of quality 11's
# cost (docs/benchmarks.md); gzip level 6 is nginx's and zlib's usual balance.
BROTLI_QUALITY = 5
GZIP_LEVEL = 6


def root() -> Path:
    return Path(settings.JIYUE_PUBLIC_ROOT)


def site_dir(code: str) -> Path:
    return root() / code


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def compressible(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in TEXT_TYPES


_made_dirs: set[str] = set()


def _atomic(target: Path, data: bytes) -> None:
    parent = str(target.parent)
    if parent not in _made_dirs:
        os.makedirs(parent, exist_ok=True)
        _made_dirs.add(parent)
    tmp = f"{parent}/{TMP_PREFIX}{target.name}.{os.getpid()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except FileNotFoundError:  # the directory went away (a site removed meanwhile)
        os.makedirs(parent, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    os.replace(tmp, target)


def write(code: str, path: str, data: bytes) -> None:
    """Write one page and its compressed siblings, each by rename (readers never see a part)."""
    target = site_dir(code) / path
    if compressible(path):
        _atomic(target.with_name(target.name + ".gz"),
                gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0))
        _atomic(target.with_name(target.name + ".br"), brotli.compress(data, quality=BROTLI_QUALITY))
    _atomic(target, data)


class Writer:
    """Writes a site's pages: on a few threads (compressing and writing release the GIL, so
    they overlap the rendering of the next pages), or in line. `wait()` returns once every
    page handed over is on disk, and raises the first failure."""

    THREADS = 3

    def __init__(self, code: str, threads: bool = True):
        from concurrent.futures import ThreadPoolExecutor

        self.code = code
        self.pool = ThreadPoolExecutor(self.THREADS) if threads else None
        self.pending: list = []

    def write(self, path: str, data: bytes) -> None:
        if self.pool is None:
            write(self.code, path, data)
        else:
            self.pending.append(self.pool.submit(write, self.code, path, data))

    def wait(self) -> None:
        pending, self.pending = self.pending, []
        for future in pending:
            future.result()

    def __enter__(self) -> "Writer":
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)


def copy_file(code: str, path: str, source: Path) -> bool:
    """Place an attachment (content-addressed: an existing file is already right)."""
    target = site_dir(code) / path
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f"{TMP_PREFIX}{target.name}.{os.getpid()}"
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    return True


def intact(code: str, path: str, size: int) -> bool:
    """The page and its compressed siblings are on disk, the page with the size recorded."""
    target = site_dir(code) / path
    try:
        if target.stat().st_size != size:
            return False
    except FileNotFoundError:
        return False
    if compressible(path):
        return (target.with_name(target.name + ".gz").exists()
                and target.with_name(target.name + ".br").exists())
    return True


def read(code: str, path: str) -> bytes | None:
    try:
        return (site_dir(code) / path).read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def remove(code: str, path: str) -> None:
    target = site_dir(code) / path
    for p in (target, target.with_name(target.name + ".gz"), target.with_name(target.name + ".br")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass
    _prune(target.parent, site_dir(code))


def _prune(directory: Path, stop: Path) -> None:
    while directory != stop and directory.is_dir():
        try:
            directory.rmdir()  # only when empty
        except OSError:
            return
        directory = directory.parent


def walk(code: str) -> set[str]:
    """Every page path in a site's directory (compressed siblings and temporary files folded in)."""
    base = site_dir(code)
    out = set()
    if not base.is_dir():
        return out
    for p in base.rglob("*"):
        if p.is_file():
            rel = p.relative_to(base).as_posix()
            if rel.endswith((".gz", ".br")) and compressible(rel[:-3]):
                rel = rel[:-3]
            out.add(rel)
    return out


def sweep_tmp(code: str) -> int:
    """Remove temporary files a killed publisher left behind."""
    n = 0
    base = site_dir(code)
    if base.is_dir():
        for p in base.rglob(f"{TMP_PREFIX}*"):
            p.unlink(missing_ok=True)
            n += 1
    hosts = root() / "_hosts"
    if hosts.is_dir():  # a host link being replaced when the publisher was killed
        for p in hosts.glob(f"{TMP_PREFIX}*"):
            if p.is_symlink() and os.readlink(p) == f"../{code}":
                p.unlink(missing_ok=True)
                n += 1
    return n


def link_hosts(code: str, hostnames: list[str]) -> None:
    """public/_hosts/<hostname> -> ../<code> (nginx and `jiyue serve` resolve hosts with it)."""
    hosts = root() / "_hosts"
    hosts.mkdir(parents=True, exist_ok=True)
    for name in hostnames:
        link = hosts / name
        want = f"../{code}"
        if link.is_symlink() and os.readlink(link) == want:
            continue
        tmp = hosts / f"{TMP_PREFIX}{name}"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(want, tmp)
        os.replace(tmp, link)
    # hostnames that pointed at this site but no longer belong to it
    for link in hosts.iterdir():
        if link.is_symlink() and os.readlink(link) == f"../{code}" and link.name not in hostnames:
            link.unlink()
