"""Safe table export neutralises spreadsheet formula injection (CWE-1236)."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from jdeval.data.export import neutralise, write_table

EVIL = ["=1+1", "+SUM(A1:A2)", "-2+3", "@cmd", "\t=x", "\r=y", '=HYPERLINK("http://x")']


def _frame():
    return pd.DataFrame(
        {
            "text": EVIL + ["安亭镇"],
            "num": [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0, 7.0, -8.0],
            "int": pd.array([-1, 2, 3, 4, 5, 6, 7, None], dtype="Int64"),
        }
    )


def test_neutralise_prefixes_only_text():
    out = neutralise(_frame())
    assert out["text"].tolist()[:-1] == ["'" + v for v in EVIL]
    assert out["text"].iloc[-1] == "安亭镇"
    pd.testing.assert_series_equal(out["num"], _frame()["num"])
    pd.testing.assert_series_equal(out["int"], _frame()["int"])


def test_csv_export(tmp_path):
    p = write_table(_frame(), tmp_path / "t.csv")
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel opens UTF-8 with BOM correctly
    back = pd.read_csv(p, encoding="utf-8-sig", keep_default_na=False, dtype=str)
    assert all(v.startswith("'") for v in back["text"][:7])
    assert back["num"].iloc[0] == "-1.5"


def test_xlsx_export_has_no_formulas(tmp_path):
    p = write_table(_frame(), tmp_path / "t.xlsx", sheet_name="表")
    ws = openpyxl.load_workbook(p)["表"]
    cells = [ws.cell(row=i, column=1) for i in range(2, 9)]
    assert all(c.data_type == "s" for c in cells)  # strings, not formulas ("f")
    assert all(str(c.value).startswith("'") for c in cells)
    assert ws.cell(row=2, column=2).value == -1.5


def test_unsupported_suffix(tmp_path):
    with pytest.raises(ValueError):
        write_table(_frame(), tmp_path / "t.json")


def test_column_names_are_neutralised_too(tmp_path):
    df = pd.DataFrame({"=cmd": ["a"]})
    assert list(neutralise(df).columns) == ["'=cmd"]
