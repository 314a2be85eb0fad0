"""HTML rendering of :class:`~jdeval.report.document.Report` sections.

Everything goes through Jinja2 templates with autoescape on
(``templates/html/*.html.j2``): paragraph text, table cells, captions and cover
fields are escaped, so data such as a firm name ``<script>…`` stays text.  Images
are inlined as base64 PNG so the HTML works offline.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache

from markupsafe import Markup

from jdeval.report.document import Figure, Paragraph, Report, Section, Table
from jdeval.report.textenv import TEMPLATE_DIR, html_env

__all__ = ["report_html", "section_html", "style_tag", "table_rows"]

_MARKS = {"—*", "—"}
_NUMERIC = re.compile(r"^[−\-+]?[\d,]+(\.\d+)?(%|万元)?$")


@lru_cache(maxsize=1)
def css() -> str:
    """The report stylesheet."""
    return (TEMPLATE_DIR / "html" / "report.css").read_text(encoding="utf-8")


def style_tag() -> Markup:
    """``<style>`` element with the report CSS (for notebook display)."""
    return Markup("<style>") + Markup(css()) + Markup("</style>")


def table_rows(t: Table) -> tuple[list[str], list[list[dict]]]:
    """Header and cells of a table (strings; numeric cells flagged for alignment)."""
    f = t.frame
    header = ([str(f.index.name or "")] if t.index else []) + [
        str(c) for c in f.columns
    ]
    rows = []
    for idx, rec in zip(f.index, f.itertuples(index=False)):
        cells = [{"text": str(idx), "num": False}] if t.index else []
        for v in rec:
            s = "" if v is None else str(v)
            cells.append({"text": s, "num": bool(_NUMERIC.match(s)) or s in _MARKS})
        rows.append(cells)
    return header, rows


def _block(b) -> dict:
    if isinstance(b, Paragraph):
        return {"kind": "p", "text": b.text, "style": b.style}
    if isinstance(b, Table):
        header, rows = table_rows(b)
        return {
            "kind": "table",
            "label": b.label,
            "caption": b.caption,
            "header": header,
            "rows": rows,
            "footnote": b.footnote,
        }
    if isinstance(b, Figure):
        return {
            "kind": "figure",
            "label": b.label,
            "caption": b.caption,
            "note": b.note,
            "data": base64.b64encode(b.png).decode("ascii"),
        }
    raise TypeError(f"unknown block {type(b).__name__}")


def section_html(section: Section) -> str:
    """HTML fragment of one section (heading, paragraphs, tables, figures)."""
    tpl = html_env().get_template("html/section.html.j2")
    return tpl.render(section=section, blocks=[_block(b) for b in section.blocks])


def report_html(report: Report, *, standalone: bool = True) -> str:
    """The whole report as one HTML document (or fragment)."""
    tpl = html_env().get_template("html/report.html.j2")
    parts = [Markup(section_html(s)) for s in report.sections]
    return tpl.render(
        report=report, sections=parts, css=Markup(css()), standalone=standalone
    )
