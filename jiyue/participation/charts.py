"""Server-rendered SVG bar charts for survey results (no script, no library; CSP-clean: only
presentation attributes). Every text is escaped here; the result is safe to insert as markup."""

from __future__ import annotations

from html import escape

from django.utils.translation import gettext as _

ROW = 28
LABEL_W = 220
BAR_W = 360
COUNT_W = 90


def _short(text: str, limit: int = 16) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def bar_chart(title: str, bars) -> str:
    """A horizontal bar per option (label, count, percentage)."""
    height = ROW * max(1, len(bars)) + 8
    width = LABEL_W + BAR_W + COUNT_W
    top = max([b.count for b in bars] or [0]) or 1
    desc = _("%(title)s：各选项人数") % {"title": title}
    parts = [f'<svg class="pc-chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(desc)}</title>"]
    for i, b in enumerate(bars):
        y = 4 + i * ROW
        w = round(BAR_W * b.count / top)
        label = escape(_short(b.label))
        value = escape(_("%(n)s 人（%(p)s%%）") % {"n": b.count, "p": b.pct})
        tip = escape(_("%(label)s：%(n)s 人（%(p)s%%）") % {"label": b.label, "n": b.count, "p": b.pct})
        parts.append(
            f'<g><title>{tip}</title>'
            f'<text x="{LABEL_W - 8}" y="{y + 18}" text-anchor="end" font-size="14" fill="#1f1f1f">{label}</text>'
            f'<rect x="{LABEL_W}" y="{y + 4}" width="{BAR_W}" height="18" fill="#eeeeee"/>'
            f'<rect x="{LABEL_W}" y="{y + 4}" width="{w}" height="18" fill="#1f5fa8"/>'
            f'<text x="{LABEL_W + BAR_W + 8}" y="{y + 18}" font-size="14" fill="#1f1f1f">{value}</text></g>')
    parts.append("</svg>")
    return "".join(parts)
