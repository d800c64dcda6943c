"""The payload corpus (tests/payloads/): XSS, SQL injection, path traversal, header injection,
oversized and malformed input, sent to every public form and every API parameter.

Nothing here lists today's forms. The public views are DISCOVERED: the URL resolver is walked
for the routes under /_/, /account/ and /o/ (each fetched anonymously and as a logged-in
citizen, on the host it belongs to, and the forms on every HTML page parsed), and the API's
OpenAPI schema (/api/v1/openapi.json) lists every operation and parameter. A short fixed list
adds what discovery cannot see (the OIDC consent form needs a registered client; the query
parameters a redirecting view reads). A form or API parameter added later is covered without
changing this file.

For every response: no 5xx; in HTML no element or attribute the payload injected (the page is
parsed; an escaped echo is fine); no header with an injected line and no injected cookie; no
redirect to a host the payload named (or protocol-relative, or javascript:); API answers are
JSON. Stored input (resources created through the API) is checked where it is rendered: the
published pages, the feeds and the search page. SQL injection: no boolean trick widens a
result, and the tables are intact afterwards. The file server is sent the traversal paths.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode, urljoin, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from lxml import etree
from lxml import html as lhtml

from tests.forms_util import Form, parse_forms

PAYLOAD_DIR = Path(__file__).resolve().parent / "payloads"
TOKENS = {"{CR}": "\r", "{LF}": "\n", "{NUL}": "\x00", "{TAB}": "\t", "{HT}": "\t"}
SITE_HOST = "czt.ah.gov.cn"
CZT = "3400000002"
MARK = "jyx"
MB = 1024 * 1024


def load(name: str) -> list[str]:
    out = []
    for line in (PAYLOAD_DIR / name).read_text(encoding="utf-8").split("\n"):
        if not line or line.startswith("#"):
            continue
        for token, char in TOKENS.items():
            line = line.replace(token, char)
        out.append(line)
    return out


CORPUS = {name: load(f"{name}.txt") for name in
          ("xss", "sqli", "traversal", "header_injection", "malformed")}
ALL = [(kind, p) for kind, items in CORPUS.items() for p in items]
# Oversized values: sent through every form and API body; query strings get 10 000 characters.
BIG_FORM = [("oversized", "<script>alert('jyx')</script>" * (MB // 30)), ("oversized", "预" * (MB // 3))]
BIG_QUERY = [("oversized", "x" * 10_000), ("oversized", ("<svg onload=alert('jyx')>" * 400)[:10_000])]
# The core of the corpus (a third of each file, evenly spread): for the costlier paths, the
# staff token and the write operations, which also get every script payload as stored text.
CORE = [kp for kind in CORPUS for kp in [(kind, p) for p in CORPUS[kind]][::3]]
CORPUS_XSS = [("xss", p) for p in CORPUS["xss"]]
# Payloads for the parameters redirecting views read: open-redirect and header targets, the
# first script payloads and the malformed values.
REDIRECT_PAYLOADS = ([("header_injection", p) for p in CORPUS["header_injection"]]
                     + CORPUS_XSS[:8] + [("malformed", p) for p in CORPUS["malformed"]])


# --- what counts as a failure ------------------------------------------------------------------

URL_ATTRS = ("href", "src", "action", "formaction", "data", "poster", "background", "codebase",
             "cite", "ping", "xlink:href", "manifest")


def _url_is_bad(value: str) -> bool:
    v = re.sub(r"[\x00-\x20]", "", value).lower()
    if v.startswith(("javascript:", "vbscript:")) or (v.startswith("data:") and MARK in v):
        return True
    if v.startswith(("//", "/\\", "\\\\", "http:", "https:")) or ":" in v.split("/")[0]:
        host = urlsplit(v if "//" in v[:8] else "//" + v.lstrip("/\\")).hostname or ""
        return MARK in host
    return False


def injected(content: bytes) -> list[str]:
    """What a payload put into the page: elements and attributes, not escaped text."""
    text = content.decode("utf-8", "replace")
    problems = []
    if "49" + MARK in text:
        problems.append("a template expression was evaluated")
    if not text.strip():
        return problems
    try:
        doc = lhtml.fromstring(content)
    except (etree.ParserError, ValueError):
        return problems
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower()
        if tag in ("script", "style") and MARK in (el.text or ""):
            problems.append(f"<{tag}> with the payload")
        for name, value in el.attrib.items():
            n = name.lower()
            if n.startswith("on"):
                problems.append(f"<{tag} {n}=…> (event handler)")
            elif n in ("style", "srcdoc") and MARK in value:
                problems.append(f"<{tag} {n}=…> with the payload")
            elif n == "content" and tag == "meta" and el.get("http-equiv") and MARK in value:
                problems.append(f"<meta http-equiv content=…> with the payload")
            elif (n in URL_ATTRS or n.endswith("href")) and _url_is_bad(value):
                problems.append(f"<{tag} {n}={value[:60]!r}>")
    return problems


@dataclass
class Report:
    allowed_hosts: set[str]
    failures: list[str] = field(default_factory=list)
    requests: int = 0

    def check(self, label: str, r, api: bool = False) -> None:
        self.requests += 1
        where = f"{label} -> {r.status_code}"
        if r.status_code >= 500:
            self.failures.append(f"{where}: server error")
            return
        for name, value in r.items():
            if "\r" in value or "\n" in value:
                self.failures.append(f"{where}: header {name} has a line break")
            if name.lower().startswith("x-jyx"):
                self.failures.append(f"{where}: injected header {name}")
        if MARK in r.cookies or any(MARK in m.value for m in r.cookies.values()):
            self.failures.append(f"{where}: injected cookie")
        location = r.get("Location")
        if location is not None:
            loc = re.sub(r"[\t\r\n]", "", location)
            parts = urlsplit(loc)
            if (loc.startswith(("//", "/\\", "\\")) or parts.scheme not in ("", "http", "https")
                    or (parts.hostname and (MARK in parts.hostname
                                            or parts.hostname not in self.allowed_hosts))):
                self.failures.append(f"{where}: redirect to {location[:80]!r}")
        ctype = r.get("Content-Type", "")
        if api and r.status_code != 204 and not ctype.startswith(("application/json",
                                                                   "application/problem+json")):
            self.failures.append(f"{where}: API answered {ctype}")
        if ctype.startswith("text/html"):
            body = b"".join(r.streaming_content) if getattr(r, "streaming", False) else r.content
            for problem in injected(body):
                self.failures.append(f"{where}: {problem}")

    def assert_clean(self):
        assert not self.failures, f"{len(self.failures)} failures, e.g.:\n" + "\n".join(
            sorted(set(self.failures))[:40])


def show(value) -> str:
    return repr(value if not isinstance(value, str) or len(value) < 60 else value[:40] + f"…({len(value)})")


# --- discovery ---------------------------------------------------------------------------------

def idp_host() -> str:
    return urlsplit(getattr(settings, "JIYUE_IDP_URL", "") or "http://localhost").hostname or "localhost"


def _walk(patterns, prefix=""):
    from django.urls import URLResolver

    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        else:
            yield prefix + str(p.pattern), p


SAMPLES = {"int": "1", "str": "x", "slug": "x", "uuid": "00000000-0000-0000-0000-000000000000",
           "path": "x"}


def public_paths() -> tuple[list[str], list[str]]:
    """The paths of the public views (routes under _/, account/, o/), with sample values for
    their parameters; and the routes that could not be turned into a path."""
    from django.urls import get_resolver

    paths, unseen = [], []
    for route, _ in _walk(get_resolver().url_patterns):
        if not route.startswith(("_/", "account/", "o/", "^_/", "^account/", "^o/")):
            continue
        path = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLES.get(m.group(1) or "str", "x"), route)
        # a regular expression route: its literal form
        path = path.replace("^", "").replace("$", "").replace("/?", "/").replace("\\.", ".")
        path = re.sub(r"\(\?P<\w+>[^)]*\)", "x", path)
        if re.search(r"[()\[\]*+?|\\{}]", path):
            unseen.append(route)
            continue
        paths.append("/" + path)
    return sorted(set(paths)), unseen


def host_for(path: str) -> str:
    return SITE_HOST if path.startswith("/_/") else idp_host()


@dataclass
class Target:
    """A form found on a page, resolved to the host and path it sends to."""
    host: str
    path: str
    form: Form
    page: str

    @property
    def key(self):
        return (self.host, self.form.method, self.path, tuple(sorted(self.form.kinds)))


def discover(clients: dict[str, Client], paths: list[str], extra: list[str]) -> tuple[dict, list]:
    """GET every public page as every visitor; return the forms found (by key) and the pages."""
    targets, pages = {}, []
    for who, client in clients.items():
        for path in paths + extra:
            host = host_for(path)
            r = client.get(path, HTTP_HOST=host)
            pages.append((who, host, path, r))
            if r.status_code != 200 or not r.get("Content-Type", "").startswith("text/html"):
                continue
            for form in parse_forms(r.content):
                action = urljoin(f"http://{host}{path}", form.action or path)
                parts = urlsplit(action)
                if parts.hostname not in (host, None) or parts.path.startswith("/admin/"):
                    continue
                t = Target(host, parts.path + (f"?{parts.query}" if parts.query else ""), form,
                           f"{who}:{path}")
                targets.setdefault(t.key, (who, t))
    return targets, pages


# --- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def quiet_request_log():
    """Thousands of refused requests: Django's warning for each 4xx is not what is tested."""
    import logging

    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.fixture
def world(province, settings, tmp_path):
    """The province, published, plus a citizen, an API token for an editor and (when the OIDC
    provider is installed) a registered client; rate limits off for the test client's address."""
    from jiyue.accounts.models import User
    from jiyue.api.models import issue_token
    from tests.publishing_util import make_article, publish

    settings.JIYUE_PUBLIC_ROOT = tmp_path / "public"
    settings.JIYUE_OUTBOX_LAG_SECONDS = 0
    settings.JIYUE_PUBLISH_AUTORUN = False
    settings.JIYUE_RATE_LIMIT_EXEMPT = ["127.0.0.1"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for i in range(3):
        make_article(province, title=f"全省财政工作会议召开（{i}）")
    publish()
    citizen = User.objects.create_user(username="citizen_corpus", password="Passw0rd!x",
                                       email="citizen@example.cn", kind="citizen",
                                       real_name="张三")
    w = {"province": province, "citizen": citizen,
         "token": issue_token(province.users["czt_editor"], "语料测试"), "oidc": None}
    try:  # the OIDC provider's own way to register a linked system, when it has one
        from jiyue.oidc import services as oidc

        w["oidc"], _secret = oidc.register(
            province.users["system_admin"], name="语料测试系统", client_id="corpus-client",
            redirect_uris="https://rp.example.gov.cn/callback",
            post_logout_redirect_uris="https://rp.example.gov.cn/", confidential=False)
    except ImportError:
        try:
            from oauth2_provider.models import get_application_model
        except ImportError:  # no OIDC provider installed: nothing to add
            return w
        app = get_application_model()(
            name="语料测试系统", client_id="corpus-client", client_type="public",
            authorization_grant_type="authorization-code",
            redirect_uris="https://rp.example.gov.cn/callback",
            post_logout_redirect_uris="https://rp.example.gov.cn/",
            skip_authorization=False, algorithm="RS256")
        app.save()
        w["oidc"] = app
    return w


def allowed_hosts(province) -> set[str]:
    hosts = {"testserver", "localhost", "127.0.0.1", idp_host(), "rp.example.gov.cn"}
    for site in province.sites.values():
        hosts |= {site.domain, site.local_hostname}
    return hosts


def fixed_paths(world) -> list[str]:
    """What discovery cannot reach by walking the routes alone."""
    extra = ["/_/search?q=%E9%A2%84%E7%AE%97"]
    if world["oidc"] is not None:
        extra.append("/o/authorize/?" + urlencode({
            "client_id": "corpus-client", "response_type": "code", "scope": "openid profile",
            "redirect_uri": "https://rp.example.gov.cn/callback", "state": "s1", "nonce": "n1",
            "code_challenge": "E9Melhoe2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256"}))
    return extra


# Query parameters a redirecting or host-dependent view may read, beyond its form fields.
REDIRECT_PARAMS = ["next", "redirect_uri", "post_logout_redirect_uri", "return_to", "url",
                   "host", "site", "ticket", "state", "client_id", "id_token_hint", "q"]


def _clients(world) -> dict[str, Client]:
    anonymous = Client(raise_request_exception=False)
    citizen = Client(raise_request_exception=False)
    citizen.force_login(world["citizen"])
    return {"anonymous": anonymous, "citizen": citizen}


# --- the public forms and pages ----------------------------------------------------------------

def test_payloads_into_every_public_form_and_page(world):
    """Every form found on every public page gets every payload in all its fields (then the
    pages are fetched again: what a form stored is shown escaped); every page gets the
    redirect and header payloads in the parameters redirecting views read; malformed bodies;
    and each POST form refuses a submission without its CSRF token."""
    paths, unseen = public_paths()
    assert "/_/search" in paths  # discovery works on what exists today
    assert not unseen, f"routes discovery cannot fill in: {unseen} (add them to fixed_paths)"
    clients = _clients(world)
    report = Report(allowed_hosts(world["province"]))
    targets, pages = discover(clients, paths, fixed_paths(world))
    for who, host, path, r in pages:
        report.check(f"GET {host}{path} as {who}", r)
    assert any(t.path.endswith("_/search") for _, t in targets.values()), "the search form"
    if world["oidc"] is not None:  # the consent form, reached through the fixed list
        assert any(t.path.startswith("/o/authorize/") and t.form.method == "post"
                   for _, t in targets.values()), "the OIDC consent form"
    # XSS last, so that what a form keeps (a profile) is a script-bearing payload at the end
    payloads = BIG_FORM + sorted(ALL, key=lambda kp: kp[0] == "xss")
    for who, t in targets.values():
        client = clients[who]
        fields = t.form.text_fields or ["q"]
        for kind, payload in payloads:
            data = {**t.form.fields, **{name: payload for name in fields}}
            label = f"{t.form.method.upper()} {t.host}{t.path} [{who}] {kind} {show(payload)}"
            if t.form.method == "post":
                r = client.post(t.path, data, HTTP_HOST=t.host)
            elif len(payload) > 20_000:
                continue  # a 1 MB query string: the front server refuses it first
            else:
                r = client.get(t.path, data, HTTP_HOST=t.host)
            report.check(label, r)
    for who, host, path, _r in pages:  # stored input, rendered
        report.check(f"GET {host}{path} as {who} after the forms",
                     clients[who].get(path, HTTP_HOST=host))
    # Parameters redirecting views read (next=, redirect_uri= ...), all at once and `next`
    # alone; as a citizen only where the anonymous visitor was sent to log in.
    needs_login = {path for who, _h, path, r in pages
                   if who == "anonymous" and "login" in (r.get("Location") or "")}
    for who, client in clients.items():
        for path in paths:
            if who == "citizen" and path not in needs_login:
                continue
            host = host_for(path)
            for kind, payload in REDIRECT_PAYLOADS:
                r = client.get(path, {name: payload for name in REDIRECT_PARAMS}, HTTP_HOST=host)
                report.check(f"GET {host}{path}?<all>= [{who}] {kind} {show(payload)}", r)
                r = client.get(path, {"next": payload}, HTTP_HOST=host)
                report.check(f"GET {host}{path}?next= [{who}] {kind} {show(payload)}", r)
            for kind, payload in BIG_QUERY:
                r = client.get(path, {name: payload for name in REDIRECT_PARAMS}, HTTP_HOST=host)
                report.check(f"GET {host}{path}?<10k> [{who}]", r)
    # malformed requests: invalid UTF-8, wrong content types, arrays for scalars
    for who, t in targets.values():
        client = clients[who]
        names = t.form.text_fields or ["q"]
        for label, kwargs in [
                ("invalid UTF-8", {"data": b"&".join(n.encode() + b"=%FF%FE%C0%AF" for n in names),
                                   "content_type": "application/x-www-form-urlencoded"}),
                ("raw bytes", {"data": b"\xff\xfe\x00\x81" * 64,
                               "content_type": "application/x-www-form-urlencoded"}),
                ("JSON to a form", {"data": json.dumps({n: ["a", "b"] for n in names}),
                                    "content_type": "application/json"}),
                ("broken multipart", {"data": b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n",
                                      "content_type": "multipart/form-data; boundary=x"}),
                ("text/plain", {"data": "q=<script>alert('jyx')</script>", "content_type": "text/plain"})]:
            if t.form.method == "post":
                r = client.generic("POST", t.path, HTTP_HOST=t.host, **kwargs)
            else:
                r = client.generic("GET", t.path + "?" + "&".join(f"{n}=%FF%FE" for n in names),
                                   HTTP_HOST=t.host)
            report.check(f"{t.form.method.upper()} {t.host}{t.path} [{who}] {label}", r)
        data = {**t.form.fields, **{n: ["<script>alert('jyx')</script>", "'OR'1'='1"] for n in names}}
        r = (client.post if t.form.method == "post" else client.get)(t.path, data, HTTP_HOST=t.host)
        report.check(f"{t.path} [{who}] arrays for scalars", r)
    report.assert_clean()
    assert report.requests > 1000

    # CSRF: each POST form refuses a submission without its token
    posts = [(who, t) for who, t in targets.values() if t.form.method == "post"]
    assert posts, "the login and registration forms post"
    for who, t in posts:
        strict = Client(enforce_csrf_checks=True)
        if who == "citizen":
            strict.force_login(world["citizen"])
        page = t.page.split(":", 1)[1]
        strict.get(page, HTTP_HOST=host_for(page))  # the CSRF cookie, as a browser has it
        data = {k: v for k, v in t.form.fields.items() if k != "csrfmiddlewaretoken"}
        r = strict.post(t.path, data, HTTP_HOST=t.host)
        assert r.status_code == 403, f"{t.host}{t.path} ({who}) accepted a POST without CSRF token"
    # the session-authenticated API needs the token too; a personal token does not
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world["province"].users["czt_editor"])
    body = json.dumps({"kind": "article", "fields": {"title": "无令牌"}})
    r = strict.post("/api/v1/resources", body, content_type="application/json")
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = Client(enforce_csrf_checks=True).post(
        "/api/v1/resources", body, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world['token']}")
    assert r.status_code != 403


# Views that carry no CSRF check of Django's, and why each is safe.
CSRF_EXEMPT_ALLOWED = {
    "api/v1/": "django-ninja: jiyue.api.api.caller(write=True) checks the CSRF token of a "
               "session; a personal token needs none",
    "admin/api/main/": "Wagtail's admin API (Django REST framework): SessionAuthentication "
                       "enforces the CSRF token",
    "o/token/": "OAuth 2.0 token endpoint: client authentication, no cookies",
    "o/revoke_token/": "OAuth 2.0 revocation: client authentication, no cookies",
    "o/introspect/": "OAuth 2.0 introspection: bearer token, no cookies",
    "o/userinfo/": "OIDC userinfo: bearer access token, no cookies",
    "_/feedback/rate": "the 好/差 form on static published pages (no token possible): an "
                       "anonymous vote carrying no session authority, refused when Origin or "
                       "Sec-Fetch-Site says another site sent it; rate-limited, one per browser "
                       "per page per day (the reasons form after it is CSRF-protected)",
}


def test_every_view_without_django_csrf_check_is_accounted_for(province):
    """Every route of the project: a view exempt from Django's CSRF middleware is one of the
    kinds above; the admin API's POST action and the session-authenticated open API refuse
    a request without the token."""
    from django.urls import get_resolver

    exempt = sorted({route for route, p in _walk(get_resolver().url_patterns)
                     if getattr(p.callback, "csrf_exempt", False)})
    unexplained = [r for r in exempt if not r.startswith(tuple(CSRF_EXEMPT_ALLOWED))]
    assert not unexplained, f"views without a CSRF check: {unexplained}"
    staff = Client(enforce_csrf_checks=True)
    staff.force_login(province.users["czt_site_admin"])
    page = province.column("czt", "bmdt")
    r = staff.post(f"/admin/api/main/pages/{page.pk}/action/copy/",
                   json.dumps({"destination_page_id": page.get_parent().pk}),
                   content_type="application/json")
    assert r.status_code == 403 and b"CSRF" in r.content
    r = staff.patch("/api/v1/placements/1", json.dumps({"pinned": True}),
                    content_type="application/json")
    assert r.status_code == 403


# --- the API -----------------------------------------------------------------------------------

def _samples(world) -> dict[str, str]:
    from jiyue.library.models import Placement, Resource

    province = world["province"]
    resource = Resource.objects.filter(live=True).order_by("pk").first()
    placement = Placement.objects.order_by("pk").first()
    return {"code": CZT, "site": CZT, "column_id": str(province.column("czt", "bmdt").pk),
            "column": str(province.column("czt", "bmdt").pk), "rid": resource.global_id,
            "pid": str(placement.pk), "action": "withdraw", "kind": "article",
            "organisation": str(province.orgs["czt"].pk), "page": "1", "page_size": "20"}


def operations(client) -> list[tuple[str, str, dict]]:
    schema = client.get("/api/v1/openapi.json").json()
    ops = []
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            if method in ("get", "post", "put", "patch", "delete"):
                ops.append((method, path, op, schema))
    return ops


def _path(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: quote(values.get(m.group(1), "1"), safe=""), path)


def _body_schema(op, schema) -> dict:
    content = (op.get("requestBody") or {}).get("content", {}).get("application/json")
    if not content:
        return {}
    ref = content["schema"].get("$ref", "")
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else content["schema"]


def test_payloads_into_every_api_parameter_and_body(world, settings):
    """Every query and path parameter of every operation in the OpenAPI schema gets every
    payload anonymously (and the core of the corpus with an editor's token: the staff code
    paths); no boolean trick widens a result and the tables are intact. Every write operation
    gets the core corpus in its body and path with the token, and every script payload as the
    text of a new resource, which is then published: the detail pages, the lists, the feeds
    and the search page carry the text, never markup."""
    from jiyue.accounts.models import User
    from jiyue.library import services
    from jiyue.library.models import Placement, Resource
    from jiyue.platform.models import Site
    from tests.publishing_util import publish

    anonymous = Client(raise_request_exception=False)
    staff = Client(raise_request_exception=False,
                   HTTP_AUTHORIZATION=f"Bearer {world['token']}")
    samples = _samples(world)
    report = Report(allowed_hosts(world["province"]))
    counts = (Resource.objects.count(), Site.objects.count(), User.objects.count(),
              Placement.objects.count())
    ops = operations(anonymous)
    assert len(ops) >= 15
    params_seen = 0
    widened = []
    for _, path, op, _s in [o for o in ops if o[0] == "get"]:
        for param in [p for p in op.get("parameters", []) if p["in"] in ("query", "path")]:
            params_seen += 1
            name = param["name"]
            for who, client, corpus in (("anonymous", anonymous, ALL + BIG_QUERY),
                                        ("token", staff, CORE)):
                baseline = None
                if param["in"] == "query":
                    r = client.get(_path(path, samples), {name: "jyxnomatch"})
                    baseline = r.json().get("count") if r.status_code == 200 else None
                for kind, payload in corpus:
                    if param["in"] == "path":
                        r = client.get(_path(path, {**samples, name: payload}))
                    else:
                        r = client.get(_path(path, samples), {name: payload})
                    report.check(f"GET {path} {name}= [{who}] {kind} {show(payload)}", r, api=True)
                    if (kind == "sqli" and baseline is not None and r.status_code == 200
                            and r.json().get("count", 0) > baseline):
                        widened.append(f"{path}?{name}={payload!r}: {r.json()['count']} > {baseline}")
                if param["in"] == "query":  # the same parameter twice, and malformed bytes
                    r = client.generic("GET", _path(path, samples) + f"?{name}=1&{name}=2&{name}=%FF%FE")
                    report.check(f"GET {path} {name} repeated/invalid UTF-8 [{who}]", r, api=True)
    assert params_seen >= 20
    assert not widened, widened
    assert (Resource.objects.count(), Site.objects.count(), User.objects.count(),
            Placement.objects.count()) == counts

    # writes, with the token (no CSRF); deleting last, so the sample stays for the others
    writes = sorted([o for o in ops if o[0] != "get"], key=lambda o: o[0] == "delete")
    assert len(writes) >= 8
    column = world["province"].column("czt", "bmdt").pk
    before = set(Resource.objects.values_list("pk", flat=True))
    for method, path, op, schema in writes:
        props = _body_schema(op, schema).get("properties", {})
        send = getattr(staff, method)
        creates = method == "post" and path.endswith("/resources")
        for kind, payload in (CORE + CORPUS_XSS if creates else CORE):
            # every property gets the payload (strings, numbers, lists, objects alike) ...
            wild = {name: payload for name in props}
            # ... and a well-formed request with the payload in every text a person writes
            good = {}
            for name, prop in props.items():
                types = {prop.get("type")} | {x.get("type") for x in prop.get("anyOf", [])}
                if name == "fields":
                    good[name] = {"title": payload[:200] or "x", "summary": payload,
                                  "body": payload, "keywords": payload[:200],
                                  "source": payload[:100], "author": payload[:50]}
                elif name == "kind":
                    good[name] = "article"
                elif name == "place_in":
                    good[name] = [column]
                elif "string" in types:
                    good[name] = payload
                elif name in samples:
                    good[name] = int(samples[name]) if samples[name].isdigit() else samples[name]
            for label, data in (("wild", wild), ("good", good)):
                if props or label == "good":
                    r = send(_path(path, samples), json.dumps(data), content_type="application/json")
                    report.check(f"{method.upper()} {path} {label} {kind} {show(payload)}", r, api=True)
            if "{" in path and not creates:
                first = re.findall(r"\{(\w+)\}", path)[0]
                r = send(_path(path, {**samples, first: payload}), json.dumps(good),
                         content_type="application/json")
                report.check(f"{method.upper()} {path} path {kind} {show(payload)}", r, api=True)
        for label, raw, ctype in [("broken JSON", '{"kind": ', "application/json"),
                                  ("not UTF-8", b"\xff\xfe{\x00}", "application/json"),
                                  ("a list", "[1, 2, 3]", "application/json"),
                                  ("form-encoded", "kind=article&title=x",
                                   "application/x-www-form-urlencoded"),
                                  ("text", "<script>alert('jyx')</script>", "text/plain"),
                                  ("huge numbers", '{"organisation": 1e400, "column": 99999999999999999999999,'
                                   ' "place_in": [99999999999999999999999], "sort_order": -99999999999999999999}',
                                   "application/json"),
                                  ("1 MB", json.dumps({"kind": "article", "fields": {"title": BIG_FORM[0][1]}}),
                                   "application/json"),
                                  ("deep", "[" * 5000 + "]" * 5000, "application/json")]:
            r = staff.generic(method.upper(), _path(path, samples), raw, content_type=ctype)
            report.check(f"{method.upper()} {path} {label}", r, api=True)
    report.assert_clean()

    # what the API stored, published and rendered
    created = Resource.objects.exclude(pk__in=before).filter(title__contains=MARK)
    assert created.count() >= 20, "the script payloads were stored as text"
    col = world["province"].column("czt", "bmdt")
    for r in created:
        r = r.specific
        if not r.placements.filter(column=col).exists():
            services.attach(r, col)
        r.save_revision().publish()
    publish()
    public = Path(settings.JIYUE_PUBLIC_ROOT) / CZT
    stored, shown = [], 0
    for page in public.rglob("*.html"):
        content = page.read_bytes()
        shown += MARK.encode() in content
        stored += [f"{page.relative_to(public)}: {p}" for p in injected(content)]
    assert shown >= 20, "the stored payloads are on the published pages"
    for feed in ("rss.xml", "atom.xml"):
        doc = etree.fromstring((public / feed).read_bytes())  # well-formed whatever was stored
        assert MARK.encode() in (public / feed).read_bytes()
        assert not [e for e in doc.iter() if isinstance(e.tag, str)
                    and etree.QName(e).localname in ("script", "img", "svg", "iframe")], feed
    r = Client().get("/_/search", {"q": MARK}, HTTP_HOST=SITE_HOST)
    assert r.status_code == 200 and r.content.count(MARK.encode()) >= 10
    stored += [f"search page: {p}" for p in injected(r.content)]
    assert not stored, stored[:20]


def test_nul_is_refused_at_the_door(world):
    """NUL (which PostgreSQL cannot store) in a path, a query or a JSON body: 400 with a
    Chinese message before any view runs, on every kind of page."""
    client = Client()
    for path, host in (("/account/sso/?next=a%00b", idp_host()), ("/_/search?q=%00", SITE_HOST),
                       ("/o/logout/?state=%00", idp_host()), ("/admin/login/?next=%00", "localhost")):
        r = client.get(path, HTTP_HOST=host)
        assert r.status_code == 400 and "控制字符" in r.content.decode(), path
    r = client.get("/api/v1/sites", {"kind": "a\x00"})
    assert r.status_code == 400 and r.json()["detail"] == "请求中含有不允许的控制字符。"
    r = client.post("/api/v1/resources", '{"kind": "article", "fields": {"title": "a\\u0000"}}',
                    content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {world['token']}")
    assert r.status_code == 400
    assert client.get("/_/search", {"q": "预算"}, HTTP_HOST=SITE_HOST).status_code == 200


# --- the file server -------------------------------------------------------------------------

def test_traversal_payloads_against_the_file_server(tmp_path, settings):
    from urllib.parse import unquote

    from jiyue.web.static_server import StaticServer
    from tests.test_static_server import PORTAL, call, make_tree

    public = make_tree(tmp_path)
    settings.JIYUE_PUBLIC_ROOT = public
    calls = []

    def inner(environ, start_response):
        calls.append(environ["PATH_INFO"])
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"django"]

    app = StaticServer(inner, host_ttl=0)
    secrets = (b"outside the tree", b"outside the site", b"half written", b"root:")
    for payload in CORPUS["traversal"] + CORPUS["malformed"]:
        for raw in {payload, unquote(payload), unquote(unquote(payload))}:
            # what a WSGI server hands over: the decoded path as latin-1 characters
            path = raw.encode("utf-8", "surrogateescape").decode("latin-1")
            for full, host in ((f"/{path}", "www.ah.gov.cn"), (f"/sites/{PORTAL}/{path}", "x"),
                               (f"/sites/{path}", "x"), (f"/assets/{path}", "www.ah.gov.cn")):
                r = call(app, full, host=host)
                assert r.status in (200, 301, 400, 403, 404, 405), (full, r.status)
                assert not any(s in r.body for s in secrets), full
                if r.status == 200:  # only a page of the site itself
                    assert r.body.startswith((b"<", b"body{", b"\x89PNG", b"%PDF")), full
                for name, value in r.header_list:
                    assert "\r" not in value and "\n" not in value, (full, name)
            for host in (payload, f"{payload}.localhost", "_hosts/" + payload):
                r = call(app, "/index.html", host=host)
                assert not any(s in r.body for s in secrets), host
