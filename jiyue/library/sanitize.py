"""Rich text is sanitised on save: no script, no event handlers, no javascript: URLs."""

import nh3

TAGS = {"p", "br", "h2", "h3", "h4", "h5", "h6", "strong", "b", "em", "i", "u", "s", "sub", "sup",
        "ul", "ol", "li", "blockquote", "a", "table", "thead", "tbody", "tr", "th", "td",
        "caption", "hr", "embed", "img", "figure", "figcaption", "span", "div", "code", "pre"}
ATTRIBUTES = {
    "a": {"href", "linktype", "id", "title", "target"},
    "embed": {"embedtype", "id", "format", "alt", "url"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan", "scope"},
    "*": {"class"},
}
SCHEMES = {"http", "https", "mailto", "tel"}


def clean_html(html: str) -> str:
    if not html:
        return html
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=SCHEMES,
                     link_rel=None, strip_comments=True)
