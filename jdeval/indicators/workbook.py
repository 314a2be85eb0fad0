"""Report-ready Excel workbooks (score table, judgments template).

Text cells are written as text (``data_type="s"``), so a target such as
``=50.00(万元)`` shows as typed and can never run as a formula, without the
visible apostrophe that the CSV-style neutralisation adds.  Headers are bold,
the header row is frozen and columns are sized to their content.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

_HEAD_FILL = PatternFill("solid", fgColor="DDE6F0")


def _value(v):
    """A cell value: numbers as numbers, missing as empty, everything else text."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (bool, int, float)):
        return v
    if hasattr(v, "item") and not isinstance(v, str):  # numpy scalars
        return _value(v.item())
    if isinstance(v, pd.Timestamp):
        return v.date()
    return str(v)


def _width(values) -> int:
    """Column width from the longest text (CJK characters count double)."""
    longest = 4
    for v in values:
        s = "" if v is None else str(v)
        n = sum(2 if ord(ch) > 0x2E80 else 1 for ch in s.split("\n")[0])
        longest = max(longest, n)
    return min(60, longest + 2)


def add_sheet(wb: Workbook, name: str, df: pd.DataFrame, *, wrap=()) -> None:
    """Append ``df`` as sheet ``name`` (≤31 characters), text-safe."""
    ws = wb.create_sheet(title=name[:31])
    cols = [str(c) for c in df.columns]
    ws.append(cols)
    for row in df.itertuples(index=False):
        ws.append([_value(v) for v in row])
    for r in ws.iter_rows():
        for c in r:
            if isinstance(c.value, str):
                c.data_type = "s"  # never a formula, shown exactly as typed
    for c in ws[1]:
        c.font = Font(bold=True)
        c.fill = _HEAD_FILL
        c.alignment = Alignment(vertical="center", wrap_text=True)
    ws.freeze_panes = "A2"
    for j, col in enumerate(cols, 1):
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = _width([col, *df.iloc[:, j - 1]])
        if col in wrap:
            ws.column_dimensions[letter].width = 40
            for cell in ws[letter][1:]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")


def add_list(ws, column: int, choices: list[str], n_rows: int, *, prompt: str) -> None:
    """Drop-down list of ``choices`` on ``column`` (1-based) for data rows."""
    letter = get_column_letter(column)
    dv = DataValidation(
        type="list",
        formula1='"' + ",".join(choices) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="取值无效",
        error="请从下拉列表中选择 choose from the list",
        promptTitle="填写说明",
        prompt=prompt,
    )
    ws.add_data_validation(dv)
    dv.add(f"{letter}2:{letter}{max(2, n_rows + 1)}")


def save(wb: Workbook, path: Path) -> Path:
    """Save ``wb`` (dropping openpyxl's empty default sheet) and return the path."""
    if "Sheet" in wb.sheetnames and len(wb.sheetnames) > 1:
        del wb["Sheet"]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
