"""The 自评表's prose cells and the bundled covers, read from the assembled report.

年度总体目标 (预期目标 / 实际完成情况) and the 预算执行率 row's 偏差原因分析及改进措施
are worded by templates from the report's facts; the bundled narrative files of
2023 and 2025 give their reports a full cover.
"""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from openpyxl import load_workbook

from jdeval.build import paths
from jdeval.report import assemble, formats, selfeval
from jdeval.report.cover import load_cover

YEAR = 2024


def _with_spent(ds, spent: float):
    """The dataset with the year's 全年执行数 set to ``spent`` (万元)."""
    from jdeval.data import Dataset

    b = ds.tables["budget"].copy()
    b.loc[b["year"] == YEAR, "funds_spent"] = spent
    return Dataset(tables={**ds.tables, "budget": b}, files=ds.files, truth=ds.truth)


def _budget(ds) -> dict:
    b = ds.tables["budget"]
    return b.loc[b["year"] == YEAR].iloc[0].to_dict()


def _built(ds, tmp_path, spent: float):
    """Assemble the report, write its workbook and Word file; return what they show."""
    ds2 = _with_spent(ds, spent)
    report = assemble(ds2, year=YEAR, compute_effects=False, report_date="2025-03-31")
    form = selfeval.report_form(report, ds2)
    ws = load_workbook(selfeval.write_selfeval(form, tmp_path / "自评表.xlsx")).active
    report.to_docx(tmp_path / "report.docx")
    xml = zipfile.ZipFile(io.BytesIO((tmp_path / "report.docx").read_bytes()))
    text = "".join(
        re.findall(r"<w:t[^>]*>([^<]*)</w:t>", xml.read("word/document.xml").decode())
    )
    return form, ws, text


def _cell_right_of(ws, label: str) -> str:
    for row in ws.iter_rows():
        for c in row:
            if c.value == label:
                merged = [m for m in ws.merged_cells.ranges if c.coordinate in m]
                col = (merged[0].max_col if merged else c.column) + 1
                return ws.cell(c.row, col).value
    raise AssertionError(f"{label!r} not in the sheet")


@pytest.fixture(scope="module")
def short(ds, tmp_path_factory):
    """Execution between the 年初 and the 调整后 budget: the budget was raised, not spent."""
    b = _budget(ds)
    spent = (b["budget_amount"] + b["adjusted_budget"]) / 2
    return spent, *_built(ds, tmp_path_factory.mktemp("short"), spent)


@pytest.fixture(scope="module")
def full(ds, tmp_path_factory):
    b = _budget(ds)
    return _built(ds, tmp_path_factory.mktemp("full"), b["adjusted_budget"])


def test_shortfall_states_cause_and_measures_consistent_with_the_rate(ds, short):
    spent, form, ws, docx = short
    b = _budget(ds)
    rate = spent / b["adjusted_budget"]
    assert form.budget.rate == pytest.approx(rate)
    remark = _cell_right_of(ws, selfeval.BUDGET_REMARK_LABEL)
    assert remark == form.budget.remark
    assert remark.startswith("原因：") and "改进措施：" in remark
    # the cause is the one the data show: raised budget, spending short of it
    assert formats.number(spent, 2) in remark
    raised = b["adjusted_budget"] - b["budget_amount"]
    assert f"调增{formats.number(raised, 2)}万元" in remark
    assert "无偏差" not in remark
    # the Word annex shows the same cell
    assert remark in docx


def test_full_execution_says_no_deviation(full):
    form, ws, docx = full
    assert form.budget.rate == pytest.approx(1.0)
    assert _cell_right_of(ws, selfeval.BUDGET_REMARK_LABEL) == "无偏差。"
    assert form.budget.remark == "无偏差。"


def test_overall_goal_block_is_filled_from_the_facts(ds, short):
    _, form, ws, docx = short
    r = next(c.row for row in ws.iter_rows() for c in row if c.value == "预期目标")
    expected, actual = ws.cell(r + 1, 2).value, ws.cell(r + 1, 6).value
    assert expected == form.goal_expected and actual == form.goal_actual
    assert expected not in ("", selfeval.NOT_APPLICABLE)
    # 实际完成情况 names the indicators that fell short, among them 预算执行率
    assert f"“{selfeval.BUDGET_INDICATOR}”" in actual and "未完全达到" in actual
    assert actual in docx and expected in docx


def test_no_shortfall_lists_no_budget_indicator(full):
    form, _, _ = full
    assert f"“{selfeval.BUDGET_INDICATOR}”" not in form.goal_actual


@pytest.mark.parametrize("year", [2023, 2025])
def test_bundled_cover_of_other_years(ds, year):
    narrative = paths.default_narrative(year)
    assert narrative is not None and narrative.name == f"overrides_{year}.yaml"
    report = assemble(ds, year=year, compute_effects=False, narrative=narrative)
    cover = report.cover
    for key in ("现场工作期间", "报告编号", "评价基准日", "自评单位"):
        assert cover.get(key), key
    # fieldwork ends after the reference date, in the year the report is numbered in
    start, end = load_cover(narrative).fieldwork
    as_of = report.facts.as_of
    assert as_of <= end and start <= end and start.year == end.year
    assert cover["现场工作期间"] == f"{formats.date_zh(start)}至{formats.date_zh(end)}"
    # numbered in the 2024 file's scheme, each year its own number
    own = re.fullmatch(r"嘉经绩自评〔(\d{4})〕第(\d+)号（示例）", cover["报告编号"])
    y2024 = load_cover(paths.default_narrative(2024)).report_number
    ref = re.fullmatch(r"嘉经绩自评〔(\d{4})〕第(\d+)号（示例）", y2024)
    assert own and ref and own.group(1) == ref.group(1) == str(end.year)
    assert own.group(2) != ref.group(2)


def test_shortfall_without_a_budget_increase_gets_its_own_measures(ds, tmp_path):
    """Budget not raised during the year: no advice about sizing an increase."""
    from jdeval.data import Dataset

    b = ds.tables["budget"].copy()
    this = b["year"] == YEAR
    b.loc[this, "adjusted_budget"] = b.loc[this, "budget_amount"]
    ds2 = Dataset(tables={**ds.tables, "budget": b}, files=ds.files, truth=ds.truth)
    spent = 0.8 * float(b.loc[this, "budget_amount"].iloc[0])
    form, ws, _ = _built(ds2, tmp_path, spent)
    remark = _cell_right_of(ws, selfeval.BUDGET_REMARK_LABEL)
    assert form.budget.rate == pytest.approx(0.8)
    assert remark.startswith("原因：") and "改进措施：" in remark
    assert "调增" not in remark and "追加额度" not in remark
