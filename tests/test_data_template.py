"""The Excel 填报模板 (issue 12 item 4): generated from the contract; filled in
programmatically from the synthetic data, it validates without edits."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
from office_exports import sorted_by_key

from jdeval.data import TABLE_ORDER, synthesize, validate
from jdeval.data.contract import get_contract
from jdeval.data.template import INSTRUCTIONS_SHEET, header_text, write_data_templates


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    (path,) = write_data_templates(tmp_path_factory.mktemp("tpl"))
    return path


def test_template_layout(template):
    c = get_contract()
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames == [INSTRUCTIONS_SHEET, *(c[n].zh for n in TABLE_ORDER)]
    ws = wb[c["awards"].zh]
    header = [cell.value for cell in ws[1]]
    assert header[0] == "项目编号*"  # key column: required
    assert "核定补贴金额（万元）" in header and "状态" in header
    assert ws["A1"].comment is not None and "award_id" in ws["A1"].comment.text
    lists = {
        str(dv.sqref).split(":")[0].rstrip("0123456789"): dv.formula1
        for dv in ws.data_validations.dataValidation
        if dv.type == "list"
    }
    cat = openpyxl.utils.get_column_letter(header.index("支持类别") + 1)
    assert "区级智能工厂" in lists[cat] and "DIAG" not in lists[cat]
    status = openpyxl.utils.get_column_letter(header.index("状态") + 1)
    assert "已拨付" in lists[status]
    bool_col = openpyxl.utils.get_column_letter(header.index("专家评审") + 1)
    assert lists[bool_col] == '"是,否"'


def _cell(col, v):
    if v is None or v is pd.NA or (not isinstance(v, str) and pd.isna(v)):
        return None
    if col.type == "enum":
        return col.label_zh(str(v))
    if col.type == "bool":
        return "是" if v else "否"
    if col.type == "date":
        return v.to_pydatetime()
    if col.type == "int":
        return int(v)
    if col.type in ("money", "float"):
        return float(v)
    return str(v)


def test_filled_template_validates_without_edits(template, tmp_path):
    c = get_contract()
    ds = synthesize(tmp_path / "csv", seed=3, firms=100)
    wb = openpyxl.load_workbook(template)
    for name in TABLE_ORDER:
        ws = wb[c[name].zh]
        cols = list(c[name].columns.values())
        assert [cell.value for cell in ws[1]] == [header_text(col) for col in cols]
        for row in ds.tables[name].itertuples(index=False):
            ws.append([_cell(col, v) for col, v in zip(cols, row)])
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)
    report = validate(filled)
    assert report.ok, report.render()
    assert not report.warnings, [str(w) for w in report.warnings]
    for name in TABLE_ORDER:
        pd.testing.assert_frame_equal(
            sorted_by_key(report.dataset.tables[name], name),
            sorted_by_key(ds.tables[name], name),
            obj=name,
        )
