"""Word (.docx) rendering of a :class:`~jdeval.report.document.Report`.

Conventions of Chinese government documents (党政机关公文格式 GB/T 9704 style):
body text in 仿宋 (FangSong / 仿宋_GB2312) with a two-character first-line indent,
headings in 黑体 (SimHei), numbered 一、（一）1.; tables with borders and a repeated
bold header row; figures embedded with captions (图1 …) and tables captioned above
(表1 …); page numbers (a PAGE field) centred in the footer; a cover page without a
page number.  The document only *names* the fonts (East-Asian names set through
``w:eastAsia``); the reader's machine supplies them.
"""

from __future__ import annotations

import copy
import datetime as _dt
import io
import math
import re
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.text.paragraph import Paragraph as DocxParagraph

from jdeval.report.document import Figure, Paragraph, Report, Table
from jdeval.report.export import _atomic_write
from jdeval.report.html import table_rows

__all__ = ["BODY_FONT", "HEADING_FONT", "write_docx"]

BODY_FONT = ("FangSong", "仿宋_GB2312")  # (Latin name, East-Asian name)
BODY_FALLBACK = "仿宋"
HEADING_FONT = ("SimHei", "黑体")
TABLE_FONT_SIZE = Pt(10.5)  # 五号
BODY_SIZE = Pt(14)  # 四号
_BLACK = RGBColor(0, 0, 0)
_HEADING_SIZES = {0: Pt(16), 1: Pt(16), 2: Pt(14), 3: Pt(14)}


def _fonts(rpr_owner, latin: str, east_asia: str) -> None:
    """Set Latin and East-Asian font names on a run or style (w:rFonts)."""
    rpr = (
        rpr_owner.element.get_or_add_rPr()
        if hasattr(rpr_owner, "element")
        else rpr_owner
    )
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr, name in (
        ("w:ascii", latin),
        ("w:hAnsi", latin),
        ("w:eastAsia", east_asia),
        ("w:cs", latin),
    ):
        rfonts.set(qn(attr), name)


def _style_font(
    style,
    latin: str,
    east_asia: str,
    size,
    bold: bool | None = None,
    colour: RGBColor | None = _BLACK,
) -> None:
    style.font.name = latin
    style.font.size = size
    if bold is not None:
        style.font.bold = bold
    if colour is not None:
        style.font.color.rgb = colour
    _fonts(style.element.get_or_add_rPr(), latin, east_asia)


#: East-Asian language of the document (w:lang/@w:eastAsia): Chinese proofing and
#: line breaking.  Latin runs keep en-US (as Word does for a zh-CN document):
#: marking digits as zh-CN lets LibreOffice break inside numbers ("3,500.0|0").
LANG = "zh-CN"
LATIN_LANG = "en-US"


def _set_lang(rpr) -> None:
    """``<w:lang w:val="en-US" w:eastAsia="zh-CN"/>`` on a run-properties element."""
    el = rpr.find(qn("w:lang"))
    if el is None:
        el = OxmlElement("w:lang")
        rpr.append(el)
    el.set(qn("w:val"), LATIN_LANG)
    el.set(qn("w:eastAsia"), LANG)
    el.set(qn("w:bidi"), "ar-SA")


def _set_language(doc) -> None:
    """zh-CN in the document defaults, every paragraph style and the settings."""
    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    rpr_default = defaults.find(qn("w:rPrDefault"))
    if rpr_default is None:  # pragma: no cover - the default template has one
        rpr_default = OxmlElement("w:rPrDefault")
        defaults.insert(0, rpr_default)
    rpr = rpr_default.find(qn("w:rPr"))
    if rpr is None:  # pragma: no cover
        rpr = OxmlElement("w:rPr")
        rpr_default.append(rpr)
    _set_lang(rpr)
    for style in doc.styles:
        if style.type == 1:  # paragraph styles
            _set_lang(style.element.get_or_add_rPr())
    settings = doc.settings.element
    theme = settings.find(qn("w:themeFontLang"))
    if theme is None:
        theme = OxmlElement("w:themeFontLang")
        settings.append(theme)
    theme.set(qn("w:val"), LATIN_LANG)
    theme.set(qn("w:eastAsia"), LANG)


def _setup_styles(doc) -> None:
    st = doc.styles
    _style_font(st["Normal"], BODY_FONT[0], BODY_FONT[1], BODY_SIZE)
    pf = st["Normal"].paragraph_format
    pf.line_spacing = 1.5
    pf.space_after = Pt(0)
    for lvl in (1, 2, 3):
        s = st[f"Heading {lvl}"]
        _style_font(
            s, HEADING_FONT[0], HEADING_FONT[1], _HEADING_SIZES[lvl], bold=lvl > 1
        )
        s.font.italic = False
        s.paragraph_format.space_before = Pt(12 if lvl == 1 else 6)
        s.paragraph_format.space_after = Pt(6)
        s.paragraph_format.keep_with_next = True
    s = st["Title"]
    _style_font(s, HEADING_FONT[0], HEADING_FONT[1], Pt(22), bold=True)
    s.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    cap = st["Caption"]
    _style_font(cap, HEADING_FONT[0], HEADING_FONT[1], Pt(10.5), bold=False)
    cap.font.italic = False
    cap.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _run(par, text: str, *, size=None, bold=None, font=BODY_FONT):
    r = par.add_run(text)
    _fonts(r._r.get_or_add_rPr(), font[0], font[1])
    if size is not None:
        r.font.size = size
    if bold is not None:
        r.bold = bold
    return r


def _field(par, instr: str) -> None:
    """Insert a complex field (e.g. ``PAGE``) into a paragraph."""
    for kind, text in (
        ("begin", None),
        ("instr", instr),
        ("separate", None),
        ("text", "1"),
        ("end", None),
    ):
        r = par.add_run()
        if kind == "instr":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = f" {text} "
        elif kind == "text":
            el = OxmlElement("w:t")
            el.text = text
        else:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        r._r.append(el)


def _footer_page_numbers(section) -> None:
    section.different_first_page_header_footer = True  # no number on the cover
    par = section.footer.paragraphs[0]
    par.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(par, "— ", size=Pt(12))
    _field(par, "PAGE")
    _run(par, " —", size=Pt(12))


#: A formatted cell paragraph per (bold, align, size), copied for every cell.
_CELL_PARS: dict[tuple, Any] = {}


def _cell_text(
    cell, text: str, *, bold: bool = False, align=None, size=TABLE_FONT_SIZE
) -> None:
    """Set a table cell to one formatted run of ``text``.

    Hand-written fast path: python-docx inserts every formatting element through
    a schema-ordered search, which made tables most of the Word file's time; the
    paragraph is formatted through python-docx once per style and copied as XML.
    Text with tabs or line breaks takes python-docx's own path.
    """
    key = (bold, align, size)
    proto = _CELL_PARS.get(key)
    if proto is None or any(c in text for c in "\t\n\r"):
        cell.text = ""
        par = cell.paragraphs[0]
        par.paragraph_format.first_line_indent = Pt(0)
        par.paragraph_format.line_spacing = 1.0
        par.paragraph_format.space_before = Pt(1)
        par.paragraph_format.space_after = Pt(1)
        if align is not None:
            par.alignment = align
        _run(par, text, size=size, bold=bold)
        if proto is None and text and not any(c in text for c in "\t\n\r"):
            _CELL_PARS[key] = copy.deepcopy(par._p)
        return
    p = copy.deepcopy(proto)
    t = p.find(f"{qn('w:r')}/{qn('w:t')}")
    if not text:  # as python-docx: an empty run has no text element
        t.getparent().remove(t)
    t.text = text
    space = qn("xml:space")
    if text.strip() != text:
        t.set(space, "preserve")
    elif space in t.attrib:
        del t.attrib[space]
    tc = cell._tc
    for old in tc.findall(qn("w:p")):
        tc.remove(old)
    tc.append(p)


def _shade(cell, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tcpr.append(shd)


def _borders(table) -> None:
    """Explicit single borders on every edge (independent of the table style)."""
    tblpr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), "4")
        el.set(qn("w:space"), "0")
        el.set(qn("w:color"), "000000")
        borders.append(el)
    tblpr.append(borders)


def _caption(doc, text: str, *, keep: bool = True) -> None:
    par = doc.add_paragraph(style="Caption")
    par.paragraph_format.first_line_indent = Pt(0)
    par.paragraph_format.keep_with_next = keep
    _run(par, text, size=Pt(10.5), font=HEADING_FONT)


def _note(doc, text: str) -> None:
    par = doc.add_paragraph()
    par.paragraph_format.first_line_indent = Pt(0)
    par.paragraph_format.line_spacing = 1.0
    _run(par, text, size=Pt(9))


_WIDE_LATIN = frozenset("%@MWmw")
_NARROW_LATIN = frozenset(".,:;'|!il")


def _em(text: str) -> float:
    """Printed width of ``text`` in em, erring wide.  CJK and full-width forms 1;
    Latin as set by the widest usual fallback font (DejaVu Sans: digits 0.64,
    ``%`` 0.95), since the document only names 仿宋 (digits 0.5 em) and a reader
    without it gets a wider face."""
    return sum(
        1.0
        if ord(ch) > 0x2E7F
        else 0.95
        if ch in _WIDE_LATIN
        else 0.36
        if ch in _NARROW_LATIN
        else 0.66
        for ch in text
    )


#: A run Word cannot break inside: digits, Latin letters and the punctuation that
#: sticks to them (3,135.00 / 95% / 2024-12-31 / P90 / [0.1, 0.2] pieces).  An
#: opening full-width bracket after a number sticks to both sides too (Unicode
#: line breaking: PO × OP, OP ×): "89.6%（3,135.00" is one run; a closing one
#: never starts a line (× CL): "+65.7%）" is one run.
_UNBREAKABLE = re.compile(r"[0-9A-Za-z.,:%/+\-−–~·×÷()\[\]<>≤≥＝（）]+")

#: Short labels (成本指标, 达成) up to this many em are never wrapped.
LABEL_EM = 4.0
#: Width (em) a numeric column's header wraps to when the page is short.
NUM_HEAD_EM = 3.0
#: Left + right cell margins (cm) of the default table style, plus slack.
CELL_PAD_CM = 0.5


def min_em(text: str) -> float:
    """Width (em) of the widest piece of ``text`` that must not be broken: a run
    of digits/Latin (a number, a date) or, in a numeric cell, the whole cell."""
    runs = [_em(m) for m in _UNBREAKABLE.findall(text)]
    cjk = 1.0 if any(ord(ch) > 0x2E7F for ch in text) else 0.0
    return max(runs + [cjk])


def _col_widths(
    header: list[str], rows: list[list[dict]], total_cm: float, size_pt: float
) -> list[float] | None:
    """Column widths (cm) that keep every number on one line.

    Each column first gets its minimum: the whole text of numeric cells, the
    widest unbreakable run of text cells (so ``3,135.00万元`` never splits inside
    the number) and two characters of its header.  What is left of the page
    width goes to the columns whose content is longer than their minimum, in
    proportion to the square root of the missing width (long remarks get more
    room without starving short labels).  ``None`` when the minimums alone do
    not fit (the caller retries with a smaller font).
    """
    em_cm = size_pt / 28.35
    need: list[float] = []
    want: list[float] = []
    want_wrap: list[float] = []
    for j, h in enumerate(header):
        body = [r[j] for r in rows]
        numeric = bool(body) and all(c["num"] or not c["text"] for c in body)
        texts = [c["text"] for c in body]
        lo = max(
            [
                _em(t) if numeric else max(min_em(t), min(_em(t), LABEL_EM))
                for t in texts
            ]
            + [min(_em(h), NUM_HEAD_EM if numeric else LABEL_EM), min_em(h)]
        )
        hi = max([_em(t) for t in texts] + [_em(h), lo])
        # when the page is short, a numeric column's header wraps to the width
        # of a short label, so long headers (2023年得分率) do not starve a text
        # column (三级指标)
        head = min(_em(h), max(NUM_HEAD_EM, *map(_em, texts))) if numeric else _em(h)
        hi_wrap = max([_em(t) for t in texts] + [head, lo])
        need.append(lo * em_cm + CELL_PAD_CM)
        want.append(min(hi, 40.0) * em_cm + CELL_PAD_CM)
        want_wrap.append(min(hi_wrap, 40.0) * em_cm + CELL_PAD_CM)
    if sum(want) > total_cm:
        want = want_wrap
    rest = total_cm - sum(need)
    if rest < 0:
        return None
    extra = [max(w - n, 0.0) for w, n in zip(want, need)]
    widths = list(need)
    open_ = [j for j, x in enumerate(extra) if x > 0]
    while open_ and rest > 1e-9:  # water-filling, capped at each column's want
        root = {j: extra[j] ** 0.5 for j in open_}
        tot = sum(root.values())
        give = {j: min(rest * r / tot, want[j] - widths[j]) for j, r in root.items()}
        for j, g in give.items():
            widths[j] += g
        rest -= sum(give.values())
        open_ = [j for j in open_ if want[j] - widths[j] > 1e-9]
    return widths


#: Table font sizes tried in order (五号, 小五, 六号) until every number fits.
_TABLE_SIZES = (Pt(10.5), Pt(9), Pt(7.5))
#: Tables up to this many body rows are kept on one page with their caption.
KEEP_TOGETHER_ROWS = 12
#: The last rows of a longer table stay with the row before them (no widow
#: rows alone on a page).
WIDOW_ROWS = 3


def table_layout(
    header: list[str], rows: list[list[dict]], width_cm: float
) -> tuple[Pt, list[float]]:
    """Font size and column widths (cm) for a table: the largest size at which
    no number breaks; at the smallest size, proportional widths as a last resort."""
    start = 0 if len(header) <= 6 else 1
    for size in _TABLE_SIZES[start:]:
        widths = _col_widths(header, rows, width_cm, size.pt)
        if widths is not None:
            return size, widths
    size = _TABLE_SIZES[-1]
    em_cm = size.pt / 28.35
    need = [
        max([min_em(r[j]["text"]) for r in rows] + [min_em(h)]) * em_cm + CELL_PAD_CM
        for j, h in enumerate(header)
    ]
    return size, [width_cm * n / sum(need) for n in need]


def _keep_row(i: int, n: int, keep: bool, note: bool) -> bool:
    """Whether body row ``i`` (1-based) of ``n`` is kept with what follows it: all
    rows of a short table; the last :data:`WIDOW_ROWS` rows and the one before
    them of a long one; the last row with the table's note."""
    if i == n:
        return note
    return keep or i >= n - WIDOW_ROWS


def _row_flag(row, tag: str) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement(tag)
    el.set(qn("w:val"), "true")
    trpr.append(el)


def _tuck_break(doc) -> None:
    """Keep a section break from printing a blank page.

    python-docx ends a section with a new empty paragraph holding the break; after
    a table and its note that fill a page, that paragraph (and the spacer before
    it) spill onto a page of their own, printed blank.  An empty spacer before it
    is dropped and the break moves into the paragraph before it; after a table,
    where it cannot, its paragraph is made 1 pt high.
    """
    body = doc.element.body
    brk = body[-2]  # the paragraph closing the previous section; body[-1]: sectPr
    prev = brk.getprevious()
    if _is_spacer(prev):  # the space after a table: the break takes its place
        body.remove(prev)
        prev = brk.getprevious()
    ppr = brk.find(qn("w:pPr"))
    if prev is not None and prev.tag == qn("w:p"):
        if prev.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") is None:
            prev.get_or_add_pPr().append(ppr.find(qn("w:sectPr")))
            body.remove(brk)
            return
    fmt = DocxParagraph(brk, doc._body).paragraph_format
    fmt.line_spacing, fmt.space_before, fmt.space_after = Pt(1), Pt(0), Pt(0)


def _is_spacer(el) -> bool:
    """An empty paragraph (no run): the space left after a table."""
    return el is not None and el.tag == qn("w:p") and el.find(qn("w:r")) is None


def _orient(doc, landscape: bool) -> float:
    """Start a new page section in the given orientation; return its text width
    (cm).  Margins, footer and page numbering carry over."""
    prev = doc.sections[-1]
    sec = doc.add_section(WD_SECTION.NEW_PAGE)
    _tuck_break(doc)
    sec.different_first_page_header_footer = False
    short, long_ = Cm(21.0), Cm(29.7)
    if landscape:
        sec.orientation = WD_ORIENT.LANDSCAPE
        sec.page_width, sec.page_height = long_, short
    else:
        sec.orientation = WD_ORIENT.PORTRAIT
        sec.page_width, sec.page_height = short, long_
    for side in ("top_margin", "bottom_margin", "left_margin", "right_margin"):
        setattr(sec, side, getattr(prev, side))
    return (sec.page_width - sec.left_margin - sec.right_margin) / 360000 * 0.95


def needs_landscape(header: list[str], rows: list[list[dict]], width_cm: float) -> bool:
    """A table whose numbers cannot all stay unbroken at 9 pt on a portrait page
    is printed on a landscape page."""
    return _col_widths(header, rows, width_cm, _TABLE_SIZES[1].pt) is None


def _add_table(
    doc,
    t: Table,
    width_cm: float = 15.5,
    *,
    numbered: bool = True,
    landscape_cm: float | None = None,
) -> None:
    """Add a captioned table.  A table too wide for a portrait page gets its own
    landscape pages (``landscape_cm``: the caller already opened them)."""
    header, rows = table_rows(t)
    wide = landscape_cm is not None or needs_landscape(header, rows, width_cm)
    if landscape_cm is not None:
        width_cm = landscape_cm
    elif wide:
        width_cm = _orient(doc, landscape=True)
    _caption(doc, f"{t.label} {t.caption}" if numbered else t.caption)
    table = doc.add_table(rows=1 + len(rows), cols=len(header))
    table.autofit = False
    size, widths = table_layout(header, rows, width_cm)
    try:
        table.style = doc.styles["Table Grid"]
    except KeyError:  # pragma: no cover - the default template has it
        pass
    _borders(table)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    keep = len(rows) <= KEEP_TOGETHER_ROWS
    # python-docx rebuilds every row object on each ``table.rows[i]``: list once
    trs = list(table.rows)
    for r in trs:
        _row_flag(r, "w:cantSplit")  # a row never breaks across pages
    hdr = trs[0]
    _row_flag(hdr, "w:tblHeader")  # repeat the header row on each page
    for j, h in enumerate(header):
        _cell_text(
            hdr.cells[j], h, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, size=size
        )
        hdr.cells[j].paragraphs[0].paragraph_format.keep_with_next = True
        _shade(hdr.cells[j], "E8EEF4")
    for i, row in enumerate(rows, 1):
        cells = trs[i].cells
        for j, c in enumerate(row):
            _cell_text(
                cells[j],
                c["text"],
                size=size,
                align=WD_ALIGN_PARAGRAPH.RIGHT if c["num"] else None,
            )
            if _keep_row(i, len(rows), keep, bool(t.footnote)):
                cells[j].paragraphs[0].paragraph_format.keep_with_next = True
    for j, w in enumerate(widths):
        table.columns[j].width = Cm(w)
    for tr in trs:  # every cell of a plain grid: by row, not by (slow) column
        for tc, w in zip(tr._tr.tc_lst, widths):
            tc.width = Cm(w)
    if t.footnote:
        _note(doc, t.footnote)
    if wide:
        _orient(doc, landscape=False)
    else:
        doc.add_paragraph().paragraph_format.line_spacing = 0.8


def figure_width_cm(f: Figure, text_width_cm: float) -> float:
    """Printed width of a figure: its drawn width, never wider than the text.

    Charts are drawn at the text width (:data:`jdeval.report.charts.WIDTH_IN`),
    so they print unscaled and their font sizes are the printed sizes.
    """
    drawn = f.width_in * 2.54 if f.width_in else text_width_cm
    return min(drawn, text_width_cm)


def _add_figure(doc, f: Figure, width_cm: float) -> None:
    par = doc.add_paragraph()
    par.alignment = WD_ALIGN_PARAGRAPH.CENTER
    par.paragraph_format.first_line_indent = Pt(0)
    par.paragraph_format.line_spacing = 1.0
    par.paragraph_format.keep_with_next = True
    par.add_run().add_picture(io.BytesIO(f.png), width=Cm(figure_width_cm(f, width_cm)))
    _caption(doc, f"{f.label} {f.caption}", keep=bool(f.note))
    if f.note:
        _note(doc, f.note)


def _add_paragraph(doc, p: Paragraph) -> None:
    par = doc.add_paragraph()
    if p.style == "note":
        par.paragraph_format.first_line_indent = Pt(0)
        _run(par, p.text, size=Pt(10.5))
        return
    par.paragraph_format.first_line_indent = Pt(2 * BODY_SIZE.pt)
    par.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    if p.style == "lead":
        par.paragraph_format.keep_with_next = True
    _run(par, p.text, bold=True if p.style == "lead" else None)


def _cover(doc, report: Report) -> None:
    """Cover page: title, then the cover lines (:mod:`jdeval.report.cover`)."""
    for _ in range(2):
        doc.add_paragraph()
    t = doc.add_paragraph(style="Title")
    _run(t, report.title, size=Pt(22), bold=True, font=HEADING_FONT)
    for _ in range(3):
        doc.add_paragraph()
    for k, v in report.cover.items():
        par = doc.add_paragraph()
        pf = par.paragraph_format
        pf.left_indent = Cm(1.5 + 0.56 * (len(k) + 1))  # hang after the label
        pf.first_line_indent = -Cm(0.56 * (len(k) + 1))
        pf.line_spacing = 1.25
        pf.space_after = Pt(4)
        _run(par, f"{k}：", bold=True, font=HEADING_FONT)
        _run(par, v)
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


#: Text height (pt) of a portrait page left for 目录 entries (A4 less the
#: margins of :func:`build_document` and the 目录 heading).
TOC_ROOM_PT = (29.7 - 3.7 - 3.5) / 2.54 * 72 - 48
#: Line height of a CJK line as a multiple of its font size (LibreOffice's
#: fallback CJK faces set about 1.3-1.45; erring tall).
LINE_FACTOR = 1.5


def toc_entry_pt(n: int) -> float:
    """Font size (pt) of the 目录 entries: 小四 (12 pt) when ``n`` entries fit one
    page, else smaller (down to 9 pt) so the 目录 never spills a line or two onto
    a near-empty page."""
    fit = TOC_ROOM_PT / (max(n, 1) * LINE_FACTOR)
    return max(9.0, min(12.0, math.floor(fit * 2) / 2))


def _toc(doc, report: Report) -> None:
    """目录 page: an updatable TOC field (Word refreshes it on opening, see
    ``w:updateFields``); its cached result lists the headings so the page is
    not empty in viewers that do not update fields."""
    h = doc.add_paragraph()
    h.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(h, "目  录", size=Pt(16), bold=True, font=HEADING_FONT)
    par = doc.add_paragraph()
    par.paragraph_format.first_line_indent = Pt(0)
    _field_begin(par, 'TOC \\o "1-2" \\h \\z \\u')
    titles = [s for s in report.sections if s.level <= 2]
    size = toc_entry_pt(len(titles))
    for s in titles:
        entry = doc.add_paragraph()
        entry.paragraph_format.first_line_indent = Pt(0)
        entry.paragraph_format.left_indent = Pt(14 * max(0, s.level - 1))
        entry.paragraph_format.line_spacing = 1.0
        entry.paragraph_format.space_after = Pt(0)
        _run(entry, s.title, size=Pt(size))
    end = doc.add_paragraph()
    _field_end(end)
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    settings = doc.settings.element
    upd = settings.find(qn("w:updateFields"))
    if upd is None:
        upd = OxmlElement("w:updateFields")
        settings.append(upd)
    upd.set(qn("w:val"), "true")


def _field_begin(par, instr: str) -> None:
    for kind in ("begin", "instr", "separate"):
        r = par.add_run()
        if kind == "instr":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = f" {instr} "
        else:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        r._r.append(el)


def _field_end(par) -> None:
    el = OxmlElement("w:fldChar")
    el.set(qn("w:fldCharType"), "end")
    par.add_run()._r.append(el)


def _signature(doc, report: Report) -> None:
    """Signature block (签署页): the evaluation team and the signing roles."""
    if not (report.team or report.signatures):
        return
    h = doc.add_heading(level=1)
    h.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(h, "评价工作组及签署", font=HEADING_FONT, size=_HEADING_SIZES[1])
    if report.team:
        t = Table(
            caption="评价工作组成员",
            frame=pd.DataFrame(
                {
                    "姓名": [m["name"] for m in report.team],
                    "单位": [m.get("unit") or "" for m in report.team],
                    "职责": [m.get("role") or "" for m in report.team],
                    "签字": ["\u3000" * 5] * len(report.team),  # room to sign
                }
            ),
        )
        _add_table(doc, t, 14.0, numbered=False)
    for role in report.signatures:
        par = doc.add_paragraph()
        par.paragraph_format.first_line_indent = Pt(0)
        par.paragraph_format.left_indent = Cm(6)
        par.paragraph_format.space_before = Pt(12)
        _run(par, f"{role}（签字）：________________")
    org = report.cover.get("评价机构") or report.cover.get("自评单位", "")
    for line in (f"{org}（盖章）", report.cover.get("报告日期", "")):
        par = doc.add_paragraph()
        par.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        par.paragraph_format.space_before = Pt(12)
        _run(par, line)
    _keep_together(h._p)


def _keep_together(first) -> None:
    """Keep every paragraph from ``first`` to the end of the body (table cells
    included) with the next one, so a block such as the 签署页 never splits and
    leaves its last lines alone on a page."""
    pars = [first] + [p for el in first.itersiblings() for p in el.iter(qn("w:p"))]
    for p in pars[:-1]:
        DocxParagraph(p, None).paragraph_format.keep_with_next = True


def _drop_trailing_section(doc) -> None:
    """Remove an empty last section (the portrait section a landscape table
    reopens at the very end of the document), so no blank page follows it: the
    section before it becomes the document's last."""
    body = doc.element.body
    last = body.sectPr
    prev = last.getprevious()
    if prev is None or prev.tag != qn("w:p"):
        return
    inner = prev.find(f"{qn('w:pPr')}/{qn('w:sectPr')}")
    if inner is None:
        return
    if _is_spacer(prev):
        body.remove(prev)
    else:  # the break sits in the last paragraph of content (:func:`_tuck_break`)
        prev.find(qn("w:pPr")).remove(inner)
    body.replace(last, inner)


def starts_page(s) -> bool:
    """Whether a section starts a new page in Word: the unnumbered parts (摘要,
    前言, each 附件) do; numbered chapters run on, so a short chapter does not
    leave a near-empty page behind it."""
    return s.page_break and s.level == 0


def build_document(report: Report):
    """Build the python-docx ``Document`` of a report."""
    doc = Document()
    _setup_styles(doc)
    _set_language(doc)
    sec = doc.sections[0]
    sec.page_height, sec.page_width = Cm(29.7), Cm(21.0)  # A4
    sec.top_margin, sec.bottom_margin = Cm(3.7), Cm(3.5)
    sec.left_margin, sec.right_margin = Cm(2.8), Cm(2.6)
    _footer_page_numbers(sec)
    width = (sec.page_width - sec.left_margin - sec.right_margin) / 360000 * 0.95
    core = doc.core_properties
    core.title = report.title
    core.subject = f"{report.year}年度绩效评价报告"
    core.author = report.cover.get("评价机构") or report.cover.get("自评单位", "")
    core.language = LANG
    if report.date is not None:
        stamp = _dt.datetime(report.date.year, report.date.month, report.date.day)
        core.created = core.modified = stamp
    core.revision = 1
    _cover(doc, report)
    _toc(doc, report)
    signed = False
    for i, s in enumerate(report.sections):
        if s.key.startswith("annex") and not signed:
            _signature(doc, report)
            signed = True
        # a section opening with a wide table starts on its landscape page, so
        # its heading is not left alone on a portrait page
        lead = s.blocks[0] if s.blocks else None
        land = None
        if isinstance(lead, Table) and needs_landscape(*table_rows(lead), width):
            land = _orient(doc, landscape=True)
        elif i and starts_page(s):
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        lvl = max(1, s.level)
        h = doc.add_heading(level=lvl)
        if s.level == 0:
            h.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(h, s.title, font=HEADING_FONT, size=_HEADING_SIZES[s.level])
        for b in s.blocks:
            if isinstance(b, Paragraph):
                _add_paragraph(doc, b)
            elif isinstance(b, Table):
                _add_table(doc, b, width, landscape_cm=land if b is lead else None)
            elif isinstance(b, Figure):
                _add_figure(doc, b, width)
    if not signed:
        _signature(doc, report)
    _drop_trailing_section(doc)
    return doc


_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _reproducible_zip(doc) -> bytes:
    """The .docx bytes with fixed zip timestamps: same report, same bytes."""
    raw = io.BytesIO()
    doc.save(raw)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(raw) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=_ZIP_EPOCH)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, src.read(info.filename))
    return out.getvalue()


def write_docx(report: Report, path: str | Path) -> Path:
    """Write ``report`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    _atomic_write(path, _reproducible_zip(build_document(report)))
    return path
