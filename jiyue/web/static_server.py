"""Serving the published tree from `jiyue serve`: a small pure-WSGI wrapper in front of Django.

    /sites/<code>/<app prefix>...  -> Django, PATH_INFO "/<app prefix>...", X-Jiyue-Site: <code>
    /sites/<code>/<rest>           -> the file public/<code>/<rest>
    /static/..., /media/...        -> files of STATIC_ROOT, MEDIA_ROOT (when mounted)
    <any path not an app prefix> on a host that has public/_hosts/<host> -> a file of that site
    anything else                  -> Django

The hot path touches no Django machinery and no database: one dictionary lookup for the host,
one `stat` of the chosen representation (`X.br`, `X.gz` or `X`), and a cache of small files keyed
by path and validated by that stat (inode, size, mtime), so a file the publisher renames in is
served at once. Responses carry a strong ETag (size and mtime of the representation sent, and
its encoding), Last-Modified, Cache-Control and `Vary: Accept-Encoding`; conditional requests
get 304. Every response carries the platform's security headers (jiyue.security.headers:
Content-Security-Policy, X-Frame-Options, Referrer-Policy, nosniff, and HSTS over HTTPS).
docs/publishing.md describes the tree; deploy/nginx/jiyue.conf serves it the same way.
"""

from __future__ import annotations

import os
import stat as stat_mod
import threading
import time
from dataclasses import dataclass
from calendar import timegm
from email.utils import formatdate, parsedate
from urllib.parse import quote

# extension -> (Content-Type, precompressed siblings may exist)
CONTENT_TYPES: dict[str, tuple[str, bool]] = {
    "html": ("text/html; charset=utf-8", True),
    "htm": ("text/html; charset=utf-8", True),
    "xml": ("application/xml; charset=utf-8", True),
    "txt": ("text/plain; charset=utf-8", True),
    "css": ("text/css; charset=utf-8", True),
    "js": ("text/javascript; charset=utf-8", True),
    "json": ("application/json; charset=utf-8", True),
    "svg": ("image/svg+xml; charset=utf-8", True),
    "csv": ("text/csv; charset=utf-8", False),
    "png": ("image/png", False),
    "jpg": ("image/jpeg", False),
    "jpeg": ("image/jpeg", False),
    "gif": ("image/gif", False),
    "webp": ("image/webp", False),
    "avif": ("image/avif", False),
    "ico": ("image/x-icon", False),
    "woff2": ("font/woff2", False),
    "woff": ("font/woff", False),
    "pdf": ("application/pdf", False),
    "doc": ("application/msword", False),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", False),
    "xls": ("application/vnd.ms-excel", False),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", False),
    "ppt": ("application/vnd.ms-powerpoint", False),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", False),
    "ofd": ("application/ofd", False),
    "zip": ("application/zip", False),
    "mp4": ("video/mp4", False),
}
DEFAULT_TYPE = ("application/octet-stream", False)

# Cache-Control by the first segment of the site-relative path. Both files/ (files/<sha256>.<ext>)
# and assets/ (the theme's, named <name>.<hash>.<ext>) are named by their content: a changed
# file gets a new name, so a copy never goes stale.
CACHE_FILES = "public, max-age=31536000, immutable"
CACHE_ASSETS = CACHE_FILES
CACHE_PAGES = "public, max-age=300"
CACHE_NOT_FOUND = "public, max-age=60"
CACHE_MOUNTED = "public, max-age=86400"  # /static/ and /media/ (collected, uploaded files)

SMALL_FILE = 256 * 1024          # files up to this size are kept in memory
CACHE_BUDGET = 64 * 1024 * 1024  # bytes of file content kept per process
CHUNK = 256 * 1024
HOST_TTL = 2.0                   # seconds a host or site lookup is remembered


def cache_control(rel: str) -> str:
    if rel.startswith("/files/"):
        return CACHE_FILES
    if rel.startswith("/assets/"):
        return CACHE_ASSETS
    return CACHE_PAGES


def parse_accept_encoding(value: str) -> tuple[bool, bool]:
    """(brotli acceptable, gzip acceptable) from an Accept-Encoding header."""
    codings: dict[str, float] = {}
    for part in value.split(","):
        name, _, params = part.partition(";")
        name = name.strip().lower()
        if not name:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, val = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(val.strip())
                except ValueError:
                    q = 0.0
        codings[name] = q
    star = codings.get("*", 0.0)
    br = codings.get("br", star) > 0
    gz = max(codings.get("gzip", star), codings.get("x-gzip", 0.0)) > 0
    return br, gz


def etag_matches(header: str, etag: str) -> bool:
    if header == etag:
        return True
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


@dataclass(slots=True)
class _Entry:
    """One representation of one file: stat key, headers, and (small files) the bytes."""

    key: tuple
    body: bytes | None
    headers: list
    etag: str
    mtime: int
    last_modified: str
    size: int
    not_found_headers: list | None


class StaticServer:
    """WSGI application: the published tree, with `inner` (Django) for everything else."""

    def __init__(self, inner, public_root=None, app_prefixes=None, host_ttl: float = HOST_TTL,
                 small_file: int = SMALL_FILE, cache_budget: int = CACHE_BUDGET,
                 mounts: dict[str, str] | None = None):
        from django.conf import settings
        from django.utils.translation import gettext

        from jiyue.security.headers import hsts_value, static_headers

        self.inner = inner
        # Security headers: fixed per Content-Type, computed once (JIYUE_HTTPS adds HSTS to
        # all; a request that arrived over TLS gets it added by _with_hsts).
        self._security_by_type: dict[str, list] = {}
        self._static_headers = static_headers
        self._https = bool(getattr(settings, "JIYUE_HTTPS", False))
        self._hsts = hsts_value()
        self.text_headers = [("Content-Type", "text/plain; charset=utf-8")] + self.security(
            "text/plain; charset=utf-8")
        root = public_root if public_root is not None else settings.JIYUE_PUBLIC_ROOT
        self.root = os.path.realpath(os.fspath(root))
        self.hosts_dir = os.path.join(self.root, "_hosts")
        prefixes = app_prefixes if app_prefixes is not None else settings.JIYUE_APP_PREFIXES
        self.prefixes = tuple(prefixes)
        self.host_ttl = host_ttl
        # URL prefix -> directory served as files on every host (`jiyue serve`: /static/ and
        # /media/), with the same headers as the published tree
        self.mounts = [(prefix.rstrip("/") + "/", os.path.realpath(os.fspath(root)))
                       for prefix, root in (mounts or {}).items()]
        self.mount_prefixes = tuple(prefix for prefix, _ in self.mounts)
        self.small_file = small_file
        self.cache_budget = cache_budget
        self._sites: dict[str, tuple[str | None, float]] = {}   # host or "/sites/" + code
        self._files: dict[str, _Entry] = {}
        self._cached_bytes = 0
        self._lock = threading.Lock()
        self._encodings: dict[str, tuple[bool, bool]] = {}
        self.not_found_body = (gettext("404 未找到：您访问的页面不存在。") + "\n").encode()
        self.not_allowed_body = (gettext("405 不支持的请求方法：此处只接受 GET 与 HEAD。")
                                 + "\n").encode()
        self.busy_body = (gettext("503 文件正在更新，请稍后重试。") + "\n").encode()
        self.moved_body = (gettext("该页面已移至：") + "%s\n").encode()

    def security(self, ctype: str) -> list:
        headers = self._security_by_type.get(ctype)
        if headers is None:
            headers = self._security_by_type[ctype] = self._static_headers(ctype, self._https)
        return headers

    def _with_hsts(self, start_response):
        def start(status, headers, exc_info=None):
            if not any(k.lower() == "strict-transport-security" for k, _ in headers):
                headers = list(headers) + [("Strict-Transport-Security", self._hsts)]
            return start_response(status, headers, exc_info)
        return start

    # --- routing -------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO") or "/"
        if self._hsts and not self._https and environ.get("wsgi.url_scheme") == "https":
            start_response = self._with_hsts(start_response)
        if self.mount_prefixes and path.startswith(self.mount_prefixes):
            for prefix, root in self.mounts:
                if path.startswith(prefix):
                    return self._serve(environ, start_response, root, path[len(prefix) - 1:],
                                       cache=CACHE_MOUNTED)
        if path.startswith("/sites/"):
            slash = path.find("/", 7)
            code = path[7:] if slash < 0 else path[7:slash]
            if code:
                site = self._site_dir("/sites/" + code, code)
                if slash < 0:
                    if site is None:
                        return self._not_found(environ, start_response, None)
                    return self._redirect(environ, start_response)
                rest = path[slash:]
                if rest.startswith(self.prefixes):
                    if not _valid_code(code):
                        return self._not_found(environ, start_response, None)
                    environ["PATH_INFO"] = rest
                    environ["HTTP_X_JIYUE_SITE"] = code
                    return self._django(environ, start_response)
                return self._serve(environ, start_response, site, rest)
        elif not path.startswith(self.prefixes):
            host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or ""
            hit = self._sites.get(host)
            if hit is not None and hit[1] > time.monotonic():
                site = hit[0]
            else:
                site = self._host_dir(host)
            if site is not None:
                return self._serve(environ, start_response, site, path)
        # only the file server and nginx may say which site a request is for
        environ.pop("HTTP_X_JIYUE_SITE", None)
        return self._django(environ, start_response)

    def _django(self, environ, start_response):
        # `jiyue serve` listens on :: for both families: an IPv4 client arrives as an
        # IPv4-mapped address (::ffff:192.0.2.1); the application (audit log, rate limits,
        # exempt lists) sees the IPv4 address it is.
        remote = environ.get("REMOTE_ADDR", "")
        if remote[:7].lower() == "::ffff:" and "." in remote:
            environ["REMOTE_ADDR"] = remote[7:]
        return self.inner(environ, start_response)

    def _host_dir(self, raw: str) -> str | None:
        host = normalise_host(raw)
        site = None
        if host is not None:
            site = self._resolve(os.path.join(self.hosts_dir, host))
        self._remember(raw, site)
        return site

    def _site_dir(self, key: str, code: str) -> str | None:
        hit = self._sites.get(key)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        site = self._resolve(os.path.join(self.root, code)) if _valid_code(code) else None
        self._remember(key, site)
        return site

    def _resolve(self, path: str) -> str | None:
        real = os.path.realpath(path)
        if (real.startswith(self.root + os.sep) and os.path.isdir(real)
                and not real.startswith(self.hosts_dir + os.sep)):
            return real
        return None

    def _remember(self, key: str, site: str | None) -> None:
        if len(self._sites) > 4096:  # arbitrary Host headers must not grow it without bound
            self._sites = {}
        self._sites[key] = (site, time.monotonic() + self.host_ttl)

    # --- files ---------------------------------------------------------------------------
    def _serve(self, environ, start_response, site: str | None, rel: str,
               cache: str | None = None):
        method = environ.get("REQUEST_METHOD", "GET")
        if method != "GET" and method != "HEAD":
            start_response("405 Method Not Allowed", self.text_headers + [
                ("Allow", "GET, HEAD"), ("Content-Length", str(len(self.not_allowed_body)))])
            return [] if method == "HEAD" else [self.not_allowed_body]
        if site is None:
            return self._not_found(environ, start_response, None)
        if not rel.isascii():  # WSGI hands the path over as latin-1; the tree's names are UTF-8
            try:
                rel = rel.encode("latin-1").decode("utf-8")
            except UnicodeError:
                return self._not_found(environ, start_response, site)
        # "..", dot files (the publisher's temporary files among them), NUL
        if rel[:1] != "/" or "/." in rel or "\x00" in rel or "\\" in rel:
            return self._not_found(environ, start_response, site)
        base = site + rel
        if rel[-1] == "/":
            base += "index.html"
        dot = base.rfind(".")
        ext = base[dot + 1:].lower() if dot > base.rfind("/") else ""
        ctype, negotiable = CONTENT_TYPES.get(ext, DEFAULT_TYPE)

        st = None
        encoding = None
        fs = base
        if negotiable:
            ae = environ.get("HTTP_ACCEPT_ENCODING")
            if ae:
                accepts = self._encodings.get(ae)
                if accepts is None:
                    accepts = parse_accept_encoding(ae)
                    if len(self._encodings) > 256:
                        self._encodings = {}
                    self._encodings[ae] = accepts
                if accepts[0]:
                    st = _stat_file(base + ".br")
                    if st is not None:
                        fs, encoding = base + ".br", "br"
                if st is None and accepts[1]:
                    st = _stat_file(base + ".gz")
                    if st is not None:
                        fs, encoding = base + ".gz", "gzip"
        if st is None:
            try:
                st = os.stat(base)
            except (OSError, ValueError):
                return self._not_found(environ, start_response, site)
            if not stat_mod.S_ISREG(st.st_mode):
                if stat_mod.S_ISDIR(st.st_mode) and rel[-1] != "/":
                    return self._redirect(environ, start_response)
                return self._not_found(environ, start_response, site)

        entry = self._files.get(fs)
        if entry is None or entry.key != (st.st_ino, st.st_size, st.st_mtime_ns):
            entry = self._load(fs, site, ctype, negotiable, encoding, cache or cache_control(rel))
            if entry is None:
                return self._not_found(environ, start_response, site)

        inm = environ.get("HTTP_IF_NONE_MATCH")
        if inm is not None:
            if etag_matches(inm, entry.etag):
                return self._not_modified(start_response, entry)
        else:
            ims = environ.get("HTTP_IF_MODIFIED_SINCE")
            if ims is not None and (ims == entry.last_modified or _not_after(entry.mtime, ims)):
                return self._not_modified(start_response, entry)

        if entry.body is not None or method == "HEAD":
            start_response("200 OK", list(entry.headers))
            return [] if method == "HEAD" else [entry.body]
        return self._send_large(start_response, "200 OK", entry, fs, site, ctype, negotiable,
                                encoding, cache or cache_control(rel))

    def _load(self, fs: str, site: str, ctype: str, negotiable: bool, encoding: str | None,
              cache: str) -> _Entry | None:
        real = os.path.realpath(fs)
        if not real.startswith(site + os.sep):  # a symbolic link out of the site
            return None
        try:
            with open(real, "rb") as f:
                st = os.fstat(f.fileno())
                if not stat_mod.S_ISREG(st.st_mode):
                    return None
                body = f.read() if st.st_size <= self.small_file else None
        except OSError:
            return None
        size = len(body) if body is not None else st.st_size
        tag = {"br": "-br", "gzip": "-gz"}.get(encoding, "")
        etag = f'"{st.st_size:x}-{st.st_mtime_ns:x}{tag}"'
        last_modified = formatdate(st.st_mtime, usegmt=True)
        common = [("Content-Type", ctype), ("Content-Length", str(size)), *self.security(ctype)]
        if negotiable:
            common.append(("Vary", "Accept-Encoding"))
        if encoding:
            common.append(("Content-Encoding", encoding))
        headers = common + [("ETag", etag), ("Last-Modified", last_modified),
                            ("Cache-Control", cache)]
        not_found_headers = common + [("Cache-Control", CACHE_NOT_FOUND)]
        # Keyed by the stat of what was read: if the path was replaced meanwhile, the next
        # request's stat differs and loads the new file.
        entry = _Entry((st.st_ino, st.st_size, st.st_mtime_ns), body, headers, etag,
                       int(st.st_mtime), last_modified, size, not_found_headers)
        with self._lock:
            old = self._files.get(fs)
            if old is not None and old.body is not None:
                self._cached_bytes -= len(old.body)
            if body is not None:
                if self._cached_bytes + len(body) > self.cache_budget:
                    self._files = {}
                    self._cached_bytes = 0
                self._cached_bytes += len(body)
            self._files[fs] = entry
        return entry

    def _send_large(self, start_response, status, entry, fs, site, ctype, negotiable, encoding,
                    cache):
        """A file too large to cache, streamed from an open descriptor that matches the headers."""
        for _ in range(3):
            try:
                f = open(fs, "rb")
            except OSError:
                break
            st = os.fstat(f.fileno())
            if entry.key == (st.st_ino, st.st_size, st.st_mtime_ns):
                headers = entry.headers if status[0] == "2" else entry.not_found_headers
                start_response(status, list(headers))
                return _stream(f, entry.size)
            f.close()  # replaced since it was looked at: look again
            entry = self._load(fs, site, ctype, negotiable, encoding, cache)
            if entry is None:
                break
        start_response("503 Service Unavailable", self.text_headers + [
            ("Retry-After", "1"), ("Content-Length", str(len(self.busy_body)))])
        return [self.busy_body]

    # --- other responses -------------------------------------------------------------------
    def _not_modified(self, start_response, entry: _Entry):
        headers = [h for h in entry.headers if h[0] not in ("Content-Length", "Content-Type")]
        start_response("304 Not Modified", headers)
        return []

    def _not_found(self, environ, start_response, site: str | None):
        head = environ.get("REQUEST_METHOD") == "HEAD"
        if site is not None:
            page = site + "/404.html"
            fs, encoding = page, None
            ae = environ.get("HTTP_ACCEPT_ENCODING")
            if ae:
                br, gz = self._encodings.get(ae) or parse_accept_encoding(ae)
                if br and _stat_file(page + ".br") is not None:
                    fs, encoding = page + ".br", "br"
                elif gz and _stat_file(page + ".gz") is not None:
                    fs, encoding = page + ".gz", "gzip"
            st = _stat_file(fs)
            if st is not None:
                entry = self._files.get(fs)
                if entry is None or entry.key != (st.st_ino, st.st_size, st.st_mtime_ns):
                    entry = self._load(fs, site, CONTENT_TYPES["html"][0], True, encoding,
                                       CACHE_PAGES)
                if entry is not None:
                    if head or entry.body is not None:
                        start_response("404 Not Found", list(entry.not_found_headers))
                        return [] if head else [entry.body]
                    return self._send_large(start_response, "404 Not Found", entry, fs, site,
                                            CONTENT_TYPES["html"][0], True, encoding,
                                            CACHE_PAGES)
        start_response("404 Not Found", self.text_headers + [
            ("Content-Length", str(len(self.not_found_body)))])
        return [] if head else [self.not_found_body]

    def _redirect(self, environ, start_response):
        raw = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "/")).encode("latin-1")
        location = quote(raw, safe="/:@!$&'()*+,;=-._~") + "/"
        qs = environ.get("QUERY_STRING")
        if qs:
            location += "?" + qs
        body = self.moved_body % location.encode("latin-1")
        start_response("301 Moved Permanently", self.text_headers + [
            ("Location", location), ("Content-Length", str(len(body))),
            ("Cache-Control", CACHE_PAGES)])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


def _stat_file(path: str):
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st if stat_mod.S_ISREG(st.st_mode) else None


def _not_after(mtime: int, header: str) -> bool:
    """If-Modified-Since: the file is not newer than the date the client has."""
    parsed = parsedate(header)
    if parsed is None:
        return False
    try:
        return mtime <= timegm(parsed)
    except (OverflowError, ValueError):
        return False


def _stream(f, size: int):
    """A large file in chunks, exactly the size announced."""
    with f:
        left = size
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk


def _valid_code(code: str) -> bool:
    return (code.isascii() and code[:1].isalnum()
            and all(c.isalnum() or c in "-_." for c in code) and ".." not in code)


def normalise_host(raw: str) -> str | None:
    """The Host header as a name under public/_hosts/: lower case, no port, no trailing dot;
    None for anything that could name a path (slashes, "..", NUL, empty)."""
    host = raw.strip().lower()
    if host.startswith("["):  # [IPv6]:port
        end = host.find("]")
        if end < 0:
            return None
        host = host[:end + 1]
    else:
        host = host.rpartition(":")[0] if ":" in host else host
    host = host.rstrip(".")
    if (not host or host[0] in "._-" or ".." in host or len(host) > 253
            or not all(c.isalnum() or c in ".-_[]:" for c in host) or not host.isascii()):
        return None
    return host
