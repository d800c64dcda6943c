"""Forms of search: the operator's dictionary words and synonym groups, and the parameters of a
search (the public page and the API read them through `SearchParams.parse`)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import DictionaryTerm, SynonymGroup

WORD_RE = re.compile(r"^[\w\u3400-\u9fff·\-－]+$")
SEPARATORS = re.compile(r"[,，、;；\s]+")


def clean_word(value: str, max_length: int = 40) -> str:
    """A word as the dictionary and the synonyms hold it: NFKC, trimmed, one word (letters,
    digits, Chinese characters, · and -), not too long."""
    word = unicodedata.normalize("NFKC", value or "").strip()
    if not word:
        raise ValidationError(_("请填写词语。"))
    if len(word) > max_length:
        raise ValidationError(_("词语不能超过 %(n)s 个字符。") % {"n": max_length})
    if not WORD_RE.match(word) or "_" in word:
        raise ValidationError(_("“%(w)s”不是一个词语：只能包含汉字、字母、数字、间隔号和连字符，不能有空格或标点。")
                              % {"w": word[:40]})
    return word


class DictionaryTermForm(forms.ModelForm):
    class Meta:
        model = DictionaryTerm
        fields = ["word", "freq", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["word"].error_messages["required"] = _("请填写词语。")
        self.fields["word"].validators = []  # clean_word says what is wrong, in one message
        self.fields["freq"].widget.attrs["max"] = 10_000_000

    def clean_word(self):
        word = clean_word(self.cleaned_data.get("word", ""))
        clash = DictionaryTerm.objects.filter(word=word)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError(_("词典中已有“%(w)s”。") % {"w": word})
        return word

    def clean_freq(self):
        freq = self.cleaned_data.get("freq")
        if freq is not None and not 1 <= freq <= 10_000_000:
            raise ValidationError(_("词频须在 1 至 10000000 之间，或留空。"))
        return freq

    def clean_note(self):
        return (self.cleaned_data.get("note") or "").strip()


class SynonymGroupForm(forms.ModelForm):
    class Meta:
        model = SynonymGroup
        fields = ["terms", "kind", "enabled", "note"]
        widgets = {"terms": forms.TextInput(attrs={"placeholder": gettext_lazy("如：社保,社会保险")})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["terms"].error_messages["required"] = _("请填写同义词，用逗号分隔。")
        self.fields["terms"].validators = []

    def clean_terms(self):
        raw = self.cleaned_data.get("terms", "")
        words, seen = [], set()
        errors = []
        for part in SEPARATORS.split(unicodedata.normalize("NFKC", raw or "")):
            if not part:
                continue
            try:
                w = clean_word(part, max_length=30)
            except ValidationError as exc:
                errors.extend(exc.messages)
                continue
            if w.lower() not in seen:
                seen.add(w.lower())
                words.append(w)
        if errors:
            raise ValidationError(errors)
        if len(words) < 2:
            raise ValidationError(_("一组同义词至少要有两个不同的词语，用逗号分隔。"))
        if len(words) > 20:
            raise ValidationError(_("一组同义词最多 20 个词语。"))
        terms = ",".join(words)
        if len(terms) > 500:
            raise ValidationError(_("词语合计不能超过 500 个字符。"))
        return terms

    def clean_note(self):
        return (self.cleaned_data.get("note") or "").strip()


# --- search parameters -------------------------------------------------------------------

SCOPES = ("site", "placed", "all")
SORTS = ("relevance", "date")
MAX_PAGE = 100          # deeper pages are not useful to anyone and cost the engine
MAX_PAGE_SIZE = 50
MAX_Q = 100             # characters of a query that are searched (the rest is ignored)


class ParamError(ValueError):
    """A parameter the API refuses (the page ignores it instead): `name` and a Chinese message."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name
        self.message = message


@dataclass
class SearchParams:
    q: str = ""
    scope: str | None = None
    site: str | None = None        # a facet: only what is live on this site
    org: int | None = None
    kind: str | None = None
    topic: int | None = None
    year: int | None = None
    sort: str = "relevance"
    page: int = 1
    page_size: int = 10

    @classmethod
    def parse(cls, data, *, strict: bool, page_size: int = 10) -> "SearchParams":
        """From a QueryDict or dict. strict (the API): a bad value raises ParamError with a
        Chinese message; lenient (the page): a bad value is dropped (the page still answers)."""
        p = cls(page_size=page_size)
        errors: list[ParamError] = []

        def get(name):
            value = data.get(name)
            if value is None:
                return None
            value = str(value).replace("\x00", "").strip()
            return value or None

        def fail(name, message):
            errors.append(ParamError(name, message))

        q = data.get("q")
        p.q = (str(q) if q is not None else "").replace("\x00", "")
        p.q = " ".join(p.q.split())[:MAX_Q]
        scope = get("scope")
        if scope is not None:
            if scope in SCOPES:
                p.scope = scope
            else:
                fail("scope", _("scope 须为 site（本站）、placed（本站及引用）或 all（全平台）。"))
        site = get("site")
        if site is not None:
            if re.fullmatch(r"[0-9A-Za-z]{1,32}", site):
                p.site = site
            else:
                fail("site", _("site 须为网站标识码。"))
        for name, lo, hi in (("org", 1, 2**63 - 1), ("topic", 1, 2**63 - 1), ("year", 1900, 2999),
                             ("page", 1, MAX_PAGE), ("page_size", 1, MAX_PAGE_SIZE)):
            raw = get(name)
            if raw is None:
                continue
            try:
                value = int(raw)
            except ValueError:
                fail(name, _("%(name)s 须为整数。") % {"name": name})
                continue
            if not lo <= value <= hi:
                if name == "page" and not strict and value > hi:
                    value = hi
                else:
                    fail(name, _("%(name)s 须在 %(lo)s 至 %(hi)s 之间。")
                         % {"name": name, "lo": lo, "hi": hi})
                    continue
            setattr(p, name, value)
        kind = get("kind")
        if kind is not None:
            from jiyue.library.kinds import kinds

            if kind in kinds() and kind != "link":
                p.kind = kind
            else:
                fail("kind", _("未知的资源类型“%(kind)s”，可选：%(choices)s。")
                     % {"kind": kind[:40], "choices": _("、").join(k for k in kinds() if k != "link")})
        sort = get("sort")
        if sort is not None:
            if sort in SORTS:
                p.sort = sort
            else:
                fail("sort", _("sort 须为 relevance（相关度）或 date（时间）。"))
        if errors and strict:
            raise errors[0]
        return p
