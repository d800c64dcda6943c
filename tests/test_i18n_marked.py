"""Guard: every user-facing Chinese string of jiyue's own is marked for translation.

The source language of jiyue's strings is Simplified Chinese (the msgids are
Chinese).  These tests parse the Python sources and the templates and fail on
any CJK text that is not wrapped in a translation call or tag, so that another
locale can be added later without hunting for literals.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "jiyue"

CJK = re.compile(r"[\u4e00-\u9fff。，：；？！（）“”、〔〕《》]")

# Pure data modules: their Chinese text is content, not interface.
EXCLUDED_FILES = {
    "demo/content.py",
    "library/vocab.py",
    "platform/column_templates.py",
    "qa/text.py",  # Q&A ranking's linguistic data: stop words, question types, synonyms
}

# Modules whose dict keys/values and list elements are data (maps of data
# values), while their other strings (printed messages) are interface.
DATA_LITERAL_FILES = {
    "demo/loader.py",
}

TRANSLATION_CALLS = {
    "_",
    "gettext",
    "gettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "ngettext",
    "ngettext_lazy",
    "format_lazy",
}

DATA_METHODS = {"startswith", "endswith", "replace", "split", "filter", "exclude", "get"}
# Of those, the ones whose keyword arguments are data too (queryset lookups).
DATA_KEYWORD_METHODS = {"filter", "exclude"}
RE_FUNCTIONS = {"compile", "match"}

# Explicit per-file exceptions: literals that are data, not interface.
ALLOWED: dict[str, set[str]] = {
    # The canonical written form of a 文号 (GB/T 9704) and the bracket variants it is
    # normalised from: stored data, the same in every interface language.
    "library/docnumber.py": {"[［【〔（(〖{", "]］】〕）)〗}", "〔", "〕", "第", "号"},
    # The stored default value of Column.column_type (a choice value, see Column.TYPES).
    "platform/models.py": {"信息发布"},
    # The unique name of the Django group behind a role grant: an identifier, not a label.
    "accounts/services.py": {"授权#"},
    # Example queries in the OpenAPI description of the search API: data a caller sends.
    "search/api.py": {"社保缴费", "皖政办〔2026〕3号", "公积"},
    # 文号 bracket variants normalised for lookup, and the sentence ends a snippet starts after.
    "search/engine.py": {"[［【〔（(〖{<《〈", "]］】〕）)〗}>》〉", "〔〕第", "。！？；"},
    # The CSV header of a knowledge-base file, the brackets folded when matching 处理单位 and the
    # last characters of organisation names (局, 厅, 委 …): file format and data.
    "qa/importer.py": {"问题", "答案", "处理单位", "（", "）", "〔", "〕", "局厅委办室院会部处心站所队馆"},
    # An example question in the OpenAPI description of the Q&A API: data a caller sends.
    "qa/api.py": {"公积金怎么提取？"},
}


def _python_files():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if "/migrations/" in f"/{rel}" or rel in EXCLUDED_FILES:
            continue
        yield rel, path


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                ids.add(id(body[0].value))
    return ids


def _is_translated_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _call_name(node.func) in TRANSLATION_CALLS


def _is_data_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    attr = node.func.attr
    if attr in DATA_METHODS:
        return True
    value = node.func.value
    return attr in RE_FUNCTIONS and isinstance(value, ast.Name) and value.id == "re"


def _allowed(const: ast.Constant, parents: dict[int, ast.AST], data_file: bool) -> bool:
    child: ast.AST = const
    parent = parents.get(id(child))
    # (b) argument of a translation call, directly or as the left side of `%`.
    if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Mod) and parent.left is child:
        if _is_translated_call(parents.get(id(parent))):
            return True
    if _is_translated_call(parent) and child in parent.args:
        return True
    # A piece of an f-string counts as that f-string for the data rules below.
    if isinstance(parent, ast.JoinedStr):
        child, parent = parent, parents.get(id(parent))
    # (d) comparisons, also against a literal tuple/list/set of values.
    container = parent
    if isinstance(container, (ast.Tuple, ast.List, ast.Set)):
        container = parents.get(id(container))
    if isinstance(container, ast.Compare) and all(
        isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) for op in container.ops
    ):
        return True
    # (d) arguments (positional or keyword) of data-matching calls.
    if _is_data_call(parent) and child in parent.args:
        return True
    if isinstance(parent, ast.keyword):
        call = parents.get(id(parent))
        if _is_data_call(call) and call.func.attr in DATA_KEYWORD_METHODS:
            return True
    # (d) keys looked up in data: `row["键"]`.
    if isinstance(parent, ast.Subscript) and parent.slice is child:
        return True
    # (e) stored value: first element of a 2-tuple inside a `choices=` list, or of a
    # (value, _("label")) pair wherever the choices are defined.
    if isinstance(parent, ast.Tuple) and len(parent.elts) == 2 and parent.elts[0] is child:
        if _is_translated_call(parent.elts[1]):
            return True
        seq = parents.get(id(parent))
        kw = parents.get(id(seq)) if isinstance(seq, (ast.List, ast.Tuple)) else None
        if isinstance(kw, ast.keyword) and kw.arg == "choices":
            return True
    # (c) dict keys/values and list elements in data modules.
    if data_file and isinstance(parent, (ast.Dict, ast.List)):
        return True
    return False


def unmarked_python_strings() -> list[str]:
    problems = []
    for rel, path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        parents: dict[int, ast.AST] = {}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                parents[id(child)] = node
        docstrings = _docstring_nodes(tree)
        data_file = rel in DATA_LITERAL_FILES
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            if not CJK.search(node.value) or id(node) in docstrings:
                continue
            if node.value in ALLOWED.get(rel, ()):
                continue
            if _allowed(node, parents, data_file):
                continue
            problems.append(f"jiyue/{rel}:{node.lineno}: {node.value!r}")
    return problems


def test_python_strings_are_marked_for_translation():
    problems = unmarked_python_strings()
    for line in problems:
        print(line)
    assert not problems, f"{len(problems)} unmarked user-facing string(s):\n" + "\n".join(problems)


_TEMPLATE_STRIP = [
    re.compile(r"<!--.*?-->", re.S),
    re.compile(r"{%\s*blocktranslate\b.*?%}.*?{%\s*endblocktranslate\s*%}", re.S),
    re.compile(r"{%\s*blocktrans\b.*?%}.*?{%\s*endblocktrans\s*%}", re.S),
    re.compile(r"{%\s*(?:translate|trans)\s.*?%}", re.S),
    re.compile(r"{#.*?#}", re.S),
    re.compile(r"{{.*?}}", re.S),
    re.compile(r"{%.*?%}", re.S),
]


def unmarked_template_text() -> list[str]:
    problems = []
    for path in sorted(ROOT.glob("**/templates/**/*.html")):
        text = path.read_text(encoding="utf-8")
        for pattern in _TEMPLATE_STRIP:
            text = pattern.sub(" ", text)
        for lineno, line in enumerate(text.splitlines(), 1):
            if CJK.search(line):
                rel = path.relative_to(ROOT.parent).as_posix()
                problems.append(f"{rel}: {line.strip()}")
    return problems


def test_template_text_is_marked_for_translation():
    problems = unmarked_template_text()
    for line in problems:
        print(line)
    assert not problems, f"{len(problems)} unmarked template text(s):\n" + "\n".join(problems)


def test_guard_catches_plain_literals(tmp_path):
    """The checker itself flags an unmarked literal and passes a marked one."""
    source = 'from django.utils.translation import gettext as _\nA = "未标记"\nB = _("已标记")\n'
    tree = ast.parse(source)
    parents = {id(c): n for n in ast.walk(tree) for c in ast.iter_child_nodes(n)}
    found = {
        n.value: _allowed(n, parents, False)
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and CJK.search(n.value)
    }
    assert found == {"未标记": False, "已标记": True}
