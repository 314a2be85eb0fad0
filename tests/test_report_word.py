"""The Word report prints well: 目录, zh-CN, rows that do not split, numbers that do
not break, legible charts, a cover and signature block from the narrative file."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from lxml import etree

from jdeval.report import charts, word
from jdeval.report.document import Figure, Paragraph, Report, Section, Table

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
NARRATIVE = Path(__file__).parents[1] / "data" / "narrative" / "overrides_2024.yaml"


# ------------------------------------------------------------------ fixtures
def _wide_table() -> Table:
    """Nine columns with long numbers inside text: the 表4 that used to break."""
    rows = []
    for i in range(30):
        rows.append(
            {
                "一级指标": "产出指标",
                "二级指标": "质量指标",
                "三级指标": "补贴审核及发放规范性",
                "年度指标值": "≥100.00%",
                "实际完成值": f"{3135 + i:,.2f}万元（上年81,725.53万元，+27.9%）",
                "分值": "10.00",
                "得分": "8.96",
                "得分率": "100.0%",
                "偏差原因": "调整预算于年末追加，部分项目验收延至次年，" * 2,
            }
        )
    return Table(caption="评分表", frame=pd.DataFrame(rows))


def _narrow_table() -> Table:
    return Table(
        caption="资金",
        frame=pd.DataFrame(
            {
                "项目": ["年初预算数", "全年执行数"],
                "金额（万元）": ["3,000.00", "3,135.00"],
            }
        ),
    )


@pytest.fixture(scope="module")
def hand_report() -> Report:
    fig = charts.trend(
        pd.DataFrame({"year": [2023, 2024], "score": [95.96, 90.58]}),
        y="score",
        ylabel="分",
    )
    sections = [
        Section("summary", "摘要", 0, [Paragraph("综合评分90.58分。")]),
        Section("ch1", "基本情况", 1, [_narrow_table()], page_break=True),
        Section("ch1_1", "政策概况", 2, [Paragraph("正文。"), _wide_table()]),
        Section("ch3", "评价结论", 1, [Figure.from_matplotlib(fig, "得分趋势")]),
        Section("annex1", "附件1 评分表", 0, [_wide_table()], page_break=True),
    ]
    return Report(
        title="测试报告",
        year=2024,
        audience="reviewer",
        cover={
            "评价方式": "单位自评",
            "自评单位": "区经委",
            "报告日期": "2025年3月31日",
        },
        sections=sections,
        team=[{"name": "甲", "role": "项目负责人", "unit": "区经委"}],
        signatures=["项目负责人", "单位负责人"],
    ).number()


@pytest.fixture(scope="module")
def real_report(ds):
    from jdeval.report import assemble

    return assemble(
        ds,
        year=2024,
        compute_effects=False,
        narrative=NARRATIVE,
        report_date="2025-03-31",
    )


def _docx_parts(report: Report, tmp_path: Path) -> dict[str, etree._Element]:
    p = report.to_docx(tmp_path / "r.docx")
    z = zipfile.ZipFile(io.BytesIO(p.read_bytes()))
    return {
        n: etree.fromstring(z.read(f"word/{n}.xml"))
        for n in ("document", "styles", "settings")
    }


@pytest.fixture(scope="module", params=["hand", "real"])
def parts(request, tmp_path_factory, hand_report):
    rep = (
        hand_report
        if request.param == "hand"
        else request.getfixturevalue("real_report")
    )
    return _docx_parts(rep, tmp_path_factory.mktemp("docx"))


# ------------------------------------------------------------------ fields, language
def test_docx_has_an_updatable_toc_field(parts):
    instr = " ".join(t.text for t in parts["document"].iter(f"{W}instrText"))
    assert re.search(r'TOC \\o "1-\d"', instr)
    upd = parts["settings"].find(f"{W}updateFields")
    assert upd is not None and upd.get(f"{W}val") == "true"


def test_docx_language_is_zh_cn(parts):
    st = parts["styles"]
    default = st.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}lang")
    assert default.get(f"{W}eastAsia") == "zh-CN"
    normal = st.xpath("//w:style[@w:styleId='Normal']", namespaces={"w": W[1:-1]})[0]
    assert normal.find(f"{W}rPr/{W}lang").get(f"{W}eastAsia") == "zh-CN"
    langs = {el.get(f"{W}eastAsia") for el in st.iter(f"{W}lang")}
    assert langs == {"zh-CN"}
    theme = parts["settings"].find(f"{W}themeFontLang")
    assert theme.get(f"{W}eastAsia") == "zh-CN"


# ------------------------------------------------------------------ tables
def test_every_row_cant_split_and_header_repeats(parts):
    tables = list(parts["document"].iter(f"{W}tbl"))
    assert tables
    for tbl in tables:
        rows = tbl.findall(f"{W}tr")
        for tr in rows:
            assert tr.find(f"{W}trPr/{W}cantSplit") is not None
        assert rows[0].find(f"{W}trPr/{W}tblHeader") is not None


def _dejavu():
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    return FT2Font(font_manager.findfont("DejaVu Sans", fallback_to_default=False))


def _advance_em(font, ch: str) -> float:
    """Advance width of ``ch`` in em: DejaVu Sans glyph metrics (the widest usual
    fallback for Latin text); CJK and full-width forms 1 em."""
    from matplotlib.ft2font import LoadFlags

    if ord(ch) > 0x2E7F:
        return 1.0
    glyph = font.load_char(ord(ch), flags=LoadFlags.NO_SCALE)
    return glyph.horiAdvance / font.units_per_EM


_RUN = re.compile(r"[0-9A-Za-z.,:%/+\-−–~·×()\[\]<>≤≥＝）]+")


def _numbers_that_break(tbl, font) -> list[tuple[str, float, float]]:
    """(text, needed cm, column cm) of every digit run wider than its column."""
    grid = [int(g.get(f"{W}w")) / 567 for g in tbl.find(f"{W}tblGrid")]
    bad = []
    for tr in tbl.findall(f"{W}tr"):
        for j, tc in enumerate(tr.findall(f"{W}tc")):
            runs = tc.findall(f".//{W}r")
            text = "".join(t.text or "" for t in tc.iter(f"{W}t"))
            sz = [r.find(f"{W}rPr/{W}sz") for r in runs]
            half_pts = [int(s.get(f"{W}val")) for s in sz if s is not None]
            size_cm = (max(half_pts) / 2 if half_pts else 10.5) / 72 * 2.54
            for m in _RUN.findall(text):
                if not re.search(r"\d", m):
                    continue
                need = sum(_advance_em(font, ch) for ch in m) * size_cm + 0.38
                if need > grid[j]:
                    bad.append((m, round(need, 2), round(grid[j], 2)))
    return bad


def test_no_number_breaks_inside_a_cell(parts):
    font = _dejavu()
    for tbl in parts["document"].iter(f"{W}tbl"):
        assert _numbers_that_break(tbl, font) == []


def test_number_check_would_catch_a_narrow_column(tmp_path):
    # the defect of issue 11: 实际完成值 2.2 cm wide, "3,135.00万元" broke
    t = _narrow_table()
    report = Report("t", 2024, "reviewer", {}, [Section("a", "表", 1, [t])]).number()
    doc = word.build_document(report)
    tbl = doc.tables[0]
    for row in tbl.rows:
        row.cells[1].width = word.Cm(1.2)
    tbl.columns[1].width = word.Cm(1.2)
    xml = etree.fromstring(tbl._tbl.xml.encode())
    assert _numbers_that_break(xml, _dejavu())


def test_wide_table_goes_landscape_and_keeps_its_heading(hand_report, tmp_path):
    doc = word.build_document(hand_report)
    orient = [s.orientation for s in doc.sections]
    assert word.WD_ORIENT.LANDSCAPE in orient
    # every landscape section is followed by a portrait one (or is the last)
    for a, b in zip(orient, orient[1:]):
        if a == word.WD_ORIENT.LANDSCAPE:
            assert b == word.WD_ORIENT.PORTRAIT


def test_no_section_break_stands_in_a_paragraph_of_its_own(parts):
    """A break in an empty paragraph after content that fills a page prints a blank
    page (2025 report, before the landscape 街镇×类别 table): breaks sit in the
    last paragraph of content, except right after a table (then 1 pt high)."""
    body = parts["document"].find(f"{W}body")
    for p in body.findall(f"{W}p"):
        if p.find(f"{W}pPr/{W}sectPr") is None or p.find(f"{W}r") is not None:
            continue
        prev = p.getprevious()
        assert prev is not None and prev.tag == f"{W}tbl"
        line = p.find(f"{W}pPr/{W}spacing")
        assert line is not None and line.get(f"{W}line") == "20"  # 1 pt


def test_a_document_ending_landscape_has_no_empty_last_section(hand_report):
    doc = word.build_document(hand_report)
    assert doc.sections[-1].orientation == word.WD_ORIENT.LANDSCAPE
    body = doc.element.body
    last = body[-2]  # the paragraph before the document's own section
    assert last.find(f"{W}r") is not None or last.tag == f"{W}tbl"


# ------------------------------------------------------------------ charts
def _chart_figures() -> list[Figure]:
    es = pd.DataFrame(
        {
            "event_time": [-3, -2, -1, 0, 1],
            "estimate": [0.01, -0.02, 0.0, 0.12, 0.2],
            "ci_low": [-0.05, -0.07, 0.0, 0.05, 0.1],
            "ci_high": [0.07, 0.03, 0.0, 0.19, 0.3],
        }
    )
    rows = pd.DataFrame(
        {"level1": ["产出", "效益"], "weight": [50.0, 30.0], "score": [45.0, 20.0]}
    )
    sat = pd.DataFrame(
        {"item": ["总体"] * 5, "likert": [5, 4, 3, 2, 1], "n": [40, 30, 10, 2, 1]}
    )
    figs = [
        charts.event_study(es, title="事件研究"),
        charts.score_by_level(rows),
        charts.satisfaction_distribution(sat),
        charts.trend(pd.DataFrame({"year": [2023, 2024], "v": [1.0, 2.0]}), y="v"),
        charts.bars(
            pd.DataFrame({"t": ["南翔镇", "外冈镇"], "v": [3.0, 9.0]}),
            label="t",
            value="v",
            suppressed=[True, False],
            target=5,
        ),
    ]
    return [Figure.from_matplotlib(f, "图") for f in figs]


def _printed_min_font(f: Figure, text_cm: float) -> float:
    return f.min_font_pt * word.figure_width_cm(f, text_cm) / (f.width_in * 2.54)


def test_chart_text_is_at_least_9pt_when_printed():
    text_cm = (21.0 - 2.8 - 2.6) * 0.95
    for f in _chart_figures():
        assert f.min_font_pt > 0
        assert _printed_min_font(f, text_cm) >= charts.MIN_FONT_PT - 1e-9


def test_font_check_would_catch_a_scaled_down_chart():
    f = _chart_figures()[0]
    wide = Figure(f.caption, f.png, width_in=9.0, min_font_pt=f.min_font_pt)
    assert _printed_min_font(wide, 14.8) < charts.MIN_FONT_PT


def test_real_report_charts_are_legible(real_report):
    text_cm = (21.0 - 2.8 - 2.6) * 0.95
    assert real_report.figures
    for f in real_report.figures:
        assert _printed_min_font(f, text_cm) >= charts.MIN_FONT_PT - 1e-9, f.caption


def _line_value_at(fig, x: float) -> float:
    ax = fig.axes[0]
    line = max(ax.get_lines(), key=lambda ln: len(ln.get_xdata()))
    xs, ys = list(line.get_xdata()), list(line.get_ydata())
    return ys[xs.index(x)]


@pytest.mark.parametrize("with_base_row", [True, False])
def test_event_study_is_zero_at_the_base_it_names(with_base_row):
    es = pd.DataFrame(
        {
            "event_time": [-3, -2, -1, 0, 1],
            "estimate": [0.03, -0.02, 0.0, 0.12, 0.2],
            "ci_low": [-0.05, -0.07, 0.0, 0.05, 0.1],
            "ci_high": [0.07, 0.03, 0.0, 0.19, 0.3],
        }
    )
    if not with_base_row:
        es = es[es["event_time"] != -1]
    fig = charts.event_study(es, base=-1)
    assert _line_value_at(fig, -1.0) == 0.0
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert any("基期" in lab for lab in labels)


def test_event_study_not_normalised_says_so():
    es = pd.DataFrame(
        {
            "event_time": [-2, -1, 0],
            "estimate": [0.01, 0.07, 0.3],
            "ci_low": [-0.1, -0.05, 0.1],
            "ci_high": [0.1, 0.2, 0.5],
        }
    )
    fig = charts.event_study(es, base=-1)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert not any("基期" in lab for lab in labels)
    assert "逐期基期" in fig.axes[0].get_xlabel()


def test_level_chart_starts_at_zero():
    fig = charts.trend(pd.DataFrame({"year": [2023, 2024], "s": [95.96, 90.58]}), y="s")
    assert fig.axes[0].get_ylim()[0] <= 0.0


# ------------------------------------------------------------------ cover, signature
def test_cover_and_signature_from_the_narrative_file(real_report, tmp_path):
    from jdeval.report.cover import load_cover

    c = load_cover(NARRATIVE)
    assert real_report.cover["评价方式"] == "单位自评"  # scheme A
    assert real_report.cover["自评单位"] == c.evaluator
    assert real_report.cover["报告编号"] == c.report_number
    assert "评价基准日" in real_report.cover
    doc = word.build_document(real_report)
    text = "\n".join(p.text for p in doc.paragraphs)
    for role in c.signatures:
        assert f"{role}（签字）" in text
    names = {cell.text for t in doc.tables for row in t.rows for cell in row.cells}
    assert {m.name for m in c.team} <= names


# ------------------------------------------------------------------ HTML lang
def test_report_html_is_zh_cn(hand_report):
    assert '<html lang="zh-CN">' in hand_report.to_html()


def test_notebook_pages_are_zh_cn(tmp_path):
    from jdeval.build.htmlexport import PageInfo, render_html

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 标题")]
    fields = {f: "" for f in PageInfo.__dataclass_fields__}
    fields["parameters"] = ()
    out = render_html(nb, tmp_path / "p.html", PageInfo(**fields))
    head = out.read_text(encoding="utf-8")[:400]
    assert '<html lang="zh-CN">' in head


def test_number_and_opening_bracket_are_one_unbreakable_run():
    """Unicode line breaking keeps "89.6%（3,135.00" together (PO × OP, OP ×), so
    the column must be wide enough for all of it, not just for "89.6%"."""
    from jdeval.report.word import _em, min_em

    assert min_em("89.6%（3,135.00万元÷3,500.00万元）") == pytest.approx(
        _em("89.6%（3,135.00")
    )


def test_number_and_closing_bracket_are_one_unbreakable_run():
    """A closing bracket never starts a line (× CL): "+65.7%）" broke as
    "+65.7 / %）" in 表7 when the column only fitted "+65.7%"."""
    from jdeval.report.word import _em, min_em

    assert min_em("0.505对数点（约+65.7%）") == pytest.approx(_em("+65.7%）"))


def _effects_table() -> Table:
    """The 表7 of the audit: eight columns of numbers inside text."""
    row = {
        "结果变量": "技术改造投资（对数）",
        "估计值": "0.505对数点（约+65.7%）",
        "95%置信区间": "0.035至0.975对数点（约+3.6%至+165.1%）",
        "p值": "0.035",
        "处理前趋势检验p值": "0.837",
        "同号且显著的对比设定": "2/6",
        "证据强度": "证据较弱",
        "受资助企业数": "137",
    }
    return Table(caption="主估计", frame=pd.DataFrame([row] * 5))


def test_effects_table_numbers_do_not_break(tmp_path):
    report = Report(
        "t", 2024, "reviewer", {}, [Section("a", "效应", 1, [_effects_table()])]
    ).number()
    doc = _docx_parts(report, tmp_path)["document"]
    tables = list(doc.iter(f"{W}tbl"))
    assert len(tables) == 1
    assert _numbers_that_break(tables[0], _dejavu()) == []


def test_label_column_not_starved_by_numeric_headers():
    """表5: seven numeric columns with long headers ("2023年得分率") left the
    三级指标 column at four characters; numeric headers wrap instead."""
    header = ["三级指标"] + [
        f"{y}年{k}" for y in (2023, 2024) for k in ("分值", "得分", "得分率")
    ]
    header.append("得分率变化（百分点）")
    names = ["市智能工厂评估诊断机构与数字化转型服务商", "补贴审核及发放规范性"]
    rows = [
        [{"text": n, "num": False}]
        + [{"text": v, "num": True} for v in ("4.00", "3.56", "88.9%") * 2]
        + [{"text": "-10.0", "num": True}]
        for n in names
    ]
    size, widths = word.table_layout(header, rows, 14.8)
    em_cm = size.pt / 28.35
    assert widths[0] >= 6 * em_cm + word.CELL_PAD_CM


def test_long_table_keeps_its_last_rows_together(hand_report):
    doc = word.build_document(hand_report)
    tbl = doc.tables[-1]  # the 30-row annex table
    body = list(tbl.rows)[1:]
    n = len(body)
    assert n > word.KEEP_TOGETHER_ROWS

    def kept(r):
        return r.cells[0].paragraphs[0].paragraph_format.keep_with_next is True

    tail = [kept(r) for r in body[n - word.WIDOW_ROWS - 1 : n - 1]]
    assert tail == [True] * (word.WIDOW_ROWS)
    assert not kept(body[n // 2])  # the long table itself may break


def test_no_empty_section_after_the_last_landscape_table(hand_report):
    """The report ends with a landscape annex table: no portrait section (a
    blank page) may follow it."""
    doc = word.build_document(hand_report)
    assert doc.sections[-1].orientation == word.WD_ORIENT.LANDSCAPE
    body = doc.element.body
    prev = body.sectPr.getprevious()
    has_break = prev.find(f"{W}pPr/{W}sectPr") is not None
    assert not (has_break and not "".join(prev.itertext()).strip())
    # every section still holds something
    for p in body.iter(f"{W}p"):
        if p.find(f"{W}pPr/{W}sectPr") is not None:
            assert p.getprevious() is not None


def test_signature_block_is_kept_together(hand_report):
    doc = word.build_document(hand_report)
    body = doc.element.body
    pars = list(body.iter(f"{W}p"))
    texts = ["".join(t.text or "" for t in p.iter(f"{W}t")) for p in pars]
    start = texts.index("评价工作组及签署")
    end = max(i for i, t in enumerate(texts) if t == "2025年3月31日")
    block = pars[start:end]
    assert len(block) > 5
    for p in block:
        assert p.find(f"{W}pPr/{W}keepNext") is not None
    assert pars[end].find(f"{W}pPr/{W}keepNext") is None


def test_toc_fits_one_page(parts):
    """The 目录 entries (cached result of the TOC field) fit on one page, so no
    line spills onto a near-empty page."""
    doc = parts["document"]
    pars = list(doc.iter(f"{W}p"))
    begin = next(
        i for i, p in enumerate(pars) if p.find(f".//{W}instrText") is not None
    )
    end = next(
        i
        for i, p in enumerate(pars)
        if i > begin
        and any(f.get(f"{W}fldCharType") == "end" for f in p.iter(f"{W}fldChar"))
    )
    height = 0.0
    for p in pars[begin + 1 : end]:
        sz = p.find(f".//{W}rPr/{W}sz")
        pt = int(sz.get(f"{W}val")) / 2
        after = p.find(f"{W}pPr/{W}spacing")
        gap = int(after.get(f"{W}after", 0)) / 20 if after is not None else 0
        height += pt * word.LINE_FACTOR + gap
    assert 0 < height <= word.TOC_ROOM_PT


def test_toc_entry_size_shrinks_only_when_needed():
    assert word.toc_entry_pt(10) == 12.0
    n = 40
    assert word.toc_entry_pt(n) * word.LINE_FACTOR * n <= word.TOC_ROOM_PT
