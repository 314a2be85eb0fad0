"""The Excel 填报模板 (data-entry template) for 街镇 and 科室, generated from the contract.

``write_data_templates(out_dir)`` writes one workbook, ``数据填报模板.xlsx``: a
``填表说明`` (instructions) sheet and one sheet per table, named by the table's Chinese
name.  Each table sheet has one header row of Chinese column names with their unit
(``核定补贴金额（万元）``) and ``*`` marking required columns; a note on each header
cell gives the English name, type and rule.  Coded columns have drop-down lists of
their Chinese labels (Excel data validation), yes/no columns 是/否, amounts a
non-negative number check, integers their range.  A template filled in as its header
says loads without edits: headers, labels and units are the ones the loader reads.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from jdeval.data.contract import TABLE_ORDER, Column, Table, get_contract

__all__ = ["write_data_templates", "TEMPLATE_NAME", "header_text", "INSTRUCTIONS_SHEET"]

TEMPLATE_NAME = "数据填报模板.xlsx"
INSTRUCTIONS_SHEET = "填表说明"
#: Rows that carry data validation (drop-down lists, number checks).
_ROWS = 5000
#: Excel's limit for an inline list of a drop-down.
_LIST_MAX = 255


def header_text(col: Column) -> str:
    """Header cell of ``col`` in the template: Chinese name, unit, ``*`` if required."""
    unit = f"（{col.unit}）" if col.unit else ""
    return f"{col.zh}{unit}{'*' if not col.nullable else ''}"


def _instructions(c) -> list[str]:
    return [
        "嘉定区智改数转政策绩效评价 数据填报模板",
        "",
        "1. 每个工作表是一张数据表，表名即工作表名；不需要的表可以留空或删除（必需表："
        + "、".join(c[n].zh for n in TABLE_ORDER if c[n].required)
        + "）。",
        "2. 第 1 行是表头，请勿修改；带 * 的列必须填写。列名后括号内为单位，金额一律以万元填写。",
        "3. 带下拉箭头的列请从列表中选择；是/否列填“是”或“否”。",
        "4. 日期可写 2024-03-05、2024/3/5 或 2024年3月5日。",
        "5. 可在表格下方加“合计”行或“备注：…”行，读取时会自动忽略。",
        "6. 填好后运行：jdeval validate 本文件.xlsx，按提示修改后再生成报告。",
        "",
        "各列的含义、取值与规则见 data/README.md（数据说明）。",
        "Data-entry template: one sheet per table; row 1 is the header (do not edit), * = "
        "required, amounts in 万元; check with `jdeval validate <this file>`.",
    ]


def _validation(col: Column) -> DataValidation | None:
    if col.type == "enum" and col.values:
        labels = [col.label_zh(v) for v in col.values if v != "none"]
        formula = '"' + ",".join(labels) + '"'
        if len(formula) > _LIST_MAX or any("," in x for x in labels):
            return None  # too long for an inline list: the README lists them
        return DataValidation(
            type="list",
            formula1=formula,
            allow_blank=col.nullable,
            showErrorMessage=True,
            errorTitle="取值不在列表中",
            error="请从下拉列表中选择 / choose from the list",
        )
    if col.type == "bool":
        return DataValidation(type="list", formula1='"是,否"', allow_blank=True)
    if col.type in ("money", "float", "int") and col.min is not None:
        kind = "whole" if col.type == "int" else "decimal"
        if col.max is not None:
            dv = DataValidation(
                type=kind,
                operator="between",
                formula1=str(col.min),
                formula2=str(col.max),
            )
        else:
            dv = DataValidation(
                type=kind, operator="greaterThanOrEqual", formula1=str(col.min)
            )
        dv.error = f"应为 ≥ {col.min} 的数值 / a number ≥ {col.min}"
        dv.showErrorMessage = True
        return dv
    return None


def _table_sheet(wb: Workbook, t: Table) -> None:
    ws = wb.create_sheet(t.zh)
    bold, red = Font(bold=True), Font(bold=True, color="C00000")
    fill = PatternFill("solid", fgColor="DDEBF7")
    for j, col in enumerate(t.columns.values(), 1):
        cell = ws.cell(row=1, column=j, value=header_text(col))
        cell.font = red if not col.nullable else bold
        cell.fill = fill
        rule = col.rule_text()
        cell.comment = Comment(
            f"{col.name}: {col.en}\n{col.type_zh}" + (f"\n{rule}" if rule else ""),
            "jdeval",
        )
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = max(10, min(30, 2 * len(col.zh) + 6))
        rng = f"{letter}2:{letter}{_ROWS + 1}"
        dv = _validation(col)
        if dv is not None:
            ws.add_data_validation(dv)
            dv.add(rng)
        if col.type == "date":
            for r in range(2, 202):
                ws.cell(row=r, column=j).number_format = "yyyy-mm-dd"
    ws.freeze_panes = "A2"


def write_data_templates(out_dir: str | Path) -> list[Path]:
    """Write the Excel data-entry template into ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder to write into (created if needed).

    Returns
    -------
    list of Path
        The written workbook(s): ``数据填报模板.xlsx``.
    """
    c = get_contract()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    ws = wb.active
    ws.title = INSTRUCTIONS_SHEET
    for line in _instructions(c):
        ws.append([line])
    ws.column_dimensions["A"].width = 110
    ws["A1"].font = Font(bold=True, size=14)
    for name in TABLE_ORDER:
        _table_sheet(wb, c[name])
    path = out / TEMPLATE_NAME
    wb.save(path)
    return [path]
