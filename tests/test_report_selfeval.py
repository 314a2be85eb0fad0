"""项目支出绩效自评表 (财预〔2020〕10号 附件2): the workbook adds up to the scorecard."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from openpyxl import load_workbook

from jdeval.report import selfeval


@pytest.fixture(scope="module")
def card(ds):
    from jdeval.indicators import evaluate, load_targets

    return evaluate(ds, load_targets(), year=2024, scheme="A")


@pytest.fixture(scope="module")
def form(card, ds):
    return selfeval.selfeval_form(
        card,
        ds.budget,
        project="推进制造业智能化改造和数字化转型",
        department="上海市嘉定区经济委员会",
        goal_expected="推动100家以上规上工业企业开展智能化数字化转型诊断评估。",
        goal_actual="=SUM(A1) 不是公式",  # formula-looking text stays text
    )


@pytest.fixture(scope="module")
def sheet(form, tmp_path_factory):
    path = tmp_path_factory.mktemp("xlsx") / "自评表.xlsx"
    selfeval.write_selfeval(form, path)
    wb = load_workbook(path)
    assert wb.sheetnames == [selfeval.SHEET_NAME]
    return wb[selfeval.SHEET_NAME]


def _find(ws, text: str) -> tuple[int, int]:
    for row in ws.iter_rows():
        for c in row:
            if c.value == text:
                return c.row, c.column
    raise AssertionError(f"{text!r} not in the sheet")


def test_total_equals_the_scorecard(sheet, card, form):
    r, _ = _find(sheet, "总分")
    assert sheet.cell(r, 8).value == pytest.approx(card.total, abs=1e-9)
    assert sheet.cell(r, 7).value == pytest.approx(100.0)
    # the rows add up: budget block 得分 + every indicator 得分 = 总分
    head, _ = _find(sheet, "偏差原因分析及改进措施")
    rows = [sheet.cell(i, 8).value for i in range(head + 1, r)]
    br, _ = _find(sheet, "年度资金总额")
    budget_score = sheet.cell(br, 9).value
    assert budget_score + sum(rows) == pytest.approx(card.total, abs=1e-9)
    assert len(rows) == len(form.indicators)


def test_budget_block_matches_budget_table_and_indicator(sheet, ds, card):
    br, _ = _find(sheet, "年度资金总额")
    b = ds.budget.set_index("year").loc[2024]
    assert sheet.cell(br, 4).value == pytest.approx(b["budget_amount"])
    assert sheet.cell(br, 5).value == pytest.approx(b["adjusted_budget"])
    assert sheet.cell(br, 6).value == pytest.approx(b["funds_spent"])
    f = card.to_frame().set_index("level3").loc[selfeval.BUDGET_INDICATOR]
    assert sheet.cell(br, 7).value == pytest.approx(f["weight"])
    assert sheet.cell(br, 8).value == pytest.approx(f["actual"] / 100)
    assert sheet.cell(br, 9).value == pytest.approx(f["score"])
    assert sheet.cell(br, 8).number_format == "0.0%"


def test_layout_merged_bordered_and_printable(sheet):
    merged = {str(m) for m in sheet.merged_cells.ranges}
    assert "A1:I1" in merged  # title across the form
    r, c = _find(sheet, "项目资金（万元）")
    assert any(m.startswith(f"A{r}:A") for m in merged)
    assert int(sheet.page_setup.paperSize) == int(sheet.PAPERSIZE_A4)
    assert sheet.page_setup.fitToWidth == 1
    assert sheet.page_setup.fitToHeight == 1  # one printed page, like 附件2
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows
    hr, _ = _find(sheet, "一级指标")
    assert sheet.cell(hr, 2).border.left.style == "thin"


def test_cells_are_report_ready(sheet):
    for row in sheet.iter_rows():
        for c in row:
            assert c.data_type != "f", c.coordinate  # nothing became a formula
            if isinstance(c.value, str):
                assert not any(op in c.value for op in (">=", "<=")), c.value
                assert "nan" not in c.value.lower(), c.value
            elif isinstance(c.value, float):
                assert not math.isnan(c.value)
    assert _find(sheet, "=SUM(A1) 不是公式")


def test_annex_table_totals_and_headers(form, card):
    t = selfeval.annex_table(form)
    f = t.frame
    assert list(f.columns)[-1] == "偏差原因分析及改进措施"
    last = f.iloc[-1]
    assert last["一级指标"] == "总分" and last["得分"] == f"{card.total:.2f}"
    assert f.iloc[0]["三级指标"] == selfeval.BUDGET_INDICATOR
    assert len(f) == len(form.indicators) + 2


def test_target_text_has_no_ascii_operator():
    assert selfeval._target_text(">=100.00(%)") == "≥100.00%"
    assert selfeval._target_text("=50.00(万元)") == "＝50.00万元"
    assert selfeval._target_text("<=3(天)") == "≤3天"
    assert selfeval._target_text(None) == "/"


def test_missing_budget_leaves_slashes(card, tmp_path):
    form = selfeval.selfeval_form(card, pd.DataFrame(columns=["year"]), year=2024)
    ws = load_workbook(selfeval.write_selfeval(form, tmp_path / "x.xlsx")).active
    br, _ = _find(ws, "年度资金总额")
    assert ws.cell(br, 4).value == "/"


def test_report_annex_is_the_form_and_adds_up_to_the_scorecard(ds, card, tmp_path):
    """The report carries the form as 附件7 (HTML and Word); its 总分 is the
    scorecard's total and the scores shown add up to it."""
    import docx

    from jdeval.report import assemble

    report = assemble(ds, year=2024, scorecard=card, compute_effects=False)
    (annex,) = [s for s in report.sections if s.key == "annex7"]
    assert "项目支出绩效自评表" in annex.title
    budget, goals, form = annex.tables
    assert goals.key == "selfeval_goal" and list(goals.frame.columns) == [
        "预期目标",
        "实际完成情况",
    ]
    f = form.frame
    assert f["一级指标"].iloc[-1] == "总分"
    assert float(f["得分"].iloc[-1]) == pytest.approx(round(card.total, 2))
    shown = pd.to_numeric(f["得分"].iloc[:-1], errors="coerce").sum()
    assert shown == pytest.approx(card.total, abs=0.005 * len(f))
    assert float(budget.frame["得分"].iloc[0]) == pytest.approx(
        float(f["得分"].iloc[0])
    )
    assert "项目支出绩效自评表（2024年度）" in report.to_html()
    path = report.to_docx(tmp_path / "r.docx")
    cells = {
        c.text for t in docx.Document(path).tables for r in t.rows for c in r.cells
    }
    assert f"{card.total:.2f}" in cells and "偏差原因分析及改进措施" in cells
