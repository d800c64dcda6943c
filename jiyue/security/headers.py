"""Security headers on every response: one definition for Django, `jiyue serve`'s file server
(jiyue.web.static_server) and nginx (deploy/nginx/jiyue.conf repeats the values;
tests/test_security_headers.py checks that they agree).

Policies (docs/security.md, "Platform security"):

- PUBLIC_CSP: published pages, the dynamic pages under /_/, the identity and OIDC pages, the
  API. Only the page's own origin; no 'unsafe-inline' and no 'unsafe-eval'. The single inline
  script of the theme (404.html sets <base> so that the page works at any depth and under
  /sites/<code>/) is allowed by its SHA-256 hash. `form-action` is not restricted: the single
  sign-on and OIDC pages post forms whose answer redirects to another registered site or
  client, and Chromium applies form-action to such redirects.
- ADMIN_CSP: the Wagtail admin (/admin/), which uses inline scripts and styles: the same
  origin rules, but 'unsafe-inline' for scripts and styles. Stated in docs/security.md.
- DOCS_CSP: the API's Swagger page (/api/v1/docs), whose UI sets inline styles.
- FILE_CSP: PDF files, where only framing is restricted (a content policy on a PDF can keep a
  browser's built-in viewer from showing it).

Frame protection: X-Frame-Options SAMEORIGIN and frame-ancestors 'self'. Referrer-Policy
same-origin, X-Content-Type-Options nosniff. HSTS on every response when the platform is
served over HTTPS (JIYUE_HTTPS=1, or a request Django sees as secure).
"""

from __future__ import annotations

from django.conf import settings

# sha256 of the inline script in themes/default/templates/404.html.
NOT_FOUND_SCRIPT_HASH = "sha256-gdkmafQa4nDYhLJLwPYu1zT9IFQ/xdBuimgxLu8l4r4="

PUBLIC_CSP = ("default-src 'self'; "
              f"script-src 'self' '{NOT_FOUND_SCRIPT_HASH}'; "
              "style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; "
              "media-src 'self'; object-src 'none'; base-uri 'self'; frame-src 'self'; "
              "frame-ancestors 'self'")
ADMIN_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
             "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
             "connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'self'; "
             "frame-src 'self'; frame-ancestors 'self'")
DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
            "frame-ancestors 'self'")
FILE_CSP = "frame-ancestors 'self'"

FRAME_OPTIONS = "SAMEORIGIN"
REFERRER_POLICY = "same-origin"


def hsts_value() -> str | None:
    seconds = int(getattr(settings, "SECURE_HSTS_SECONDS", 0) or 0)
    if not seconds:
        return None
    value = f"max-age={seconds}"
    if getattr(settings, "SECURE_HSTS_INCLUDE_SUBDOMAINS", False):
        value += "; includeSubDomains"
    if getattr(settings, "SECURE_HSTS_PRELOAD", False):
        value += "; preload"
    return value


def policy_for(path: str, content_type: str = "") -> str:
    """The Content-Security-Policy for a response to `path` with this Content-Type."""
    if content_type.split(";")[0].strip().lower() == "application/pdf":
        return FILE_CSP
    if path.startswith("/admin/"):
        return ADMIN_CSP
    if path.startswith("/api/") and path.rstrip("/").endswith("/docs"):
        return DOCS_CSP
    return PUBLIC_CSP


def static_headers(content_type: str, secure: bool) -> list[tuple[str, str]]:
    """The headers `jiyue serve`'s file server adds to each of its responses (files of the
    published tree, 404 pages, redirects, refusals)."""
    headers = [("Content-Security-Policy", policy_for("/", content_type)),
               ("X-Frame-Options", FRAME_OPTIONS), ("Referrer-Policy", REFERRER_POLICY),
               ("X-Content-Type-Options", "nosniff")]
    if secure or getattr(settings, "JIYUE_HTTPS", False):
        hsts = hsts_value()
        if hsts:
            headers.append(("Strict-Transport-Security", hsts))
    return headers


class SecurityHeadersMiddleware:
    """Adds the Content-Security-Policy (by path), frame protection and, over HTTPS, HSTS to
    every Django response. Django's SecurityMiddleware and XFrameOptionsMiddleware set nosniff,
    Referrer-Policy and X-Frame-Options too; this one makes sure of them on every response,
    including those answered before those middlewares run (CSRF refusals, 429s)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy_for(
                request.path, response.get("Content-Type", ""))
        response.setdefault("X-Frame-Options", FRAME_OPTIONS)
        response.setdefault("X-Content-Type-Options", "nosniff")
        response.setdefault("Referrer-Policy", REFERRER_POLICY)
        if "Strict-Transport-Security" not in response and (
                getattr(settings, "JIYUE_HTTPS", False) or request.is_secure()):
            hsts = hsts_value()
            if hsts:
                response["Strict-Transport-Security"] = hsts
        return response
