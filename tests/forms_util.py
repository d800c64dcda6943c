"""HTML forms as a browser sees them: their action, method and the values a browser would send
(lxml). Used to fill and submit the forms the payload corpus discovers."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import html as lhtml


@dataclass
class Form:
    action: str
    method: str
    enctype: str
    fields: dict[str, str] = field(default_factory=dict)   # name -> the value a browser sends
    kinds: dict[str, str] = field(default_factory=dict)    # name -> input type / select / textarea
    files: list[str] = field(default_factory=list)         # names of file inputs

    @property
    def text_fields(self) -> list[str]:
        """Fields a visitor types into or chooses (not the CSRF token, not buttons)."""
        return [n for n, k in self.kinds.items()
                if n != "csrfmiddlewaretoken" and k not in ("submit", "button", "image", "reset")]


def parse_forms(content: bytes | str, base: str = "") -> list[Form]:
    if not content:
        return []
    doc = lhtml.fromstring(content)
    out = []
    for f in doc.xpath("//form"):
        form = Form(action=f.get("action") if f.get("action") is not None else base,
                    method=(f.get("method") or "get").lower(),
                    enctype=(f.get("enctype") or "application/x-www-form-urlencoded").lower())
        for el in f.xpath(".//input|.//select|.//textarea|.//button"):
            name = el.get("name")
            if not name or el.get("disabled") is not None:
                continue
            if el.tag == "input":
                kind = (el.get("type") or "text").lower()
                if kind == "file":
                    form.files.append(name)
                    form.kinds[name] = kind
                    continue
                if kind in ("checkbox", "radio"):
                    form.kinds.setdefault(name, kind)
                    if el.get("checked") is not None:
                        form.fields[name] = el.get("value", "on")
                    continue
                form.kinds[name] = kind
                if kind not in ("submit", "button", "image", "reset"):
                    form.fields[name] = el.get("value", "")
            elif el.tag == "select":
                form.kinds[name] = "select"
                options = el.xpath(".//option")
                chosen = [o for o in options if o.get("selected") is not None] or options[:1]
                if chosen:
                    form.fields[name] = chosen[0].get("value", chosen[0].text_content())
            elif el.tag == "textarea":
                form.kinds[name] = "textarea"
                form.fields[name] = el.text or ""
            else:
                form.kinds[name] = "button"
        out.append(form)
    return out
