"""Checks for the project-level zh_Hans catalogue that completes Wagtail's admin translation.

Wagtail ships an incomplete zh_Hans translation; ``jiyue/locale/zh_Hans`` fills the
gaps.  These tests only use the standard library (plus ``importlib`` to locate the
installed Wagtail package) and need no database or Django test client.
"""

from __future__ import annotations

import ast
import gettext
import importlib.util
from pathlib import Path

import pytest

PROJECT_LOCALE = (
    Path(__file__).resolve().parent.parent / "jiyue" / "locale" / "zh_Hans" / "LC_MESSAGES"
)
DOMAINS = ("django", "djangojs")

# Admin-related Wagtail apps whose English catalogues define the msgids to cover.
# "" is the core ``wagtail/locale`` catalogue.
ADMIN_APPS = ("admin", "snippets", "images", "documents", "users", "")
MIN_COVERAGE = 0.99


def _wagtail_dir() -> Path:
    spec = importlib.util.find_spec("wagtail")
    assert spec is not None and spec.origin, "wagtail is not installed"
    return Path(spec.origin).parent


def _unquote(s: str) -> str:
    # PO strings use C-style escapes, which match Python's for everything gettext emits.
    return ast.literal_eval(s.strip())


def parse_po(path: Path) -> list[dict]:
    """Parse a .po file into a list of entries.

    Each entry is a dict with keys ``msgctxt``, ``msgid``, ``msgid_plural``,
    ``msgstr`` (str) or ``msgstr_plural`` (dict[int, str]) and ``fuzzy`` (bool).
    Obsolete (``#~``) entries are skipped.
    """
    entries: list[dict] = []
    cur: dict | None = None
    field: tuple | None = None
    fuzzy = False

    def flush():
        nonlocal cur
        if cur is not None and "msgid" in cur:
            entries.append(cur)
        cur = None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            flush()
            fuzzy = False
            field = None
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#"):
            if cur is not None and ("msgstr" in cur or cur.get("msgstr_plural")):
                flush()
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            continue
        if line.startswith('"'):
            if field is None or cur is None:
                raise ValueError(f"{path}: continuation without keyword: {raw!r}")
            key, idx = field
            if idx is None:
                cur[key] += _unquote(line)
            else:
                cur[key][idx] += _unquote(line)
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgctxt", "msgid") and cur is not None and (
            "msgstr" in cur or cur.get("msgstr_plural")
        ):
            flush()
        if cur is None:
            cur = {"msgctxt": None, "msgid_plural": None, "fuzzy": fuzzy}
        if keyword.startswith("msgstr["):
            idx = int(keyword[len("msgstr[") : -1])
            cur.setdefault("msgstr_plural", {})[idx] = _unquote(rest)
            field = ("msgstr_plural", idx)
        elif keyword in ("msgctxt", "msgid", "msgid_plural", "msgstr"):
            cur[keyword] = _unquote(rest)
            field = (keyword, None)
        else:
            raise ValueError(f"{path}: unexpected line {raw!r}")
    flush()
    return entries


def _catalog_key(entry: dict):
    msgid = entry["msgid"]
    if entry["msgctxt"] is not None:
        msgid = f"{entry['msgctxt']}\x04{msgid}"
    return msgid


def compile_po(entries: list[dict]) -> dict:
    """Build the catalogue that ``gettext.GNUTranslations`` would read from a compiled
    .mo: fuzzy and untranslated entries are dropped, plural forms are keyed by
    ``(msgid, n)``."""
    catalog: dict = {}
    for e in entries:
        if e["fuzzy"] and e["msgid"]:
            continue
        key = _catalog_key(e)
        if e["msgid_plural"] is not None:
            forms = e.get("msgstr_plural", {})
            if not all(forms.values()):
                continue
            for n, s in forms.items():
                catalog[(key, n)] = s
        else:
            if not e.get("msgstr"):
                continue
            catalog[key] = e["msgstr"]
    return catalog


def load_mo(path: Path) -> dict:
    with path.open("rb") as fp:
        return dict(gettext.GNUTranslations(fp)._catalog)


def _wagtail_zh_catalogue(domain: str) -> dict:
    """Union of all of Wagtail's compiled zh_Hans catalogues for ``domain``."""
    merged: dict = {}
    for mo in sorted(_wagtail_dir().glob(f"**/locale/zh_Hans/LC_MESSAGES/{domain}.mo")):
        merged.update(load_mo(mo))
    return merged


def _is_translated(entry: dict, catalog: dict) -> bool:
    key = _catalog_key(entry)
    if entry["msgid_plural"] is not None:
        return bool(catalog.get((key, 0)))
    return bool(catalog.get(key))


def test_admin_coverage_is_at_least_99_percent():
    wagtail = _wagtail_dir()
    combined = _wagtail_zh_catalogue("django")
    combined.update(load_mo(PROJECT_LOCALE / "django.mo"))

    total = 0
    missing: list[str] = []
    for app in ADMIN_APPS:
        po = wagtail / app / "locale" / "en" / "LC_MESSAGES" / "django.po"
        assert po.exists(), po
        for entry in parse_po(po):
            if not entry["msgid"]:
                continue  # header
            total += 1
            if not _is_translated(entry, combined):
                missing.append(f"[{app or 'wagtail'}] {entry['msgid']!r}")

    coverage = 1 - len(missing) / total
    print(f"zh_Hans admin coverage: {coverage:.2%} ({total - len(missing)}/{total})")
    for m in missing:
        print("untranslated:", m)
    assert coverage >= MIN_COVERAGE, f"only {coverage:.2%} translated; see output"


def test_js_catalogue_coverage():
    po = _wagtail_dir() / "admin" / "locale" / "en" / "LC_MESSAGES" / "djangojs.po"
    combined = _wagtail_zh_catalogue("djangojs")
    combined.update(load_mo(PROJECT_LOCALE / "djangojs.mo"))
    entries = [e for e in parse_po(po) if e["msgid"]]
    missing = [e["msgid"] for e in entries if not _is_translated(e, combined)]
    for m in missing:
        print("untranslated:", repr(m))
    assert 1 - len(missing) / len(entries) >= MIN_COVERAGE


@pytest.mark.parametrize("domain", DOMAINS)
def test_po_header(domain):
    header = next(e for e in parse_po(PROJECT_LOCALE / f"{domain}.po") if e["msgid"] == "")
    text = header["msgstr"]
    assert "Content-Type: text/plain; charset=UTF-8" in text
    assert "Plural-Forms: nplurals=1; plural=0;" in text
    assert "Language: zh_Hans" in text


@pytest.mark.parametrize("domain", DOMAINS)
def test_mo_is_up_to_date(domain):
    po_path = PROJECT_LOCALE / f"{domain}.po"
    mo_path = PROJECT_LOCALE / f"{domain}.mo"
    assert mo_path.exists(), f"{mo_path} missing; run msgfmt --check-format -o {mo_path} {po_path}"

    expected = compile_po(parse_po(po_path))
    actual = load_mo(mo_path)
    # GNU msgfmt drops the POT-Creation-Date line from the header; ignore it.
    for catalog in (expected, actual):
        catalog[""] = "".join(
            line
            for line in catalog.get("", "").splitlines(keepends=True)
            if not line.startswith("POT-Creation-Date:")
        )
    stale = sorted(
        repr(k) for k in expected.keys() | actual.keys() if expected.get(k) != actual.get(k)
    )
    assert not stale, (
        f"{mo_path.name} is out of date with {po_path.name} "
        f"(recompile with msgfmt --check-format); differing keys: {stale[:20]}"
    )


@pytest.mark.parametrize("domain", DOMAINS)
def test_entries_are_translated_and_keep_placeholders(domain):
    import re

    placeholder = re.compile(r"%\([A-Za-z0-9_]+\)[sdif]|%[sdif]|\{[A-Za-z0-9_]*\}")
    problems = []
    for e in parse_po(PROJECT_LOCALE / f"{domain}.po"):
        if not e["msgid"]:
            continue
        if e["msgid_plural"] is not None:
            source, targets = e["msgid_plural"], list(e.get("msgstr_plural", {}).values())
        else:
            source, targets = e["msgid"], [e.get("msgstr", "")]
        for t in targets:
            if not t or e["fuzzy"]:
                problems.append(f"untranslated/fuzzy: {e['msgid']!r}")
            elif sorted(placeholder.findall(t)) != sorted(placeholder.findall(source)):
                problems.append(f"placeholders differ: {e['msgid']!r} -> {t!r}")
    assert not problems, "\n".join(problems)
