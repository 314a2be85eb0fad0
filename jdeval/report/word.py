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

import datetime as _dt
import io
import zipfile
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

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


def _cell_text(
    cell, text: str, *, bold: bool = False, align=None, size=TABLE_FONT_SIZE
) -> None:
    cell.text = ""
    par = cell.paragraphs[0]
    par.paragraph_format.first_line_indent = Pt(0)
    par.paragraph_format.line_spacing = 1.0
    par.paragraph_format.space_before = Pt(1)
    par.paragraph_format.space_after = Pt(1)
    if align is not None:
        par.alignment = align
    _run(par, text, size=size, bold=bold)


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


def _caption(doc, text: str) -> None:
    par = doc.add_paragraph(style="Caption")
    par.paragraph_format.first_line_indent = Pt(0)
    par.paragraph_format.keep_with_next = True
    _run(par, text, size=Pt(10.5), font=HEADING_FONT)


def _note(doc, text: str) -> None:
    par = doc.add_paragraph()
    par.paragraph_format.first_line_indent = Pt(0)
    par.paragraph_format.line_spacing = 1.0
    _run(par, text, size=Pt(9))


def _em(text: str) -> float:
    """Approximate printed width of ``text`` in em (CJK 1 em, Latin/digits ~0.55)."""
    return sum(1.0 if ord(ch) > 0x2E7F else 0.6 for ch in text)


def _col_widths(
    header: list[str], rows: list[list[dict]], total_cm: float, size_pt: float
) -> list[float]:
    """Column widths: numeric columns get what their longest value needs (no
    wrapping); text columns share the rest in proportion to their content."""
    em_cm = size_pt / 28.35
    pad = 0.45  # cell margins
    fixed: dict[int, float] = {}
    weights: dict[int, float] = {}
    for j, h in enumerate(header):
        body = [r[j] for r in rows]
        longest = max([_em(c["text"]) for c in body] + [0.0])
        if body and all(c["num"] or not c["text"] for c in body):
            fixed[j] = max(longest, min(_em(h), 4.0)) * em_cm + pad
        else:
            weights[j] = min(max(longest, _em(h), 2.0), 14.0)
    rest = total_cm - sum(fixed.values())
    if not weights or rest < 1.5 * len(weights):  # too many numbers: proportional
        allw = {j: max(_em(h), 2.0) for j, h in enumerate(header)}
        allw.update({j: w / em_cm for j, w in fixed.items()})
        allw.update(weights)
        tot = sum(allw.values())
        return [total_cm * allw[j] / tot for j in range(len(header))]
    # square-root weights: long text columns get more room without starving
    # short labels (一级指标) into one character per line
    root = {j: w**0.5 for j, w in weights.items()}
    tot = sum(root.values())
    width = {j: rest * r / tot for j, r in root.items()}
    return [fixed[j] if j in fixed else width[j] for j in range(len(header))]


def _add_table(doc, t: Table, width_cm: float = 15.5) -> None:
    header, rows = table_rows(t)
    _caption(doc, f"{t.label} {t.caption}")
    table = doc.add_table(rows=1 + len(rows), cols=len(header))
    table.autofit = False
    size = TABLE_FONT_SIZE if len(header) <= 6 else Pt(9)
    widths = _col_widths(header, rows, width_cm, size.pt)
    try:
        table.style = doc.styles["Table Grid"]
    except KeyError:  # pragma: no cover - the default template has it
        pass
    _borders(table)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    hdr = table.rows[0]
    trpr = hdr._tr.get_or_add_trPr()
    rep = OxmlElement("w:tblHeader")  # repeat the header row on each page
    rep.set(qn("w:val"), "true")
    trpr.append(rep)
    for j, h in enumerate(header):
        _cell_text(
            hdr.cells[j], h, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, size=size
        )
        _shade(hdr.cells[j], "E8EEF4")
    for i, row in enumerate(rows, 1):
        cells = table.rows[i].cells
        for j, c in enumerate(row):
            _cell_text(
                cells[j],
                c["text"],
                size=size,
                align=WD_ALIGN_PARAGRAPH.RIGHT if c["num"] else None,
            )
    for j, w in enumerate(widths):
        table.columns[j].width = Cm(w)
        for cell in table.columns[j].cells:
            cell.width = Cm(w)
    if t.footnote:
        _note(doc, t.footnote)
    doc.add_paragraph().paragraph_format.line_spacing = 0.8


def _add_figure(doc, f: Figure, width_cm: float) -> None:
    par = doc.add_paragraph()
    par.alignment = WD_ALIGN_PARAGRAPH.CENTER
    par.paragraph_format.first_line_indent = Pt(0)
    par.paragraph_format.keep_with_next = True
    par.add_run().add_picture(io.BytesIO(f.png), width=Cm(width_cm))
    _caption(doc, f"{f.label} {f.caption}")
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
    for _ in range(4):
        doc.add_paragraph()
    t = doc.add_paragraph(style="Title")
    _run(t, report.title, size=Pt(22), bold=True, font=HEADING_FONT)
    for _ in range(5):
        doc.add_paragraph()
    for k, v in report.cover.items():
        par = doc.add_paragraph()
        par.paragraph_format.left_indent = Cm(3)
        _run(par, f"{k}：", bold=True, font=HEADING_FONT)
        _run(par, v)
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def build_document(report: Report):
    """Build the python-docx ``Document`` of a report."""
    doc = Document()
    _setup_styles(doc)
    sec = doc.sections[0]
    sec.page_height, sec.page_width = Cm(29.7), Cm(21.0)  # A4
    sec.top_margin, sec.bottom_margin = Cm(3.7), Cm(3.5)
    sec.left_margin, sec.right_margin = Cm(2.8), Cm(2.6)
    _footer_page_numbers(sec)
    width = (sec.page_width - sec.left_margin - sec.right_margin) / 360000 * 0.95
    core = doc.core_properties
    core.title = report.title
    core.subject = f"{report.year}年度绩效评价报告"
    core.author = report.cover.get("评价机构", "")
    if report.date is not None:
        stamp = _dt.datetime(report.date.year, report.date.month, report.date.day)
        core.created = core.modified = stamp
    core.revision = 1
    _cover(doc, report)
    first = True
    for s in report.sections:
        if s.page_break and not first:
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        first = False
        lvl = max(1, s.level)
        h = doc.add_heading(level=lvl)
        if s.level == 0:
            h.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(h, s.title, font=HEADING_FONT, size=_HEADING_SIZES[s.level])
        for b in s.blocks:
            if isinstance(b, Paragraph):
                _add_paragraph(doc, b)
            elif isinstance(b, Table):
                _add_table(doc, b, width)
            elif isinstance(b, Figure):
                _add_figure(doc, b, width)
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
