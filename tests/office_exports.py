"""Office-shaped exports generated from a dataset, for tests (issue 12).

:func:`write_office_exports` writes a dataset the way the district's offices deliver
it: Excel workbooks with a merged title row, a "填报单位…单位：万元" line, a 序号
column with a 合计 row at the bottom, Chinese category/status/yes-no labels, amounts
as text with thousands separators, ``2024年3月5日`` dates, an extra 备注 column;
awards split into one sheet per batch year in ``2024年智改数转项目补贴汇总表.xlsx``;
the eight optional tables as Chinese-named sheets of one workbook (one of them named
``表7`` so only its header identifies it, one closed by an unlabelled row of sums,
plus an instructions sheet and a leftover contacts sheet);
the firm panel as a GBK-free UTF-8-BOM CSV whose name matches no table.

Every value is written so that it reads back exactly (shortest float text), so the
exports must load into the same tables as the CSVs they came from.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd

from jdeval.data import Dataset
from jdeval.data.contract import Column, Table, get_contract

AWARDS_BOOK = "2024年智改数转项目补贴汇总表.xlsx"
OTHER_BOOK = "智改数转其他数据（经委汇总）.xlsx"
SHEETS = {
    "diagnoses": "诊断评估明细",
    "providers": "服务商名录",
    "recognitions": "智能工厂与场景认定名单",
    "loans": "专项贷款贴息明细",
    "survey_responses": "满意度问卷结果",
    "budget": "表7",  # no table name: recognised by its header
    "policy_documents": "政策文件清单",
    "complaints_audit": "投诉与审计事项",
}
#: Tables closed by a 合计 row, and the one closed by an unlabelled row of sums.
LABELLED_TOTALS = ("awards", "firms", "recognitions")
SUM_ROW = "loans"


def _money_text(v: float) -> str:
    """Amount as an office writes it: thousands separators, no digits lost."""
    text = repr(float(v))
    if "e" in text or abs(v) < 1000:
        return text.removesuffix(".0") if text.endswith(".0") else text
    return f"{v:,}".removesuffix(".0")


def _date_text(v: pd.Timestamp) -> str:
    return f"{v.year}年{v.month}月{v.day}日"


def _cell(col: Column, v):
    if v is None or v is pd.NA or (not isinstance(v, str) and pd.isna(v)):
        return None
    if col.type == "money":
        return _money_text(v)
    if col.type == "date":
        return _date_text(v)
    if col.type == "bool":
        return "是" if v else "否"
    if col.type == "enum":
        return col.label_zh(str(v))
    if col.type == "int":
        return int(v)
    if col.type == "float":
        return float(v)
    return str(v)


def _header(col: Column) -> str:
    return f"{col.zh}（{col.unit}）" if col.unit == "万元" else col.zh


def _sheet(ws, t: Table, df: pd.DataFrame, title: str, *, totals: str | None) -> None:
    cols = list(t.columns.values())
    width = len(cols) + 2
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.append(["填报单位：嘉定区经济委员会（盖章）", None, None, None, "单位：万元"])
    ws.append(["序号", *(_header(c) for c in cols), "备注"])
    for i, row in enumerate(df.itertuples(index=False), 1):
        note = "材料已补正" if i % 17 == 0 else None
        ws.append([i, *(_cell(c, v) for c, v in zip(cols, row)), note])
    money = [c for c in cols if c.type == "money"]
    sums = [
        _money_text(round(float(df[c.name].sum()), 6)) if c in money else None
        for c in cols
    ]
    if totals == "label":
        ws.append(["合计", *sums, None])
        ws.append(["备注：本表金额单位为万元，数据截至评价基准日。"])
    elif totals == "sums":
        exact = [
            _money_text(float(df[c.name].sum())) if c in money else None for c in cols
        ]
        ws.append([None, *exact, None])


def write_office_exports(ds: Dataset, out: Path) -> Path:
    """Write ``ds`` as the offices deliver it into the folder ``out``; return it."""
    c = get_contract()
    out.mkdir(parents=True, exist_ok=True)
    tables = ds.tables
    # towns: plain CSV, Chinese headers, Chinese file name
    t = c["towns"]
    pd.DataFrame(
        {col.zh: tables["towns"][col.name] for col in t.columns.values()}
    ).to_csv(out / "街镇代码表.csv", index=False, encoding="utf-8-sig")
    # firms: workbook named by an alias, 合计 row (count) and a note
    wb = openpyxl.Workbook()
    _sheet(wb.active, c["firms"], tables["firms"], "规上企业基本信息", totals="label")
    wb.active.title = "企业"
    wb.save(out / "企业基本信息表.xlsx")
    # firm panel: a CSV whose name matches no table (the header decides)
    fy = c["firm_year"]
    frame = pd.DataFrame(
        {
            _header(col): tables["firm_year"][col.name].map(
                lambda v, col=col: _cell(col, v)
            )
            for col in fy.columns.values()
        }
    )
    text = "嘉定区规模以上工业企业主要指标（2019—2025年）\n" + frame.to_csv(index=False)
    (out / "工业统计报表（2019-2025）.csv").write_bytes(
        b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8")
    )
    # awards: one sheet per batch year
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    aw = tables["awards"]
    for year in sorted(int(y) for y in aw["batch_year"].dropna().unique()):
        part = aw[aw["batch_year"] == year]
        ws = wb.create_sheet(f"{year}年批次")
        title = f"嘉定区智改数转专项资金补贴汇总表（{year}年度）"
        _sheet(ws, c["awards"], part, title, totals="label")
    wb.save(out / AWARDS_BOOK)
    # the eight optional tables in one workbook, plus an instructions sheet
    wb = openpyxl.Workbook()
    wb.active.title = "填表说明"
    wb.active.append(["请按各工作表表头填写；金额单位：万元。"])
    for name, sheet in SHEETS.items():
        ws = wb.create_sheet(sheet)
        totals = (
            "sums"
            if name == SUM_ROW
            else ("label" if name in LABELLED_TOTALS else None)
        )
        _sheet(ws, c[name], tables[name], f"{c[name].zh}（汇总）", totals=totals)
    ws = wb.create_sheet("Sheet3")  # a leftover sheet that is no table
    ws.append(["联系人", "联系电话"])
    ws.append(["王科长", "021-59990000"])
    wb.save(out / OTHER_BOOK)
    return out


def sorted_by_key(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """``df`` ordered by its primary key (stacking may change the row order)."""
    key = list(get_contract()[table].primary_key)
    return df.sort_values(key, kind="stable").reset_index(drop=True)


__all__ = ["write_office_exports", "sorted_by_key", "AWARDS_BOOK", "OTHER_BOOK"]
